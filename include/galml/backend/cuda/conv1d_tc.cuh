#pragma once
// Tensor-core Conv1D kernels (forward, input gradient, weight gradient) for the TF32, BF16 and 3xTF32
// precision modes (stride 1, K = 3, float tensors in memory). An implicit GEMM per sample and tap k:
//   Y[o, l] += W_k[o, c] X[c, l + k - pad],  M = output channels, N = positions, K = input channels,
// with mma.sync m16n8k8 (TF32) or m16n8k16 (BF16) and FP32 accumulation. Activations and weights stay
// FP32 in memory (FP32 master weights); operands are rounded to TF32 / BF16 in shared memory or as they
// are read into the tensor-core fragments, so the mode changes arithmetic, never storage. A third mode,
// 3xTF32, splits each FP32 operand into two TF32 parts and issues three MMAs per product (FP32-level
// accuracy: the FP32 precision setting may use it, Precision::tf32x3).
//
// Block: 4 warps, tile BM output channels x BN positions, each warp 32 x 64 (2 x 8 MMA tiles). Input
// channels come in stages of 16 through two cp.async buffers (as in conv1d_direct.cuh); the weights of a
// stage are stored in fragment order, so each lane reads its A fragment with one or two 16-byte loads;
// input rows are padded so B-fragment reads hit 32 distinct banks. dx is the same kernel on dy with
// the weights transposed and flipped (read in place), with the fused ReLU's mask applied to dy when a
// stage is converted in shared memory (before rounding / splitting).
#include <cuda_bf16.h>

#include "galml/backend/cuda/conv1d_direct.cuh"

namespace galml::cuda_kernels::tc_conv {

using direct_conv::cp_async4;
using direct_conv::cp_async_commit;
using direct_conv::cp_async_wait;
using direct_conv::FwdArgs;
using direct_conv::kK;

inline constexpr int kThreadsTc = 128;
inline constexpr int kCCt = 16;  // input channels per stage

__device__ inline uint32_t to_tf32(float v) {
  uint32_t r = 0;
  GALML_SM80_ASM_PURE("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(v));
  return r;
}
// v = big + small, both TF32: big is v rounded (low 13 bits cleared before it is used as a float), small
// the rounding error rounded. Then a b = big_a big_b + big_a small_b + small_a big_b + O(2^-22 |a b|):
// close to FP32's 2^-24, where one TF32 product is off by up to 2^-11. A NaN stays NaN; an Inf becomes
// NaN (its small part is Inf - Inf): not worth two more instructions per operand in the inner loop.
__device__ inline void split_tf32(float v, uint32_t& big, uint32_t& small) {
  big = to_tf32(v) & 0xffffe000u;
  small = to_tf32(v - __uint_as_float(big));
}
// Operand modes of the tensor-core kernels (the kernels' MODE template argument).
enum TcMode : int { tc_tf32 = 0, tc_bf16 = 1, tc_tf32x3 = 2 };
// One TF32 operand: rounded, or split in two under 3xTF32 (small unused otherwise).
template <int MODE> __device__ inline void tf32_operand(float v, uint32_t& big, uint32_t& small) {
  if constexpr (MODE == tc_tf32x3) split_tf32(v, big, small);
  else big = to_tf32(v);
}
__device__ inline uint32_t pack_bf16(float lo, float hi) {  // lo -> low half (the smaller k index)
  const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&h);
}
__device__ inline void mma_tf32(float* c, const uint32_t* a, const uint32_t* b) {
  GALML_SM80_ASM("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ inline void mma_bf16(float* c, const uint32_t* a, const uint32_t* b) {
  GALML_SM80_ASM("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// c += a b in the mode's arithmetic; as / bs: the small TF32 parts under 3xTF32 (smallest terms first).
template <int MODE> __device__ inline void mma_op(float* c, const uint32_t* a, const uint32_t* as, const uint32_t* b, const uint32_t* bs) {
  if constexpr (MODE == tc_bf16) {
    mma_bf16(c, a, b);
  } else if constexpr (MODE == tc_tf32x3) {
    mma_tf32(c, as, b);
    mma_tf32(c, a, bs);
    mma_tf32(c, a, b);
  } else {
    mma_tf32(c, a, b);
  }
}

// 16-byte asynchronous copy (both addresses 16-byte aligned).
__device__ inline void cp_async16(float* dst, const float* src) {
  const unsigned d = unsigned(__cvta_generic_to_shared(dst));
  GALML_SM80_ASM("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(d), "l"(src));
}
// Shift of a row in shared memory: position p0 of the global row lands at column shift(row + p0), so
// that shared and global addresses agree modulo 16 bytes and whole 16-byte vectors can be copied.
__device__ inline int row_shift(const float* row, int64_t p0) { return int(((uint64_t(reinterpret_cast<uintptr_t>(row)) >> 2) + uint64_t(p0)) & 3u); }
// Vector i of a row copy: dst[4 i + u] = row[p0 - s + 4 i + u] for u < 4 (0 outside [0, rowlen)); one
// 16-byte copy when the four positions lie inside the row, else four zero-filling element copies.
__device__ inline void row_vec(float* dst, const float* row, int rowlen, int64_t p0, int s, int i) {
  const int64_t pv = p0 - s + 4 * i;
  float* d = dst + 4 * i;
  if (pv >= 0 && pv + 4 <= rowlen) {
    cp_async16(d, row + pv);
  } else {
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const int64_t p = pv + u;
      const bool ok = p >= 0 && p < rowlen;
      cp_async4(d + u, row + (ok ? p : 0), ok);
    }
  }
}

// The input tile has a second plane for the ReLU mask (MASK), 3xTF32's small parts (SPLIT; over the mask)
// or BF16's packed channel pairs (over the mask).
template <bool BF, int BM, int BN, bool MASK, bool SPLIT = false> struct TcTile {
  static constexpr int KS = BF ? 16 : 8;  // channels per MMA k-step
  static constexpr int NKS = kCCt / KS;   // k-steps per tap and stage
  // Row stride of the input tile: >= BN + K - 1 and = 8 modulo 32 banks, so a warp's B-fragment reads
  // (TF32: rows t, t + 4; BF16 packed pairs: rows t, t + 4 of the pair plane) are conflict-free.
  // Also >= BN + 8: a row copied as 16-byte vectors starts up to 3 columns late (row_shift).
  static constexpr int XW = BN + 8;
  static constexpr int XN = kCCt * XW;
  static constexpr int WSZ = kK * BM * kCCt;  // weights of a stage, fragment order
  static constexpr int XPLANES = MASK || SPLIT || BF ? 2 : 1;
  static constexpr int STAGE = XN * XPLANES + WSZ;
  static constexpr size_t smem = 2 * STAGE * sizeof(float);
};

// Position of weight (oo, cc, k) of a stage in fragment order: per (tap, k-step, 16-row tile) a block of
// 32 lanes x 4 words; word r of lane (g, t) holds row g + 8 (r % 2) and k-column t + 4 (r / 2), a BF16
// word two consecutive channels (low half first).
template <bool BF, int BM>
__device__ inline int frag_index(int oo, int cc, int k) {
  constexpr int KS = BF ? 16 : 8, NKS = kCCt / KS, MT = BM / 16;
  const int mt = oo / 16, row = oo % 16, ks = cc / KS, col = cc % KS;
  const int g = row % 8;
  if constexpr (BF) {
    const int kp = col / 2, half = col % 2, t = kp % 4, r = row / 8 + 2 * (kp / 4);
    return ((((k * NKS + ks) * MT + mt) * 32 + g * 4 + t) * 8) + r * 2 + half;
  } else {
    const int t = col % 4, r = row / 8 + 2 * (col / 4);
    return ((((k * NKS + ks) * MT + mt) * 32 + g * 4 + t) * 4) + r;
  }
}

// VEC: input rows copied as 16-byte vectors (row_shift) and the weights from a buffer packed in fragment
// order per (output tile, chunk) by pack_weights_kernel (a.w then points to it); else 4-byte copies.
template <int MODE, int BM, int BN, bool MASK, bool VEC>
__global__ void __launch_bounds__(kThreadsTc) tc_fwd_kernel(FwdArgs a) {
  constexpr bool BF = MODE == tc_bf16, X3 = MODE == tc_tf32x3;
  using Tl = TcTile<BF, BM, BN, MASK, X3>;
  constexpr int KS = Tl::KS, NKS = Tl::NKS, XW = Tl::XW, XN = Tl::XN, STAGE = Tl::STAGE, MTB = BM / 16, XP = Tl::XPLANES;
  constexpr int WM = BM / 32, WN = 4 / WM;
  static_assert(WM * WN == 4 && BN / WN == 64, "tc conv: each warp owns 32 x 64 outputs");
  constexpr int MT = 2, NT = 8;
  extern __shared__ __align__(16) float sm[];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane >> 2, t = lane & 3;
  const int wm = warp / WN, wn = warp % WN;
  const int l0 = blockIdx.x * BN, o0 = blockIdx.y * BM;
  const int nchunks = (a.cin + kCCt - 1) / kCCt;
  for (int64_t n = blockIdx.z; n < a.N; n += gridDim.z) {
    const float* in = a.in + n * int64_t(a.cin) * a.lin;
    const float* mk = MASK ? a.mask + n * int64_t(a.cin) * a.lin : nullptr;
    const int64_t p0 = int64_t(l0) - a.pad;
    auto load = [&](int stage, int c0) {
      float* xs = sm + stage * STAGE;
      float* ws = xs + XN * XP;
      if constexpr (VEC) {
        constexpr int V = (BN + 8) / 4;  // vectors per row: BN + K - 1 columns plus up to 3 of shift
        for (int e = tid; e < kCCt * V; e += kThreadsTc) {
          const int cc = e / V, i = e % V, c = c0 + cc;
          const bool in_rows = c < a.cin;
          const float* row = in + (in_rows ? int64_t(c) * a.lin : 0);
          const int sh = row_shift(row, p0);
          row_vec(&xs[cc * XW], row, in_rows ? a.lin : 0, p0, sh, i);
          if constexpr (MASK) row_vec(&xs[XN + cc * XW], mk + (in_rows ? int64_t(c) * a.lin : 0), in_rows ? a.lin : 0, p0, sh, i);
        }
        const float* wsrc = a.w + (int64_t(blockIdx.y) * ((a.cin + kCCt - 1) / kCCt) + c0 / kCCt) * Tl::WSZ;
        for (int e = tid; e < Tl::WSZ / 4; e += kThreadsTc) cp_async16(&ws[4 * e], wsrc + 4 * e);
      } else {
        for (int e = tid; e < kCCt * (BN + kK - 1); e += kThreadsTc) {
          const int cc = e / (BN + kK - 1), j = e % (BN + kK - 1), c = c0 + cc, p = l0 + j - a.pad;
          const bool ok = c < a.cin && p >= 0 && p < a.lin;
          const int64_t idx = ok ? int64_t(c) * a.lin + p : 0;
          cp_async4(&xs[cc * XW + j], in + idx, ok);
          if constexpr (MASK) cp_async4(&xs[XN + cc * XW + j], mk + idx, ok);
        }
        for (int e = tid; e < kCCt * kK * BM; e += kThreadsTc) {  // coalesced global reads, as in the FP32 kernel
          int oo, cc, k;
          int64_t idx;
          if (a.transposed) {
            cc = e / (BM * kK); const int r = e % (BM * kK); oo = r / kK; k = kK - 1 - r % kK;
            idx = (int64_t(c0 + cc) * a.cout + o0 + oo) * kK + (kK - 1 - k);
          } else {
            oo = e / (kCCt * kK); const int r = e % (kCCt * kK); cc = r / kK; k = r % kK;
            idx = (int64_t(o0 + oo) * a.cin + c0 + cc) * kK + k;
          }
          const bool ok = o0 + oo < a.cout && c0 + cc < a.cin;
          cp_async4(&ws[frag_index<BF, BM>(oo, cc, k)], a.w + (ok ? idx : 0), ok);
        }
      }
      cp_async_commit();
    };
    float acc[MT][NT][4];
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.f;
    load(0, 0);
    for (int q = 0; q < nchunks; ++q) {
      if (q + 1 < nchunks) { load((q + 1) & 1, (q + 1) * kCCt); cp_async_wait<1>(); }
      else cp_async_wait<0>();
      __syncthreads();
      // Column offset of a row of this stage (row_shift of its global row; 0 without VEC).
      auto shift_of = [&](int row) {
        if constexpr (VEC) { const int c = q * kCCt + row; return row_shift(in + (c < a.cin ? int64_t(c) * a.lin : 0), p0); }
        else return 0;
      };
      // The stage's input tile is converted once, with the ReLU mask applied, instead of in every warp
      // and tap that reads a value.
      {
        float* xw = sm + (q & 1) * STAGE;
        if constexpr (!BF) {
          // TF32 / 3xTF32: rounded (or split) in place; the small parts go to the second plane, over the
          // mask, which each element's own thread has read first.
          for (int e = tid; e < XN; e += kThreadsTc) {
            float v = xw[e];
            if constexpr (MASK) v = xw[XN + e] > 0.f ? v : 0.f;
            uint32_t big, small;
            tf32_operand<MODE>(v, big, small);
            xw[e] = __uint_as_float(big);
            if constexpr (X3) xw[XN + e] = __uint_as_float(small);
          }
        } else {
          // BF16: channel pairs (2p, 2p + 1) packed into one word per column (row p of the second plane,
          // positions aligned: the rows' shifts undone), the B fragment's layout. Masking in place first.
          if constexpr (MASK) {
            for (int e = tid; e < XN; e += kThreadsTc) xw[e] = xw[XN + e] > 0.f ? xw[e] : 0.f;
            __syncthreads();
          }
          uint32_t* pk = reinterpret_cast<uint32_t*>(xw + XN);
          constexpr int NC = BN + kK - 1;  // the columns the fragments read
          for (int e = tid; e < (kCCt / 2) * NC; e += kThreadsTc) {
            const int pr = e / NC, j = e % NC;
            pk[pr * XW + j] = pack_bf16(xw[2 * pr * XW + shift_of(2 * pr) + j], xw[(2 * pr + 1) * XW + shift_of(2 * pr + 1) + j]);
          }
        }
        __syncthreads();
      }
      const float* xs = sm + (q & 1) * STAGE;
      const float* ws = xs + XN * XP;
#pragma unroll
      for (int k = 0; k < kK; ++k) {
#pragma unroll
        for (int ks = 0; ks < NKS; ++ks) {
          uint32_t af[MT][4], bfr[NT][2], afs[MT][4], bfs[NT][2];  // afs, bfs: 3xTF32's small parts
#pragma unroll
          for (int mt = 0; mt < MT; ++mt) {
            const int base = ((k * NKS + ks) * MTB + wm * MT + mt) * 32 + lane;
            if constexpr (BF) {
              const float4 v0 = *reinterpret_cast<const float4*>(ws + base * 8), v1 = *reinterpret_cast<const float4*>(ws + base * 8 + 4);
              af[mt][0] = pack_bf16(v0.x, v0.y); af[mt][1] = pack_bf16(v0.z, v0.w);
              af[mt][2] = pack_bf16(v1.x, v1.y); af[mt][3] = pack_bf16(v1.z, v1.w);
            } else {
              const float4 v = *reinterpret_cast<const float4*>(ws + base * 4);
              tf32_operand<MODE>(v.x, af[mt][0], afs[mt][0]); tf32_operand<MODE>(v.y, af[mt][1], afs[mt][1]);
              tf32_operand<MODE>(v.z, af[mt][2], afs[mt][2]); tf32_operand<MODE>(v.w, af[mt][3], afs[mt][3]);
            }
          }
          // Row shifts of the two rows this lane reads (TF32; BF16's packed plane has none).
          const int rsh0 = BF ? 0 : shift_of(ks * KS + t), rsh1 = BF ? 0 : shift_of(ks * KS + t + 4);
#pragma unroll
          for (int nt = 0; nt < NT; ++nt) {
            const int col = wn * 64 + nt * 8 + g + k;
            if constexpr (BF) {  // channel pairs (2t, 2t + 1) and (2t + 8, 2t + 9) of this k-step
              const uint32_t* pk = reinterpret_cast<const uint32_t*>(xs + XN);
              bfr[nt][0] = pk[(ks * (KS / 2) + t) * XW + col];
              bfr[nt][1] = pk[(ks * (KS / 2) + t + 4) * XW + col];
            } else {  // already rounded / split and masked in shared memory
              const int i0 = (ks * KS + t) * XW + rsh0 + col, i1 = (ks * KS + t + 4) * XW + rsh1 + col;
              bfr[nt][0] = __float_as_uint(xs[i0]);
              bfr[nt][1] = __float_as_uint(xs[i1]);
              if constexpr (X3) { bfs[nt][0] = __float_as_uint(xs[XN + i0]); bfs[nt][1] = __float_as_uint(xs[XN + i1]); }
            }
          }
#pragma unroll
          for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int nt = 0; nt < NT; ++nt) mma_op<MODE>(acc[mt][nt], af[mt], afs[mt], bfr[nt], bfs[nt]);
        }
      }
      __syncthreads();  // stage (q & 1) is refilled by the next iteration's load
    }
    float* out = a.out + n * int64_t(a.cout) * a.lout;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int o = o0 + wm * 32 + mt * 16 + g + 8 * h;
        if (o >= a.cout) continue;
        const float b = a.bias ? a.bias[o] : 0.f;
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const int l = l0 + wn * 64 + nt * 8 + 2 * t + e;
            if (l < a.lout) {
              float v = acc[mt][nt][2 * h + e] + b;
              if (a.relu) v = v < 0.f ? 0.f : v;  // NaN passes
              out[int64_t(o) * a.lout + l] = v;
            }
          }
      }
  }
}

// Weights of every (output tile, input chunk) of 16 channels in the order the kernel's stage holds them
// (frag_index), zero where the tile passes the channel counts: one contiguous block per stage.
template <bool BF, int BM>
__global__ void pack_weights_kernel(const float* __restrict__ w, float* __restrict__ wf, int cin, int cout, bool transposed, int nchunks, int ntiles) {
  constexpr int WSZ = kK * BM * kCCt;
  const int64_t total = int64_t(ntiles) * nchunks * WSZ;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int k = int(i % kK), cc = int((i / kK) % kCCt), oo = int((i / (kK * kCCt)) % BM);
    const int64_t tq = i / WSZ;  // tile * nchunks + chunk
    const int q = int(tq % nchunks), tile = int(tq / nchunks);
    const int o = tile * BM + oo, c = q * kCCt + cc;
    float v = 0.f;
    if (o < cout && c < cin) v = transposed ? w[(int64_t(c) * cout + o) * kK + (kK - 1 - k)] : w[(int64_t(o) * cin + c) * kK + k];
    wf[tq * WSZ + frag_index<BF, BM>(oo, cc, k)] = v;
  }
}

// Vectorised copies unless switched off (set_tc_vector_loads) or the mask is not aligned like the input.
inline bool& vec_flag() { static bool on = true; return on; }

template <int MODE, int BM, int BN, bool MASK, bool VEC>
void launch_cfg4(const FwdArgs& a, dim3 grid) {
  constexpr size_t smem = TcTile<MODE == tc_bf16, BM, BN, MASK, MODE == tc_tf32x3>::smem;
  static const bool attr = [] {
    GALML_CUDA_CHECK(cudaFuncSetAttribute(tc_fwd_kernel<MODE, BM, BN, MASK, VEC>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    return true;
  }();
  (void)attr;
  tc_fwd_kernel<MODE, BM, BN, MASK, VEC><<<grid, kThreadsTc, smem, cuda_rt::stream()>>>(a);
}
template <int MODE, int BM, int BN, bool MASK>
void launch_cfg(const FwdArgs& a, dim3 grid) {
  constexpr bool BF = MODE == tc_bf16;
  const bool vec = vec_flag() && (!a.mask || (reinterpret_cast<uintptr_t>(a.in) & 15) == (reinterpret_cast<uintptr_t>(a.mask) & 15)) &&
                   (reinterpret_cast<uintptr_t>(a.in) & 3) == 0;
  if (!vec) return launch_cfg4<MODE, BM, BN, MASK, false>(a, grid);
  const int nchunks = (a.cin + kCCt - 1) / kCCt, ntiles = int(grid.y);
  const int64_t n = int64_t(ntiles) * nchunks * TcTile<BF, BM, BN, MASK>::WSZ;
  cuda_rt::DeviceBuffer<float> wf(n);
  pack_weights_kernel<BF, BM><<<grid_for(n), kThreads, 0, cuda_rt::stream()>>>(a.w, wf.get(), a.cin, a.cout, a.transposed, nchunks, ntiles);
  GALML_CUDA_LAUNCHED();
  FwdArgs b = a;
  b.w = wf.get();
  launch_cfg4<MODE, BM, BN, MASK, true>(b, grid);
}
template <int MODE, int BM, int BN>
void launch_mask(const FwdArgs& a, dim3 grid) {
  if (a.mask) launch_cfg<MODE, BM, BN, true>(a, grid);
  else launch_cfg<MODE, BM, BN, false>(a, grid);
}

// Tile shape with the least padding waste for (cout, lout), the wider-channel one on ties.
template <int MODE>
void launch(const FwdArgs& a) {
  struct Cfg { int bm, bn; };
  constexpr Cfg cfgs[] = {{128, 64}, {64, 128}, {32, 256}};
  int best = 0;
  int64_t best_cost = -1;
  for (int i = 0; i < 3; ++i) {
    const int64_t cost = ((a.cout + cfgs[i].bm - 1) / cfgs[i].bm) * int64_t(cfgs[i].bm) * (((a.lout + cfgs[i].bn - 1) / cfgs[i].bn) * int64_t(cfgs[i].bn));
    if (best_cost < 0 || cost < best_cost) { best = i; best_cost = cost; }
  }
  const int bm = cfgs[best].bm, bn = cfgs[best].bn;
  const dim3 grid(unsigned((a.lout + bn - 1) / bn), unsigned((a.cout + bm - 1) / bm), unsigned(a.N < 65535 ? a.N : 65535));
  switch (best) {
    case 0: launch_mask<MODE, 128, 64>(a, grid); break;
    case 1: launch_mask<MODE, 64, 128>(a, grid); break;
    default: launch_mask<MODE, 32, 256>(a, grid); break;
  }
  GALML_CUDA_LAUNCHED();
}


// ---- weight and bias gradients on the tensor cores ----
// Per tap k: dW_k[o, c] = sum_{n, l} dy[n, o, l] x[n, c, l + k - pad], M = output channels, N = input
// channels, K = positions. A block owns 64 x 64 channels (4 warps, 32 x 32 each) and a run of consecutive
// (sample, 32-position chunk) pairs; the dy fragment of a k-step serves all three taps (the x tile is read
// at three shifts). Bias sums come from the unrounded dy values of the A fragments (FP32). Partials per
// group, summed in group order by direct_conv::sum_partials, as in the FP32 kernel: deterministic.
inline constexpr int kTP = 32;  // positions per stage

// SPLIT (3xTF32): the small parts of x need a plane; with MASK they take the mask's (applied to dy first).
template <bool BF, bool MASK, bool VEC, bool SPLIT = false> struct TcWTile {
  // Row stride: = 8 (BF16 pairs) or 4 (TF32) mod 32 banks, >= kTP + K - 1, and >= kTP + 8 with VEC.
  static constexpr int S = BF ? 40 : VEC ? 68 : 36;
  static constexpr int TILE = 64 * S;
  static constexpr int STAGE = TILE * (MASK || SPLIT ? 3 : 2);  // dy, [mask / x's small parts], x
  static constexpr size_t smem = 2 * STAGE * sizeof(float);
  // Columns of a row any fragment reads: kTP (dy) or kTP + K - 1 (x), plus up to 3 of row shift (VEC).
  static constexpr int NCOL = kTP + kK - 1 + (VEC ? 3 : 0);
  static_assert(NCOL <= S, "tc wgrad: the converted columns must lie inside a row");
};

template <int MODE, bool MASK, bool VEC>
__global__ void __launch_bounds__(kThreadsTc) tc_wgrad_kernel(direct_conv::WgradArgs a) {
  constexpr bool BF = MODE == tc_bf16, X3 = MODE == tc_tf32x3;
  using Tl = TcWTile<BF, MASK, VEC, X3>;
  constexpr int S = Tl::S, TILE = Tl::TILE, STAGE = Tl::STAGE, KS = BF ? 16 : 8, NKS = kTP / KS, MT = 2, NT = 4;
  extern __shared__ __align__(16) float sm[];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane >> 2, t = lane & 3;
  const int wm = warp / 2, wn = warp % 2;
  const int c0 = blockIdx.x * 64, o0 = blockIdx.y * 64;
  const int64_t nlc = (a.lout + kTP - 1) / kTP, total = a.N * nlc;
  const int64_t q0 = int64_t(blockIdx.z) * a.cpg, q1 = q0 + a.cpg < total ? q0 + a.cpg : total;
  auto load = [&](int stage, int64_t q) {
    const int64_t n = q / nlc;
    const int l0 = int(q % nlc) * kTP;
    float* dys = sm + stage * STAGE;
    float* xs = dys + TILE * (MASK ? 2 : 1);
    const float* dy = a.dy + n * int64_t(a.cout) * a.lout;
    const float* x = a.x + n * int64_t(a.cin) * a.L;
    if constexpr (VEC) {
      constexpr int V = (kTP + 8) / 4;
      for (int e = tid; e < 64 * V; e += kThreadsTc) {
        const int r = e / V, i = e % V, o = o0 + r, c = c0 + r;
        const float* drow = dy + (o < a.cout ? int64_t(o) * a.lout : 0);
        const int sd = row_shift(drow, l0);
        row_vec(&dys[r * S], drow, o < a.cout ? a.lout : 0, l0, sd, i);
        if constexpr (MASK) row_vec(&dys[TILE + r * S], a.mask + n * int64_t(a.cout) * a.lout + (o < a.cout ? int64_t(o) * a.lout : 0), o < a.cout ? a.lout : 0, l0, sd, i);
        const float* xrow = x + (c < a.cin ? int64_t(c) * a.L : 0);
        row_vec(&xs[r * S], xrow, c < a.cin ? a.L : 0, int64_t(l0) - a.pad, row_shift(xrow, int64_t(l0) - a.pad), i);
      }
    } else {
      for (int e = tid; e < 64 * kTP; e += kThreadsTc) {
        const int j = e % kTP, oo = e / kTP, o = o0 + oo, l = l0 + j;
        const bool ok = o < a.cout && l < a.lout;
        const int64_t idx = ok ? int64_t(o) * a.lout + l : 0;
        cp_async4(&dys[oo * S + j], dy + idx, ok);
        if constexpr (MASK) cp_async4(&dys[TILE + oo * S + j], a.mask + n * int64_t(a.cout) * a.lout + idx, ok);
      }
      for (int e = tid; e < 64 * (kTP + kK - 1); e += kThreadsTc) {
        const int j = e % (kTP + kK - 1), cc = e / (kTP + kK - 1), c = c0 + cc, p = l0 + j - a.pad;
        const bool ok = c < a.cin && p >= 0 && p < a.L;
        cp_async4(&xs[cc * S + j], x + (ok ? int64_t(c) * a.L + p : 0), ok);
      }
    }
    cp_async_commit();
  };
  float acc[kK][MT][NT][4];
  float bsum[MT][2];
#pragma unroll
  for (int k = 0; k < kK; ++k)
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int r = 0; r < 4; ++r) acc[k][i][j][r] = 0.f;
#pragma unroll
  for (int i = 0; i < MT; ++i) bsum[i][0] = bsum[i][1] = 0.f;
  if (q0 < q1) load(0, q0);
  for (int64_t q = q0; q < q1; ++q) {
    const int stage = int((q - q0) & 1);
    if (q + 1 < q1) { load(stage ^ 1, q + 1); cp_async_wait<1>(); }
    else cp_async_wait<0>();
    __syncthreads();
    if constexpr (!BF) {
      // TF32 / 3xTF32: the ReLU mask applied to dy and x rounded (or split) once per stage, instead of in
      // every tap and warp that reads it. dy stays FP32 (the bias sums use it; its fragments are
      // converted as they are read, once per k-step).
      float* dyw = sm + stage * STAGE;
      float* xw = dyw + TILE * (MASK ? 2 : 1);
      float* smallw = MASK ? dyw + TILE : xw + TILE;  // over the mask, which each element's thread reads first
      for (int e = tid; e < 64 * Tl::NCOL; e += kThreadsTc) {
        const int idx = (e / Tl::NCOL) * S + e % Tl::NCOL;
        if constexpr (MASK) dyw[idx] = dyw[TILE + idx] > 0.f ? dyw[idx] : 0.f;
        uint32_t big, small;
        tf32_operand<MODE>(xw[idx], big, small);
        xw[idx] = __uint_as_float(big);
        if constexpr (X3) smallw[idx] = __uint_as_float(small);
      }
      __syncthreads();
    }
    const float* dys = sm + stage * STAGE;
    const float* xs = dys + TILE * (MASK ? 2 : 1);
    const float* xsmall = MASK ? dys + TILE : xs + TILE;  // 3xTF32
    // Column offsets of the rows this lane reads (row_shift; 0 without VEC): dy rows r0, r0 + 8 per
    // 16-row tile, x rows one per 8-column tile.
    int shd[MT][2], shx[NT];
    {
      const int64_t n = q / nlc;
      const int l0 = int(q % nlc) * kTP;
      const float* dyb = a.dy + n * int64_t(a.cout) * a.lout;
      const float* xb = a.x + n * int64_t(a.cin) * a.L;
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int o = o0 + wm * 32 + mt * 16 + g + 8 * h;
          shd[mt][h] = VEC ? row_shift(dyb + (o < a.cout ? int64_t(o) * a.lout : 0), l0) : 0;
        }
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const int c = c0 + wn * 32 + nt * 8 + g;
        shx[nt] = VEC ? row_shift(xb + (c < a.cin ? int64_t(c) * a.L : 0), int64_t(l0) - a.pad) : 0;
      }
    }
    auto rd_dy = [&](int row, int sh, int col) {
      float v = dys[row * S + sh + col];
      if constexpr (MASK && BF) v = dys[TILE + row * S + sh + col] > 0.f ? v : 0.f;  // (TF32: applied above)
      return v;
    };
#pragma unroll
    for (int ks = 0; ks < NKS; ++ks) {
      uint32_t af[MT][4], afs[MT][4];  // afs: 3xTF32's small parts
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        const int r0 = wm * 32 + mt * 16 + g, cb = ks * KS;
        const int s0 = shd[mt][0], s1 = shd[mt][1];
        if constexpr (BF) {
          const float v0 = rd_dy(r0, s0, cb + 2 * t), v1 = rd_dy(r0, s0, cb + 2 * t + 1), v2 = rd_dy(r0 + 8, s1, cb + 2 * t), v3 = rd_dy(r0 + 8, s1, cb + 2 * t + 1);
          const float v4 = rd_dy(r0, s0, cb + 2 * t + 8), v5 = rd_dy(r0, s0, cb + 2 * t + 9), v6 = rd_dy(r0 + 8, s1, cb + 2 * t + 8), v7 = rd_dy(r0 + 8, s1, cb + 2 * t + 9);
          af[mt][0] = pack_bf16(v0, v1); af[mt][1] = pack_bf16(v2, v3); af[mt][2] = pack_bf16(v4, v5); af[mt][3] = pack_bf16(v6, v7);
          bsum[mt][0] += (v0 + v1) + (v4 + v5);
          bsum[mt][1] += (v2 + v3) + (v6 + v7);
        } else {
          const float v0 = rd_dy(r0, s0, cb + t), v1 = rd_dy(r0 + 8, s1, cb + t), v2 = rd_dy(r0, s0, cb + t + 4), v3 = rd_dy(r0 + 8, s1, cb + t + 4);
          tf32_operand<MODE>(v0, af[mt][0], afs[mt][0]); tf32_operand<MODE>(v1, af[mt][1], afs[mt][1]);
          tf32_operand<MODE>(v2, af[mt][2], afs[mt][2]); tf32_operand<MODE>(v3, af[mt][3], afs[mt][3]);
          bsum[mt][0] += v0 + v2;
          bsum[mt][1] += v1 + v3;
        }
      }
#pragma unroll
      for (int k = 0; k < kK; ++k) {
        uint32_t bfr[NT][2], bfs[NT][2];
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          const float* xr = xs + (wn * 32 + nt * 8 + g) * S + shx[nt] + ks * KS + k;
          if constexpr (BF) {
            bfr[nt][0] = pack_bf16(xr[2 * t], xr[2 * t + 1]);
            bfr[nt][1] = pack_bf16(xr[2 * t + 8], xr[2 * t + 9]);
          } else {  // rounded / split above
            bfr[nt][0] = __float_as_uint(xr[t]);
            bfr[nt][1] = __float_as_uint(xr[t + 4]);
            if constexpr (X3) {
              const float* xq = xsmall + (xr - xs);
              bfs[nt][0] = __float_as_uint(xq[t]);
              bfs[nt][1] = __float_as_uint(xq[t + 4]);
            }
          }
        }
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int nt = 0; nt < NT; ++nt) mma_op<MODE>(acc[k][mt][nt], af[mt], afs[mt], bfr[nt], bfs[nt]);
      }
    }
    __syncthreads();  // this stage is refilled two chunks on
  }
  float* part = a.part + int64_t(blockIdx.z) * a.cout * a.cin * kK;
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int o = o0 + wm * 32 + mt * 16 + g + 8 * h;
#pragma unroll
      for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = c0 + wn * 32 + nt * 8 + 2 * t + e;
          if (o < a.cout && c < a.cin)
#pragma unroll
            for (int k = 0; k < kK; ++k) part[(int64_t(o) * a.cin + c) * kK + k] = acc[k][mt][nt][2 * h + e];
        }
      // Bias: the 4 lanes of a row hold disjoint column sums; add them in a fixed order (t = 0..3).
      float b = bsum[mt][h];
      const float b1 = __shfl_down_sync(0xffffffffu, b, 1), b2 = __shfl_down_sync(0xffffffffu, b, 2), b3 = __shfl_down_sync(0xffffffffu, b, 3);
      b = ((b + b1) + b2) + b3;
      if (a.part_b && blockIdx.x == 0 && wn == 0 && t == 0 && o < a.cout) a.part_b[int64_t(blockIdx.z) * a.cout + o] = b;
    }
}

template <int MODE, bool MASK, bool VEC>
void launch_wgrad_cfg3(const direct_conv::WgradArgs& a, dim3 grid) {
  constexpr size_t smem = TcWTile<MODE == tc_bf16, MASK, VEC, MODE == tc_tf32x3>::smem;
  static const bool attr = [] {
    GALML_CUDA_CHECK(cudaFuncSetAttribute(tc_wgrad_kernel<MODE, MASK, VEC>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    return true;
  }();
  (void)attr;
  tc_wgrad_kernel<MODE, MASK, VEC><<<grid, kThreadsTc, smem, cuda_rt::stream()>>>(a);
}
template <int MODE, bool MASK>
void launch_wgrad_cfg(const direct_conv::WgradArgs& a, dim3 grid) {
  const auto al = [](const void* p) { return reinterpret_cast<uintptr_t>(p) & 15; };
  const bool vec = vec_flag() && (!a.mask || al(a.mask) == al(a.dy)) && (reinterpret_cast<uintptr_t>(a.dy) & 3) == 0 &&
                   (reinterpret_cast<uintptr_t>(a.x) & 3) == 0;
  if (vec) launch_wgrad_cfg3<MODE, MASK, true>(a, grid);
  else launch_wgrad_cfg3<MODE, MASK, false>(a, grid);
}

template <int MODE> void launch_wgrad_masked(bool mask, const direct_conv::WgradArgs& a, dim3 grid) {
  if (mask) launch_wgrad_cfg<MODE, true>(a, grid);
  else launch_wgrad_cfg<MODE, false>(a, grid);
}
}  // namespace galml::cuda_kernels::tc_conv

namespace galml::cuda_kernels {

// dW/db on the tensor cores only for >= tc_wgrad_min_flag() input and output channels (default 32;
// smaller ones leave most of the 64 x 64 tile empty: conv1d.cuh uses the FP32 kernel).
inline int& tc_wgrad_min_flag() { static int v = 32; return v; }  // cuda_rt::set_tc_wgrad_min_channels
inline bool tc_wgrad_ok(const ConvDims& d) { return d.cin >= tc_wgrad_min_flag() && d.cout >= tc_wgrad_min_flag(); }

// The entry points; as in conv1d_direct.cuh, their definitions (which instantiate the kernels) are
// compiled in one translation unit, src/cuda/conv1d_tc.cu, and the other library units define
// GALML_CUDA_CONV_TC_ELSEWHERE.
// mode: tc_conv::TcMode (TF32, BF16 or 3xTF32 operands). relu: fused into the store.
void conv1d_tc_forward(int mode, const float* x, const float* w, const float* b, float* y, int64_t N, const ConvDims& d, bool relu);
// dW += , db += (both nullable) on the tensor cores; mask as in conv1d_tc_input_grad.
void conv1d_tc_weight_grad(int mode, const float* x, const float* mask, const float* dy, float* dw, float* db, int64_t N, const ConvDims& d);
// dx = conv_transpose(dy masked by y > 0 when mask is given).
void conv1d_tc_input_grad(int mode, const float* w, const float* mask, const float* dy, float* dx, int64_t N, const ConvDims& d);

#if !defined(GALML_CUDA_CONV_TC_ELSEWHERE)
// The mode dispatchers instantiate every tensor-core kernel, so they sit in the one unit that compiles
// the kernels (a non-template function would instantiate them in every unit including this header).
namespace tc_conv {
inline void check_mode(int mode) {
  GALML_CHECK(mode == tc_tf32 || mode == tc_bf16 || mode == tc_tf32x3, "conv1d_tc: unknown tensor-core mode ", mode,
              " (expected tc_tf32, tc_bf16 or tc_tf32x3)");
}
inline void launch_wgrad_mode(int mode, bool mask, const direct_conv::WgradArgs& a, dim3 grid) {
  check_mode(mode);
  switch (mode) {
    case tc_bf16: return launch_wgrad_masked<tc_bf16>(mask, a, grid);
    case tc_tf32x3: return launch_wgrad_masked<tc_tf32x3>(mask, a, grid);
    default: return launch_wgrad_masked<tc_tf32>(mask, a, grid);
  }
}
inline void launch_mode(int mode, const FwdArgs& a) {
  check_mode(mode);
  switch (mode) {
    case tc_bf16: return launch<tc_bf16>(a);
    case tc_tf32x3: return launch<tc_tf32x3>(a);
    default: return launch<tc_tf32>(a);
  }
}
}  // namespace tc_conv

void conv1d_tc_forward(int mode, const float* x, const float* w, const float* b, float* y, int64_t N, const ConvDims& d, bool relu) {
  direct_conv::FwdArgs a{x, w, b, nullptr, y, N, int(d.cin), int(d.L), int(d.cout), int(d.lout), int(d.pad), false, relu};
  tc_conv::launch_mode(mode, a);
}
void conv1d_tc_weight_grad(int mode, const float* x, const float* mask, const float* dy, float* dw, float* db, int64_t N, const ConvDims& d) {
  if (!dw && !db) return;
  const int64_t tiles = ((d.cout + 63) / 64) * ((d.cin + 63) / 64);
  static const int64_t want = [] {
    int dev = 0, sms = 0;
    GALML_CUDA_CHECK(cudaGetDevice(&dev));
    GALML_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    return int64_t(sms) * 4;
  }();
  const int64_t chunks = N * ((d.lout + tc_conv::kTP - 1) / tc_conv::kTP);
  int64_t groups = (want + tiles - 1) / tiles;
  if (groups > chunks) groups = chunks;
  if (groups > 65535) groups = 65535;
  const int64_t cpg = (chunks + groups - 1) / groups;
  groups = (chunks + cpg - 1) / cpg;
  const int64_t wsz = d.cout * d.cin * direct_conv::kK;
  cuda_rt::DeviceBuffer<float> part(groups * wsz), part_b(db ? groups * d.cout : 1);
  direct_conv::WgradArgs a{x, dy, mask, part.get(), db ? part_b.get() : nullptr, N, int(d.cin), int(d.L), int(d.cout), int(d.lout), int(d.pad), cpg};
  const dim3 grid(unsigned((d.cin + 63) / 64), unsigned((d.cout + 63) / 64), unsigned(groups));
  tc_conv::launch_wgrad_mode(mode, mask != nullptr, a, grid);
  GALML_CUDA_LAUNCHED();
  if (dw) direct_conv::sum_partials(part.get(), dw, wsz, int(groups));
  if (db) direct_conv::sum_partials(part_b.get(), db, d.cout, int(groups));
}
void conv1d_tc_input_grad(int mode, const float* w, const float* mask, const float* dy, float* dx, int64_t N, const ConvDims& d) {
  direct_conv::FwdArgs a{dy, w, nullptr, mask, dx, N, int(d.cout), int(d.lout), int(d.cin), int(d.L), int(direct_conv::kK - 1 - d.pad), true, false};
  tc_conv::launch_mode(mode, a);
}

#endif  // GALML_CUDA_CONV_TC_ELSEWHERE

}  // namespace galml::cuda_kernels
