#pragma once
// Composable spectrum transforms (spec §5.4). Each transform is a small struct whose
// operator()(io::Spectrum&) edits the spectrum in place and returns std::nullopt when the spectrum is
// kept, or the reason it must be rejected (so a dataset builder can write a manifest instead of
// crashing or silently dividing by zero). LogLamAlign returns the aligned vector instead (GCSNet).
// Per-feature scalers (z-score, robust) are fitted on the training split only and saved through
// StateDict. Pipeline chains transforms and reports the first rejection.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Dense>

#include "galml/core/error.hpp"
#include "galml/core/state_dict.hpp"
#include "galml/io/spectrum.hpp"

namespace galml::data {

using Reject = std::optional<std::string>;  // nullopt = kept, otherwise why the spectrum was rejected

namespace detail {
// Short number formatting for rejection reasons ("3850.2", "0.0123").
inline std::string num(double v, int prec = 6) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*g", prec, v);
  return b;
}
// Quantile with linear interpolation between order statistics (numpy's default "linear" method).
inline double quantile_sorted(const std::vector<double>& s, double q) {
  if (s.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double pos = q * double(s.size() - 1);
  const size_t lo = size_t(std::floor(pos));
  const size_t hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (pos - double(lo)) * (s[hi] - s[lo]);
}
template <class T>
inline std::vector<double> sorted_copy(const std::vector<T>& v) {
  std::vector<double> s(v.begin(), v.end());
  std::sort(s.begin(), s.end());
  return s;
}
// Scales flux by 1/scale and ivar by scale^2 so S/N per pixel is unchanged.
inline void rescale(io::Spectrum& s, double offset, double scale) {
  for (auto& f : s.flux) f = float((double(f) - offset) / scale);
  for (auto& w : s.ivar) w = float(double(w) * scale * scale);
}
}  // namespace detail

// A uniform wavelength grid start, start+step, ..., up to stop inclusive (within step/1000).
struct LinearGrid {
  double start = 3840.0, stop = 9000.0, step = 1.0;
  size_t size() const { return size_t(std::floor((stop - start) / step + 1e-3)) + 1; }
  double at(size_t i) const { return start + double(i) * step; }
  double last() const { return at(size() - 1); }
  std::vector<double> values() const {
    std::vector<double> v(size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = at(i);
    return v;
  }
  bool operator==(const LinearGrid&) const = default;
};

// MTLforGalSpecZ input grid (3840..9000 A at 1 A, 5161 pixels) and GCSNet rest-frame grid (3800..6998 at 2 A).
inline constexpr LinearGrid kMtlGrid{3840.0, 9000.0, 1.0};
inline constexpr LinearGrid kGcsRestGrid{3800.0, 6998.0, 2.0};

// Linear interpolation in lambda onto `grid` (numpy.interp semantics). With require_coverage the
// spectrum must span the whole grid: extrapolating a missing blue end would invent flux (paper: such
// spectra are removed). ivar is interpolated too, but is 0 wherever a neighbouring pixel is bad, and
// the and_mask of both neighbours is OR-ed, so a bad pixel never leaks in as good.
struct InterpolateToGrid {
  LinearGrid grid = kMtlGrid;
  bool require_coverage = true;

  Reject operator()(io::Spectrum& s) const {
    const auto& w = s.wavelength;
    if (w.size() < 2 || s.flux.size() != w.size()) return "too few pixels to interpolate (" + std::to_string(w.size()) + ")";
    const double tol = grid.step * 1e-6;
    if (require_coverage && w.front() > grid.start + tol)
      return "grid not covered: spectrum starts at " + detail::num(w.front()) + " \xC3\x85 > " + detail::num(grid.start) + " \xC3\x85";
    if (require_coverage && w.back() < grid.last() - tol)
      return "grid not covered: spectrum ends at " + detail::num(w.back()) + " \xC3\x85 < " + detail::num(grid.last()) + " \xC3\x85";
    const size_t n = grid.size();
    const bool have_ivar = s.ivar.size() == w.size(), have_mask = s.and_mask.size() == w.size();
    std::vector<double> nw(n);
    std::vector<float> nf(n), ni(have_ivar ? n : 0);
    std::vector<int32_t> nm(have_mask ? n : 0);
    size_t j = 0;
    for (size_t i = 0; i < n; ++i) {
      const double x = grid.at(i);
      nw[i] = x;
      while (j + 2 < w.size() && w[j + 1] < x) ++j;  // w[j] <= x <= w[j+1] for interior x
      size_t a = j, b = j + 1;
      double t;
      if (x <= w.front()) { a = b = 0; t = 0; }
      else if (x >= w.back()) { a = b = w.size() - 1; t = 0; }
      else t = (x - w[a]) / (w[b] - w[a]);
      nf[i] = float(double(s.flux[a]) + t * (double(s.flux[b]) - double(s.flux[a])));
      if (have_ivar) ni[i] = (s.ivar[a] > 0 && s.ivar[b] > 0) ? float(s.ivar[a] + t * (s.ivar[b] - s.ivar[a])) : 0.0f;
      if (have_mask) nm[i] = s.and_mask[a] | s.and_mask[b];
    }
    s.wavelength = std::move(nw);
    s.flux = std::move(nf);
    s.ivar = std::move(ni);
    s.and_mask = std::move(nm);
    return std::nullopt;
  }
};

// Rest frame: lambda / (1 + z), using the spectrum's own z. Apply once (the Spectrum has no frame flag).
struct ToRestFrame {
  Reject operator()(io::Spectrum& s) const {
    if (!std::isfinite(s.z) || s.z <= -1.0) return "cannot shift to rest frame: redshift is " + detail::num(s.z);
    for (auto& w : s.wavelength) w /= (1.0 + s.z);
    return std::nullopt;
  }
};

// F' = F / mean(F) (MTLforGalSpecZ). A non-positive mean would flip or blow up the spectrum: reject.
struct MeanNormalize {
  Reject operator()(io::Spectrum& s) const {
    if (s.flux.empty()) return "empty spectrum";
    double sum = 0;
    for (float f : s.flux) sum += f;
    const double m = sum / double(s.flux.size());
    if (!std::isfinite(m)) return "mean flux is not finite";
    if (m <= 0) return "mean flux " + detail::num(m) + " <= 0";
    detail::rescale(s, 0.0, m);
    return std::nullopt;
  }
};

// F' = F / median(F) (stellar network).
struct MedianNormalize {
  Reject operator()(io::Spectrum& s) const {
    if (s.flux.empty()) return "empty spectrum";
    const double m = detail::quantile_sorted(detail::sorted_copy(s.flux), 0.5);
    if (!std::isfinite(m)) return "median flux is not finite";
    if (m <= 0) return "median flux " + detail::num(m) + " <= 0";
    detail::rescale(s, 0.0, m);
    return std::nullopt;
  }
};

// F' = (F - min) / (max - min) (MMLforGalAM). A constant spectrum has no range: reject.
struct MinMaxNormalize {
  Reject operator()(io::Spectrum& s) const {
    if (s.flux.empty()) return "empty spectrum";
    auto [lo, hi] = std::minmax_element(s.flux.begin(), s.flux.end());
    const double r = double(*hi) - double(*lo);
    if (!std::isfinite(r)) return "flux range is not finite";
    if (r <= 0) return "flux range is 0 (constant spectrum)";
    detail::rescale(s, double(*lo), r);
    return std::nullopt;
  }
};

// F' = (F - median) / IQR (GCSNet), IQR = Q3 - Q1 floored at iqr_floor (spec §3.1 assumption).
struct RobustNormalize {
  double iqr_floor = 1e-8;
  Reject operator()(io::Spectrum& s) const {
    if (s.flux.empty()) return "empty spectrum";
    const auto srt = detail::sorted_copy(s.flux);
    const double med = detail::quantile_sorted(srt, 0.5);
    const double iqr = detail::quantile_sorted(srt, 0.75) - detail::quantile_sorted(srt, 0.25);
    if (!std::isfinite(med) || !std::isfinite(iqr)) return "median/IQR not finite";
    detail::rescale(s, med, std::max(iqr, iqr_floor));
    return std::nullopt;
  }
};

// Non-finite flux (NaN/Inf): reject, linearly interpolate over from the nearest finite neighbours
// (ivar set to 0 there, since the value is invented), or set to 0.
struct HandleNonFinite {
  enum class Mode { reject, interpolate, zero };
  Mode mode = Mode::reject;
  Reject operator()(io::Spectrum& s) const {
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < s.flux.size(); ++i)
      if (!std::isfinite(s.flux[i])) { if (!bad++) first = i; }
    if (!bad) return std::nullopt;
    const auto lam = [&](size_t i) { return i < s.wavelength.size() ? s.wavelength[i] : double(i); };
    if (mode == Mode::reject)
      return std::to_string(bad) + " non-finite flux value(s), first at " + detail::num(lam(first)) + " \xC3\x85";
    if (bad == s.flux.size()) return "all flux values are non-finite";
    const bool have_ivar = s.ivar.size() == s.flux.size();
    long prev = -1;  // last finite pixel
    for (size_t i = 0; i <= s.flux.size(); ++i) {
      if (i < s.flux.size() && !std::isfinite(s.flux[i])) continue;
      // pixels prev+1 .. i-1 are non-finite
      for (size_t k = size_t(prev + 1); k < i; ++k) {
        if (mode == Mode::zero) s.flux[k] = 0.0f;
        else if (prev < 0) s.flux[k] = s.flux[i];
        else if (i == s.flux.size()) s.flux[k] = s.flux[size_t(prev)];
        else {
          const double t = (lam(k) - lam(size_t(prev))) / (lam(i) - lam(size_t(prev)));
          s.flux[k] = float(s.flux[size_t(prev)] + t * (s.flux[i] - s.flux[size_t(prev)]));
        }
        if (have_ivar) s.ivar[k] = 0.0f;
      }
      prev = long(i);
    }
    return std::nullopt;
  }
};

// Flat / low-variance rejection: std(F) <= min_rel_std * |mean(F)| (or std == 0) carries no
// spectral information (blanked fibres, constant fill values).
struct RejectFlat {
  double min_rel_std = 1e-4;
  Reject operator()(io::Spectrum& s) const {
    if (s.flux.empty()) return "empty spectrum";
    double m = 0;
    for (float f : s.flux) m += f;
    m /= double(s.flux.size());
    double v = 0;
    for (float f : s.flux) v += (f - m) * (f - m);
    const double sd = std::sqrt(v / double(s.flux.size()));
    if (!std::isfinite(sd)) return "flux variance is not finite";
    if (sd == 0 || sd <= min_rel_std * std::abs(m))
      return "flat spectrum: std " + detail::num(sd) + " <= " + detail::num(min_rel_std) + " x |mean| " + detail::num(std::abs(m));
    return std::nullopt;
  }
};

// Savitzky-Golay smoothing: least-squares polynomial of degree `order` over `window` (odd) pixels.
// Interior pixels use the convolution coefficients; the first/last half-window are evaluated from
// the polynomial fitted to the first/last full window (scipy's mode="interp"), so a polynomial of
// degree <= order passes unchanged everywhere.
struct SavitzkyGolay {
  int window = 11, order = 3;

  Reject operator()(io::Spectrum& s) const {
    GALML_CHECK(window % 2 == 1 && window >= 3 && order >= 0 && order < window, "SavitzkyGolay: window ", window,
                " must be odd >= 3 and order ", order, " < window");
    const int n = int(s.flux.size()), h = window / 2;
    if (n < window) return "spectrum shorter (" + std::to_string(n) + " px) than the Savitzky-Golay window " + std::to_string(window);
    Eigen::MatrixXd A(window, order + 1);
    for (int i = 0; i < window; ++i)
      for (int p = 0; p <= order; ++p) A(i, p) = std::pow(double(i - h), p);
    // P maps window samples to polynomial coefficients (pseudo-inverse of A).
    const Eigen::MatrixXd P = (A.transpose() * A).ldlt().solve(A.transpose());
    std::vector<float> out(static_cast<size_t>(n));
    for (int i = h; i < n - h; ++i) {
      double acc = 0;
      for (int k = 0; k < window; ++k) acc += P(0, k) * s.flux[size_t(i - h + k)];
      out[size_t(i)] = float(acc);
    }
    auto edge = [&](int w0, int from, int to) {  // fit window starting at w0, evaluate pixels [from, to)
      Eigen::VectorXd y(window);
      for (int k = 0; k < window; ++k) y(k) = s.flux[size_t(w0 + k)];
      const Eigen::VectorXd c = P * y;
      for (int i = from; i < to; ++i) {
        const double x = double(i - w0 - h);
        double v = 0;
        for (int p = order; p >= 0; --p) v = v * x + c(p);
        out[size_t(i)] = float(v);
      }
    };
    edge(0, 0, h);
    edge(n - window, n - h, n);
    s.flux = std::move(out);
    return std::nullopt;
  }
};

// GCSNet obs input: place each pixel on the common SDSS log-lambda grid, j = round((loglam - start)/step),
// j = 0..length-1; pixels outside are dropped (truncate), missing ones stay 0 (zero-pad), NaN/Inf -> 0.
// Aligning by wavelength rather than by array index keeps pixel j at the same wavelength in every spectrum.
struct LogLamAlign {
  double loglam_start = 3.5798, step = 1e-4;
  size_t length = 3843;
  std::vector<float> operator()(const io::Spectrum& s) const {
    std::vector<float> out(length, 0.0f);
    for (size_t i = 0; i < s.flux.size() && i < s.wavelength.size(); ++i) {
      const double j = std::round((std::log10(s.wavelength[i]) - loglam_start) / step);
      if (j < 0 || j >= double(length)) continue;
      const float f = s.flux[i];
      out[size_t(j)] = std::isfinite(f) ? f : 0.0f;
    }
    return out;
  }
};

// A chain of transforms; the first rejection stops the chain and is reported as "<step>: <reason>".
class Pipeline {
 public:
  using Step = std::function<Reject(io::Spectrum&)>;
  Pipeline& add(std::string name, Step step) {
    steps_.emplace_back(std::move(name), std::move(step));
    return *this;
  }
  Reject operator()(io::Spectrum& s) const {
    for (auto& [name, step] : steps_)
      if (auto r = step(s)) return name + ": " + *r;
    return std::nullopt;
  }
  size_t size() const { return steps_.size(); }

 private:
  std::vector<std::pair<std::string, Step>> steps_;
};

// MTLforGalSpecZ preprocessing (spec §1.1): finite flux, observed-frame 3840..9000 A at 1 A, mean = 1.
inline Pipeline mtl_pipeline(LinearGrid grid = kMtlGrid) {
  Pipeline p;
  p.add("nan", HandleNonFinite{}).add("interpolate", InterpolateToGrid{grid, true}).add("normalise", MeanNormalize{});
  return p;
}

// ---------------------------------------------------------------------------------------------
// Per-feature scalers, fitted on the training split only (fitting on all data leaks test statistics).
// Data are row-major [n, d]. NaN entries are ignored when fitting (e.g. absent labels).

namespace detail {
inline void check_shape(std::span<const float> x, int64_t d, const char* who) {
  GALML_CHECK(d > 0 && int64_t(x.size()) % d == 0, who, ": data size ", x.size(), " is not a multiple of the feature count ", d);
}
}  // namespace detail

// x' = (x - mean) / std per feature (population std, as sklearn StandardScaler); std 0 -> 1.
class StandardScaler {
 public:
  void fit(std::span<const float> x, int64_t d) {
    detail::check_shape(x, d, "StandardScaler::fit");
    const int64_t n = int64_t(x.size()) / d;
    mean_.assign(size_t(d), 0.0);
    scale_.assign(size_t(d), 1.0);
    for (int64_t j = 0; j < d; ++j) {
      double s = 0, ss = 0;
      int64_t c = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double v = x[size_t(i * d + j)];
        if (std::isnan(v)) continue;
        s += v; ++c;
      }
      GALML_CHECK(c > 0, "StandardScaler::fit: feature ", j, " has no finite values");
      const double m = s / double(c);
      for (int64_t i = 0; i < n; ++i) {
        const double v = x[size_t(i * d + j)];
        if (!std::isnan(v)) ss += (v - m) * (v - m);
      }
      const double sd = std::sqrt(ss / double(c));
      mean_[size_t(j)] = m;
      scale_[size_t(j)] = sd > 0 ? sd : 1.0;
    }
  }
  void transform(std::span<float> x) const { apply(x, false); }
  void inverse_transform(std::span<float> x) const { apply(x, true); }
  int64_t features() const { return int64_t(mean_.size()); }
  const std::vector<double>& center() const { return mean_; }
  const std::vector<double>& scale() const { return scale_; }

  StateDict state_dict() const {
    StateDict sd;
    sd.set_vector("center", mean_);
    sd.set_vector("scale", scale_);
    return sd;
  }
  void load_state_dict(const StateDict& sd) {
    auto c = sd.vector<double>("center"), s = sd.vector<double>("scale");
    GALML_CHECK(c.size() == s.size() && !c.empty(), "StandardScaler::load_state_dict: center/scale sizes ", c.size(), "/", s.size());
    mean_ = std::move(c);
    scale_ = std::move(s);
  }

 protected:
  void apply(std::span<float> x, bool inverse) const {
    const int64_t d = features();
    GALML_CHECK(d > 0, "scaler used before fit/load");
    GALML_CHECK(int64_t(x.size()) % d == 0, "scaler: data size ", x.size(), " is not a multiple of the feature count ", d);
    for (size_t i = 0; i < x.size(); ++i) {
      const size_t j = i % size_t(d);
      x[i] = inverse ? float(x[i] * scale_[j] + mean_[j]) : float((x[i] - mean_[j]) / scale_[j]);
    }
  }
  std::vector<double> mean_, scale_;
};

// x' = (x - median) / IQR per feature (sklearn RobustScaler defaults, quantile_range 25-75); IQR 0 -> 1.
class RobustScaler : public StandardScaler {
 public:
  void fit(std::span<const float> x, int64_t d) {
    detail::check_shape(x, d, "RobustScaler::fit");
    const int64_t n = int64_t(x.size()) / d;
    mean_.assign(size_t(d), 0.0);
    scale_.assign(size_t(d), 1.0);
    std::vector<double> col;
    for (int64_t j = 0; j < d; ++j) {
      col.clear();
      for (int64_t i = 0; i < n; ++i) {
        const double v = x[size_t(i * d + j)];
        if (!std::isnan(v)) col.push_back(v);
      }
      GALML_CHECK(!col.empty(), "RobustScaler::fit: feature ", j, " has no finite values");
      std::sort(col.begin(), col.end());
      const double iqr = detail::quantile_sorted(col, 0.75) - detail::quantile_sorted(col, 0.25);
      mean_[size_t(j)] = detail::quantile_sorted(col, 0.5);
      scale_[size_t(j)] = iqr > 0 ? iqr : 1.0;
    }
  }
};

}  // namespace galml::data
