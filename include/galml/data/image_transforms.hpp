#pragma once
// Image transforms (spec §2.1, §3.1, §5.4) on io::Image (channels-first C x H x W floats).
//
// Same style as data/preprocess.hpp: each transform is a small struct with
// `Reject operator()(io::Image&)` that edits the image in place and returns std::nullopt when it is
// kept, or why it must be rejected. Free functions do the actual work and can be used directly.
//
//   stack_bands        several single-band images -> one C x H x W image (GCSNet u,g,r FITS frames)
//   ChannelZScore      per-image, per-channel (x - mean)/max(std, 1e-6)          (GCSNet, spec §3.1)
//   ChannelScaler      per-channel mean/std fitted on a training set, StateDict save/load
//   centre_crop        top = (H - h) / 2, left = (W - w) / 2 (integer division: floor)
//   resize_nearest     src = floor(dst * in / out) (torch 'nearest', numpy index arithmetic);
//                      or the pixel-centre rule floor((dst + 0.5) * in / out) (PIL NEAREST,
//                      torch 'nearest-exact'), see NearestRule
//   resize_bilinear    align_corners=False half-pixel mapping, no antialiasing: identical to
//                      torch.nn.functional.interpolate(mode='bilinear', align_corners=False,
//                      antialias=False). PIL BILINEAR gives the same values when enlarging but
//                      antialiases (widens its filter) when shrinking, so it differs on downscale.
//   divide_by_255      8-bit values -> [0, 1] (MMLforGalAM JPEG input, spec §2.1)
//   ReplaceNonFinite / RejectNonFinite   NaN / +-Inf handling (FITS frames have NaN off the chip)
//
// Golden values: tests/data/make_image_golden.py (numpy) -> tests/data/golden/images/*.json.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "galml/core/error.hpp"
#include "galml/core/state_dict.hpp"
#include "galml/data/preprocess.hpp"
#include "galml/io/image.hpp"

namespace galml::data {

namespace detail {
inline void check_image(const io::Image& im, const char* who) {
  GALML_CHECK(im.channels > 0 && im.height > 0 && im.width > 0 &&
                  im.data.size() == size_t(im.channels) * size_t(im.height) * size_t(im.width),
              who, ": bad image shape ", im.channels, "x", im.height, "x", im.width, " with ", im.data.size(), " values");
}
inline io::Image blank_image(int c, int h, int w) {
  io::Image o;
  o.channels = c;
  o.height = h;
  o.width = w;
  o.data.assign(size_t(c) * size_t(h) * size_t(w), 0.0f);
  return o;
}
inline std::string shape_str(const io::Image& im) {
  return galml::detail::cat(im.channels, "x", im.height, "x", im.width);
}
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Geometry

// Crops an h x w window whose top-left corner is ((H - h) / 2, (W - w) / 2), integer division. This
// is numpy's `a[:, (H-h)//2 : (H-h)//2 + h, ...]`; torchvision CenterCrop rounds instead of flooring,
// so for odd H - h it starts one row lower.
inline io::Image centre_crop(const io::Image& in, int h, int w) {
  detail::check_image(in, "centre_crop");
  GALML_CHECK(h > 0 && w > 0 && h <= in.height && w <= in.width, "centre_crop: cannot crop ", h, "x", w,
              " from a ", detail::shape_str(in), " image");
  const int top = (in.height - h) / 2, left = (in.width - w) / 2;
  io::Image o = detail::blank_image(in.channels, h, w);
  for (int c = 0; c < in.channels; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) o.at(c, y, x) = in.at(c, top + y, left + x);
  return o;
}

enum class NearestRule {
  floor_index,   // src = floor(dst * in / out): torch 'nearest', the usual numpy index arithmetic
  pixel_centre,  // src = floor((dst + 0.5) * in / out): PIL Image.NEAREST, torch 'nearest-exact'
};

namespace detail {
// Integer arithmetic, so 3 * 256 / 128 is exactly 6 (no float rounding at the boundaries).
inline std::vector<int> nearest_index(int in, int out, NearestRule rule) {
  std::vector<int> idx(static_cast<size_t>(out));
  for (int d = 0; d < out; ++d) {
    const int64_t s = rule == NearestRule::floor_index ? int64_t(d) * in / out : (int64_t(2 * d + 1) * in) / (2 * int64_t(out));
    idx[size_t(d)] = int(std::min<int64_t>(s, in - 1));
  }
  return idx;
}
struct LinearTap { int i0, i1; double w1; };  // value = (1 - w1) * x[i0] + w1 * x[i1]
// torch's align_corners=False source coordinate: (dst + 0.5) * in / out - 0.5, clamped at 0 below;
// the upper neighbour is clamped to the last pixel.
inline std::vector<LinearTap> bilinear_taps(int in, int out) {
  std::vector<LinearTap> t(static_cast<size_t>(out));
  const double scale = double(in) / double(out);
  for (int d = 0; d < out; ++d) {
    double s = (double(d) + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    int i0 = int(std::floor(s));
    if (i0 > in - 1) i0 = in - 1;
    const int i1 = std::min(i0 + 1, in - 1);
    t[size_t(d)] = {i0, i1, s - double(i0)};
  }
  return t;
}
}  // namespace detail

inline io::Image resize_nearest(const io::Image& in, int h, int w, NearestRule rule = NearestRule::floor_index) {
  detail::check_image(in, "resize_nearest");
  GALML_CHECK(h > 0 && w > 0, "resize_nearest: output size must be positive, got ", h, "x", w);
  const auto ys = detail::nearest_index(in.height, h, rule), xs = detail::nearest_index(in.width, w, rule);
  io::Image o = detail::blank_image(in.channels, h, w);
  for (int c = 0; c < in.channels; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) o.at(c, y, x) = in.at(c, ys[size_t(y)], xs[size_t(x)]);
  return o;
}

// Separable: rows first, then columns, in double; the result is rounded to float once.
inline io::Image resize_bilinear(const io::Image& in, int h, int w) {
  detail::check_image(in, "resize_bilinear");
  GALML_CHECK(h > 0 && w > 0, "resize_bilinear: output size must be positive, got ", h, "x", w);
  const auto ty = detail::bilinear_taps(in.height, h), tx = detail::bilinear_taps(in.width, w);
  io::Image o = detail::blank_image(in.channels, h, w);
  std::vector<double> row(size_t(in.width));
  for (int c = 0; c < in.channels; ++c)
    for (int y = 0; y < h; ++y) {
      const auto& a = ty[size_t(y)];
      for (int x = 0; x < in.width; ++x)
        row[size_t(x)] = (1.0 - a.w1) * double(in.at(c, a.i0, x)) + a.w1 * double(in.at(c, a.i1, x));
      for (int x = 0; x < w; ++x) {
        const auto& b = tx[size_t(x)];
        o.at(c, y, x) = float((1.0 - b.w1) * row[size_t(b.i0)] + b.w1 * row[size_t(b.i1)]);
      }
    }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Band stacking

struct StackOptions {
  // false: every band must have the same H x W (an error names the first band that differs);
  // true: centre-crop all bands to the smallest common H and W first (GCSNet after reprojection).
  bool crop_to_smallest = false;
};

// Concatenates the channels of `bands` in order (normally single-band FITS frames, e.g. u, g, r).
// `names` (optional, one per band) label errors.
inline io::Image stack_bands(const std::vector<io::Image>& bands, const std::vector<std::string>& names = {},
                             const StackOptions& opt = {}) {
  GALML_CHECK(!bands.empty(), "stack_bands: no bands given");
  GALML_CHECK(names.empty() || names.size() == bands.size(), "stack_bands: ", names.size(), " names for ",
              bands.size(), " bands");
  auto label = [&](size_t i) { return names.empty() ? "#" + std::to_string(i) : "'" + names[i] + "'"; };
  int H = std::numeric_limits<int>::max(), W = H, C = 0;
  for (size_t i = 0; i < bands.size(); ++i) {
    const auto& b = bands[i];
    GALML_CHECK(b.channels > 0 && b.height > 0 && b.width > 0 &&
                    b.data.size() == size_t(b.channels) * size_t(b.height) * size_t(b.width),
                "stack_bands: band ", label(i), " has a bad shape ", detail::shape_str(b), " (", b.data.size(), " values)");
    if (!opt.crop_to_smallest && i > 0)
      GALML_CHECK(b.height == bands[0].height && b.width == bands[0].width, "stack_bands: band ", label(i), " is ",
                  b.height, "x", b.width, " but band ", label(0), " is ", bands[0].height, "x", bands[0].width,
                  " (set StackOptions.crop_to_smallest to centre-crop to the common size)");
    H = std::min(H, b.height);
    W = std::min(W, b.width);
    C += b.channels;
  }
  io::Image o = detail::blank_image(C, H, W);
  int c0 = 0;
  for (const auto& b : bands) {
    const io::Image cropped = (b.height == H && b.width == W) ? io::Image{} : centre_crop(b, H, W);
    const io::Image& src = cropped.data.empty() ? b : cropped;
    std::copy(src.data.begin(), src.data.end(), o.data.begin() + std::ptrdiff_t(size_t(c0) * size_t(H) * size_t(W)));
    c0 += b.channels;
  }
  return o;
}

#if defined(GALML_WITH_FITS)
// Reads the named image HDUs of one file (mock images: one HDU per band, EXTNAME = band) and stacks them.
inline io::Image read_fits_bands(const std::filesystem::path& path, const std::vector<std::string>& hdus,
                                 const StackOptions& opt = {}) {
  std::vector<io::Image> b;
  for (const auto& h : hdus) b.push_back(io::read_fits_image(path, std::string_view(h)));
  return stack_bands(b, hdus, opt);
}
#endif

// ---------------------------------------------------------------------------------------------
// Values

inline void divide_by_255(io::Image& im) {
  for (float& v : im.data) v /= 255.0f;
}

inline int64_t count_non_finite(const io::Image& im) {
  int64_t n = 0;
  for (float v : im.data) n += !std::isfinite(v);
  return n;
}

// Per-image, per-channel z-score (spec §3.1): x' = (x - mean_c) / max(std_c, min_std), population std
// over the H x W pixels of channel c, accumulated in double. Non-finite pixels reject the image
// (replace them first): silently skipping them would hide bad frames.
inline Reject channel_zscore(io::Image& im, double min_std = 1e-6) {
  detail::check_image(im, "channel_zscore");
  if (const auto n = count_non_finite(im)) return "image has " + std::to_string(n) + " non-finite pixels";
  const size_t hw = size_t(im.height) * size_t(im.width);
  for (int c = 0; c < im.channels; ++c) {
    float* p = im.data.data() + size_t(c) * hw;
    double s = 0;
    for (size_t i = 0; i < hw; ++i) s += p[i];
    const double m = s / double(hw);
    double ss = 0;
    for (size_t i = 0; i < hw; ++i) ss += (double(p[i]) - m) * (double(p[i]) - m);
    const double sd = std::max(std::sqrt(ss / double(hw)), min_std);
    for (size_t i = 0; i < hw; ++i) p[i] = float((double(p[i]) - m) / sd);
  }
  return std::nullopt;
}

// Per-channel scaler fitted on a training set (all pixels of all training images pooled per channel),
// applied unchanged to validation/test. Population std, std 0 -> 1, non-finite pixels ignored in fit.
// StateDict entries "center" and "scale" (one per channel), as data::StandardScaler.
class ChannelScaler {
 public:
  void fit(const std::vector<io::Image>& images) {
    GALML_CHECK(!images.empty(), "ChannelScaler::fit: no images");
    const int C = images[0].channels;
    std::vector<double> s(size_t(C), 0.0), ss(size_t(C), 0.0);
    std::vector<int64_t> n(size_t(C), 0);
    for (size_t k = 0; k < images.size(); ++k) {
      const auto& im = images[k];
      detail::check_image(im, "ChannelScaler::fit");
      GALML_CHECK(im.channels == C, "ChannelScaler::fit: image ", k, " has ", im.channels, " channels, image 0 has ", C);
      const size_t hw = size_t(im.height) * size_t(im.width);
      for (int c = 0; c < C; ++c)
        for (size_t i = 0; i < hw; ++i) {
          const double v = im.data[size_t(c) * hw + i];
          if (!std::isfinite(v)) continue;
          s[size_t(c)] += v;
          ++n[size_t(c)];
        }
    }
    mean_.assign(size_t(C), 0.0);
    scale_.assign(size_t(C), 1.0);
    for (int c = 0; c < C; ++c) {
      GALML_CHECK(n[size_t(c)] > 0, "ChannelScaler::fit: channel ", c, " has no finite pixels");
      mean_[size_t(c)] = s[size_t(c)] / double(n[size_t(c)]);
    }
    // Second pass around the mean (not sum of squares minus square of sums: no cancellation).
    for (const auto& im : images) {
      const size_t hw = size_t(im.height) * size_t(im.width);
      for (int c = 0; c < C; ++c)
        for (size_t i = 0; i < hw; ++i) {
          const double v = im.data[size_t(c) * hw + i];
          if (std::isfinite(v)) ss[size_t(c)] += (v - mean_[size_t(c)]) * (v - mean_[size_t(c)]);
        }
    }
    for (int c = 0; c < C; ++c) {
      const double sd = std::sqrt(ss[size_t(c)] / double(n[size_t(c)]));
      scale_[size_t(c)] = sd > 0 ? sd : 1.0;
    }
  }
  void transform(io::Image& im) const { apply(im, false); }
  void inverse_transform(io::Image& im) const { apply(im, true); }
  Reject operator()(io::Image& im) const {
    transform(im);
    return std::nullopt;
  }
  int channels() const { return int(mean_.size()); }
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
    GALML_CHECK(c.size() == s.size() && !c.empty(), "ChannelScaler::load_state_dict: center/scale sizes ", c.size(), "/", s.size());
    mean_ = std::move(c);
    scale_ = std::move(s);
  }

 private:
  void apply(io::Image& im, bool inverse) const {
    GALML_CHECK(!mean_.empty(), "ChannelScaler used before fit/load");
    detail::check_image(im, "ChannelScaler");
    GALML_CHECK(im.channels == channels(), "ChannelScaler: image has ", im.channels, " channels, scaler was fitted on ", channels());
    const size_t hw = size_t(im.height) * size_t(im.width);
    for (int c = 0; c < im.channels; ++c) {
      const double m = mean_[size_t(c)], s = scale_[size_t(c)];
      for (size_t i = 0; i < hw; ++i) {
        float& v = im.data[size_t(c) * hw + i];
        v = inverse ? float(double(v) * s + m) : float((double(v) - m) / s);
      }
    }
  }
  std::vector<double> mean_, scale_;
};

// ---------------------------------------------------------------------------------------------
// Transform structs (compose with ImagePipeline)

struct CentreCrop {
  int height = 0, width = 0;
  Reject operator()(io::Image& im) const {
    if (im.height < height || im.width < width)
      return "image " + detail::shape_str(im) + " smaller than the crop " + std::to_string(height) + "x" + std::to_string(width);
    im = centre_crop(im, height, width);
    return std::nullopt;
  }
};

struct ResizeNearest {
  int height = 128, width = 128;
  NearestRule rule = NearestRule::floor_index;
  Reject operator()(io::Image& im) const {
    im = resize_nearest(im, height, width, rule);
    return std::nullopt;
  }
};

struct ResizeBilinear {
  int height = 300, width = 300;
  Reject operator()(io::Image& im) const {
    im = resize_bilinear(im, height, width);
    return std::nullopt;
  }
};

struct DivideBy255 {
  Reject operator()(io::Image& im) const {
    divide_by_255(im);
    return std::nullopt;
  }
};

struct ChannelZScore {
  double min_std = 1e-6;  // spec §3.1 [ASSUMPTION] sigma floor
  Reject operator()(io::Image& im) const { return channel_zscore(im, min_std); }
};

// NaN -> nan_value, +Inf -> posinf_value, -Inf -> neginf_value (numpy.nan_to_num with explicit fills).
struct ReplaceNonFinite {
  float nan_value = 0.0f, posinf_value = 0.0f, neginf_value = 0.0f;
  Reject operator()(io::Image& im) const {
    for (float& v : im.data) {
      if (std::isnan(v)) v = nan_value;
      else if (std::isinf(v)) v = v > 0 ? posinf_value : neginf_value;
    }
    return std::nullopt;
  }
};

// Rejects images with more than max_fraction of non-finite pixels (0 = any).
struct RejectNonFinite {
  double max_fraction = 0.0;
  Reject operator()(io::Image& im) const {
    const int64_t n = count_non_finite(im);
    if (n > 0 && double(n) > max_fraction * double(im.data.size()))
      return "image has " + std::to_string(n) + " of " + std::to_string(im.data.size()) + " pixels non-finite";
    return std::nullopt;
  }
};

// Runs transforms in order and stops at the first rejection, prefixed with the step's name.
class ImagePipeline {
 public:
  ImagePipeline& add(std::string name, std::function<Reject(io::Image&)> fn) {
    steps_.emplace_back(std::move(name), std::move(fn));
    return *this;
  }
  Reject operator()(io::Image& im) const {
    for (const auto& [name, fn] : steps_)
      if (auto r = fn(im)) return name + ": " + *r;
    return std::nullopt;
  }
  size_t size() const { return steps_.size(); }

 private:
  std::vector<std::pair<std::string, std::function<Reject(io::Image&)>>> steps_;
};

}  // namespace galml::data
