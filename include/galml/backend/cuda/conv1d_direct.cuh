#pragma once
// Direct (implicit-GEMM, no im2col) FP32 Conv1D kernels for stride 1, K = 3: the convolutions of the
// spectral networks. Picked by conv1d.cuh for float; double, other strides and kernel sizes keep the
// im2col + cuBLAS path, which also stays available as a reference (set_direct_conv(false)).
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

template <int BO, int BL>
__global__ void __launch_bounds__(kFwdThreads) fwd_kernel(FwdArgs a) {
  static_assert((BO / kRO) * (BL / kRL) == kFwdThreads, "direct conv: tile must give 128 threads");
  constexpr int XW = BL + 8;  // row stride: BL + K - 1 values, padded to a multiple of 4 (16-byte rows)
  __shared__ __align__(16) float xs[kCC][XW];
  __shared__ __align__(16) float ws[kCC][kK][BO];
  const int tid = threadIdx.x;
  const int tl = tid % (BL / kRL), to = tid / (BL / kRL);
  const int l0 = blockIdx.x * BL, o0 = blockIdx.y * BO;
  for (int64_t n = blockIdx.z; n < a.N; n += gridDim.z) {
    const float* in = a.in + n * int64_t(a.cin) * a.lin;
    const float* mk = a.mask ? a.mask + n * int64_t(a.cin) * a.lin : nullptr;
    float acc[kRO][kRL];
#pragma unroll
    for (int i = 0; i < kRO; ++i)
#pragma unroll
      for (int j = 0; j < kRL; ++j) acc[i][j] = 0.f;
    for (int c0 = 0; c0 < a.cin; c0 += kCC) {
      __syncthreads();
      for (int e = tid; e < kCC * (BL + kK - 1); e += kFwdThreads) {
        const int cc = e / (BL + kK - 1), j = e % (BL + kK - 1), c = c0 + cc, p = l0 + j - a.pad;
        float v = 0.f;
        if (c < a.cin && p >= 0 && p < a.lin) {
          const int64_t idx = int64_t(c) * a.lin + p;
          v = in[idx];
          if (mk && !(mk[idx] > 0.f)) v = 0.f;
        }
        xs[cc][j] = v;
      }
      for (int e = tid; e < kCC * kK * BO; e += kFwdThreads) {
        const int oo = e % BO, r = e / BO, k = r % kK, cc = r / kK, o = o0 + oo, c = c0 + cc;
        float v = 0.f;
        if (o < a.cout && c < a.cin)
          v = a.transposed ? a.w[(int64_t(c) * a.cout + o) * kK + (kK - 1 - k)] : a.w[(int64_t(o) * a.cin + c) * kK + k];
        ws[cc][k][oo] = v;
      }
      __syncthreads();
#pragma unroll 2
      for (int cc = 0; cc < kCC; ++cc) {
        float xv[kRL + kK - 1];
        const float4* xr = reinterpret_cast<const float4*>(&xs[cc][tl * kRL]);
        const float4 x0 = xr[0], x1 = xr[1];
        const float2 x2 = *reinterpret_cast<const float2*>(&xs[cc][tl * kRL + 8]);
        xv[0] = x0.x; xv[1] = x0.y; xv[2] = x0.z; xv[3] = x0.w;
        xv[4] = x1.x; xv[5] = x1.y; xv[6] = x1.z; xv[7] = x1.w;
        xv[8] = x2.x; xv[9] = x2.y;
#pragma unroll
        for (int k = 0; k < kK; ++k) {
          const float4* wr = reinterpret_cast<const float4*>(&ws[cc][k][to * kRO]);
          const float4 w0 = wr[0], w1 = wr[1];
          const float wv[kRO] = {w0.x, w0.y, w0.z, w0.w, w1.x, w1.y, w1.z, w1.w};
#pragma unroll
          for (int i = 0; i < kRO; ++i)
#pragma unroll
            for (int j = 0; j < kRL; ++j) acc[i][j] = fmaf(wv[i], xv[j + k], acc[i][j]);
        }
      }
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
          if (a.relu) v = v > 0.f ? v : (v != v ? v : 0.f);  // NaN passes, as on the CPU
          out[int64_t(o) * a.lout + l] = v;
        }
      }
    }
  }
}

// Tile shapes (BO x BL, 128 threads each): the one with the least padding waste for (cout, lout),
// the wider-channel one on ties (more reuse of each loaded input value).
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
    case 0: fwd_kernel<128, 64><<<grid, kFwdThreads, 0, cuda_rt::stream()>>>(a); break;
    case 1: fwd_kernel<64, 128><<<grid, kFwdThreads, 0, cuda_rt::stream()>>>(a); break;
    case 2: fwd_kernel<32, 256><<<grid, kFwdThreads, 0, cuda_rt::stream()>>>(a); break;
    default: fwd_kernel<16, 512><<<grid, kFwdThreads, 0, cuda_rt::stream()>>>(a); break;
  }
  GALML_CUDA_LAUNCHED();
}

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
  int cin, L, cout, lout, pad, spg;  // spg: samples per group (blockIdx.z)
};

// BO x BC channel tile, positions in chunks of TL; T = (BO/4)(BC/4) threads form one tile team, and
// G = 256 / T teams split each chunk's positions (contiguous runs, so the 3-tap window slides).
template <int BO, int BC, int TL>
__global__ void __launch_bounds__(kWThreads) wgrad_kernel(WgradArgs a) {
  constexpr int TO = BO / kWR, TC = BC / kWR, T = TO * TC, G = kWThreads / T, PER = TL / G;
  static_assert(T * G == kWThreads && PER * G == TL && PER >= 2, "direct conv wgrad: bad tile");
  constexpr int DS = BO + 4, XS = BC + 4;  // padded rows (16-byte aligned, spread over banks)
  __shared__ __align__(16) float smem[TL * DS + (TL + kK - 1) * XS];
  float (*dys)[DS] = reinterpret_cast<float (*)[DS]>(smem);
  float (*xs)[XS] = reinterpret_cast<float (*)[XS]>(smem + TL * DS);
  const int tid = threadIdx.x, g = tid / T, t = tid % T, to = t % TO, tc = t / TO;
  const int c0 = blockIdx.x * BC, o0 = blockIdx.y * BO;
  const int64_t n0 = int64_t(blockIdx.z) * a.spg, n1 = n0 + a.spg < a.N ? n0 + a.spg : a.N;
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
  for (int64_t n = n0; n < n1; ++n) {
    const float* x = a.x + n * int64_t(a.cin) * a.L;
    const float* dy = a.dy + n * int64_t(a.cout) * a.lout;
    const float* mk = a.mask ? a.mask + n * int64_t(a.cout) * a.lout : nullptr;
    for (int l0 = 0; l0 < a.lout; l0 += TL) {
      __syncthreads();
      for (int e = tid; e < BO * TL; e += kWThreads) {  // l fastest: coalesced global reads
        const int j = e % TL, oo = e / TL, o = o0 + oo, l = l0 + j;
        float v = 0.f;
        if (o < a.cout && l < a.lout) {
          const int64_t idx = int64_t(o) * a.lout + l;
          v = dy[idx];
          if (mk && !(mk[idx] > 0.f)) v = 0.f;
        }
        dys[j][oo] = v;
      }
      for (int e = tid; e < BC * (TL + kK - 1); e += kWThreads) {
        const int j = e % (TL + kK - 1), cc = e / (TL + kK - 1), c = c0 + cc, p = l0 + j - a.pad;
        xs[j][cc] = (c < a.cin && p >= 0 && p < a.L && l0 + j < a.lout + kK - 1) ? x[int64_t(c) * a.L + p] : 0.f;
      }
      __syncthreads();
      const int jb = g * PER;
      float win[kK][kWR];
#pragma unroll
      for (int k = 0; k < kK - 1; ++k) {
        const float4 v = *reinterpret_cast<const float4*>(&xs[jb + k][tc * kWR]);
        win[k][0] = v.x; win[k][1] = v.y; win[k][2] = v.z; win[k][3] = v.w;
      }
#pragma unroll 4
      for (int j = 0; j < PER; ++j) {
        const float4 v = *reinterpret_cast<const float4*>(&xs[jb + j + kK - 1][tc * kWR]);
        win[kK - 1][0] = v.x; win[kK - 1][1] = v.y; win[kK - 1][2] = v.z; win[kK - 1][3] = v.w;
        const float4 dv = *reinterpret_cast<const float4*>(&dys[jb + j][to * kWR]);
        const float d[kWR] = {dv.x, dv.y, dv.z, dv.w};
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
    }
  }
  // Teams 1..G-1 hand their sums to team 0 one after another (fixed order), through shared memory.
  constexpr int NA = kWR * kWR * kK + kWR;
  static_assert(G == 1 || T * NA <= TL * DS + (TL + kK - 1) * XS, "direct conv wgrad: reduction buffer too small");
  float* red = smem;  // reuses the tiles (T * NA floats)
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

// out[i] += sum_{s < S} part[s * n + i], s ascending.
__global__ void sum_partials_kernel(const float* __restrict__ part, float* __restrict__ out, int64_t n, int S) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float s = 0.f;
    for (int q = 0; q < S; ++q) s += part[int64_t(q) * n + i];
    out[i] += s;
  }
}

inline int ch_tile(int c) { return c <= 4 ? 4 : c <= 16 ? 16 : c <= 32 ? 32 : 64; }

template <int BO, int BC>
void launch_wgrad_tl(const WgradArgs& a, dim3 grid) {
  constexpr int M = BO > BC ? BO : BC;
  constexpr int TL = M <= 16 ? 256 : M <= 32 ? 128 : 64;
  wgrad_kernel<BO, BC, TL><<<grid, kWThreads, 0, cuda_rt::stream()>>>(a);
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

inline bool conv_direct_ok(const ConvDims& d) {
  return d.K == direct_conv::kK && d.stride == 1 && d.pad <= 2 && d.cin <= INT_MAX && d.L <= INT_MAX && d.cout <= INT_MAX;
}

inline void conv1d_direct_forward(const float* x, const float* w, const float* b, float* y, int64_t N, const ConvDims& d, bool relu) {
  direct_conv::FwdArgs a{x, w, b, nullptr, y, N, int(d.cin), int(d.L), int(d.cout), int(d.lout), int(d.pad), false, relu};
  direct_conv::launch_fwd(a);
}

// mask (nullable): the fused ReLU's output y; dy counts only where y > 0. dw/db accumulate, dx is set.
inline void conv1d_direct_backward(const float* x, const float* w, const float* mask, const float* dy, float* dx, float* dw, float* db,
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
  int64_t groups = (want + tiles - 1) / tiles;
  if (groups > N) groups = N;
  if (groups > 65535) groups = 65535;
  const int64_t spg = (N + groups - 1) / groups;
  groups = (N + spg - 1) / spg;
  const int64_t wsz = d.cout * d.cin * kK;
  cuda_rt::DeviceBuffer<float> part(groups * wsz), part_b(db ? groups * d.cout : 1);
  WgradArgs a{x, dy, mask, part.get(), db ? part_b.get() : nullptr, N, int(d.cin), int(d.L), int(d.cout), int(d.lout), int(d.pad), int(spg)};
  const dim3 grid(unsigned((d.cin + bc - 1) / bc), unsigned((d.cout + bo - 1) / bo), unsigned(groups));
  switch (bo) {
    case 16: launch_wgrad_bc<16>(bc, a, grid); break;
    case 32: launch_wgrad_bc<32>(bc, a, grid); break;
    default: launch_wgrad_bc<64>(bc, a, grid); break;
  }
  GALML_CUDA_LAUNCHED();
  if (dw) {
    sum_partials_kernel<<<grid_for(wsz), kThreads, 0, cuda_rt::stream()>>>(part.get(), dw, wsz, int(groups));
    GALML_CUDA_LAUNCHED();
  }
  if (db) {
    sum_partials_kernel<<<grid_for(d.cout), kThreads, 0, cuda_rt::stream()>>>(part_b.get(), db, d.cout, int(groups));
    GALML_CUDA_LAUNCHED();
  }
}

}  // namespace galml::cuda_kernels
