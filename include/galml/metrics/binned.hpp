#pragma once
// Metrics in bins of a third variable (redshift, S/N, ...), as in the MTLforGalSpecZ Fig. 9 and the
// MMLforGalAM S/N analysis. Bins follow numpy.histogram: [e0, e1), [e1, e2), ..., [e_{n-1}, e_n] —
// the last bin is closed so a value equal to the top edge is not lost. Values outside the edges or
// NaN are skipped. Use +inf as the last edge for an open-ended bin like S/N ≥ 30.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "galml/core/error.hpp"
#include "galml/metrics/classification.hpp"
#include "galml/metrics/regression.hpp"

namespace galml::metrics {

inline void check_edges(std::span<const double> edges) {
  GALML_CHECK(edges.size() >= 2, "bin edges: need at least 2 edges, got ", edges.size());
  for (std::size_t i = 1; i < edges.size(); ++i)
    GALML_CHECK(edges[i] > edges[i - 1], "bin edges must increase strictly: edge[", i, "] = ",
                edges[i], " <= edge[", i - 1, "] = ", edges[i - 1]);
}

// Index of the bin holding x, or −1 when x is outside the edges (or NaN).
inline long bin_index(std::span<const double> edges, double x) {
  if (!(x >= edges.front() && x <= edges.back())) return -1;
  if (x == edges.back()) return long(edges.size()) - 2;
  const auto it = std::upper_bound(edges.begin(), edges.end(), x);
  return long(it - edges.begin()) - 1;
}

// Per-sample bin indices (−1 = outside).
inline std::vector<long> assign_bins(std::span<const double> x, std::span<const double> edges) {
  check_edges(edges);
  std::vector<long> b(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) b[i] = bin_index(edges, x[i]);
  return b;
}

struct RegressionBin {
  double lo = 0, hi = 0;
  RegressionReport stats;  // n = count in the bin; NaN metrics for an empty bin
};

struct ClassificationBin {
  double lo = 0, hi = 0;
  std::size_t count = 0;
  double accuracy = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::int64_t> class_counts;  // by TRUE label
  std::vector<double> class_fractions;     // class_counts / count (0 for an empty bin)
};

inline nlohmann::json to_json(const RegressionBin& b) {
  auto j = b.stats.to_json();
  j["lo"] = b.lo;
  j["hi"] = b.hi;
  return j;
}
inline nlohmann::json to_json(const ClassificationBin& b) {
  return {{"lo", b.lo}, {"hi", b.hi}, {"count", b.count}, {"accuracy", b.accuracy},
          {"class_counts", b.class_counts}, {"class_fractions", b.class_fractions}};
}
template <class Bin>
nlohmann::json to_json(const std::vector<Bin>& bins) {
  auto a = nlohmann::json::array();
  for (const auto& b : bins) a.push_back(to_json(b));
  return a;
}

// Regression metrics of the samples whose x falls in each bin (and whose mask is set).
inline std::vector<RegressionBin> binned_regression(std::span<const double> pred,
                                                    std::span<const double> truth,
                                                    std::span<const double> x,
                                                    std::span<const double> edges, Mask mask = {}) {
  detail::check_pair(pred, truth, mask, "binned_regression");
  GALML_CHECK(x.size() == pred.size(), "binned_regression: x has ", x.size(), " values, expected ",
              pred.size());
  const auto b = assign_bins(x, edges);
  std::vector<RegressionBin> out;
  for (std::size_t k = 0; k + 1 < edges.size(); ++k) {
    std::vector<std::uint8_t> m(pred.size());
    for (std::size_t i = 0; i < pred.size(); ++i) m[i] = b[i] == long(k) && detail::used(mask, i);
    out.push_back({edges[k], edges[k + 1], regression_report(pred, truth, m)});
  }
  return out;
}

// Count, accuracy and true-class composition per bin.
inline std::vector<ClassificationBin> binned_classification(std::span<const int> y_true,
                                                            std::span<const int> y_pred,
                                                            std::size_t n_classes,
                                                            std::span<const double> x,
                                                            std::span<const double> edges) {
  GALML_CHECK(y_true.size() == y_pred.size() && x.size() == y_true.size(),
              "binned_classification: y_true, y_pred and x must have equal sizes (", y_true.size(),
              ", ", y_pred.size(), ", ", x.size(), ")");
  detail::check_labels(y_true, n_classes, "binned_classification", "y_true");
  const auto b = assign_bins(x, edges);
  std::vector<ClassificationBin> out(edges.size() - 1);
  std::vector<std::size_t> correct(out.size(), 0);
  for (std::size_t k = 0; k < out.size(); ++k) {
    out[k].lo = edges[k];
    out[k].hi = edges[k + 1];
    out[k].class_counts.assign(n_classes, 0);
  }
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    if (b[i] < 0) continue;
    auto& bin = out[std::size_t(b[i])];
    ++bin.count;
    ++bin.class_counts[std::size_t(y_true[i])];
    correct[std::size_t(b[i])] += y_true[i] == y_pred[i];
  }
  for (std::size_t k = 0; k < out.size(); ++k) {
    auto& bin = out[k];
    if (bin.count > 0) bin.accuracy = double(correct[k]) / double(bin.count);
    for (auto c : bin.class_counts)
      bin.class_fractions.push_back(bin.count ? double(c) / double(bin.count) : 0.0);
  }
  return out;
}

}  // namespace galml::metrics
