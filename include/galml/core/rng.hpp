#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011). A value depends only on
// (seed, stream, counter), never on which thread draws it, so results do not change with the
// thread count. galml::manual_seed(n) sets the global seed every component derives its streams from.
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>

namespace galml {

struct Philox4x32 {
  static std::array<uint32_t, 4> block(std::array<uint32_t, 4> ctr, std::array<uint32_t, 2> key) {
    constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    for (int r = 0; r < 10; ++r) {
      const uint64_t p0 = uint64_t(M0) * ctr[0], p1 = uint64_t(M1) * ctr[2];
      ctr = {uint32_t(p1 >> 32) ^ ctr[1] ^ key[0], uint32_t(p1), uint32_t(p0 >> 32) ^ ctr[3] ^ key[1], uint32_t(p0)};
      key[0] += W0; key[1] += W1;
    }
    return ctr;
  }
};

// A stream of random numbers identified by (seed, stream id). `offset` is the position in the stream;
// save it to resume bit-exactly.
class Rng {
 public:
  Rng(uint64_t seed = 0, uint64_t stream = 0) : seed_(seed), stream_(stream) {}

  uint64_t seed() const { return seed_; }
  uint64_t stream() const { return stream_; }
  uint64_t offset() const { return offset_; }
  void set_offset(uint64_t o) { offset_ = o; }

  // The i-th 4-tuple of this stream, independent of any state: for parallel loops.
  std::array<uint32_t, 4> at(uint64_t i) const {
    return Philox4x32::block({uint32_t(i), uint32_t(i >> 32), uint32_t(stream_), uint32_t(stream_ >> 32)},
                             {uint32_t(seed_), uint32_t(seed_ >> 32)});
  }
  // Uniform in [0, 1) from element j (0..3) of block i.
  static float to_unit_float(uint32_t x) { return float(x >> 8) * (1.0f / 16777216.0f); }

  uint32_t next_u32() {
    if (buf_pos_ == 4 || buf_block_ != offset_ / 4) { refill(); }
    const uint32_t v = buf_[offset_ % 4];
    ++offset_; buf_pos_ = int(offset_ % 4);
    return v;
  }
  uint64_t next_u64() { const uint64_t a = next_u32(); return (a << 32) | next_u32(); }
  double uniform() { const uint32_t a = next_u32(), b = next_u32(); return (double(a >> 5) * 67108864.0 + double(b >> 6)) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Unbiased integer in [0, n).
  uint64_t below(uint64_t n) {
    if (n <= 1) return 0;
    const uint64_t lim = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
    uint64_t r;
    do { r = next_u64(); } while (r >= lim);
    return r % n;
  }
  double normal() {  // Box-Muller, one value per call (no cached spare: keeps the state = offset only)
    double u1 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double normal(double mean, double sd) { return mean + sd * normal(); }
  double gamma(double shape) {  // Marsaglia-Tsang
    if (shape < 1.0) { const double u = uniform(); return gamma(shape + 1.0) * std::pow(std::max(u, 1e-300), 1.0 / shape); }
    const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x, v;
      do { x = normal(); v = 1.0 + c * x; } while (v <= 0);
      v = v * v * v; const double u = uniform();
      if (u < 1 - 0.0331 * x * x * x * x || std::log(std::max(u, 1e-300)) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v;
    }
  }
  double beta(double a, double b) { const double x = gamma(a), y = gamma(b); return x / (x + y); }
  template <class It> void shuffle(It first, It last) {  // Fisher-Yates
    const auto n = uint64_t(last - first);
    for (uint64_t i = n; i > 1; --i) std::swap(first[i - 1], first[below(i)]);
  }

 private:
  void refill() { buf_block_ = offset_ / 4; buf_ = at(buf_block_); buf_pos_ = int(offset_ % 4); }
  uint64_t seed_, stream_, offset_ = 0;
  std::array<uint32_t, 4> buf_{};
  uint64_t buf_block_ = ~uint64_t(0);
  int buf_pos_ = 4;
};

namespace detail {
inline std::atomic<uint64_t>& global_seed() { static std::atomic<uint64_t> s{0x5eed}; return s; }
inline std::atomic<uint64_t>& global_stream_counter() { static std::atomic<uint64_t> c{1}; return c; }
}  // namespace detail

// Seed everything galml draws (initialisation, dropout, shuffling, mock data) from one number.
inline void manual_seed(uint64_t seed) { detail::global_seed() = seed; detail::global_stream_counter() = 1; }
inline uint64_t initial_seed() { return detail::global_seed(); }
// A fresh, deterministic stream: the k-th call after manual_seed(s) always returns the same stream.
inline Rng make_rng() { return Rng(detail::global_seed(), detail::global_stream_counter()++); }
// A named stream: same (seed, name) -> same numbers regardless of call order.
inline Rng make_rng(const char* name) {
  uint64_t h = 1469598103934665603ull;
  for (const char* p = name; *p; ++p) { h ^= uint8_t(*p); h *= 1099511628211ull; }
  return Rng(detail::global_seed(), h);
}

}  // namespace galml
