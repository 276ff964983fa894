#pragma once
// A small dependency-free SVG plotting library for training and evaluation reports.
//
// A Figure holds Axes (panels) placed by fractions of the figure; each Axes collects plot items in
// data coordinates and is laid out only when the figure is rendered, so limits and ticks can be
// chosen from all the data. The output is plain SVG 1.1, valid XML with escaped text, and
// machine-readable: every plotted item is a <g class="series" data-name=".." data-kind=".."> whose
// points are polyline coordinates or circles; histogram and heatmap cells carry data-count.
// Large point sets should go through hist2d (shaded cells), which keeps a 20k-point plot small.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "galml/core/error.hpp"
#include "galml/metrics/binned.hpp"
#include "galml/metrics/classification.hpp"
#include "galml/metrics/regression.hpp"
#include "galml/report/atomic_write.hpp"

namespace galml::report::svg {

// ------------------------------------------------------------------------------------ utilities

// XML text/attribute escaping. Control characters other than tab/newline are dropped because
// XML 1.0 forbids them even as character references.
inline std::string escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') break;
        o += c;
    }
  }
  return o;
}

// Fixed-point number with trailing zeros trimmed ("0.50" -> "0.5", "-0" -> "0").
inline std::string num(double v, int decimals = 2) {
  if (!std::isfinite(v)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

// A short human label for a value: fixed point for 1e-3 <= |v| < 1e5, else "1e-05"-style.
inline std::string short_num(double v, int sig = 4) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1e-3 && a < 1e5) {
    const int d = std::max(0, sig - 1 - int(std::floor(std::log10(a))));
    return num(v, d);
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", sig, v);
  return buf;
}

// "Nice" tick positions (1, 2, 2.5, 5 × 10^k steps) covering [lo, hi] with about `target` ticks.
struct Ticks {
  std::vector<double> values;
  double step = 1;
};
inline Ticks nice_ticks(double lo, double hi, int target = 5) {
  Ticks t;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return t;
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  // The candidate whose tick count is closest to the target (the first step >= raw can halve it).
  double step = mag, best = 1e300;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    const double miss = std::abs((hi - lo) / (m * mag) - target);
    if (miss < best) { best = miss; step = m * mag; }
  }
  t.step = step;
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (double v = first; v <= hi + step * 1e-9; v += step) t.values.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}
// Decimals needed to tell ticks `step` apart (2.5 steps need one more).
inline int tick_decimals(double step) {
  int d = std::max(0, -int(std::floor(std::log10(step) + 1e-9)));
  const double scaled = step * std::pow(10.0, d);
  if (std::abs(scaled - std::round(scaled)) > 1e-6) ++d;
  return d;
}

// Colours: matplotlib's tab10 cycle for series, viridis for densities, blues for heatmaps.
inline const std::array<const char*, 10>& palette() {
  static const std::array<const char*, 10> p{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                             "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return p;
}
inline std::string rgb_hex(double r, double g, double b) {
  char buf[8];
  auto c = [](double v) { return int(std::lround(std::clamp(v, 0.0, 1.0) * 255)); };
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c(r), c(g), c(b));
  return buf;
}
inline std::string lerp_map(std::span<const std::array<double, 3>> stops, double t) {
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * double(stops.size() - 1);
  const auto i = std::min(std::size_t(t), stops.size() - 2);
  const double f = t - double(i);
  const auto& a = stops[i];
  const auto& b = stops[i + 1];
  return rgb_hex(a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2]));
}
inline std::string viridis(double t) {
  static const std::array<std::array<double, 3>, 6> s{{{0.267, 0.005, 0.329}, {0.254, 0.265, 0.530},
                                                       {0.164, 0.471, 0.558}, {0.134, 0.659, 0.518},
                                                       {0.478, 0.821, 0.318}, {0.993, 0.906, 0.144}}};
  return lerp_map(s, t);
}
inline std::string blues(double t) {
  static const std::array<std::array<double, 3>, 5> s{{{0.969, 0.984, 1.000}, {0.776, 0.859, 0.937},
                                                       {0.420, 0.682, 0.839}, {0.129, 0.443, 0.710},
                                                       {0.031, 0.188, 0.420}}};
  return lerp_map(s, t);
}

inline double text_width(std::string_view s, double font_size) { return 0.58 * font_size * double(s.size()); }

// ----------------------------------------------------------------------------------- plot items

// Best: the inside corner covering the fewest plotted points; OutsideRight: in the right margin
// (reserve it with Axes::margins).
enum class LegendPos { Best, UpperRight, UpperLeft, LowerRight, LowerLeft, OutsideRight, None };

struct LineStyle {
  std::string color;  // empty: next palette colour
  double width = 1.6;
  bool dashed = false;
  double opacity = 1.0;
};

struct MarkerStyle {
  std::string color;
  double radius = 2.5;
  double opacity = 0.8;
};

class Figure;

class Axes {
 public:
  // ---- decoration
  Axes& title(std::string s) { title_ = std::move(s); return *this; }
  Axes& xlabel(std::string s) { xlabel_ = std::move(s); return *this; }
  Axes& ylabel(std::string s) { ylabel_ = std::move(s); return *this; }
  Axes& xlim(double lo, double hi) { xlim_ = {lo, hi}; return *this; }
  // lo > hi flips the axis (used by heatmaps, whose first row is drawn on top).
  Axes& ylim(double lo, double hi) { ylim_ = {lo, hi}; return *this; }
  Axes& log_y(bool on = true) { log_y_ = on; return *this; }
  Axes& legend(LegendPos p) { legend_ = p; return *this; }
  Axes& grid(bool on) { grid_ = on; return *this; }
  Axes& xticks(std::vector<double> at, std::vector<std::string> labels) {
    GALML_CHECK(at.size() == labels.size(), "svg xticks: ", at.size(), " positions but ", labels.size(), " labels");
    xtick_at_ = std::move(at); xtick_labels_ = std::move(labels); return *this;
  }
  Axes& yticks(std::vector<double> at, std::vector<std::string> labels) {
    GALML_CHECK(at.size() == labels.size(), "svg yticks: ", at.size(), " positions but ", labels.size(), " labels");
    ytick_at_ = std::move(at); ytick_labels_ = std::move(labels); return *this;
  }
  Axes& hide_xtick_labels(bool on = true) { hide_xtick_labels_ = on; return *this; }
  // Pixel margins between the panel box and the plotting area (room for ticks and labels).
  Axes& margins(double left, double right, double top, double bottom) {
    ml_ = left; mr_ = right; mt_ = top; mb_ = bottom; return *this;
  }
  // Draw a colour bar for the (first) density layer in the right margin.
  Axes& colorbar(bool on = true) { colorbar_ = on; if (on) mr_ = std::max(mr_, 62.0); return *this; }

  // ---- data
  Axes& line(std::string name, std::span<const double> x, std::span<const double> y, LineStyle st = {}) {
    check_xy("line", x, y);
    Item it{Kind::Line, std::move(name)};
    it.x.assign(x.begin(), x.end()); it.y.assign(y.begin(), y.end());
    it.color = pick(st.color); it.width = st.width; it.dashed = st.dashed; it.opacity = st.opacity;
    items_.push_back(std::move(it));
    return *this;
  }
  Axes& scatter(std::string name, std::span<const double> x, std::span<const double> y, MarkerStyle st = {}) {
    check_xy("scatter", x, y);
    Item it{Kind::Scatter, std::move(name)};
    it.x.assign(x.begin(), x.end()); it.y.assign(y.begin(), y.end());
    it.color = pick(st.color); it.width = st.radius; it.opacity = st.opacity;
    items_.push_back(std::move(it));
    return *this;
  }
  // Shaded region between lo(x) and hi(x).
  Axes& band(std::string name, std::span<const double> x, std::span<const double> lo,
             std::span<const double> hi, std::string color = {}, double opacity = 0.25) {
    check_xy("band", x, lo);
    check_xy("band", x, hi);
    Item it{Kind::Band, std::move(name)};
    it.x.assign(x.begin(), x.end()); it.y.assign(lo.begin(), lo.end()); it.y2.assign(hi.begin(), hi.end());
    it.color = pick(color); it.opacity = opacity;
    items_.push_back(std::move(it));
    return *this;
  }
  // 2-D histogram of (x, y) over [x0,x1]×[y0,y1] drawn as shaded cells (only non-empty cells);
  // log_color shades by log(count) so sparse outskirts stay visible next to a dense core.
  Axes& hist2d(std::string name, std::span<const double> x, std::span<const double> y, int nx, int ny,
               double x0, double x1, double y0, double y1, bool log_color = true) {
    check_xy("hist2d", x, y);
    GALML_CHECK(nx > 0 && ny > 0 && x1 > x0 && y1 > y0, "svg hist2d: need positive bin counts and ranges");
    Item it{Kind::Hist2d, std::move(name)};
    it.nx = nx; it.ny = ny; it.range = {x0, x1, y0, y1}; it.log_color = log_color;
    it.counts.assign(std::size_t(nx) * std::size_t(ny), 0);
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!(x[i] >= x0 && x[i] <= x1 && y[i] >= y0 && y[i] <= y1)) continue;
      const int ix = std::min(nx - 1, int((x[i] - x0) / (x1 - x0) * nx));
      const int iy = std::min(ny - 1, int((y[i] - y0) / (y1 - y0) * ny));
      ++it.counts[std::size_t(iy) * std::size_t(nx) + std::size_t(ix)];
      ++it.n_in;
    }
    items_.push_back(std::move(it));
    return *this;
  }
  // Bars centred at x with the given width; bottom (optional) stacks bars on earlier ones.
  Axes& bars(std::string name, std::span<const double> x, std::span<const double> height, double width,
             std::string color = {}, std::span<const double> yerr = {}, std::span<const double> bottom = {}) {
    check_xy("bars", x, height);
    GALML_CHECK(yerr.empty() || yerr.size() == x.size(), "svg bars: yerr has ", yerr.size(), " values, expected ", x.size());
    GALML_CHECK(bottom.empty() || bottom.size() == x.size(), "svg bars: bottom has ", bottom.size(), " values, expected ", x.size());
    Item it{Kind::Bars, std::move(name)};
    it.x.assign(x.begin(), x.end()); it.y.assign(height.begin(), height.end());
    it.err.assign(yerr.begin(), yerr.end());
    it.y2 = bottom.empty() ? std::vector<double>(x.size(), 0.0) : std::vector<double>(bottom.begin(), bottom.end());
    it.width = width; it.color = pick(color);
    items_.push_back(std::move(it));
    return *this;
  }
  // Points with symmetric vertical error bars, optionally joined by a line.
  Axes& errorbars(std::string name, std::span<const double> x, std::span<const double> y,
                  std::span<const double> yerr, std::string color = {}, bool joined = true) {
    check_xy("errorbars", x, y);
    GALML_CHECK(yerr.empty() || yerr.size() == x.size(), "svg errorbars: yerr has ", yerr.size(), " values, expected ", x.size());
    Item it{Kind::ErrorBars, std::move(name)};
    it.x.assign(x.begin(), x.end()); it.y.assign(y.begin(), y.end()); it.err.assign(yerr.begin(), yerr.end());
    it.color = pick(color); it.dashed = joined;
    items_.push_back(std::move(it));
    return *this;
  }
  // Matrix of counts, row r drawn at y = r and column c at x = c (pair with ylim(rows-.5, -.5)).
  // Cells are shaded by the row-normalised fraction and labelled "count" and "xx.x%".
  Axes& heatmap(std::string name, std::size_t rows, std::size_t cols, std::span<const std::int64_t> counts) {
    GALML_CHECK(counts.size() == rows * cols, "svg heatmap: ", counts.size(), " counts for ", rows, "×", cols);
    Item it{Kind::Heatmap, std::move(name)};
    it.nx = int(cols); it.ny = int(rows);
    it.counts.assign(counts.begin(), counts.end());
    items_.push_back(std::move(it));
    return *this;
  }
  Axes& hline(double y, LineStyle st = {}) {
    Item it{Kind::HLine, ""};
    it.y = {y}; it.color = st.color.empty() ? "#444444" : st.color; it.width = st.width; it.dashed = st.dashed;
    items_.push_back(std::move(it));
    return *this;
  }
  // Text at a position given as fractions of the plotting area (0,0 = bottom left), one line per '\n'.
  Axes& note(std::string text, double fx = 0.03, double fy = 0.97, double font_size = 11) {
    Item it{Kind::Note, ""};
    it.text = std::move(text); it.x = {fx}; it.y = {fy}; it.width = font_size;
    items_.push_back(std::move(it));
    return *this;
  }

 private:
  friend class Figure;
  enum class Kind { Line, Scatter, Band, Hist2d, Bars, ErrorBars, Heatmap, HLine, Note };
  struct Item {
    Item(Kind k, std::string n) : kind(k), name(std::move(n)) {}
    Kind kind;
    std::string name;
    std::vector<double> x, y, y2, err;
    std::string color, text;
    double width = 1.5, opacity = 1.0;
    bool dashed = false, log_color = false;
    int nx = 0, ny = 0;
    std::array<double, 4> range{};
    std::vector<std::int64_t> counts;
    std::int64_t n_in = 0;
  };
  struct Box { double x, y, w, h; };
  struct Map {
    double L, T, W, H, x0, x1, y0, y1;
    bool logy;
    double px(double x) const { return L + (x - x0) / (x1 - x0) * W; }
    double ty(double y) const { return logy ? (y > 0 ? std::log10(y) : std::numeric_limits<double>::quiet_NaN()) : y; }
    double py(double y) const { return T + H - (ty(y) - y0) / (y1 - y0) * H; }
  };

  static void check_xy(const char* what, std::span<const double> x, std::span<const double> y) {
    GALML_CHECK(x.size() == y.size(), "svg ", what, ": x has ", x.size(), " values but y has ", y.size());
  }
  std::string pick(const std::string& c) {
    if (!c.empty()) return c;
    return palette()[next_color_++ % palette().size()];
  }

  // Data extent of all items, in transformed (log10 for log-y) coordinates.
  void extent(double& xlo, double& xhi, double& ylo, double& yhi) const {
    const double inf = std::numeric_limits<double>::infinity();
    xlo = ylo = inf; xhi = yhi = -inf;
    auto addx = [&](double v) { if (std::isfinite(v)) { xlo = std::min(xlo, v); xhi = std::max(xhi, v); } };
    auto addy = [&](double v) {
      if (log_y_) v = v > 0 ? std::log10(v) : std::numeric_limits<double>::quiet_NaN();
      if (std::isfinite(v)) { ylo = std::min(ylo, v); yhi = std::max(yhi, v); }
    };
    for (const auto& it : items_) {
      switch (it.kind) {
        case Kind::Line: case Kind::Scatter:
          for (std::size_t i = 0; i < it.x.size(); ++i)
            if (std::isfinite(it.y[i]) && std::isfinite(it.x[i])) { addx(it.x[i]); addy(it.y[i]); }
          break;
        case Kind::Band:
          for (auto v : it.x) addx(v);
          for (auto v : it.y) addy(v);
          for (auto v : it.y2) addy(v);
          break;
        case Kind::Hist2d:
          addx(it.range[0]); addx(it.range[1]); addy(it.range[2]); addy(it.range[3]);
          break;
        case Kind::Bars:
          for (std::size_t i = 0; i < it.x.size(); ++i) {
            addx(it.x[i] - it.width / 2); addx(it.x[i] + it.width / 2);
            addy(it.y2[i]); addy(it.y2[i] + it.y[i] + (it.err.empty() ? 0.0 : it.err[i]));
          }
          break;
        case Kind::ErrorBars:
          for (std::size_t i = 0; i < it.x.size(); ++i) {
            const double e = it.err.empty() || !std::isfinite(it.err[i]) ? 0.0 : it.err[i];
            if (!std::isfinite(it.y[i])) continue;
            addx(it.x[i]); addy(it.y[i] - e); addy(it.y[i] + e);
          }
          break;
        case Kind::Heatmap:
          addx(-0.5); addx(it.nx - 0.5); addy(-0.5); addy(it.ny - 0.5);
          break;
        case Kind::HLine: addy(it.y[0]); break;
        case Kind::Note: break;
      }
    }
  }

  static std::string pts(const Map& m, const std::vector<std::pair<double, double>>& p) {
    std::string s;
    for (const auto& [x, y] : p) {
      if (!s.empty()) s += ' ';
      s += num(m.px(x)) + "," + num(m.py(y));
    }
    return s;
  }

  void render(std::ostream& o, Box box, int id) const;

  std::string title_, xlabel_, ylabel_;
  std::optional<std::pair<double, double>> xlim_, ylim_;
  bool log_y_ = false, grid_ = true, hide_xtick_labels_ = false, colorbar_ = false;
  LegendPos legend_ = LegendPos::Best;
  std::vector<double> xtick_at_, ytick_at_;
  std::vector<std::string> xtick_labels_, ytick_labels_;
  double ml_ = 64, mr_ = 16, mt_ = 28, mb_ = 46;
  std::vector<Item> items_;
  std::size_t next_color_ = 0;
  Box frac_{0, 0, 1, 1};
};

class Figure {
 public:
  Figure(double width = 640, double height = 440) : w_(width), h_(height) {
    GALML_CHECK(width > 0 && height > 0, "svg Figure: size must be positive");
  }
  // A panel covering the given fractions of the figure (x, y from the top-left corner).
  Axes& add_axes(double fx, double fy, double fw, double fh) {
    axes_.push_back(std::make_unique<Axes>());
    axes_.back()->frac_ = {fx, fy, fw, fh};
    return *axes_.back();
  }
  // Panel `index` (0-based, row-major) of a rows × cols grid below the figure title.
  Axes& subplot(int rows, int cols, int index) {
    GALML_CHECK(rows > 0 && cols > 0 && index >= 0 && index < rows * cols, "svg subplot: index ", index,
                " outside a ", rows, "×", cols, " grid");
    const double top = title_.empty() ? 0.0 : 30.0 / h_;
    const double ch = (1.0 - top) / rows, cw = 1.0 / cols;
    return add_axes(cw * (index % cols), top + ch * (index / cols), cw, ch);
  }
  Figure& title(std::string s) { title_ = std::move(s); return *this; }
  std::size_t n_axes() const { return axes_.size(); }
  Axes& axes(std::size_t i) { return *axes_.at(i); }

  std::string str() const {
    std::ostringstream o;
    o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << num(w_) << "\" height=\""
      << num(h_) << "\" viewBox=\"0 0 " << num(w_) << " " << num(h_)
      << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
      << "<rect class=\"background\" x=\"0\" y=\"0\" width=\"" << num(w_) << "\" height=\"" << num(h_)
      << "\" fill=\"white\"/>\n";
    if (!title_.empty())
      o << "<text class=\"figure-title\" x=\"" << num(w_ / 2) << "\" y=\"21\" text-anchor=\"middle\" "
        << "font-size=\"15\" font-weight=\"bold\">" << escape(title_) << "</text>\n";
    for (std::size_t i = 0; i < axes_.size(); ++i) {
      const auto& f = axes_[i]->frac_;
      axes_[i]->render(o, {f.x * w_, f.y * h_, f.w * w_, f.h * h_}, int(i));
    }
    o << "</svg>\n";
    return o.str();
  }
  void save(const std::filesystem::path& path) const { write_file_atomic(path, str()); }

 private:
  double w_, h_;
  std::string title_;
  std::vector<std::unique_ptr<Axes>> axes_;  // stable addresses: callers keep Axes& references
};

inline void Axes::render(std::ostream& o, Box box, int id) const {
  const double L = box.x + ml_, T = box.y + mt_;
  const double W = std::max(10.0, box.w - ml_ - mr_), H = std::max(10.0, box.h - mt_ - mb_);
  double xlo, xhi, ylo, yhi;
  extent(xlo, xhi, ylo, yhi);
  if (!std::isfinite(xlo)) { xlo = 0; xhi = 1; }
  if (!std::isfinite(ylo)) { ylo = 0; yhi = 1; }
  auto pad = [](double& lo, double& hi, double f) {
    if (hi == lo) { const double d = lo == 0 ? 0.5 : std::abs(lo) * 0.1; lo -= d; hi += d; return; }
    const double d = (hi - lo) * f; lo -= d; hi += d;
  };
  pad(xlo, xhi, 0.03);
  pad(ylo, yhi, 0.05);
  if (xlim_) { xlo = xlim_->first; xhi = xlim_->second; }
  if (ylim_) {
    ylo = log_y_ ? std::log10(ylim_->first) : ylim_->first;
    yhi = log_y_ ? std::log10(ylim_->second) : ylim_->second;
  }
  const Map m{L, T, W, H, xlo, xhi, ylo, yhi, log_y_};

  o << "<g class=\"axes\" data-index=\"" << id << "\">\n";
  o << "<clipPath id=\"clip" << id << "\"><rect x=\"" << num(L) << "\" y=\"" << num(T) << "\" width=\"" << num(W)
    << "\" height=\"" << num(H) << "\"/></clipPath>\n";

  // ---- ticks (computed first so grid lines go under the data)
  std::vector<double> xt = xtick_at_, yt_data = ytick_at_;
  std::vector<std::string> xl = xtick_labels_, yl = ytick_labels_;
  const double xmin = std::min(xlo, xhi), xmax = std::max(xlo, xhi);
  const double ymin = std::min(ylo, yhi), ymax = std::max(ylo, yhi);
  if (xt.empty()) {
    const auto t = nice_ticks(xmin, xmax, std::max(2, int(W / 80)));
    const int d = tick_decimals(t.step);
    for (double v : t.values) { xt.push_back(v); xl.push_back(num(v, d)); }
  }
  if (yt_data.empty()) {
    if (log_y_ && ymax - ymin >= 1.0) {
      // Decades; with few decades also 2× and 5× so the axis never shows a single label.
      const bool minor = ymax - ymin < 2.5;
      const int step = std::max(1, int(std::ceil((ymax - ymin) / 6)));
      for (int e = int(std::floor(ymin)); e <= int(std::ceil(ymax)); ++e)
        for (double mlt : {1.0, 2.0, 5.0}) {
          if (mlt != 1.0 && !minor) continue;
          if (mlt == 1.0 && e % step != 0) continue;
          const double v = mlt * std::pow(10.0, e);
          const double lv = std::log10(v);
          if (lv >= ymin - 1e-9 && lv <= ymax + 1e-9) { yt_data.push_back(v); yl.push_back(short_num(v, 3)); }
        }
    } else if (log_y_) {
      const auto t = nice_ticks(std::pow(10.0, ymin), std::pow(10.0, ymax), std::max(2, int(H / 50)));
      for (double v : t.values) if (v > 0) { yt_data.push_back(v); yl.push_back(short_num(v, 3)); }
    } else {
      const auto t = nice_ticks(ymin, ymax, std::max(2, int(H / 50)));
      const int d = tick_decimals(t.step);
      for (double v : t.values) { yt_data.push_back(v); yl.push_back(num(v, d)); }
    }
  }

  // ---- frame, grid
  if (grid_) {
    o << "<g class=\"grid\" stroke=\"#e6e6e6\" stroke-width=\"1\">\n";
    for (double v : xt) if (v >= xmin && v <= xmax)
      o << "<line x1=\"" << num(m.px(v)) << "\" y1=\"" << num(T) << "\" x2=\"" << num(m.px(v)) << "\" y2=\"" << num(T + H) << "\"/>\n";
    for (double v : yt_data) {
      const double p = m.py(v);
      if (p >= T - 0.01 && p <= T + H + 0.01)
        o << "<line x1=\"" << num(L) << "\" y1=\"" << num(p) << "\" x2=\"" << num(L + W) << "\" y2=\"" << num(p) << "\"/>\n";
    }
    o << "</g>\n";
  }

  // ---- data
  o << "<g class=\"data\" clip-path=\"url(#clip" << id << ")\">\n";
  std::int64_t cbar_max = 0;
  bool cbar_log = false;
  for (const auto& it : items_) {
    const std::string nm = escape(it.name);
    switch (it.kind) {
      case Kind::Line: {
        o << "<g class=\"series\" data-kind=\"line\" data-name=\"" << nm << "\" data-n=\"" << it.x.size()
          << "\" fill=\"none\" stroke=\"" << it.color << "\" stroke-width=\"" << num(it.width)
          << "\" stroke-linejoin=\"round\"" << (it.opacity < 1 ? " stroke-opacity=\"" + num(it.opacity) + "\"" : "")
          << (it.dashed ? " stroke-dasharray=\"6,4\"" : "") << ">\n";
        // Non-finite (or, on log-y, non-positive) values break the line into segments.
        std::vector<std::pair<double, double>> seg;
        auto flush = [&] {
          if (!seg.empty()) o << "<polyline points=\"" << pts(m, seg) << "\"/>\n";
          seg.clear();
        };
        for (std::size_t i = 0; i < it.x.size(); ++i) {
          if (std::isfinite(it.x[i]) && std::isfinite(m.ty(it.y[i]))) seg.emplace_back(it.x[i], it.y[i]);
          else flush();
        }
        flush();
        o << "</g>\n";
        break;
      }
      case Kind::Scatter: {
        o << "<g class=\"series\" data-kind=\"scatter\" data-name=\"" << nm << "\" data-n=\"" << it.x.size()
          << "\" fill=\"" << it.color << "\" fill-opacity=\"" << num(it.opacity) << "\">\n";
        for (std::size_t i = 0; i < it.x.size(); ++i)
          if (std::isfinite(it.x[i]) && std::isfinite(m.ty(it.y[i])))
            o << "<circle cx=\"" << num(m.px(it.x[i])) << "\" cy=\"" << num(m.py(it.y[i])) << "\" r=\"" << num(it.width) << "\"/>\n";
        o << "</g>\n";
        break;
      }
      case Kind::Band: {
        std::vector<std::pair<double, double>> p;
        for (std::size_t i = 0; i < it.x.size(); ++i)
          if (std::isfinite(it.x[i]) && std::isfinite(m.ty(it.y[i])) && std::isfinite(m.ty(it.y2[i]))) p.emplace_back(it.x[i], it.y2[i]);
        for (std::size_t i = it.x.size(); i-- > 0;)
          if (std::isfinite(it.x[i]) && std::isfinite(m.ty(it.y[i])) && std::isfinite(m.ty(it.y2[i]))) p.emplace_back(it.x[i], it.y[i]);
        o << "<g class=\"series\" data-kind=\"band\" data-name=\"" << nm << "\" data-n=\"" << it.x.size() << "\">\n"
          << "<polygon points=\"" << pts(m, p) << "\" fill=\"" << it.color << "\" fill-opacity=\"" << num(it.opacity)
          << "\" stroke=\"none\"/>\n</g>\n";
        break;
      }
      case Kind::Hist2d: {
        const auto mx = it.counts.empty() ? 0 : *std::max_element(it.counts.begin(), it.counts.end());
        if (cbar_max == 0) { cbar_max = mx; cbar_log = it.log_color; }
        o << "<g class=\"series hist2d\" data-kind=\"hist2d\" data-name=\"" << nm << "\" data-n=\"" << it.n_in
          << "\" data-nx=\"" << it.nx << "\" data-ny=\"" << it.ny << "\" data-max=\"" << mx << "\" stroke=\"none\">\n";
        const double dx = (it.range[1] - it.range[0]) / it.nx, dy = (it.range[3] - it.range[2]) / it.ny;
        for (int iy = 0; iy < it.ny; ++iy)
          for (int ix = 0; ix < it.nx; ++ix) {
            const auto c = it.counts[std::size_t(iy) * std::size_t(it.nx) + std::size_t(ix)];
            if (c == 0) continue;
            // Log scale runs from 1 (darkest) to the maximum count.
            const double t = it.log_color ? (mx > 1 ? std::log(double(c)) / std::log(double(mx)) : 1.0) : double(c) / double(mx);
            const double xa = m.px(it.range[0] + ix * dx), xb = m.px(it.range[0] + (ix + 1) * dx);
            const double ya = m.py(it.range[2] + (iy + 1) * dy), yb = m.py(it.range[2] + iy * dy);
            // +0.3 px overlap hides hairline gaps between neighbouring cells in some renderers.
            o << "<rect class=\"cell\" data-count=\"" << c << "\" x=\"" << num(std::min(xa, xb)) << "\" y=\""
              << num(std::min(ya, yb)) << "\" width=\"" << num(std::abs(xb - xa) + 0.3) << "\" height=\""
              << num(std::abs(yb - ya) + 0.3) << "\" fill=\"" << viridis(t) << "\"/>\n";
          }
        o << "</g>\n";
        break;
      }
      case Kind::Bars: {
        o << "<g class=\"series\" data-kind=\"bars\" data-name=\"" << nm << "\" data-n=\"" << it.x.size() << "\" fill=\""
          << it.color << "\">\n";
        for (std::size_t i = 0; i < it.x.size(); ++i) {
          if (!std::isfinite(it.y[i])) continue;
          const double xa = m.px(it.x[i] - it.width / 2), xb = m.px(it.x[i] + it.width / 2);
          const double ya = m.py(it.y2[i] + it.y[i]), yb = m.py(it.y2[i]);
          if (!std::isfinite(ya) || !std::isfinite(yb)) continue;
          o << "<rect class=\"bar\" data-value=\"" << short_num(it.y[i], 6) << "\" x=\"" << num(std::min(xa, xb))
            << "\" y=\"" << num(std::min(ya, yb)) << "\" width=\"" << num(std::abs(xb - xa)) << "\" height=\""
            << num(std::abs(yb - ya)) << "\" stroke=\"white\" stroke-width=\"0.5\"/>\n";
          if (!it.err.empty() && std::isfinite(it.err[i]) && it.err[i] > 0) {
            const double top = it.y2[i] + it.y[i];
            const double cx = m.px(it.x[i]), e0 = m.py(top - it.err[i]), e1 = m.py(top + it.err[i]);
            o << "<path class=\"errorbar\" d=\"M" << num(cx) << "," << num(e0) << "V" << num(e1) << "M" << num(cx - 4)
              << "," << num(e1) << "h8M" << num(cx - 4) << "," << num(e0) << "h8\" stroke=\"#333333\" stroke-width=\"1.2\" fill=\"none\"/>\n";
          }
        }
        o << "</g>\n";
        break;
      }
      case Kind::ErrorBars: {
        o << "<g class=\"series\" data-kind=\"errorbars\" data-name=\"" << nm << "\" data-n=\"" << it.x.size()
          << "\" stroke=\"" << it.color << "\" fill=\"" << it.color << "\">\n";
        std::vector<std::pair<double, double>> p;
        for (std::size_t i = 0; i < it.x.size(); ++i)
          if (std::isfinite(it.x[i]) && std::isfinite(m.ty(it.y[i]))) p.emplace_back(it.x[i], it.y[i]);
        if (it.dashed && p.size() > 1)
          o << "<polyline class=\"join\" points=\"" << pts(m, p) << "\" fill=\"none\" stroke-width=\"1.2\"/>\n";
        for (std::size_t i = 0; i < it.x.size(); ++i) {
          if (!std::isfinite(it.x[i]) || !std::isfinite(m.ty(it.y[i]))) continue;
          const double cx = m.px(it.x[i]), cy = m.py(it.y[i]);
          if (!it.err.empty() && std::isfinite(it.err[i]) && it.err[i] > 0) {
            const double e0 = m.py(it.y[i] - it.err[i]), e1 = m.py(it.y[i] + it.err[i]);
            if (std::isfinite(e0) && std::isfinite(e1))
              o << "<path class=\"errorbar\" d=\"M" << num(cx) << "," << num(e0) << "V" << num(e1) << "M" << num(cx - 4)
                << "," << num(e1) << "h8M" << num(cx - 4) << "," << num(e0) << "h8\" fill=\"none\" stroke-width=\"1.2\"/>\n";
          }
          o << "<circle cx=\"" << num(cx) << "\" cy=\"" << num(cy) << "\" r=\"3.5\" stroke=\"white\" stroke-width=\"0.8\"/>\n";
        }
        o << "</g>\n";
        break;
      }
      case Kind::Heatmap: {
        o << "<g class=\"series heatmap\" data-kind=\"heatmap\" data-name=\"" << nm << "\" data-rows=\"" << it.ny
          << "\" data-cols=\"" << it.nx << "\">\n";
        const double cw = std::abs(m.px(1) - m.px(0)), chh = std::abs(m.py(1) - m.py(0));
        const double fs = std::clamp(std::min(cw / 6.0, chh / 3.2), 7.0, 13.0);
        for (int r = 0; r < it.ny; ++r) {
          std::int64_t rs = 0;
          for (int c = 0; c < it.nx; ++c) rs += it.counts[std::size_t(r * it.nx + c)];
          for (int c = 0; c < it.nx; ++c) {
            const auto n = it.counts[std::size_t(r * it.nx + c)];
            const double f = rs ? double(n) / double(rs) : 0.0;
            const double xa = m.px(c - 0.5), xb = m.px(c + 0.5), ya = m.py(r - 0.5), yb = m.py(r + 0.5);
            const double x0 = std::min(xa, xb), y0 = std::min(ya, yb);
            o << "<rect class=\"cell\" data-row=\"" << r << "\" data-col=\"" << c << "\" data-count=\"" << n
              << "\" data-fraction=\"" << num(f, 6) << "\" x=\"" << num(x0) << "\" y=\"" << num(y0) << "\" width=\""
              << num(std::abs(xb - xa)) << "\" height=\"" << num(std::abs(yb - ya)) << "\" fill=\"" << blues(f)
              << "\" stroke=\"white\" stroke-width=\"1\"/>\n";
            const char* tc = f > 0.55 ? "white" : "#222222";
            const double cx = x0 + std::abs(xb - xa) / 2, cy = y0 + std::abs(yb - ya) / 2;
            o << "<text class=\"cell-label\" x=\"" << num(cx) << "\" y=\"" << num(cy - 0.2 * fs) << "\" text-anchor=\"middle\" font-size=\""
              << num(fs) << "\" font-weight=\"bold\" fill=\"" << tc << "\">" << n << "</text>\n"
              << "<text class=\"cell-pct\" x=\"" << num(cx) << "\" y=\"" << num(cy + 1.0 * fs) << "\" text-anchor=\"middle\" font-size=\""
              << num(fs * 0.85) << "\" fill=\"" << tc << "\">" << num(100 * f, 1) << "%</text>\n";
          }
        }
        o << "</g>\n";
        break;
      }
      case Kind::HLine: {
        const double p = m.py(it.y[0]);
        if (std::isfinite(p))
          o << "<line class=\"refline\" x1=\"" << num(L) << "\" y1=\"" << num(p) << "\" x2=\"" << num(L + W) << "\" y2=\""
            << num(p) << "\" stroke=\"" << it.color << "\" stroke-width=\"" << num(it.width) << "\""
            << (it.dashed ? " stroke-dasharray=\"6,4\"" : "") << "/>\n";
        break;
      }
      case Kind::Note: break;
    }
  }
  o << "</g>\n";

  // ---- frame and ticks
  o << "<rect class=\"frame\" x=\"" << num(L) << "\" y=\"" << num(T) << "\" width=\"" << num(W) << "\" height=\"" << num(H)
    << "\" fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>\n";
  o << "<g class=\"xticks\" font-size=\"11\" fill=\"#333333\">\n";
  // Thin out x labels that would overlap their neighbour (long category names, dense ticks).
  double last_right = -1e300;
  for (std::size_t i = 0; i < xt.size(); ++i) {
    if (xt[i] < xmin - 1e-12 || xt[i] > xmax + 1e-12) continue;
    const double p = m.px(xt[i]);
    o << "<line x1=\"" << num(p) << "\" y1=\"" << num(T + H) << "\" x2=\"" << num(p) << "\" y2=\"" << num(T + H + 4)
      << "\" stroke=\"#333333\"/>\n";
    if (hide_xtick_labels_) continue;
    const double tw = text_width(xl[i], 11);
    if (p - tw / 2 < last_right + 4) continue;
    last_right = p + tw / 2;
    o << "<text class=\"tick-label\" x=\"" << num(p) << "\" y=\"" << num(T + H + 16) << "\" text-anchor=\"middle\">"
      << escape(xl[i]) << "</text>\n";
  }
  o << "</g>\n<g class=\"yticks\" font-size=\"11\" fill=\"#333333\">\n";
  double max_ylabel_w = 0, last_top = 1e300;
  for (std::size_t i = 0; i < yt_data.size(); ++i) {
    const double p = m.py(yt_data[i]);
    if (!(p >= T - 0.01 && p <= T + H + 0.01)) continue;
    o << "<line x1=\"" << num(L - 4) << "\" y1=\"" << num(p) << "\" x2=\"" << num(L) << "\" y2=\"" << num(p)
      << "\" stroke=\"#333333\"/>\n";
    if (std::abs(p - last_top) < 12) continue;  // would overlap the previous label
    last_top = p;
    max_ylabel_w = std::max(max_ylabel_w, text_width(yl[i], 11));
    o << "<text class=\"tick-label\" x=\"" << num(L - 7) << "\" y=\"" << num(p + 4) << "\" text-anchor=\"end\">"
      << escape(yl[i]) << "</text>\n";
  }
  o << "</g>\n";

  // ---- labels and title
  if (!title_.empty())
    o << "<text class=\"axes-title\" x=\"" << num(L + W / 2) << "\" y=\"" << num(T - 9) << "\" text-anchor=\"middle\" "
      << "font-size=\"13\" font-weight=\"bold\">" << escape(title_) << "</text>\n";
  if (!xlabel_.empty())
    o << "<text class=\"xlabel\" x=\"" << num(L + W / 2) << "\" y=\"" << num(T + H + 36) << "\" text-anchor=\"middle\" "
      << "font-size=\"12\">" << escape(xlabel_) << "</text>\n";
  if (!ylabel_.empty()) {
    // Left of the widest tick label, but never outside the panel box.
    const double x = std::max(box.x + 12, L - 12 - max_ylabel_w - 6);
    const double y = T + H / 2;
    o << "<text class=\"ylabel\" x=\"" << num(x) << "\" y=\"" << num(y) << "\" text-anchor=\"middle\" font-size=\"12\" "
      << "transform=\"rotate(-90 " << num(x) << " " << num(y) << ")\">" << escape(ylabel_) << "</text>\n";
  }

  // ---- notes (after data so they sit on top)
  for (const auto& it : items_) {
    if (it.kind != Kind::Note) continue;
    std::vector<std::string> lines;
    std::stringstream ss(it.text);
    for (std::string ln; std::getline(ss, ln);) lines.push_back(ln);
    double wmax = 0;
    for (auto& ln : lines) wmax = std::max(wmax, text_width(ln, it.width));
    const double fs = it.width, lh = fs * 1.25;
    double x = L + it.x[0] * W, y = T + (1 - it.y[0]) * H;
    const bool right = it.x[0] > 0.5, bottom = it.y[0] < 0.5;
    const double bx = right ? x - wmax - 8 : x, by = bottom ? y - lh * double(lines.size()) - 6 : y;
    o << "<g class=\"note\" font-size=\"" << num(fs) << "\">\n<rect x=\"" << num(bx) << "\" y=\"" << num(by) << "\" width=\""
      << num(wmax + 8) << "\" height=\"" << num(lh * double(lines.size()) + 6) << "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbbbbb\"/>\n";
    for (std::size_t k = 0; k < lines.size(); ++k)
      o << "<text x=\"" << num(bx + 4) << "\" y=\"" << num(by + 3 + fs + lh * double(k)) << "\">" << escape(lines[k]) << "</text>\n";
    o << "</g>\n";
  }

  // ---- legend
  std::vector<const Item*> leg;
  for (const auto& it : items_)
    if (!it.name.empty() && it.kind != Kind::Hist2d && it.kind != Kind::Heatmap && it.kind != Kind::Note) leg.push_back(&it);
  if (!leg.empty() && legend_ != LegendPos::None) {
    const double fs = 11, lh = 16;
    double tw = 0;
    for (auto* it : leg) tw = std::max(tw, text_width(it->name, fs));
    const double lw = tw + 38, lhgt = lh * double(leg.size()) + 8;
    auto corner = [&](LegendPos p, double& lx, double& ly) {
      const bool right = p == LegendPos::UpperRight || p == LegendPos::LowerRight;
      const bool upper = p == LegendPos::UpperRight || p == LegendPos::UpperLeft;
      lx = right ? L + W - lw - 6 : L + 6;
      ly = upper ? T + 6 : T + H - lhgt - 6;
    };
    LegendPos pos = legend_;
    if (pos == LegendPos::Best) {
      // Count the points (and line vertices) each candidate box would hide; ties keep the
      // conventional upper-right first.
      std::size_t best = std::numeric_limits<std::size_t>::max();
      for (auto cand : {LegendPos::UpperRight, LegendPos::UpperLeft, LegendPos::LowerRight, LegendPos::LowerLeft}) {
        double cx, cy;
        corner(cand, cx, cy);
        std::size_t hits = 0;
        auto hit = [&](double px, double py) { hits += px >= cx - 4 && px <= cx + lw + 4 && py >= cy - 4 && py <= cy + lhgt + 4; };
        for (const auto& it : items_) {
          if (it.kind == Kind::Line || it.kind == Kind::Scatter || it.kind == Kind::ErrorBars) {
            for (std::size_t i = 0; i < it.x.size(); ++i) {
              hit(m.px(it.x[i]), m.py(it.y[i]));
              if (it.kind == Kind::Line && i + 1 < it.x.size())  // midpoints catch long straight segments
                hit(m.px(0.5 * (it.x[i] + it.x[i + 1])), 0.5 * (m.py(it.y[i]) + m.py(it.y[i + 1])));
            }
          } else if (it.kind == Kind::Bars) {
            for (std::size_t i = 0; i < it.x.size(); ++i)
              for (double f : {0.0, 0.25, 0.5, 0.75, 1.0}) hit(m.px(it.x[i]), m.py(it.y2[i] + f * it.y[i]));
          }
        }
        if (hits < best) { best = hits; pos = cand; }
      }
    }
    double lx, ly;
    if (pos == LegendPos::OutsideRight) { lx = L + W + 10; ly = T; }
    else corner(pos, lx, ly);
    o << "<g class=\"legend\" font-size=\"" << num(fs) << "\">\n<rect x=\"" << num(lx) << "\" y=\"" << num(ly) << "\" width=\""
      << num(lw) << "\" height=\"" << num(lhgt) << "\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#bbbbbb\" rx=\"3\"/>\n";
    for (std::size_t k = 0; k < leg.size(); ++k) {
      const auto* it = leg[k];
      const double cy = ly + 4 + lh * double(k) + lh / 2, sx = lx + 6;
      switch (it->kind) {
        case Kind::Line:
          o << "<line x1=\"" << num(sx) << "\" y1=\"" << num(cy) << "\" x2=\"" << num(sx + 22) << "\" y2=\"" << num(cy)
            << "\" stroke=\"" << it->color << "\" stroke-width=\"" << num(std::max(1.5, it->width)) << "\""
            << (it->dashed ? " stroke-dasharray=\"6,4\"" : "") << "/>\n";
          break;
        case Kind::Scatter: case Kind::ErrorBars:
          o << "<circle cx=\"" << num(sx + 11) << "\" cy=\"" << num(cy) << "\" r=\"3.5\" fill=\"" << it->color << "\"/>\n";
          break;
        default:
          o << "<rect x=\"" << num(sx + 2) << "\" y=\"" << num(cy - 5) << "\" width=\"18\" height=\"10\" fill=\"" << it->color
            << "\"" << (it->kind == Kind::Band ? " fill-opacity=\"" + num(std::max(it->opacity, 0.35)) + "\"" : "") << "/>\n";
      }
      o << "<text class=\"legend-label\" x=\"" << num(sx + 28) << "\" y=\"" << num(cy + 4) << "\">" << escape(it->name) << "</text>\n";
    }
    o << "</g>\n";
  }

  // ---- colour bar for the density layer
  if (colorbar_ && cbar_max > 0) {
    const double bx = L + W + 10, bw = 12;
    const int steps = 32;
    o << "<g class=\"colorbar\" font-size=\"10\" fill=\"#333333\">\n";
    for (int s = 0; s < steps; ++s) {
      const double t = (s + 0.5) / steps;
      o << "<rect x=\"" << num(bx) << "\" y=\"" << num(T + H - H * (s + 1) / steps) << "\" width=\"" << num(bw)
        << "\" height=\"" << num(H / steps + 0.3) << "\" fill=\"" << viridis(t) << "\"/>\n";
    }
    o << "<rect x=\"" << num(bx) << "\" y=\"" << num(T) << "\" width=\"" << num(bw) << "\" height=\"" << num(H)
      << "\" fill=\"none\" stroke=\"#333333\" stroke-width=\"0.8\"/>\n";
    // Label 1, the middle and the maximum count at their colour positions.
    std::vector<double> vals{1.0, cbar_log ? std::round(std::sqrt(double(cbar_max))) : std::round(double(cbar_max) / 2.0),
                             double(cbar_max)};
    double last = 1e300;
    for (double v : vals) {
      const double t = cbar_log ? (cbar_max > 1 ? std::log(v) / std::log(double(cbar_max)) : 1.0) : v / double(cbar_max);
      const double y = T + H - t * H;
      if (std::abs(y - last) < 12) continue;
      last = y;
      o << "<text x=\"" << num(bx + bw + 3) << "\" y=\"" << num(y + 3.5) << "\">" << num(v, 0) << "</text>\n";
    }
    o << "<text x=\"" << num(bx + bw / 2) << "\" y=\"" << num(T - 6) << "\" text-anchor=\"middle\">N</text>\n</g>\n";
  }
  o << "</g>\n";
}

// --------------------------------------------------------------------------- ready-made plots

struct Series {
  std::string name;
  std::vector<double> x, y;
  LineStyle style{};
};

struct LinePlotOptions {
  std::string title, xlabel = "epoch", ylabel;
  bool log_y = false;
  double width = 640, height = 420;
  LegendPos legend = LegendPos::Best;
};

// Loss curves, task weights, learning rate: one line per series.
inline Figure line_plot(const std::vector<Series>& series, const LinePlotOptions& opt = {}) {
  Figure f(opt.width, opt.height);
  auto& ax = f.add_axes(0, 0, 1, 1).title(opt.title).xlabel(opt.xlabel).ylabel(opt.ylabel).log_y(opt.log_y).legend(opt.legend);
  for (const auto& s : series) ax.line(s.name, s.x, s.y, s.style);
  return f;
}

// Running median and population σ of y in equal-width bins of x (bins with < min_count points skipped).
struct RunningStats {
  std::vector<double> x, median, sigma;
};
inline RunningStats running_median(std::span<const double> x, std::span<const double> y, double x0, double x1,
                                   int bins, std::size_t min_count = 10) {
  RunningStats r;
  std::vector<std::vector<double>> b(std::size_t(std::max(bins, 1)));
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!(x[i] >= x0 && x[i] <= x1) || !std::isfinite(y[i])) continue;
    b[std::size_t(std::min(bins - 1, int((x[i] - x0) / (x1 - x0) * bins)))].push_back(y[i]);
  }
  for (int k = 0; k < bins; ++k) {
    auto& v = b[std::size_t(k)];
    if (v.size() < std::max<std::size_t>(min_count, 1)) continue;
    r.x.push_back(x0 + (k + 0.5) * (x1 - x0) / bins);
    r.sigma.push_back(metrics::detail::pstd_of(v));
    r.median.push_back(metrics::detail::median_inplace(v));
  }
  return r;
}

struct PredTrueOptions {
  std::string title, quantity = "value", unit;  // axis labels: "true <quantity> [unit]"
  int bins = 60;                                // density cells per axis
  int running_bins = 20;
  std::size_t min_count = 10;
  double width = 540, height = 640;
  bool clip_range = true;  // axis range from the 0.1–99.9 percentiles so a few outliers do not squash the plot
};

// Predicted vs true as a density plot with the 1:1 line, running median ±1σ and a residual panel.
inline Figure pred_vs_true(std::span<const double> pred, std::span<const double> truth, const PredTrueOptions& opt = {}) {
  GALML_CHECK(pred.size() == truth.size() && !pred.empty(), "pred_vs_true: need equal, non-empty pred and true (",
              pred.size(), " vs ", truth.size(), ")");
  std::vector<double> all(pred.begin(), pred.end());
  all.insert(all.end(), truth.begin(), truth.end());
  std::erase_if(all, [](double v) { return !std::isfinite(v); });
  GALML_CHECK(!all.empty(), "pred_vs_true: no finite values");
  double lo = opt.clip_range ? metrics::percentile(all, 0.1) : *std::min_element(all.begin(), all.end());
  double hi = opt.clip_range ? metrics::percentile(all, 99.9) : *std::max_element(all.begin(), all.end());
  if (hi <= lo) { lo -= 0.5; hi += 0.5; }
  const double padr = 0.04 * (hi - lo);
  lo -= padr; hi += padr;
  std::vector<double> res(pred.size());
  for (std::size_t i = 0; i < pred.size(); ++i) res[i] = pred[i] - truth[i];
  std::vector<double> fres = res;
  std::erase_if(fres, [](double v) { return !std::isfinite(v); });
  double rr = std::max(std::abs(metrics::percentile(fres, 0.5)), std::abs(metrics::percentile(fres, 99.5))) * 1.15;
  if (!(rr > 0)) rr = 1;

  const std::string unit = opt.unit.empty() ? "" : " [" + opt.unit + "]";
  const auto rep = metrics::regression_report(pred, truth);
  Figure f(opt.width, opt.height);
  if (!opt.title.empty()) f.title(opt.title);
  const double top = opt.title.empty() ? 0.0 : 28.0 / opt.height;
  const double main_h = (1 - top) * 0.70;
  auto& ax = f.add_axes(0, top, 1, main_h).margins(66, 70, 12, 8).colorbar().hide_xtick_labels().legend(LegendPos::LowerRight);
  ax.ylabel("predicted " + opt.quantity + unit).xlim(lo, hi).ylim(lo, hi);
  ax.hist2d("density", truth, pred, opt.bins, opt.bins, lo, hi, lo, hi);
  const std::vector<double> diag{lo, hi};
  ax.line("1:1", diag, diag, {"#222222", 1.2, true});
  const auto rm = running_median(truth, pred, lo, hi, opt.running_bins, opt.min_count);
  std::vector<double> bl(rm.x.size()), bh(rm.x.size());
  for (std::size_t k = 0; k < rm.x.size(); ++k) { bl[k] = rm.median[k] - rm.sigma[k]; bh[k] = rm.median[k] + rm.sigma[k]; }
  ax.band("\xC2\xB1" "1\xCF\x83", rm.x, bl, bh, "#e4572e", 0.25);
  ax.line("running median", rm.x, rm.median, {"#e4572e", 2.2});
  ax.note("N = " + std::to_string(rep.n) + "\nbias = " + short_num(rep.bias, 3) + "\nSD = " + short_num(rep.sd, 3) +
          "\nNMAD = " + short_num(rep.nmad, 3) + "\nR\xC2\xB2 = " + num(rep.r2, 4));

  auto& rx = f.add_axes(0, top + main_h, 1, 1 - top - main_h).margins(66, 70, 6, 46).legend(LegendPos::None);
  rx.xlabel("true " + opt.quantity + unit).ylabel("residual").xlim(lo, hi).ylim(-rr, rr);
  rx.hist2d("residual density", truth, res, opt.bins, std::max(10, opt.bins / 3), lo, hi, -rr, rr);
  rx.hline(0, {"#222222", 1.2, true});
  const auto rr_m = running_median(truth, res, lo, hi, opt.running_bins, opt.min_count);
  std::vector<double> rl(rr_m.x.size()), rh(rr_m.x.size());
  for (std::size_t k = 0; k < rr_m.x.size(); ++k) { rl[k] = rr_m.median[k] - rr_m.sigma[k]; rh[k] = rr_m.median[k] + rr_m.sigma[k]; }
  rx.band("\xC2\xB1" "1\xCF\x83", rr_m.x, rl, rh, "#e4572e", 0.25);
  rx.line("running median", rr_m.x, rr_m.median, {"#e4572e", 2.2});
  return f;
}

// Confusion-matrix heatmap: counts and row-normalised percentages (the diagonal is the recall).
inline Figure confusion_heatmap(const metrics::ConfusionMatrix& cm, std::vector<std::string> names = {},
                                std::string title = "Confusion matrix", double size = 480) {
  const std::size_t k = cm.n_classes;
  if (names.empty())
    for (std::size_t c = 0; c < k; ++c) names.push_back(std::to_string(c));
  GALML_CHECK(names.size() == k, "confusion_heatmap: ", names.size(), " names for ", k, " classes");
  double maxw = 0;
  for (auto& n : names) maxw = std::max(maxw, text_width(n, 11));
  Figure f(size + maxw, size + 20);
  auto& ax = f.add_axes(0, 0, 1, 1).title(std::move(title)).xlabel("predicted class").ylabel("true class").grid(false);
  ax.margins(maxw + 40, 16, 30, 48);
  std::vector<double> at;
  for (std::size_t c = 0; c < k; ++c) at.push_back(double(c));
  ax.xticks(at, names).yticks(at, names).xlim(-0.5, double(k) - 0.5).ylim(double(k) - 0.5, -0.5);
  ax.heatmap("confusion", k, k, cm.counts);
  return f;
}

// One value per bin of a third variable (accuracy per z bin, SD per S/N bin, ...).
struct BinnedSeries {
  std::string name;
  std::vector<double> values{}, errors{};  // errors optional
  std::string color{};
};
struct BinnedPlotOptions {
  std::string title, xlabel, ylabel;
  bool bars = true;  // false: points with error bars joined by a line
  std::optional<std::pair<double, double>> ylim;
  double width = 600, height = 400;
  LegendPos legend = LegendPos::Best;
};
inline std::string bin_label(double lo, double hi) {
  if (std::isinf(hi)) return "\xE2\x89\xA5" + short_num(lo, 3);
  return short_num(lo, 3) + "\xE2\x80\x93" + short_num(hi, 3);
}
// Bins are drawn as equally spaced categories labelled "lo–hi", so unequal or open-ended bins stay readable.
inline Figure binned_plot(std::span<const double> edges, const std::vector<BinnedSeries>& series,
                          const BinnedPlotOptions& opt = {}) {
  metrics::check_edges(edges);
  const std::size_t nb = edges.size() - 1;
  Figure f(opt.width, opt.height);
  auto& ax = f.add_axes(0, 0, 1, 1).title(opt.title).xlabel(opt.xlabel).ylabel(opt.ylabel).legend(opt.legend);
  std::vector<double> at;
  std::vector<std::string> labels;
  for (std::size_t k = 0; k < nb; ++k) { at.push_back(double(k)); labels.push_back(bin_label(edges[k], edges[k + 1])); }
  ax.xticks(at, labels).xlim(-0.6, double(nb) - 0.4);
  if (opt.ylim) ax.ylim(opt.ylim->first, opt.ylim->second);
  const double group = 0.8, w = group / double(std::max<std::size_t>(series.size(), 1));
  for (std::size_t s = 0; s < series.size(); ++s) {
    GALML_CHECK(series[s].values.size() == nb, "binned_plot: series '", series[s].name, "' has ",
                series[s].values.size(), " values for ", nb, " bins");
    std::vector<double> x(nb);
    for (std::size_t k = 0; k < nb; ++k)
      x[k] = double(k) + (opt.bars ? -group / 2 + w * (double(s) + 0.5) : 0.0);
    if (opt.bars) ax.bars(series[s].name, x, series[s].values, w * 0.92, series[s].color, series[s].errors);
    else ax.errorbars(series[s].name, x, series[s].values, series[s].errors, series[s].color);
  }
  return f;
}

// Class composition per bin as stacked bars (MTLforGalSpecZ Fig. 9b).
inline Figure class_fraction_plot(std::span<const double> edges, const std::vector<metrics::ClassificationBin>& bins,
                                  std::vector<std::string> names, const BinnedPlotOptions& opt = {}) {
  metrics::check_edges(edges);
  GALML_CHECK(bins.size() + 1 == edges.size(), "class_fraction_plot: ", bins.size(), " bins for ", edges.size(), " edges");
  const std::size_t K = bins.empty() ? 0 : bins[0].class_fractions.size();
  GALML_CHECK(names.size() == K, "class_fraction_plot: ", names.size(), " names for ", K, " classes");
  Figure f(opt.width, opt.height);
  auto& ax = f.add_axes(0, 0, 1, 1).title(opt.title).xlabel(opt.xlabel).ylabel(opt.ylabel.empty() ? "fraction" : opt.ylabel);
  ax.margins(64, 130, 28, 46).legend(LegendPos::OutsideRight);
  std::vector<double> at;
  std::vector<std::string> labels;
  for (std::size_t k = 0; k < bins.size(); ++k) { at.push_back(double(k)); labels.push_back(bin_label(edges[k], edges[k + 1])); }
  ax.xticks(at, labels).xlim(-0.6, double(bins.size()) - 0.4).ylim(0, 1);
  std::vector<double> bottom(bins.size(), 0.0);
  for (std::size_t c = 0; c < K; ++c) {
    std::vector<double> h(bins.size());
    for (std::size_t k = 0; k < bins.size(); ++k) h[k] = bins[k].class_fractions[c];
    ax.bars(names[c], at, h, 0.7, {}, {}, bottom);
    for (std::size_t k = 0; k < bins.size(); ++k) bottom[k] += h[k];
  }
  return f;
}

// One-vs-rest ROC curves, the AUC in each legend entry.
struct RocSeries {
  std::string name;
  std::vector<double> fpr, tpr;
  double auc = std::numeric_limits<double>::quiet_NaN();
};
inline Figure roc_plot(const std::vector<RocSeries>& curves, std::string title = "ROC (one-vs-rest)", double size = 460) {
  Figure f(size, size);
  auto& ax = f.add_axes(0, 0, 1, 1).title(std::move(title)).xlabel("false positive rate").ylabel("true positive rate");
  ax.xlim(0, 1).ylim(0, 1.02).legend(LegendPos::LowerRight);
  const std::vector<double> d{0, 1};
  ax.line("chance", d, d, {"#999999", 1.0, true});
  for (const auto& c : curves)
    ax.line(c.name + (std::isnan(c.auc) ? "" : " (AUC " + num(c.auc, 3) + ")"), c.fpr, c.tpr, {"", 1.8});
  return f;
}
inline Figure roc_plot(std::span<const int> y_true, std::span<const double> probs, std::size_t n_classes,
                       std::vector<std::string> names = {}, std::string title = "ROC (one-vs-rest)") {
  GALML_CHECK(probs.size() == y_true.size() * n_classes, "roc_plot: probs has ", probs.size(), " values, expected ",
              y_true.size(), "×", n_classes);
  if (names.empty())
    for (std::size_t c = 0; c < n_classes; ++c) names.push_back("class " + std::to_string(c));
  std::vector<RocSeries> cs;
  for (std::size_t c = 0; c < n_classes; ++c) {
    std::vector<double> s(y_true.size());
    std::vector<std::uint8_t> pos(y_true.size());
    for (std::size_t i = 0; i < y_true.size(); ++i) { s[i] = probs[i * n_classes + c]; pos[i] = y_true[i] == int(c); }
    auto rc = metrics::roc_curve(s, pos);
    cs.push_back({names[c], std::move(rc.fpr), std::move(rc.tpr), metrics::roc_auc(s, pos)});
  }
  return roc_plot(cs, std::move(title));
}

// Generic scatter with overlaid model curves (e.g. a mass–metallicity relation and its fits).
// More than max_points points are drawn as a density instead, to keep the file small.
struct ScatterOptions {
  std::string title, xlabel, ylabel, points_name = "data";
  std::size_t max_points = 3000;
  int density_bins = 70;
  double width = 620, height = 440;
  LegendPos legend = LegendPos::Best;
};
inline Figure scatter_with_curves(std::span<const double> x, std::span<const double> y, const std::vector<Series>& curves,
                                  const ScatterOptions& opt = {}) {
  GALML_CHECK(x.size() == y.size(), "scatter_with_curves: x has ", x.size(), " values but y has ", y.size());
  Figure f(opt.width, opt.height);
  auto& ax = f.add_axes(0, 0, 1, 1).title(opt.title).xlabel(opt.xlabel).ylabel(opt.ylabel).legend(opt.legend);
  if (x.size() <= opt.max_points) {
    ax.scatter(opt.points_name, x, y, {"#7f7f7f", 2.0, 0.45});
  } else {
    std::vector<double> fx, fy;
    for (std::size_t i = 0; i < x.size(); ++i) if (std::isfinite(x[i]) && std::isfinite(y[i])) { fx.push_back(x[i]); fy.push_back(y[i]); }
    GALML_CHECK(!fx.empty(), "scatter_with_curves: no finite points");
    const double x0 = metrics::percentile(fx, 0.1), x1 = metrics::percentile(fx, 99.9);
    const double y0 = metrics::percentile(fy, 0.1), y1 = metrics::percentile(fy, 99.9);
    ax.colorbar().hist2d(opt.points_name, fx, fy, opt.density_bins, opt.density_bins, x0, x1 > x0 ? x1 : x0 + 1, y0, y1 > y0 ? y1 : y0 + 1);
  }
  for (const auto& c : curves) ax.line(c.name, c.x, c.y, c.style);
  return f;
}

}  // namespace galml::report::svg
