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

// Define GALML_NO_SIMD to build without them (portable Eigen paths only; also what non-x86 targets get).
#if !defined(GALML_NO_SIMD) && (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
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


// ---- Winograd F(4, 3) for k = 3 (Lavin & Gray 2016) ----
// Four outputs from six inputs with six products instead of twelve: y = A^T [(G g) . (B^T d)]. With
// the transforms vectorised over eight tiles, the channel sums become six pointwise GEMMs (the kernel
// above with K = 1) of half the multiply count of the direct convolution. Worth it from about 16
// reduction channels (fewer: the transforms cost more than they save). Rounding differs from the
// direct sum by a few ulps of the largest partial product (the tests allow 1e-5 relative).
inline constexpr int64_t kWinoMinRed = 16;
inline bool winograd_ok(int64_t K, int64_t red, int64_t rows) { return K == 3 && red >= kWinoMinRed && rows >= 8; }
inline int64_t wino_packed_size(int64_t rows, int64_t red) { return 6 * ((rows + kMR - 1) / kMR * kMR) * red; }
// u[xi] packed as pack(..., K = 1): u[xi][rb][c][r] = (G w[row][c][.])[xi]. flip_io: rows = input
// channels of w and taps reversed (the input-gradient convolution).
inline void wino_pack(const float* w, int64_t cout, int64_t cin, bool flip_io, float* u) {
  static constexpr double Gm[6][3] = {{1.0 / 4, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                      {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
  const int64_t rows = flip_io ? cin : cout, red = flip_io ? cout : cin, blocks = (rows + kMR - 1) / kMR;
  const int64_t per = blocks * kMR * red;
  for (int xi = 0; xi < 6; ++xi)
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t c = 0; c < red; ++c)
        for (int64_t r = 0; r < kMR; ++r) {
          const int64_t row = b * kMR + r;
          double v = 0;
          if (row < rows)
            for (int k = 0; k < 3; ++k) {
              const float g = flip_io ? w[(c * cin + row) * 3 + (2 - k)] : w[(row * cin + c) * 3 + k];
              v += Gm[xi][k] * g;
            }
          u[xi * per + (b * red + c) * kMR + r] = float(v);
        }
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
      // max(0, v) with v second: maxps returns its second operand on NaN, so NaN propagates (as ReLU does).
      const __m256 v = relu ? _mm256_max_ps(zero, acc[r][j]) : acc[r][j];
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
                __m256 dv[1] = {_mm256_loadu_ps(d[r] + l)};
                pin(dv);
#pragma GCC unroll 3
                for (int j = 0; j < 3; ++j) acc[r][j] = _mm256_fmadd_ps(dv[0], xv[j], acc[r][j]);
              }
            }
            // The tail (< 8 positions) in scalars, so no mask register is live in the loop above (with
            // 12 accumulators + 4 operands every vector register is taken; one more spills an accumulator).
            // Added straight into dw (memory), so nothing extra is live across the loop.
            for (int64_t l = lv; l < sg.l1; ++l)
              for (int r = 0; r < rows; ++r)
                for (int j = 0; j < cols; ++j) dw[((o0 + r) * cin + c) * K + k0 + j] += d[r][l] * xr[j][l];
          }
          // Reduce with constant indices first: indexing acc with the runtime rows/cols would make GCC
          // keep the accumulators addressable and spill one inside the loop.
          float h[kMR][3];
#pragma GCC unroll 4
          for (int r = 0; r < kMR; ++r)
#pragma GCC unroll 3
            for (int j = 0; j < 3; ++j) h[r][j] = hsum(acc[r][j]);
          for (int r = 0; r < rows; ++r)
            for (int j = 0; j < cols; ++j) dw[((o0 + r) * cin + c) * K + k0 + j] += h[r][j];
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

namespace detail {
// Lane-wise 4x4 transpose of four vectors (each 128-bit half is one 4x4 block).
GALML_TARGET_AVX2 inline void transpose4(__m256& a, __m256& b, __m256& c, __m256& d) {
  const __m256 t0 = _mm256_unpacklo_ps(a, b), t1 = _mm256_unpackhi_ps(a, b);
  const __m256 t2 = _mm256_unpacklo_ps(c, d), t3 = _mm256_unpackhi_ps(c, d);
  a = _mm256_shuffle_ps(t0, t2, 0x44); b = _mm256_shuffle_ps(t0, t2, 0xEE);
  c = _mm256_shuffle_ps(t1, t3, 0x44); d = _mm256_shuffle_ps(t1, t3, 0xEE);
}
// Input transform of eight tiles (32 outputs) whose inputs start at p (p[0..35] readable). Tile
// order in the vectors is (0, 2, 4, 6, 1, 3, 5, 7); the output transform undoes it.
GALML_TARGET_AVX2 inline void wino_in8(const float* p, __m256 v[6]) {
  __m256 d0 = _mm256_loadu_ps(p), d1 = _mm256_loadu_ps(p + 8), d2 = _mm256_loadu_ps(p + 16), d3 = _mm256_loadu_ps(p + 24);
  transpose4(d0, d1, d2, d3);  // d_j = x[4t + j]
  const __m256 e0 = _mm256_loadu_ps(p + 4), e1 = _mm256_loadu_ps(p + 12), e2 = _mm256_loadu_ps(p + 20), e3 = _mm256_loadu_ps(p + 28);
  const __m256 s0 = _mm256_unpacklo_ps(e0, e1), s2 = _mm256_unpacklo_ps(e2, e3);
  const __m256 d4 = _mm256_shuffle_ps(s0, s2, 0x44), d5 = _mm256_shuffle_ps(s0, s2, 0xEE);  // x[4t + 4], x[4t + 5]
  const __m256 four = _mm256_set1_ps(4.f), five = _mm256_set1_ps(5.f), two = _mm256_set1_ps(2.f);
  v[0] = _mm256_fnmadd_ps(five, d2, _mm256_fmadd_ps(four, d0, d4));                 // 4d0 - 5d2 + d4
  v[1] = _mm256_fnmadd_ps(four, _mm256_add_ps(d1, d2), _mm256_add_ps(d3, d4));      // -4(d1 + d2) + d3 + d4
  v[2] = _mm256_fmadd_ps(four, _mm256_sub_ps(d1, d2), _mm256_sub_ps(d4, d3));       // 4(d1 - d2) - d3 + d4
  const __m256 a = _mm256_sub_ps(d4, d2), b = _mm256_sub_ps(d3, d1);
  v[3] = _mm256_fmadd_ps(two, b, a);                                                 // -2d1 - d2 + 2d3 + d4
  v[4] = _mm256_fnmadd_ps(two, b, a);                                                // 2d1 - d2 - 2d3 + d4
  v[5] = _mm256_fnmadd_ps(five, d3, _mm256_fmadd_ps(four, d1, d5));                 // 4d1 - 5d3 + d5
}
}  // namespace detail

// y_g[o][l] = [relu](b[o] + sum_{c,k<3} w[o][c][k] x_g[c][l + k]) for G samples by Winograd F(4,3).
// x_g = x + g*xs (rows stride sx, at least lout + 2 readable), y_g = y + g*ys (rows stride lout).
// u: wino_pack. scratch: wino_scratch_size(G, red, rows, lout) floats.
inline int64_t wino_tiles(int64_t lout) { return ((lout + 3) / 4 + 7) / 8 * 8; }
inline int64_t wino_scratch_size(int64_t G, int64_t red, int64_t rows, int64_t lout) { return 6 * G * wino_tiles(lout) * (red + rows) + 64; }
// The three stages, each over a range so a caller can spread one small batch over threads; every
// output value is computed the same way whatever the split.
struct WinoArgs {
  const float* x; int64_t sx, xs, G, red; const float* u; const float* b; float* y; int64_t ys, rows, lout; bool relu; float* scratch;
  int64_t Tp() const { return wino_tiles(lout); }
  int64_t cols() const { return G * Tp(); }
  float* V() const { return scratch; }                                // [6][red][cols]
  float* M() const { return scratch + 6 * red * cols(); }            // [6][rows][cols]
  int64_t blocks() const { return (rows + kMR - 1) / kMR; }
};
// Input transform of channels [c0, c1) of every sample.
GALML_TARGET_AVX2 inline void wino_input(const WinoArgs& a, int64_t c0, int64_t c1) {
  const int64_t Tp = a.Tp(), cols = a.cols(), nb = Tp / 8, lin = a.lout + 2;  // lin: readable inputs per row
  float* V = a.V();
  alignas(32) float tmp[40];
  for (int64_t g = 0; g < a.G; ++g)
    for (int64_t c = c0; c < c1; ++c) {
      const float* xr = a.x + g * a.xs + c * a.sx;
      for (int64_t bk = 0; bk < nb; ++bk) {
        const int64_t p0 = bk * 32;
        const float* src = xr + p0;
        if (p0 + 36 > lin) {  // the last blocks: what exists, then zeros
          const int64_t n = std::max<int64_t>(0, std::min<int64_t>(36, lin - p0));
          std::fill(tmp, tmp + 40, 0.f);
          std::copy(src, src + n, tmp);
          src = tmp;
        }
        __m256 v[6];
        detail::wino_in8(src, v);
        for (int xi = 0; xi < 6; ++xi) _mm256_storeu_ps(V + (xi * a.red + c) * cols + g * Tp + bk * 8, v[xi]);
      }
    }
}
// Pointwise GEMMs: items [i0, i1) of the 6 x blocks (transform point, 4-row block) pairs.
GALML_TARGET_AVX2 inline void wino_gemm(const WinoArgs& a, int64_t i0, int64_t i1) {
  const int64_t cols = a.cols(), blocks = a.blocks(), per = blocks * kMR * a.red;
  for (int64_t i = i0; i < i1;) {
    const int64_t xi = i / blocks, ob0 = i % blocks, ob1 = std::min(blocks, ob0 + (i1 - i));
    forward(a.V() + xi * a.red * cols, cols, a.red, 1, a.u + xi * per, nullptr, a.M() + xi * a.rows * cols, a.rows, cols, false, ob0, ob1);
    i += ob1 - ob0;
  }
}
// Output transform (+ bias, ReLU) of rows [o0, o1) of every sample.
GALML_TARGET_AVX2 inline void wino_output(const WinoArgs& a, int64_t o0, int64_t o1) {
  const int64_t Tp = a.Tp(), cols = a.cols(), nb = Tp / 8, lout = a.lout, mstride = a.rows * cols;
  const float* M = a.M();
  const __m256 two = _mm256_set1_ps(2.f), four = _mm256_set1_ps(4.f), eight = _mm256_set1_ps(8.f), zero = _mm256_setzero_ps();
  for (int64_t g = 0; g < a.G; ++g)
    for (int64_t o = o0; o < o1; ++o) {
      const __m256 bv = a.b ? _mm256_set1_ps(a.b[o]) : zero;
      float* yr = a.y + g * a.ys + o * lout;
      for (int64_t bk = 0; bk < nb; ++bk) {
        const int64_t p0 = bk * 32;
        if (p0 >= lout) break;
        const float* mp = M + o * cols + g * Tp + bk * 8;
        const __m256 m0 = _mm256_loadu_ps(mp), m1 = _mm256_loadu_ps(mp + mstride), m2 = _mm256_loadu_ps(mp + 2 * mstride),
                     m3 = _mm256_loadu_ps(mp + 3 * mstride), m4 = _mm256_loadu_ps(mp + 4 * mstride), m5 = _mm256_loadu_ps(mp + 5 * mstride);
        const __m256 sp = _mm256_add_ps(m1, m2), sm = _mm256_sub_ps(m1, m2), tp = _mm256_add_ps(m3, m4), tm = _mm256_sub_ps(m3, m4);
        __m256 q0 = _mm256_add_ps(_mm256_add_ps(m0, sp), _mm256_add_ps(tp, bv));       // m0 + m1 + m2 + m3 + m4
        __m256 q1 = _mm256_add_ps(_mm256_fmadd_ps(two, tm, sm), bv);                    // m1 - m2 + 2(m3 - m4)
        __m256 q2 = _mm256_add_ps(_mm256_fmadd_ps(four, tp, sp), bv);                   // m1 + m2 + 4(m3 + m4)
        __m256 q3 = _mm256_add_ps(_mm256_add_ps(_mm256_fmadd_ps(eight, tm, sm), m5), bv);  // m1 - m2 + 8(m3 - m4) + m5
        detail::transpose4(q0, q1, q2, q3);  // y[p0 .. p0 + 31] in order
        const __m256 out[4] = {q0, q1, q2, q3};
        for (int q = 0; q < 4; ++q) {
          const int64_t l = p0 + 8 * q;
          if (l >= lout) break;
          const __m256 val = a.relu ? _mm256_max_ps(zero, out[q]) : out[q];  // NaN propagates (see fwd_tile)
          if (l + 8 <= lout) _mm256_storeu_ps(yr + l, val);
          else _mm256_maskstore_ps(yr + l, detail::tail_mask(int(lout - l)), val);
        }
      }
    }
}
// All three stages on the calling thread.
inline void wino_forward(const WinoArgs& a) {
  wino_input(a, 0, a.red);
  wino_gemm(a, 0, 6 * a.blocks());
  wino_output(a, 0, a.rows);
}
#endif  // GALML_X86_DISPATCH

}  // namespace galml::cpu_kernels::direct
