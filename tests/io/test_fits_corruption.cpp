// NOTE: this test is meant to run under AddressSanitizer + UndefinedBehaviorSanitizer, e.g.
//   cmake -S . -B build-io-asan -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer"
//   cmake --build build-io-asan --target test_fits_corruption && ./build-io-asan/tests/test_fits_corruption
// It mutates the real SDSS/DESI files in many seeded ways (truncation, byte flips anywhere, digit
// changes in header cards) and requires every outcome to be a successful read or a galml::Error
// naming the file: never a crash, another exception type, or a giant allocation.
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "galml/io/desi.hpp"
#include "galml/io/sdss.hpp"
#include "io/io_test_util.hpp"

using namespace galml::io;
using galml_io_test::have_shared;
using galml_io_test::shared_dir;
using galml_io_test::tmp_path;

TEST_CASE("seeded corruption of real files: every outcome is a read or a galml::Error", "[io][fits][fuzz]") {
  if (!have_shared("data/sdss-real/spectra") || !have_shared("data/desi-real")) { SUCCEED(); return; }
  struct Src { std::filesystem::path path; bool desi; std::vector<char> bytes; };
  std::vector<Src> srcs;
  for (const char* f : {"spectra/spec-0266-51602-0013.fits", "spectra/spec-3586-55181-0003.fits",
                        "spectra/spec-0332-52367-0639.fits", "nonstandard/NGC3522_SDSS.fits"})
    srcs.push_back({shared_dir() / "data/sdss-real" / f, false, {}});
  srcs.push_back({shared_dir() / "data/desi-real/coadd-sv3-dark-26065.fits", true, {}});
  for (auto& s : srcs) s.bytes = galml_io_test::slurp(s.path);

  std::mt19937_64 rng(20240611);
  const int kVariants = 200;
  int n_ok = 0, n_err = 0;
  auto path = tmp_path("corrupt.fits");
  for (int v = 0; v < kVariants; ++v) {
    const Src& src = srcs[static_cast<size_t>(v) % srcs.size()];
    std::vector<char> b = src.bytes;
    const int kind = static_cast<int>(rng() % 4);
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % std::max<size_t>(n, 1)); };
    std::string what;
    if (kind == 0) {  // truncate anywhere
      b.resize(pick(b.size()));
      what = "truncate to " + std::to_string(b.size());
    } else if (kind == 1) {  // flip bytes anywhere
      int n = 1 + static_cast<int>(rng() % 64);
      for (int i = 0; i < n; ++i) b[pick(b.size())] ^= static_cast<char>(1 + rng() % 255);
      what = "flip " + std::to_string(n) + " bytes";
    } else if (kind == 2) {  // change digits inside header cards (NAXISn, TFORMn, BITPIX, ...)
      std::vector<size_t> digits;
      for (size_t i = 0; i + 80 <= b.size(); i += 80) {  // header cards are 80-byte records
        std::string key(&b[i], 8);
        if (key.rfind("NAXIS", 0) == 0 || key.rfind("TFORM", 0) == 0 || key.rfind("BITPIX", 0) == 0)
          for (size_t k = i + 10; k < i + 80; ++k)
            if (b[k] >= '0' && b[k] <= '9') digits.push_back(k);
      }
      int n = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < n && !digits.empty(); ++i) b[digits[pick(digits.size())]] = static_cast<char>('0' + rng() % 10);
      what = "header digits x" + std::to_string(n);
    } else {  // flip bytes in the first 3 header blocks only, then truncate a little
      int n = 1 + static_cast<int>(rng() % 16);
      for (int i = 0; i < n; ++i) b[pick(std::min<size_t>(b.size(), 2880 * 3))] ^= static_cast<char>(1 + rng() % 255);
      if (rng() % 2) b.resize(b.size() - pick(b.size() / 4));
      what = "header flips + truncate";
    }
    galml_io_test::spit(path, b);
    INFO("variant " << v << " of " << src.path.filename().string() << ": " << what);
    try {
      if (src.desi) {
        auto specs = read_desi_coadd(path);
        for (auto& s : specs) REQUIRE(s.flux.size() == s.wavelength.size());
      } else {
        auto s = read_sdss_spectrum(path);
        REQUIRE(s.flux.size() == s.wavelength.size());
        REQUIRE(s.ivar.size() == s.flux.size());
      }
      ++n_ok;
    } catch (const galml::Error& e) {
      std::string msg = e.what();
      INFO(msg);
      REQUIRE(msg.find("corrupt.fits") != std::string::npos);  // the message names the file
      ++n_err;
    }
    // Any other exception type escapes and fails the test case.
  }
  CHECK(n_ok + n_err == kVariants);
  CHECK(n_err > 0);  // the mutations really do break files
  WARN("corruption variants: " << n_ok << " read, " << n_err << " galml::Error");
}
