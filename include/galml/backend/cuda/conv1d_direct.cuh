#pragma once
// Direct (implicit-GEMM, no im2col) FP32 Conv1D kernels for stride 1, K = 3: the convolutions of the
// spectral networks. Picked by conv1d.cuh for float; double, other strides and kernel sizes keep the
// im2col + cuBLAS path, which also stays available as a reference (set_conv_path: kernels.hpp).
//
// Layering: conv1d_direct_{forward,backward} (device level, choose a tile config, launch) -> the
// kernels below (one block per output tile) -> a thread's register tile. All sums run in a fixed order:
// no atomics, bit-identical results run to run and between eager and graph-replayed steps.
//
//   forward   y[n,o,l] = act(b[o] + sum_{c,k} w[o,c,k] x[n,c,l+k-pad])
//             Block tile BO output channels x BL positions of one sample; a thread holds 8 x 8 outputs
//             (8 channels x 8 consecutive positions), so each input value it loads from shared memory
//             serves 8 channels x K taps. Bias and ReLU are applied in the store.
//   dx        the same kernel on dy with the weights transposed and flipped (read in place) and
//             pad' = K-1-pad; a fused ReLU's mask (y > 0) is applied to dy as it is loaded.
//   dW, db    dW[o,c,k] = sum_{n,l} dy[n,o,l] x[n,c,l+k-pad]: a block owns a BO x BC channel tile and a
//             fixed group of samples, threads walk the positions with a sliding 3-tap window of x in
//             registers (4 x 4 x 3 accumulators). Per-group partials go to a workspace and one more
//             kernel adds them in group order onto dW (and the bias partials onto db).
#include "galml/backend/cuda/common.cuh"
#include "galml/backend/cuda/kernels.hpp"

namespace galml::cuda_kernels {

namespace direct_conv {

inline constexpr int kK = 3;           // taps handled here
inline constexpr int kFwdThreads = 128;
inline constexpr int kRO = 8, kRL = 8;  // forward register tile
inline constexpr int kCC = 8;          // input channels per shared-memory stage

// in: [N, cin, lin]; out: [N, cout, lout]. Weight element (o, c, k) is
//   w[(o * cin + c) * K + k]                    (!transposed: a forward convolution)
//   w[(c * cout + o) * K + (K - 1 - k)]          (transposed: dx from dy)
// mask (nullable, same layout as in): in[i] counts only where mask[i] > 0 (a fused ReLU's backward).
struct FwdArgs {
  const float* in;
  const float* w;
  const float* bias;
  const float* mask;
  float* out;
  int64_t N;
  int cin, lin, cout, lout, pad;
  bool transposed, relu;
};

// The direct and tensor-core kernels use sm_80 instructions (cp.async, mma.sync bf16/tf32). Built for an
// older architecture their device code traps; the host side never launches them there
// (direct_kernels_supported(): such GPUs take the im2col + cuBLAS path).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#define GALML_SM80_ASM(...) __trap()
#define GALML_SM80_ASM_PURE(...) __trap()
#else
#define GALML_SM80_ASM(...) asm volatile(__VA_ARGS__)
#define GALML_SM80_ASM_PURE(...) asm(__VA_ARGS__)  // no side effects: the compiler may move or merge it
#endif

// Asynchronous 4-byte global -> shared copy (sm_80+); !valid writes a zero without reading.
__device__ inline void cp_async4(float* dst, const float* src, bool valid) {
  const unsigned d = unsigned(__cvta_generic_to_shared(dst));
  GALML_SM80_ASM("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(d), "l"(src), "r"(valid ? 4 : 0));
}
__device__ inline void cp_async_commit() { GALML_SM80_ASM("cp.async.commit_group;\n" ::); }
template <int N> __device__ inline void cp_async_wait() { GALML_SM80_ASM("cp.async.wait_group %0;\n" ::"n"(N)); }

template <int BO, int BL, bool MASK> struct FwdTile {
  static constexpr int XW = BL + 8;  // row stride: BL + K - 1 values, padded to a multiple of 4 (16-byte rows)
  static constexpr int XN = kCC * XW, WN = kCC * kK * BO;
  static constexpr int STAGE = XN * (MASK ? 2 : 1) + WN;  // floats per pipeline stage
  static constexpr size_t smem = 2 * STAGE * sizeof(float);
};

// Two shared-memory stages: the copies of channel chunk q+1 run while chunk q is computed.
template <int BO, int BL, bool MASK>
__global__ void __launch_bounds__(kFwdThreads) fwd_kernel(FwdArgs a) {
  static_assert((BO / kRO) * (BL / kRL) == kFwdThreads, "direct conv: tile must give 128 threads");
  using Tl = FwdTile<BO, BL, MASK>;
  constexpr int XW = Tl::XW, XN = Tl::XN, STAGE = Tl::STAGE;
  extern __shared__ __align__(16) float sm[];
  const int tid = threadIdx.x;
  const int tl = tid % (BL / kRL), to = tid / (BL / kRL);
  const int l0 = blockIdx.x * BL, o0 = blockIdx.y * BO;
  const int nchunks = (a.cin + kCC - 1) / kCC;
  for (int64_t n = blockIdx.z; n < a.N; n += gridDim.z) {
    const float* in = a.in + n * int64_t(a.cin) * a.lin;
    const float* mk = MASK ? a.mask + n * int64_t(a.cin) * a.lin : nullptr;
    auto load = [&](int stage, int c0) {
      float* xs = sm + stage * STAGE;
      float* ws = xs + XN * (MASK ? 2 : 1);
      for (int e = tid; e < kCC * (BL + kK - 1); e += kFwdThreads) {
        const int cc = e / (BL + kK - 1), j = e % (BL + kK - 1), c = c0 + cc, p = l0 + j - a.pad;
        const bool ok = c < a.cin && p >= 0 && p < a.lin;
        const int64_t idx = ok ? int64_t(c) * a.lin + p : 0;
        cp_async4(&xs[cc * XW + j], in + idx, ok);
        if constexpr (MASK) cp_async4(&xs[XN + cc * XW + j], mk + idx, ok);
      }
      // Weights: consecutive threads read consecutive addresses (runs of kCC*K floats per output
      // channel, or BO*K per input channel when transposed), scattered only in shared memory.
      for (int e = tid; e < kCC * kK * BO; e += kFwdThreads) {
        int oo, cc, k;
        int64_t idx;
        if (a.transposed) {
          cc = e / (BO * kK); const int r = e % (BO * kK); oo = r / kK; k = kK - 1 - r % kK;
          idx = (int64_t(c0 + cc) * a.cout + o0 + oo) * kK + (kK - 1 - k);
        } else {
          oo = e / (kCC * kK); const int r = e % (kCC * kK); cc = r / kK; k = r % kK;
          idx = (int64_t(o0 + oo) * a.cin + c0 + cc) * kK + k;
        }
        const bool ok = o0 + oo < a.cout && c0 + cc < a.cin;
        cp_async4(&ws[(cc * kK + k) * BO + oo], a.w + (ok ? idx : 0), ok);
      }
      cp_async_commit();
    };
    float acc[kRO][kRL];
#pragma unroll
    for (int i = 0; i < kRO; ++i)
#pragma unroll
      for (int j = 0; j < kRL; ++j) acc[i][j] = 0.f;
    load(0, 0);
    for (int q = 0; q < nchunks; ++q) {
      if (q + 1 < nchunks) { load((q + 1) & 1, (q + 1) * kCC); cp_async_wait<1>(); }
      else cp_async_wait<0>();
      __syncthreads();
      const float* xs = sm + (q & 1) * STAGE;
      const float* ws = xs + XN * (MASK ? 2 : 1);
      const int ncc = a.cin - q * kCC < kCC ? a.cin - q * kCC : kCC;
#pragma unroll 2
      for (int cc = 0; cc < ncc; ++cc) {
        float xv[kRL + kK - 1];
        const float* xr = xs + cc * XW + tl * kRL;
        const float4 x0 = *reinterpret_cast<const float4*>(xr), x1 = *reinterpret_cast<const float4*>(xr + 4);
        const float2 x2 = *reinterpret_cast<const float2*>(xr + 8);
        xv[0] = x0.x; xv[1] = x0.y; xv[2] = x0.z; xv[3] = x0.w;
        xv[4] = x1.x; xv[5] = x1.y; xv[6] = x1.z; xv[7] = x1.w;
        xv[8] = x2.x; xv[9] = x2.y;
        if constexpr (MASK) {
          const float* mr = xr + XN;
          const float4 m0 = *reinterpret_cast<const float4*>(mr), m1 = *reinterpret_cast<const float4*>(mr + 4);
          const float2 m2 = *reinterpret_cast<const float2*>(mr + 8);
          const float mv[kRL + kK - 1] = {m0.x, m0.y, m0.z, m0.w, m1.x, m1.y, m1.z, m1.w, m2.x, m2.y};
#pragma unroll
          for (int j = 0; j < kRL + kK - 1; ++j) xv[j] = mv[j] > 0.f ? xv[j] : 0.f;
        }
#pragma unroll
        for (int k = 0; k < kK; ++k) {
          const float4* wr = reinterpret_cast<const float4*>(ws + (cc * kK + k) * BO + to * kRO);
          const float4 w0 = wr[0], w1 = wr[1];
          const float wv[kRO] = {w0.x, w0.y, w0.z, w0.w, w1.x, w1.y, w1.z, w1.w};
#pragma unroll
          for (int i = 0; i < kRO; ++i)
#pragma unroll
            for (int j = 0; j < kRL; ++j) acc[i][j] = fmaf(wv[i], xv[j + k], acc[i][j]);
        }
      }
      __syncthreads();  // stage (q & 1) is refilled by the next iteration's load
    }
    float* out = a.out + n * int64_t(a.cout) * a.lout;
#pragma unroll
    for (int i = 0; i < kRO; ++i) {
      const int o = o0 + to * kRO + i;
      if (o >= a.cout) continue;
      const float b = a.bias ? a.bias[o] : 0.f;
#pragma unroll
      for (int j = 0; j < kRL; ++j) {
        const int l = l0 + tl * kRL + j;
        if (l < a.lout) {
          float v = acc[i][j] + b;
          if (a.relu) v = v < 0.f ? 0.f : v;  // NaN passes, as on the CPU
          out[int64_t(o) * a.lout + l] = v;
        }
      }
    }
  }
}

template <int BO, int BL, bool MASK>
void launch_fwd_cfg(const FwdArgs& a, dim3 grid) {
  constexpr size_t smem = FwdTile<BO, BL, MASK>::smem;
  static const bool attr = [] {  // once per instantiation: allow more than 48 KB of dynamic shared memory
    GALML_CUDA_CHECK(cudaFuncSetAttribute(fwd_kernel<BO, BL, MASK>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    return true;
  }();
  (void)attr;
  fwd_kernel<BO, BL, MASK><<<grid, kFwdThreads, smem, cuda_rt::stream()>>>(a);
}
template <int BO, int BL>
void launch_fwd_mask(const FwdArgs& a, dim3 grid) {
  if (a.mask) launch_fwd_cfg<BO, BL, true>(a, grid);
  else launch_fwd_cfg<BO, BL, false>(a, grid);
}

// Tile shapes (BO x BL, 128 threads each): the one with the least padding waste for (cout, lout),
// the wider-channel one on ties (more reuse of each loaded input value). (Only where the entry points
// are defined: nvcc compiles every kernel a non-template function's body names, even an unused one.)
#if !defined(GALML_CUDA_CONV_DIRECT_ELSEWHERE)
inline void launch_fwd(const FwdArgs& a) {
  struct Cfg { int bo, bl; };
  constexpr Cfg cfgs[] = {{128, 64}, {64, 128}, {32, 256}, {16, 512}};
  int best = 0;
  int64_t best_cost = -1;
  for (int i = 0; i < 4; ++i) {
    const int64_t cost = ((a.cout + cfgs[i].bo - 1) / cfgs[i].bo) * int64_t(cfgs[i].bo) * (((a.lout + cfgs[i].bl - 1) / cfgs[i].bl) * int64_t(cfgs[i].bl));
    if (best_cost < 0 || cost < best_cost) { best = i; best_cost = cost; }
  }
  const int bo = cfgs[best].bo, bl = cfgs[best].bl;
  const dim3 grid(unsigned((a.lout + bl - 1) / bl), unsigned((a.cout + bo - 1) / bo), unsigned(a.N < 65535 ? a.N : 65535));
  switch (best) {
    case 0: launch_fwd_mask<128, 64>(a, grid); break;
    case 1: launch_fwd_mask<64, 128>(a, grid); break;
    case 2: launch_fwd_mask<32, 256>(a, grid); break;
    default: launch_fwd_mask<16, 512>(a, grid); break;
  }
  GALML_CUDA_LAUNCHED();
}
#endif

// ---- weight and bias gradients ----
inline constexpr int kWThreads = 256;
inline constexpr int kWR = 4;  // register tile: 4 output channels x 4 input channels x K taps

struct WgradArgs {
  const float* x;     // [N, cin, L]
  const float* dy;    // [N, cout, lout]
  const float* mask;  // nullable, like dy: dy counts only where mask > 0
  float* part;        // [groups, cout, cin, K]
  float* part_b;      // nullable: [groups, cout] bias partials
  int64_t N;
  int cin, L, cout, lout, pad;
  int64_t cpg;  // position chunks per group: group z owns chunks [z*cpg, (z+1)*cpg) of the (sample, chunk) sequence
};

template <int BO, int BC, int TL, bool MASK> struct WTile {
  static constexpr int DS = BO + 4, XS = BC + 4;  // padded rows (16-byte aligned, spread over banks)
  static constexpr int DN = TL * DS, STAGE = DN * (MASK ? 2 : 1) + (TL + kK - 1) * XS;
  static constexpr size_t smem = 2 * STAGE * sizeof(float);
};

// BO x BC channel tile, positions in chunks of TL; T = (BO/4)(BC/4) threads form one tile team, and
// G = 256 / T teams split each chunk's positions (contiguous runs, so the 3-tap window slides). Two
// shared-memory stages: the copies of chunk q+1 run while chunk q is summed.
template <int BO, int BC, int TL, bool MASK>
__global__ void __launch_bounds__(kWThreads) wgrad_kernel(WgradArgs a) {
  constexpr int TO = BO / kWR, TC = BC / kWR, T = TO * TC, G = kWThreads / T, PER = TL / G;
  static_assert(T * G == kWThreads && PER * G == TL && PER >= 2, "direct conv wgrad: bad tile");
  using Tl = WTile<BO, BC, TL, MASK>;
  constexpr int DS = Tl::DS, XS = Tl::XS, DN = Tl::DN, STAGE = Tl::STAGE;
  extern __shared__ __align__(16) float sm[];
  const int tid = threadIdx.x, g = tid / T, t = tid % T, to = t % TO, tc = t / TO;
  const int c0 = blockIdx.x * BC, o0 = blockIdx.y * BO;
  const int64_t nlc = (a.lout + TL - 1) / TL, total = a.N * nlc;
  const int64_t q0 = int64_t(blockIdx.z) * a.cpg, q1 = q0 + a.cpg < total ? q0 + a.cpg : total;
  auto load = [&](int stage, int64_t q) {
    const int64_t n = q / nlc;
    const int l0 = int(q % nlc) * TL;
    float* dys = sm + stage * STAGE;
    float* xs = dys + DN * (MASK ? 2 : 1);
    const float* dy = a.dy + n * int64_t(a.cout) * a.lout;
    const float* x = a.x + n * int64_t(a.cin) * a.L;
    for (int e = tid; e < BO * TL; e += kWThreads) {  // l fastest: coalesced global reads
      const int j = e % TL, oo = e / TL, o = o0 + oo, l = l0 + j;
      const bool ok = o < a.cout && l < a.lout;
      const int64_t idx = ok ? int64_t(o) * a.lout + l : 0;
      cp_async4(&dys[j * DS + oo], dy + idx, ok);
      if constexpr (MASK) cp_async4(&dys[DN + j * DS + oo], a.mask + n * int64_t(a.cout) * a.lout + idx, ok);
    }
    for (int e = tid; e < BC * (TL + kK - 1); e += kWThreads) {
      const int j = e % (TL + kK - 1), cc = e / (TL + kK - 1), c = c0 + cc, p = l0 + j - a.pad;
      const bool ok = c < a.cin && p >= 0 && p < a.L;
      cp_async4(&xs[j * XS + cc], x + (ok ? int64_t(c) * a.L + p : 0), ok);
    }
    cp_async_commit();
  };
  float acc[kWR][kWR][kK];
  float bacc[kWR];
#pragma unroll
  for (int i = 0; i < kWR; ++i) {
    bacc[i] = 0.f;
#pragma unroll
    for (int j = 0; j < kWR; ++j)
#pragma unroll
      for (int k = 0; k < kK; ++k) acc[i][j][k] = 0.f;
  }
  if (q0 < q1) load(0, q0);
  for (int64_t q = q0; q < q1; ++q) {
    const int stage = int((q - q0) & 1);
    if (q + 1 < q1) { load(stage ^ 1, q + 1); cp_async_wait<1>(); }
    else cp_async_wait<0>();
    __syncthreads();
    const float* dys = sm + stage * STAGE;
    const float* xs = dys + DN * (MASK ? 2 : 1);
    const int jb = g * PER;
    float win[kK][kWR];
#pragma unroll
    for (int k = 0; k < kK - 1; ++k) {
      const float4 v = *reinterpret_cast<const float4*>(&xs[(jb + k) * XS + tc * kWR]);
      win[k][0] = v.x; win[k][1] = v.y; win[k][2] = v.z; win[k][3] = v.w;
    }
#pragma unroll 4
    for (int j = 0; j < PER; ++j) {
      const float4 v = *reinterpret_cast<const float4*>(&xs[(jb + j + kK - 1) * XS + tc * kWR]);
      win[kK - 1][0] = v.x; win[kK - 1][1] = v.y; win[kK - 1][2] = v.z; win[kK - 1][3] = v.w;
      const float4 dv = *reinterpret_cast<const float4*>(&dys[(jb + j) * DS + to * kWR]);
      float d[kWR] = {dv.x, dv.y, dv.z, dv.w};
      if constexpr (MASK) {
        const float4 mv = *reinterpret_cast<const float4*>(&dys[DN + (jb + j) * DS + to * kWR]);
        d[0] = mv.x > 0.f ? d[0] : 0.f; d[1] = mv.y > 0.f ? d[1] : 0.f; d[2] = mv.z > 0.f ? d[2] : 0.f; d[3] = mv.w > 0.f ? d[3] : 0.f;
      }
#pragma unroll
      for (int i = 0; i < kWR; ++i) {
        bacc[i] += d[i];
#pragma unroll
        for (int c = 0; c < kWR; ++c)
#pragma unroll
          for (int k = 0; k < kK; ++k) acc[i][c][k] = fmaf(d[i], win[k][c], acc[i][c][k]);
      }
#pragma unroll
      for (int k = 0; k < kK - 1; ++k)
#pragma unroll
        for (int c = 0; c < kWR; ++c) win[k][c] = win[k + 1][c];
    }
    __syncthreads();  // this stage is refilled two chunks on
  }
  // Teams 1..G-1 hand their sums to team 0 one after another (fixed order), through shared memory.
  constexpr int NA = kWR * kWR * kK + kWR;
  static_assert(G == 1 || T * NA <= 2 * STAGE, "direct conv wgrad: reduction buffer too small");
  float* red = sm;  // reuses the tiles (T * NA floats); every copy has landed (wait<0>) and been read
  for (int h = 1; h < G; ++h) {
    __syncthreads();
    if (g == h) {
#pragma unroll
      for (int i = 0; i < kWR; ++i) {
#pragma unroll
        for (int c = 0; c < kWR; ++c)
#pragma unroll
          for (int k = 0; k < kK; ++k) red[((i * kWR + c) * kK + k) * T + t] = acc[i][c][k];
        red[(kWR * kWR * kK + i) * T + t] = bacc[i];
      }
    }
    __syncthreads();
    if (g == 0) {
#pragma unroll
      for (int i = 0; i < kWR; ++i) {
#pragma unroll
        for (int c = 0; c < kWR; ++c)
#pragma unroll
          for (int k = 0; k < kK; ++k) acc[i][c][k] += red[((i * kWR + c) * kK + k) * T + t];
        bacc[i] += red[(kWR * kWR * kK + i) * T + t];
      }
    }
  }
  if (g != 0) return;
  float* part = a.part + int64_t(blockIdx.z) * a.cout * a.cin * kK;
#pragma unroll
  for (int i = 0; i < kWR; ++i) {
    const int o = o0 + to * kWR + i;
    if (o >= a.cout) continue;
#pragma unroll
    for (int c = 0; c < kWR; ++c) {
      const int ci = c0 + tc * kWR + c;
      if (ci >= a.cin) continue;
#pragma unroll
      for (int k = 0; k < kK; ++k) part[(int64_t(o) * a.cin + ci) * kK + k] = acc[i][c][k];
    }
    if (a.part_b && blockIdx.x == 0 && tc == 0) a.part_b[int64_t(blockIdx.z) * a.cout + o] = bacc[i];
  }
}

// out[i] += sum_{s < S} part[s * n + i], s ascending, on the stream (the split-K partials of the FP32
// and tensor-core weight-gradient kernels). Defined with the entry points below, in one unit.
void sum_partials(const float* part, float* out, int64_t n, int S);

inline int ch_tile(int c) { return c <= 4 ? 4 : c <= 16 ? 16 : c <= 32 ? 32 : 64; }

template <int BO, int BC, int TL, bool MASK>
void launch_wgrad_cfg(const WgradArgs& a, dim3 grid) {
  constexpr size_t smem = WTile<BO, BC, TL, MASK>::smem;
  static const bool attr = [] {
    GALML_CUDA_CHECK(cudaFuncSetAttribute(wgrad_kernel<BO, BC, TL, MASK>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    return true;
  }();
  (void)attr;
  wgrad_kernel<BO, BC, TL, MASK><<<grid, kWThreads, smem, cuda_rt::stream()>>>(a);
}
template <int BO, int BC> constexpr int wgrad_tl() { return (BO > BC ? BO : BC) <= 32 ? 128 : 64; }  // 2 stages fit ~110 KB
template <int BO, int BC>
void launch_wgrad_tl(const WgradArgs& a, dim3 grid) {
  if (a.mask) launch_wgrad_cfg<BO, BC, wgrad_tl<BO, BC>(), true>(a, grid);
  else launch_wgrad_cfg<BO, BC, wgrad_tl<BO, BC>(), false>(a, grid);
}

template <int BO>
void launch_wgrad_bc(int bc, const WgradArgs& a, dim3 grid) {
  switch (bc) {
    case 4: launch_wgrad_tl<BO, 4>(a, grid); break;
    case 16: launch_wgrad_tl<BO, 16>(a, grid); break;
    case 32: launch_wgrad_tl<BO, 32>(a, grid); break;
    default: launch_wgrad_tl<BO, 64>(a, grid); break;
  }
}

}  // namespace direct_conv

// Compute capability 8.0 or newer on the current device (queried once).
inline bool direct_kernels_supported() {
  static const bool ok = [] {
    int dev = 0, major = 0;
    GALML_CUDA_CHECK(cudaGetDevice(&dev));
    GALML_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    return major >= 8;
  }();
  return ok;
}
inline bool conv_direct_ok(const ConvDims& d) {
  return direct_kernels_supported() && d.K == direct_conv::kK && d.stride == 1 && d.pad <= 2 && d.cin <= INT_MAX && d.L <= INT_MAX && d.cout <= INT_MAX;
}

// The entry points. Their definitions (which instantiate every kernel above) are compiled in one
// translation unit, src/cuda/conv1d_direct.cu; the library's other units define
// GALML_CUDA_CONV_DIRECT_ELSEWHERE and see only these declarations, so nvcc compiles the kernels once
// and the library's files build in parallel.
void conv1d_direct_forward(const float* x, const float* w, const float* b, float* y, int64_t N, const ConvDims& d, bool relu);
// mask (nullable): the fused ReLU's output y; dy counts only where y > 0. dw/db accumulate, dx is set.
void conv1d_direct_backward(const float* x, const float* w, const float* mask, const float* dy, float* dx, float* dw, float* db,
                            int64_t N, const ConvDims& d);

#if !defined(GALML_CUDA_CONV_DIRECT_ELSEWHERE)
namespace direct_conv {
__global__ void sum_partials_kernel(const float* __restrict__ part, float* __restrict__ out, int64_t n, int S) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float s = 0.f;
    for (int q = 0; q < S; ++q) s += part[int64_t(q) * n + i];
    out[i] += s;
  }
}
void sum_partials(const float* part, float* out, int64_t n, int S) {
  sum_partials_kernel<<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(part, out, n, S);
  GALML_CUDA_LAUNCHED();
}
}  // namespace direct_conv

void conv1d_direct_forward(const float* x, const float* w, const float* b, float* y, int64_t N, const ConvDims& d, bool relu) {
  direct_conv::FwdArgs a{x, w, b, nullptr, y, N, int(d.cin), int(d.L), int(d.cout), int(d.lout), int(d.pad), false, relu};
  direct_conv::launch_fwd(a);
}

void conv1d_direct_backward(const float* x, const float* w, const float* mask, const float* dy, float* dx, float* dw, float* db,
                            int64_t N, const ConvDims& d) {
  using namespace direct_conv;
  if (dx) {
    FwdArgs a{dy, w, nullptr, mask, dx, N, int(d.cout), int(d.lout), int(d.cin), int(d.L), int(kK - 1 - d.pad), true, false};
    launch_fwd(a);
  }
  if (!dw && !db) return;
  const int bo = ch_tile(int(d.cout)) < 16 ? 16 : ch_tile(int(d.cout)), bc = ch_tile(int(d.cin));
  const int64_t tiles = ((d.cout + bo - 1) / bo) * ((d.cin + bc - 1) / bc);
  static const int64_t want = [] {
    int dev = 0, sms = 0;
    GALML_CUDA_CHECK(cudaGetDevice(&dev));
    GALML_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    return int64_t(sms) * 4;  // blocks to aim for
  }();
  // Groups of consecutive (sample, position-chunk) pairs, enough for `want` blocks in all; each group's
  // partial sums are added in group order below, so the split never changes the bits between runs.
  const int64_t tl = (bo > bc ? bo : bc) <= 32 ? 128 : 64;  // = wgrad_tl<bo, bc>()
  const int64_t chunks = N * ((d.lout + tl - 1) / tl);
  int64_t groups = (want + tiles - 1) / tiles;
  if (groups > chunks) groups = chunks;
  if (groups > 65535) groups = 65535;
  const int64_t cpg = (chunks + groups - 1) / groups;
  groups = (chunks + cpg - 1) / cpg;
  const int64_t wsz = d.cout * d.cin * kK;
  cuda_rt::DeviceBuffer<float> part(groups * wsz), part_b(db ? groups * d.cout : 1);
  WgradArgs a{x, dy, mask, part.get(), db ? part_b.get() : nullptr, N, int(d.cin), int(d.L), int(d.cout), int(d.lout), int(d.pad), cpg};
  const dim3 grid(unsigned((d.cin + bc - 1) / bc), unsigned((d.cout + bo - 1) / bo), unsigned(groups));
  switch (bo) {
    case 16: launch_wgrad_bc<16>(bc, a, grid); break;
    case 32: launch_wgrad_bc<32>(bc, a, grid); break;
    default: launch_wgrad_bc<64>(bc, a, grid); break;
  }
  GALML_CUDA_LAUNCHED();
  if (dw) sum_partials(part.get(), dw, wsz, int(groups));
  if (db) sum_partials(part_b.get(), db, d.cout, int(groups));
}

#endif  // GALML_CUDA_CONV_DIRECT_ELSEWHERE

}  // namespace galml::cuda_kernels
