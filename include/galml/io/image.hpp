#pragma once
// Images as channels-first float tensors (C x H x W, row 0 = top row of a JPEG/PNG, = first row
// stored in a FITS HDU). JPEG/PNG decoding uses stb_image (GALML_HAVE_STB); FITS images use
// galml/io/fits.hpp (GALML_WITH_FITS).
//
// stb is compiled here with STB_IMAGE_STATIC / STB_IMAGE_WRITE_STATIC so this header can be
// included from any number of translation units without duplicate symbols. Do not define
// STB_IMAGE_IMPLEMENTATION yourself in a file that includes this header.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "galml/core/error.hpp"

#if defined(GALML_HAVE_STB)
#if !defined(STBI_INCLUDE_STB_IMAGE_H)
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_MAX_DIMENSIONS (1 << 16)  // no survey cutout is larger; bounds allocations from bad headers
#define STBI_FAILURE_USERMSG
#endif
#if !defined(INCLUDE_STB_IMAGE_WRITE_H)
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#endif
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wshadow"
#include <stb_image.h>
#include <stb_image_write.h>
#pragma GCC diagnostic pop
#endif

#if defined(GALML_WITH_FITS)
#include "galml/io/fits.hpp"
#endif

namespace galml::io {

struct Image {
  int channels = 0, height = 0, width = 0;
  std::vector<float> data;  // channels-first: data[(c*height + y)*width + x]
  float& at(int c, int y, int x) { return data[(static_cast<size_t>(c) * height + y) * width + x]; }
  float at(int c, int y, int x) const { return data[(static_cast<size_t>(c) * height + y) * width + x]; }
};

struct ImageOptions {
  bool scale_to_unit = false;  // true: divide 8-bit values by 255 (MMLforGalAM input)
  int channels = 0;            // 0 = as stored; 1, 3 or 4 converts (JPEG/PNG only)
};

#if defined(GALML_HAVE_STB)
// Decodes JPEG/PNG/BMP/... bytes; `name` labels errors (normally the file path).
inline Image decode_image(const unsigned char* bytes, size_t size, std::string_view name, const ImageOptions& opt = {}) {
  GALML_CHECK(size > 0, "image: '", name, "': empty file (0 bytes)");
  GALML_CHECK(size <= static_cast<size_t>(std::numeric_limits<int>::max()), "image: '", name, "': file too large");
  GALML_CHECK(opt.channels == 0 || opt.channels == 1 || opt.channels == 3 || opt.channels == 4, "image: '", name,
              "': channels must be 0, 1, 3 or 4, got ", opt.channels);
  int w = 0, h = 0, c = 0;
  const int n = static_cast<int>(size);
  if (!stbi_info_from_memory(bytes, n, &w, &h, &c))
    throw Error(galml::detail::cat("image: '", name, "': cannot decode (", stbi_failure_reason(), ")"));
  unsigned char* px = stbi_load_from_memory(bytes, n, &w, &h, &c, opt.channels);
  if (!px) throw Error(galml::detail::cat("image: '", name, "': cannot decode (", stbi_failure_reason(), ")"));
  const int C = opt.channels ? opt.channels : c;
  Image img;
  img.channels = C;
  img.height = h;
  img.width = w;
  img.data.resize(static_cast<size_t>(C) * h * w);
  const float s = opt.scale_to_unit ? 1.0f / 255.0f : 1.0f;
  // stb gives interleaved H x W x C; transpose to C x H x W.
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < C; ++k)
        img.at(k, y, x) = static_cast<float>(px[(static_cast<size_t>(y) * w + x) * C + k]) * s;
  stbi_image_free(px);
  return img;
}

inline Image read_image_file(const std::filesystem::path& path, const ImageOptions& opt = {}) {
  std::ifstream in(path, std::ios::binary);
  GALML_CHECK(in, "image: cannot open '", path.string(), "'");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return decode_image(bytes.data(), bytes.size(), path.string(), opt);
}

// Writes an 8-bit PNG (atomic). `scaled` says the values are 0..1 rather than 0..255.
inline void write_png(const std::filesystem::path& path, const Image& img, bool scaled = false) {
  GALML_CHECK(img.channels >= 1 && img.channels <= 4 && img.width > 0 && img.height > 0 &&
                  img.data.size() == static_cast<size_t>(img.channels) * img.height * img.width,
              "write_png('", path.string(), "'): bad image shape ", img.channels, "x", img.height, "x", img.width);
  std::vector<unsigned char> px(img.data.size());
  const float s = scaled ? 255.0f : 1.0f;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      for (int k = 0; k < img.channels; ++k) {
        float v = img.at(k, y, x) * s + 0.5f;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        px[(static_cast<size_t>(y) * img.width + x) * img.channels + k] = static_cast<unsigned char>(v);
      }
  auto tmp = path;
  tmp += ".tmp";
  int ok = stbi_write_png(tmp.string().c_str(), img.width, img.height, img.channels, px.data(), img.width * img.channels);
  GALML_CHECK(ok, "write_png: cannot write '", tmp.string(), "'");
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  GALML_CHECK(!ec, "write_png: cannot rename '", tmp.string(), "' to '", path.string(), "': ", ec.message());
}
#endif  // GALML_HAVE_STB

#if defined(GALML_WITH_FITS)
// Reads an image HDU (index, 0 = primary) as C x H x W: NAXIS1 = W, NAXIS2 = H, NAXIS3 = C (1 if
// absent). Values are physical (BSCALE/BZERO applied); scale_to_unit divides by 255.
inline Image read_fits_image(const std::filesystem::path& path, int hdu = 0, const ImageOptions& opt = {}) {
  FitsFile f = FitsFile::open(path);
  f.move_to(hdu);
  if (f.current_type() != HduType::image) f.fail_msg("not an image HDU");
  auto im = f.read_image<float>();
  if (im.dims.size() < 2 || im.dims.size() > 3) f.fail_msg("image has NAXIS = " + std::to_string(im.dims.size()) + ", expected 2 or 3");
  Image img;
  img.width = static_cast<int>(im.dims[0]);
  img.height = static_cast<int>(im.dims[1]);
  img.channels = im.dims.size() == 3 ? static_cast<int>(im.dims[2]) : 1;
  img.data = std::move(im.data);  // FITS order (x fastest, then y, then plane) is already C x H x W
  if (opt.scale_to_unit)
    for (float& v : img.data) v /= 255.0f;
  return img;
}

inline Image read_fits_image(const std::filesystem::path& path, std::string_view hdu_name, const ImageOptions& opt = {}) {
  FitsFile f = FitsFile::open(path);
  auto idx = f.find_hdu(hdu_name);
  if (!idx) f.move_to(hdu_name);  // throws with the list of HDUs
  f.close();
  return read_fits_image(path, *idx, opt);
}

// Writes the image as the primary HDU (float32, NAXIS = 3 when channels > 1), atomically.
inline void write_fits_image(const std::filesystem::path& path, const Image& img) {
  GALML_CHECK(img.data.size() == static_cast<size_t>(img.channels) * img.height * img.width,
              "write_fits_image('", path.string(), "'): data size does not match shape");
  FitsFile f = FitsFile::create(path);
  std::vector<long long> dims = {img.width, img.height};
  if (img.channels > 1) dims.push_back(img.channels);
  f.write_image<float>("", img.data, dims);
  f.commit();
}
#endif  // GALML_WITH_FITS

}  // namespace galml::io
