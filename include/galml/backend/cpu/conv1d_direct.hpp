#pragma once
// Direct (implicit-GEMM) stride-1 Conv1D kernels for float on x86-64 with AVX2 + FMA.
//
// Why: the spectra convolutions have few channels (16..256) and k = 3, so as GEMMs they are thin
// (reduction Cin*K = 48..768) and the GEMM library spends much of its time packing operands and
// re-reading the output once per kernel tap. These kernels keep a 4-channel x 24-position output
// tile in twelve AVX registers for the whole Cin*K reduction, read the input rows in place with
// unaligned loads (no im2col, no packing of x), and apply bias and an optional ReLU in the store.
//
// Layering: `conv1d.hpp` (the kernel level the layers call) picks these when
// direct_conv_active() and the convolution has stride 1 and padding < K; everything else (double,
// strided, CPUs without AVX2) takes the Eigen paths there. The functions carry
// __attribute__((target("avx2,fma"))) and are chosen at run time (__builtin_cpu_supports), so a user's
// build needs no -mavx2 and still runs on older CPUs.
//
// Every kernel works on one sample; summation order is fixed (c-major, then k, then position blocks
// of 8 for the weight gradient), so results do not depend on the thread count.
#include <algorithm>
#include <cstdint>
#include <cstring>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define GALML_X86_DISPATCH 1
#include <immintrin.h>
#define GALML_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define GALML_X86_DISPATCH 0
#endif

namespace galml::cpu_kernels::direct {

inline bool cpu_has_avx2_fma() {
#if GALML_X86_DISPATCH
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
#else
  return false;
#endif
}
// A switch for tests and benchmarks (compare against the Eigen paths); on by default.
inline bool& direct_conv_flag() { static bool on = true; return on; }
inline void set_direct_conv(bool on) { direct_conv_flag() = on; }
inline bool direct_conv_active() { return direct_conv_flag() && cpu_has_avx2_fma(); }

inline constexpr int kMR = 4;    // output channels per register tile
inline constexpr int kNR = 24;   // positions per register tile (3 vectors of 8)

// Pack weights for the forward kernel: wp[ob][c][k][r] = w[ob*4 + r][c][k] (zero rows past cout).
// flip_io: pack the transposed, tap-reversed weights the input-gradient kernel needs:
//   wp[cb][o][k][r] = w[o][cb*4 + r][K-1-k] (zero rows past cin).
inline void pack(const float* w, int64_t cout, int64_t cin, int64_t K, bool flip_io, float* wp) {
  const int64_t rows = flip_io ? cin : cout, red = flip_io ? cout : cin;
  const int64_t blocks = (rows + kMR - 1) / kMR;
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t c = 0; c < red; ++c)
      for (int64_t k = 0; k < K; ++k)
        for (int64_t r = 0; r < kMR; ++r) {
          const int64_t row = b * kMR + r;
          float v = 0.f;
          if (row < rows) v = flip_io ? w[(c * cin + row) * K + (K - 1 - k)] : w[(row * cin + c) * K + k];
          wp[((b * red + c) * K + k) * kMR + r] = v;
        }
}
inline int64_t packed_size(int64_t cout, int64_t cin, int64_t K, bool flip_io) {
  const int64_t rows = flip_io ? cin : cout, red = flip_io ? cout : cin;
  return (rows + kMR - 1) / kMR * kMR * red * K;
}

#if GALML_X86_DISPATCH
namespace detail {

GALML_TARGET_AVX2 inline __m256i tail_mask(int n) {  // lanes < n set
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

// Keep loaded vectors in registers. Without this, GCC's znver2 tuning (-march=native on AMD Zen 2)
// folds each load into every FMA that uses it: 16 loads per 12 FMAs instead of 7, which halves the speed.
template <int NV>
GALML_TARGET_AVX2 inline void pin(__m256 (&v)[NV]) {
  if constexpr (NV >= 1) __asm__("" : "+x"(v[0]));
  if constexpr (NV >= 2) __asm__("" : "+x"(v[1]));
  if constexpr (NV >= 3) __asm__("" : "+x"(v[2]));
}

// One tile: rows [0, rows) of y (row stride sy) at NV*8 positions starting at x/y (already offset to
// the tile's first position). x: `red` rows of stride sx; wp: this row block's packed weights.
// TAIL: the last vector has only nlast valid positions (masked loads and stores).
template <int NV, bool TAIL>
GALML_TARGET_AVX2 inline void fwd_tile(const float* x, int64_t sx, int64_t red, int64_t K, const float* wp, const float* b, int rows,
                                       float* y, int64_t sy, int nlast, bool relu) {
  __m256 acc[kMR][NV];
  const __m256i m = TAIL ? tail_mask(nlast) : _mm256_set1_epi32(-1);
#pragma GCC unroll 4
  for (int r = 0; r < kMR; ++r) {
    const __m256 bv = (b && r < rows) ? _mm256_set1_ps(b[r]) : _mm256_setzero_ps();
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j) acc[r][j] = bv;
  }
  for (int64_t c = 0; c < red; ++c) {
    const float* xr = x + c * sx;
    for (int64_t k = 0; k < K; ++k) {
      __m256 xv[NV];
#pragma GCC unroll 3
      for (int j = 0; j < NV; ++j)
        xv[j] = (TAIL && j == NV - 1) ? _mm256_maskload_ps(xr + k + 8 * j, m) : _mm256_loadu_ps(xr + k + 8 * j);
      pin(xv);
#pragma GCC unroll 4
      for (int r = 0; r < kMR; ++r) {
        const __m256 wv = _mm256_broadcast_ss(wp + r);
#pragma GCC unroll 3
        for (int j = 0; j < NV; ++j) acc[r][j] = _mm256_fmadd_ps(wv, xv[j], acc[r][j]);
      }
      wp += kMR;
    }
  }
  const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int r = 0; r < kMR; ++r) {
    if (r >= rows) break;
    float* yr = y + r * sy;
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j) {
      const __m256 v = relu ? _mm256_max_ps(acc[r][j], zero) : acc[r][j];
      if (TAIL && j == NV - 1) _mm256_maskstore_ps(yr + 8 * j, m, v);
      else _mm256_storeu_ps(yr + 8 * j, v);
    }
  }
}

GALML_TARGET_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_hadd_ps(s, s);
  s = _mm_hadd_ps(s, s);
  return _mm_cvtss_f32(s);
}

}  // namespace detail

// y[o][l] = b[o] + sum_{c,k} w[o][c][k] x[c][l + k] for o in row blocks [ob0, ob1), l < lout; x rows
// (stride sx) hold at least lout + K - 1 values. wp: pack(..., flip_io = false). relu: max(0, .) on store.
GALML_TARGET_AVX2 inline void forward(const float* x, int64_t sx, int64_t red, int64_t K, const float* wp, const float* b, float* y,
                                      int64_t rows_total, int64_t lout, bool relu, int64_t ob0, int64_t ob1) {
  // Position blocks outside the row blocks: the x block (red rows x ~100 values) stays in L1/L2 while
  // every output row block is computed from it.
  constexpr int64_t LB = 4 * kNR;
  for (int64_t l0 = 0; l0 < lout; l0 += LB) {
    const int64_t l1 = std::min(lout, l0 + LB);
    for (int64_t ob = ob0; ob < ob1; ++ob) {
      const int rows = int(std::min<int64_t>(kMR, rows_total - ob * kMR));
      const float* wb = wp + ob * red * K * kMR;
      const float* bb = b ? b + ob * kMR : nullptr;
      float* yb = y + ob * kMR * lout;
      for (int64_t l = l0; l < l1; l += kNR) {
        const int64_t rem = lout - l;
        if (rem >= kNR) detail::fwd_tile<3, false>(x + l, sx, red, K, wb, bb, rows, yb + l, lout, 8, relu);
        else if (rem > 16) detail::fwd_tile<3, true>(x + l, sx, red, K, wb, bb, rows, yb + l, lout, int(rem - 16), relu);
        else if (rem > 8) detail::fwd_tile<2, true>(x + l, sx, red, K, wb, bb, rows, yb + l, lout, int(rem - 8), relu);
        else detail::fwd_tile<1, true>(x + l, sx, red, K, wb, bb, rows, yb + l, lout, int(rem), relu);
      }
    }
  }
}

// dw[o][c][k] += sum_g sum_{l < lout} dz_g[o][l] x_g[c][l + k] over G samples (dz_g rows stride sdz,
// x_g rows stride sx). Tiles of 4 output channels x 3 taps hold their sums in 12 vectors. Work is cut
// into passes so that the rows a pass reads stay in L1/L2: long rows (lout >= kWgSegment/2) one
// segment of one sample per pass; short rows (the deep layers) all G samples in one pass, so the
// vector sums are reduced once per tile and group rather than once per sample.
inline constexpr int64_t kWgSegment = 1024;
namespace detail {
struct Seg { int64_t g, l0, l1; };
// (A named function, not a lambda: a lambda would not inherit the target attribute.)
GALML_TARGET_AVX2 inline void wg_pass(const Seg* segs, int64_t nseg, const float* const* dzs, int64_t sdz, const float* const* xs_, int64_t sx,
                                      int64_t cout, int64_t cin, int64_t K, float* dw) {
    for (int64_t o0 = 0; o0 < cout; o0 += kMR) {
      const int rows = int(std::min<int64_t>(kMR, cout - o0));
      for (int64_t c = 0; c < cin; ++c)
        for (int64_t k0 = 0; k0 < K; k0 += 3) {
          const int cols = int(std::min<int64_t>(3, K - k0));
          __m256 acc[kMR][3];
#pragma GCC unroll 4
          for (int r = 0; r < kMR; ++r)
#pragma GCC unroll 3
            for (int j = 0; j < 3; ++j) acc[r][j] = _mm256_setzero_ps();
          for (int64_t si = 0; si < nseg; ++si) {
            const Seg sg = segs[si];
            const float* d[kMR];
            for (int r = 0; r < kMR; ++r) d[r] = dzs[sg.g] + (o0 + std::min(r, rows - 1)) * sdz;  // rows past cout: computed, not stored
            const float* xr[3];
            for (int j = 0; j < 3; ++j) xr[j] = xs_[sg.g] + c * sx + k0 + std::min(j, cols - 1);
            const int64_t lv = sg.l0 + (sg.l1 - sg.l0) / 8 * 8;
            for (int64_t l = sg.l0; l < lv; l += 8) {
              __m256 xv[3];
#pragma GCC unroll 3
              for (int j = 0; j < 3; ++j) xv[j] = _mm256_loadu_ps(xr[j] + l);
              pin(xv);
#pragma GCC unroll 4
              for (int r = 0; r < kMR; ++r) {
                const __m256 dv = _mm256_loadu_ps(d[r] + l);
#pragma GCC unroll 3
                for (int j = 0; j < 3; ++j) acc[r][j] = _mm256_fmadd_ps(dv, xv[j], acc[r][j]);
              }
            }
            if (lv < sg.l1) {
              const __m256i m = tail_mask(int(sg.l1 - lv));
              __m256 xv[3];
              for (int j = 0; j < 3; ++j) xv[j] = _mm256_maskload_ps(xr[j] + lv, m);
              for (int r = 0; r < kMR; ++r) {
                const __m256 dv = _mm256_maskload_ps(d[r] + lv, m);
                for (int j = 0; j < 3; ++j) acc[r][j] = _mm256_fmadd_ps(dv, xv[j], acc[r][j]);
              }
            }
          }
          for (int r = 0; r < rows; ++r)
            for (int j = 0; j < cols; ++j) dw[((o0 + r) * cin + c) * K + k0 + j] += hsum(acc[r][j]);
        }
    }
}
}  // namespace detail

GALML_TARGET_AVX2 inline void weight_grad(const float* const* dzs, int64_t sdz, const float* const* xs_, int64_t sx, int64_t G, int64_t cout,
                                          int64_t cin, int64_t K, int64_t lout, float* dw) {
  using detail::Seg;
  const bool per_sample = lout >= kWgSegment / 2;
  auto pass = [&](const Seg* segs, int64_t nseg) { detail::wg_pass(segs, nseg, dzs, sdz, xs_, sx, cout, cin, K, dw); };
  if (per_sample) {
    for (int64_t g = 0; g < G; ++g)
      for (int64_t l0 = 0; l0 < lout; l0 += kWgSegment) {
        const Seg sg{g, l0, std::min(lout, l0 + kWgSegment)};
        pass(&sg, 1);
      }
  } else {
    Seg segs[64];
    for (int64_t g0 = 0; g0 < G; g0 += 64) {
      const int64_t n = std::min<int64_t>(64, G - g0);
      for (int64_t i = 0; i < n; ++i) segs[i] = Seg{g0 + i, 0, lout};
      pass(segs, n);
    }
  }
}
// Samples per weight-gradient group: enough short rows to make a pass about kWgSegment long.
inline int64_t weight_grad_group(int64_t lout) { return std::clamp<int64_t>(kWgSegment / std::max<int64_t>(lout, 1), 1, 64); }
#endif  // GALML_X86_DISPATCH

}  // namespace galml::cpu_kernels::direct
