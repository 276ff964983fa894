#pragma once
// Regression metrics over (prediction, truth) pairs, as defined in the papers (spec §1.4, §2.4):
// residual r = pred − true; bias = mean(r); SD = population std of r; R² = 1 − SS_res/SS_tot;
// NMAD = 1.4826·median|r − median r|. An optional mask (non-zero = use the sample) selects the
// evaluated subset, e.g. "true class is SF" for MTLforGalSpecZ. Accumulation is in double with
// two passes (mean first), so SD does not suffer from the E[x²]−E[x]² cancellation.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "galml/core/error.hpp"

namespace galml::metrics {

// A sample mask: non-zero entries are evaluated. An empty span means "all samples".
using Mask = std::span<const std::uint8_t>;

namespace detail {

inline void check_pair(std::span<const double> pred, std::span<const double> truth, Mask mask,
                       const char* what) {
  GALML_CHECK(pred.size() == truth.size(), what, ": pred has ", pred.size(), " values but true has ",
              truth.size());
  GALML_CHECK(mask.empty() || mask.size() == pred.size(), what, ": mask has ", mask.size(),
              " entries, expected ", pred.size(), " (or empty for all)");
}

inline bool used(Mask mask, std::size_t i) { return mask.empty() || mask[i] != 0; }

// Median with numpy semantics (mean of the two middle values for even n); NaN when empty.
inline double median_inplace(std::vector<double>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const std::size_t n = v.size(), h = n / 2;
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(h), v.end());
  const double hi = v[h];
  if (n % 2 == 1) return hi;
  const double lo = *std::max_element(v.begin(), v.begin() + std::ptrdiff_t(h));
  return 0.5 * (lo + hi);
}

inline double mean_of(const std::vector<double>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}

// Population (ddof = 0) standard deviation, two-pass.
inline double pstd_of(const std::vector<double>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size()));
}

// Residuals pred − true of the selected samples.
inline std::vector<double> residuals(std::span<const double> pred, std::span<const double> truth,
                                     Mask mask) {
  std::vector<double> r;
  r.reserve(pred.size());
  for (std::size_t i = 0; i < pred.size(); ++i)
    if (used(mask, i)) r.push_back(pred[i] - truth[i]);
  return r;
}

}  // namespace detail

inline double median(std::span<const double> v) {
  std::vector<double> c(v.begin(), v.end());
  return detail::median_inplace(c);
}

// numpy.percentile(v, q) with the default "linear" interpolation; q in [0, 100].
inline double percentile(std::span<const double> v, double q) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::vector<double> c(v.begin(), v.end());
  std::sort(c.begin(), c.end());
  const double pos = q / 100.0 * double(c.size() - 1);
  const auto lo = std::size_t(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, c.size() - 1);
  return c[lo] + (pos - double(lo)) * (c[hi] - c[lo]);
}

inline std::size_t count(std::span<const double> pred, Mask mask = {}) {
  if (mask.empty()) return pred.size();
  return std::size_t(std::count_if(mask.begin(), mask.end(), [](std::uint8_t m) { return m != 0; }));
}

inline double mse(std::span<const double> pred, std::span<const double> truth, Mask mask = {}) {
  detail::check_pair(pred, truth, mask, "mse");
  auto r = detail::residuals(pred, truth, mask);
  if (r.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double x : r) s += x * x;
  return s / double(r.size());
}

inline double rmse(std::span<const double> pred, std::span<const double> truth, Mask mask = {}) {
  return std::sqrt(mse(pred, truth, mask));
}

inline double mae(std::span<const double> pred, std::span<const double> truth, Mask mask = {}) {
  detail::check_pair(pred, truth, mask, "mae");
  auto r = detail::residuals(pred, truth, mask);
  if (r.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double x : r) s += std::abs(x);
  return s / double(r.size());
}

// mean(pred − true): the figure convention of both papers (spec §2.5 item 9).
inline double bias(std::span<const double> pred, std::span<const double> truth, Mask mask = {}) {
  detail::check_pair(pred, truth, mask, "bias");
  return detail::mean_of(detail::residuals(pred, truth, mask));
}

// Population standard deviation of the residuals (paper Eq. for SD, ÷N not ÷(N−1)).
inline double sd(std::span<const double> pred, std::span<const double> truth, Mask mask = {}) {
  detail::check_pair(pred, truth, mask, "sd");
  return detail::pstd_of(detail::residuals(pred, truth, mask));
}

// 1 − SS_res/SS_tot. A constant truth gives 1 for a perfect fit and 0 otherwise, like
// sklearn's r2_score(force_finite=True), instead of ±inf/NaN.
inline double r2(std::span<const double> pred, std::span<const double> truth, Mask mask = {}) {
  detail::check_pair(pred, truth, mask, "r2");
  double ym = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < truth.size(); ++i)
    if (detail::used(mask, i)) { ym += truth[i]; ++n; }
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  ym /= double(n);
  double ss_res = 0, ss_tot = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (!detail::used(mask, i)) continue;
    ss_res += (pred[i] - truth[i]) * (pred[i] - truth[i]);
    ss_tot += (truth[i] - ym) * (truth[i] - ym);
  }
  if (ss_tot == 0) return ss_res == 0 ? 1.0 : 0.0;
  return 1.0 - ss_res / ss_tot;
}

// Normalised median absolute deviation of the residuals: robust scatter (≈ σ for a Gaussian).
inline double nmad(std::span<const double> pred, std::span<const double> truth, Mask mask = {}) {
  detail::check_pair(pred, truth, mask, "nmad");
  auto r = detail::residuals(pred, truth, mask);
  if (r.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double med = detail::median_inplace(r);
  for (double& x : r) x = std::abs(x - med);
  return 1.4826 * detail::median_inplace(r);
}

// How the clipping half-width s is computed.
enum class ClipRule {
  StdOfAbsResidual,  // s = std(|r|): the MMLforGalAM reference code's rule (spec §2.4), the default
  StdOfResidual,     // s = std(r): the textbook rule
};

// One-pass k-σ clipping (not iterated, as in the reference code): keeps selected samples with
// mean(r) − k·s < r < mean(r) + k·s (strict), where mean and s are over the selected residuals and
// s is a population std. Returns a new mask (1 = kept) of pred.size() entries.
inline std::vector<std::uint8_t> sigma_clip_mask(std::span<const double> pred,
                                                 std::span<const double> truth, Mask mask = {},
                                                 double k = 3.0,
                                                 ClipRule rule = ClipRule::StdOfAbsResidual) {
  detail::check_pair(pred, truth, mask, "sigma_clip_mask");
  auto r = detail::residuals(pred, truth, mask);
  std::vector<std::uint8_t> keep(pred.size(), 0);
  if (r.empty()) return keep;
  const double m = detail::mean_of(r);
  if (rule == ClipRule::StdOfAbsResidual)
    for (double& x : r) x = std::abs(x);
  const double s = detail::pstd_of(r);
  for (std::size_t i = 0; i < pred.size(); ++i) {
    if (!detail::used(mask, i)) continue;
    const double ri = pred[i] - truth[i];
    keep[i] = (ri > m - k * s && ri < m + k * s) ? 1 : 0;
  }
  return keep;
}

// Every regression metric of one sample set; n is the number of evaluated samples.
struct RegressionReport {
  std::size_t n = 0;
  double mse = 0, mae = 0, rmse = 0, bias = 0, sd = 0, r2 = 0, nmad = 0;
  bool clipped = false;       // true when computed after sigma clipping
  std::size_t n_rejected = 0; // samples removed by clipping (0 when not clipped)

  nlohmann::json to_json() const {
    // NaN is not valid JSON; nlohmann writes it as null, which readers must accept anyway.
    return nlohmann::json{{"n", n},     {"mse", mse},   {"mae", mae},     {"rmse", rmse},
                          {"bias", bias}, {"sd", sd},   {"r2", r2},       {"nmad", nmad},
                          {"clipped", clipped}, {"n_rejected", n_rejected}};
  }
};

inline RegressionReport regression_report(std::span<const double> pred,
                                          std::span<const double> truth, Mask mask = {}) {
  detail::check_pair(pred, truth, mask, "regression_report");
  RegressionReport rep;
  rep.n = count(pred, mask);
  rep.mse = mse(pred, truth, mask);
  rep.mae = mae(pred, truth, mask);
  rep.rmse = std::sqrt(rep.mse);
  rep.bias = bias(pred, truth, mask);
  rep.sd = sd(pred, truth, mask);
  rep.r2 = r2(pred, truth, mask);
  rep.nmad = nmad(pred, truth, mask);
  return rep;
}

// The report after one-pass k-σ clipping (MMLforGalAM headline numbers use this).
inline RegressionReport regression_report_clipped(std::span<const double> pred,
                                                  std::span<const double> truth, Mask mask = {},
                                                  double k = 3.0,
                                                  ClipRule rule = ClipRule::StdOfAbsResidual) {
  const auto keep = sigma_clip_mask(pred, truth, mask, k, rule);
  auto rep = regression_report(pred, truth, keep);
  rep.clipped = true;
  rep.n_rejected = count(pred, mask) - rep.n;
  return rep;
}

// Raw and clipped side by side, the way MMLforGalAM's code prints them.
struct RegressionSummary {
  RegressionReport raw, clipped;
  nlohmann::json to_json() const { return {{"raw", raw.to_json()}, {"clipped", clipped.to_json()}}; }
};

inline RegressionSummary regression_summary(std::span<const double> pred,
                                            std::span<const double> truth, Mask mask = {},
                                            double k = 3.0,
                                            ClipRule rule = ClipRule::StdOfAbsResidual) {
  return {regression_report(pred, truth, mask), regression_report_clipped(pred, truth, mask, k, rule)};
}

}  // namespace galml::metrics
