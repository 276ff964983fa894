#pragma once
// PreparedDataset: preprocessed spectra [N, n_pix] with labels, metadata and split indices, and its
// binary cache. The cache is written atomically (tmp + rename) and ends with a checksum, so a
// truncated, corrupted or foreign file gives a clear error instead of silently wrong training data.
//
// Cache layout (little-endian): "GALMLDS\0", u32 version, u64 options fingerprint, f64 grid
// start/stop/step, i64 N, i64 n_pix, f32 flux[N*n_pix], i32 label[N], f32 oh[N], u8 oh_mask[N],
// f64 z[N], snr[N], mass[N], N x (u32 length + id bytes), 3 x (u64 count + i64 indices), u64 checksum.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "galml/core/error.hpp"
#include "galml/data/preprocess.hpp"

namespace galml::data {

struct ManifestEntry {
  std::string source;  // file path, or "catalog.csv:LINE"
  std::string id;      // specobjid (or file name) when known
  std::string reason;
};

struct PreparedDataset {
  LinearGrid grid = kMtlGrid;
  int64_t n_pix = 0;
  std::vector<float> flux;        // [N, n_pix] row-major, mean-normalised
  std::vector<int32_t> label;     // class index 0..3
  std::vector<float> oh;          // 12+log(O/H), NaN when absent
  std::vector<uint8_t> oh_mask;   // 1 where oh is a training target (SF with a valid oh_p50)
  std::vector<std::string> id;    // specobjid
  std::vector<double> z, snr, mass;
  std::vector<int64_t> train, val, test;  // indices into the samples
  std::vector<ManifestEntry> manifest;    // every rejected row/file with its reason (not stored in the cache)
  std::map<std::string, int64_t> counts;  // summary counts (not stored in the cache)

  int64_t size() const { return int64_t(label.size()); }
  std::span<const float> sample(int64_t i) const { return {flux.data() + i * n_pix, size_t(n_pix)}; }
  const std::vector<int64_t>& split(const std::string& name) const {
    if (name == "train") return train;
    if (name == "val") return val;
    GALML_CHECK(name == "test", "unknown split '", name, "' (train, val, test)");
    return test;
  }
};

namespace detail {
inline constexpr uint32_t kCacheVersion = 1;

// 64-bit word-wise FNV-style hash: fast enough for GB-sized caches, catches truncation and bit flips.
struct Hasher {
  uint64_t h = 1469598103934665603ull;
  void add(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, b + i, 8);
      h = (h ^ w) * 1099511628211ull;
      h ^= h >> 29;
    }
    for (; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
};

}  // namespace detail

// The same hash over a whole file (e.g. to tell whether a checkpoint changed since a result was cached).
inline uint64_t file_checksum(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  GALML_CHECK(f.good(), "cannot read '", path.string(), "'");
  detail::Hasher h;
  std::vector<char> buf(size_t(1) << 16);  // a multiple of 8: the same words as hashing the file at once
  while (f) {
    f.read(buf.data(), std::streamsize(buf.size()));
    h.add(buf.data(), size_t(f.gcount()));
  }
  return h.h;
}

namespace detail {
class CacheWriter {
 public:
  explicit CacheWriter(std::ofstream& f) : f_(f) {}
  void raw(const void* p, size_t n) { hash_.add(p, n); f_.write(static_cast<const char*>(p), std::streamsize(n)); }
  template <class T> void put(T v) { raw(&v, sizeof v); }
  template <class T> void vec(const std::vector<T>& v) { if (!v.empty()) raw(v.data(), v.size() * sizeof(T)); }
  uint64_t hash() const { return hash_.h; }

 private:
  std::ofstream& f_;
  Hasher hash_;
};

class CacheReader {
 public:
  CacheReader(std::ifstream& f, std::filesystem::path p, uint64_t size) : f_(f), path_(std::move(p)), size_(size) {}
  void raw(void* p, size_t n, const char* what) {
    GALML_CHECK(pos_ + n <= size_, "dataset cache '", path_.string(), "' is truncated (reading ", what, " at byte ", pos_,
                ", file has ", size_, " bytes); delete it to rebuild");
    f_.read(static_cast<char*>(p), std::streamsize(n));
    GALML_CHECK(f_.good(), "dataset cache '", path_.string(), "': read error in ", what);
    hash_.add(p, n);
    pos_ += n;
  }
  template <class T> T get(const char* what) { T v{}; raw(&v, sizeof v, what); return v; }
  template <class T> void vec(std::vector<T>& v, uint64_t n, const char* what) {
    GALML_CHECK(n * sizeof(T) <= size_ - pos_, "dataset cache '", path_.string(), "' is truncated or corrupt: ", what, " needs ",
                n * sizeof(T), " bytes, ", size_ - pos_, " left; delete it to rebuild");
    v.resize(size_t(n));
    if (n) raw(v.data(), size_t(n) * sizeof(T), what);
  }
  uint64_t hash() const { return hash_.h; }
  uint64_t pos() const { return pos_; }

 private:
  std::ifstream& f_;
  std::filesystem::path path_;
  uint64_t size_, pos_ = 0;
  Hasher hash_;
};
}  // namespace detail

// Writes the cache atomically: a crash mid-write leaves the old cache (or none), never half a file.
inline void save_dataset_cache(const std::filesystem::path& path, const PreparedDataset& d, uint64_t fingerprint = 0) {
  const size_t n = size_t(d.size());
  GALML_CHECK(d.flux.size() == n * size_t(d.n_pix) && d.oh.size() == n && d.oh_mask.size() == n && d.id.size() == n &&
                  d.z.size() == n && d.snr.size() == n && d.mass.size() == n,
              "save_dataset_cache: inconsistent PreparedDataset array sizes");
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    GALML_CHECK(f.good(), "cannot open '", tmp.string(), "' for writing");
    detail::CacheWriter w(f);
    w.raw("GALMLDS", 8);
    w.put<uint32_t>(detail::kCacheVersion);
    w.put<uint64_t>(fingerprint);
    w.put<double>(d.grid.start); w.put<double>(d.grid.stop); w.put<double>(d.grid.step);
    w.put<int64_t>(int64_t(n)); w.put<int64_t>(d.n_pix);
    w.vec(d.flux); w.vec(d.label); w.vec(d.oh); w.vec(d.oh_mask); w.vec(d.z); w.vec(d.snr); w.vec(d.mass);
    for (auto& s : d.id) { w.put<uint32_t>(uint32_t(s.size())); w.raw(s.data(), s.size()); }
    for (auto* sp : {&d.train, &d.val, &d.test}) { w.put<uint64_t>(sp->size()); w.vec(*sp); }
    const uint64_t h = w.hash();
    f.write(reinterpret_cast<const char*>(&h), sizeof h);
    f.flush();
    GALML_CHECK(f.good(), "write to '", tmp.string(), "' failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  GALML_CHECK(!ec, "cannot rename '", tmp.string(), "' to '", path.string(), "': ", ec.message());
}

// Loads and validates a cache. With expect_fingerprint / expect_grid, a cache built with other options
// or another grid is an error naming both values (rebuild it rather than train on the wrong data).
inline PreparedDataset load_dataset_cache(const std::filesystem::path& path, std::optional<uint64_t> expect_fingerprint = std::nullopt,
                                          std::optional<LinearGrid> expect_grid = std::nullopt) {
  std::ifstream f(path, std::ios::binary);
  GALML_CHECK(f.good(), "cannot open dataset cache '", path.string(), "'");
  const uint64_t size = std::filesystem::file_size(path);
  GALML_CHECK(size >= 8 + 8, "dataset cache '", path.string(), "' is truncated (", size, " bytes); delete it to rebuild");
  detail::CacheReader r(f, path, size - 8);  // the last 8 bytes are the checksum
  char magic[8];
  r.raw(magic, 8, "magic");
  GALML_CHECK(std::memcmp(magic, "GALMLDS", 8) == 0, "'", path.string(), "' is not a galml dataset cache (bad magic)");
  const auto ver = r.get<uint32_t>("version");
  GALML_CHECK(ver == detail::kCacheVersion, "dataset cache '", path.string(), "' has format version ", ver, ", this galml reads ",
              detail::kCacheVersion, "; delete it to rebuild");
  const auto fp = r.get<uint64_t>("fingerprint");
  PreparedDataset d;
  d.grid.start = r.get<double>("grid");
  d.grid.stop = r.get<double>("grid");
  d.grid.step = r.get<double>("grid");
  const auto n = r.get<int64_t>("N");
  d.n_pix = r.get<int64_t>("n_pix");
  GALML_CHECK(n >= 0 && d.n_pix >= 0 && d.n_pix < (1 << 24) && n < (int64_t(1) << 40), "dataset cache '", path.string(),
              "' is corrupt: N = ", n, ", n_pix = ", d.n_pix);
  if (expect_fingerprint && fp != *expect_fingerprint)
    throw Error(galml::detail::cat("dataset cache '", path.string(), "' was built with different options (fingerprint ", fp,
                                   ", expected ", *expect_fingerprint, "); delete it to rebuild"));
  if (expect_grid && !(d.grid == *expect_grid))
    throw Error(galml::detail::cat("dataset cache '", path.string(), "' has grid ", d.grid.start, "..", d.grid.stop, " step ",
                                   d.grid.step, ", expected ", expect_grid->start, "..", expect_grid->stop, " step ", expect_grid->step));
  GALML_CHECK(int64_t(d.grid.size()) == d.n_pix, "dataset cache '", path.string(), "' is corrupt: grid has ", d.grid.size(),
              " points but n_pix = ", d.n_pix);
  const uint64_t un = uint64_t(n);
  r.vec(d.flux, un * uint64_t(d.n_pix), "flux");
  r.vec(d.label, un, "label"); r.vec(d.oh, un, "oh"); r.vec(d.oh_mask, un, "oh_mask");
  r.vec(d.z, un, "z"); r.vec(d.snr, un, "snr"); r.vec(d.mass, un, "mass");
  d.id.resize(size_t(n));
  for (auto& s : d.id) {
    const auto len = r.get<uint32_t>("id length");
    GALML_CHECK(len < 4096, "dataset cache '", path.string(), "' is corrupt: id length ", len);
    s.resize(len);
    if (len) r.raw(s.data(), len, "id");
  }
  for (auto* sp : {&d.train, &d.val, &d.test}) r.vec(*sp, r.get<uint64_t>("split size"), "split indices");
  GALML_CHECK(r.pos() == size - 8, "dataset cache '", path.string(), "' is corrupt: ", size - 8 - r.pos(), " unexpected trailing bytes");
  uint64_t stored = 0;
  f.read(reinterpret_cast<char*>(&stored), 8);
  GALML_CHECK(f.good() && stored == r.hash(), "dataset cache '", path.string(), "' is corrupt (checksum mismatch); delete it to rebuild");
  for (auto* sp : {&d.train, &d.val, &d.test})
    for (int64_t i : *sp) GALML_CHECK(i >= 0 && i < n, "dataset cache '", path.string(), "' is corrupt: split index ", i, " out of range");
  for (int32_t c : d.label) GALML_CHECK(c >= 0, "dataset cache '", path.string(), "' is corrupt: class ", c);
  return d;
}

}  // namespace galml::data
