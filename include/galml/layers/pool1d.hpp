#pragma once
// 1-D pooling over Shape<C, L>:
//   MaxPool1D<K, S = K, Pad = 0> floor mode, Pad implicit -inf samples each side
//                                (torch.nn.MaxPool1d(K, S, Pad); Pad <= K/2 as PyTorch requires)
//   MaxPool1DSame<K, S = 1>      Keras/TensorFlow padding="same": length ceil(L/S), pad_total =
//                                max((out-1)*S + K - L, 0) split left = pad_total/2, right = the rest
//   AvgPool1D<K, S = K>          floor mode, no padding (torch.nn.AvgPool1d(K, S))
//   AdaptiveAvgPool1D<Out>       PyTorch bin rule: bin i = [floor(i*L/Out), ceil((i+1)*L/Out)), bins may overlap
//   GlobalAvgPool1D              mean over L -> Shape<C>
#include <algorithm>
#include <array>
#include <type_traits>
#include <vector>

#include "galml/backend/cpu/minmax.hpp"  // maxpool1d_padded_forward
#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

namespace detail {
// Max pooling with LeftPad implicit -inf samples before the row and LO outputs (the right padding is
// implied by LO). The argmax indexes the unpadded row, so the existing backward op applies unchanged.
// Unpadded pools keep the original op (CUDA has it); padded ones call maxpool1d_padded_forward
// (backend/cpu/minmax.hpp; CUDA: backend/cuda/norm.cuh).
template <class In, int K, int S, int LeftPad, int LO, class T, class B>
struct maxpool1d_impl : LayerImplBase<T, B> {
  static constexpr int64_t C = In::dims[0], L = In::dims[1];
  // Every window must hold a real sample (the padded op reads the first in-range one).
  static_assert(LO >= 1 && K - LeftPad >= 1 && int64_t(LO - 1) * S - LeftPad < L, "max pool window entirely in the padding");
  Tensor<int32_t, B> argmax;
  static void init(T*, Rng&, Init) {}
  // Unpadded on the CPU outside training: values only, no index tensor; a backward after such a
  // forward (saliency in eval mode) finds the winners again from x. Training keeps the argmax
  // (reading it back is cheaper than re-reading the 3x larger input).
  static constexpr bool plain_cpu = std::is_same_v<B, cpu> && LeftPad == 0 && (L - K) / S + 1 == LO;
  bool have_arg = false;
  void forward(const T* x, T* y, int64_t N, Context& ctx) {
    if constexpr (plain_cpu) {
      if (ctx.mode != Mode::train) { maxpool1d_forward_values(B{}, x, y, N * C, L, int64_t(K), int64_t(S), int64_t(LO)); have_arg = false; return; }
    }
    have_arg = true;
    argmax.ensure({N, C, int64_t(LO)});
    if constexpr (LeftPad == 0 && (L - K) / S + 1 == LO)
      maxpool1d_forward(B{}, x, y, argmax.data(), N * C, L, int64_t(K), int64_t(S), int64_t(LO));
    else
      maxpool1d_padded_forward(B{}, x, y, argmax.data(), N * C, L, int64_t(K), int64_t(S), int64_t(LeftPad), int64_t(LO));
  }
  void backward(const T* x, const T*, const T* dy, T* dx, int64_t N, Context&) {
    if (!dx) return;
    if constexpr (plain_cpu)
      if (!have_arg) { maxpool1d_backward_from_input(B{}, x, dy, dx, N * C, L, int64_t(K), int64_t(S), int64_t(LO)); return; }
    maxpool1d_backward(B{}, dy, (const int32_t*)argmax.data(), dx, N * C, L, int64_t(LO));
  }
};
}  // namespace detail

template <int K, int S = K, int Pad = 0>
struct MaxPool1D {
  static_assert(K > 0 && S > 0, "MaxPool1D: kernel and stride must be positive");
  // PyTorch's rule; it also guarantees every window holds at least one real sample.
  static_assert(Pad >= 0 && 2 * Pad <= K, "MaxPool1D: padding must be in [0, K/2] (as torch.nn.MaxPool1d)");
  // Pad = 0 keeps the historical name (summaries, docs).
  static std::string name() {
    return "MaxPool1D(k=" + std::to_string(K) + ", s=" + std::to_string(S) + (Pad ? ", p=" + std::to_string(Pad) : std::string()) + ")";
  }
  template <class In> static constexpr bool accepts = In::rank == 2 && In::dims[1] + 2 * Pad >= K;
  template <class In> using expects = expects_rank_and_min_length<2, K - 2 * Pad>;
  template <class In> using output = Shape<In::dims[0], (In::dims[1] + 2 * Pad - K) / S + 1>;
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : detail::maxpool1d_impl<In, K, S, Pad, (In::dims[1] + 2 * Pad - K) / S + 1, T, B> {
    using in_shape = In;
    using out_shape = output<In>;
  };
};

// Keras MaxPooling1D(K, S, padding="same") / tf.nn.max_pool1d(..., "SAME"). The padding depends on
// L, and is asymmetric when pad_total is odd (the extra sample goes RIGHT, unlike PyTorch's
// symmetric Pad), so it cannot be a MaxPool1D<K, S, Pad>. Padded samples are ignored (-inf).
template <int K, int S = 1>
struct MaxPool1DSame {
  static_assert(K > 0 && S > 0, "MaxPool1DSame: kernel and stride must be positive");
  template <int L> static constexpr int out_len = (L + S - 1) / S;
  template <int L> static constexpr int pad_total = std::max((out_len<L> - 1) * S + K - L, 0);
  template <int L> static constexpr int pad_left = pad_total<L> / 2;
  static std::string name() { return "MaxPool1DSame(k=" + std::to_string(K) + ", s=" + std::to_string(S) + ")"; }
  template <class In> static constexpr bool accepts = In::rank == 2 && In::dims[1] >= 1;
  template <class In> using expects = expects_rank_and_min_length<2, 1>;
  template <class In> using output = Shape<In::dims[0], out_len<In::dims[1]>>;
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : detail::maxpool1d_impl<In, K, S, pad_left<In::dims[1]>, out_len<In::dims[1]>, T, B> {
    using in_shape = In;
    using out_shape = output<In>;
  };
};

namespace detail {
// Average pooling through explicit bins, shared by AvgPool1D, AdaptiveAvgPool1D and GlobalAvgPool1D.
template <class In, int LO, class T, class B, class BinFn>
struct binpool_impl : LayerImplBase<T, B> {
  static constexpr int64_t C = In::dims[0], L = In::dims[1];
  Tensor<int32_t, B> starts, ends;
  binpool_impl() {
    Tensor<int32_t, cpu> s({LO}), e({LO});
    for (int i = 0; i < LO; ++i) { auto [b, en] = BinFn::bin(i, int(L), LO); s[i] = b; e[i] = en; }
    if constexpr (std::is_same_v<B, cpu>) { starts = s; ends = e; }
    else { starts = Tensor<int32_t, B>({LO}); ends = Tensor<int32_t, B>({LO});
           allocator<B>::copy_from_host(starts.data(), s.data(), LO * sizeof(int32_t));
           allocator<B>::copy_from_host(ends.data(), e.data(), LO * sizeof(int32_t)); }
  }
  static void init(T*, Rng&, Init) {}
  void forward(const T* x, T* y, int64_t N, Context&) {
    binpool1d_forward(B{}, x, y, (const int32_t*)starts.data(), (const int32_t*)ends.data(), N * C, L, int64_t(LO));
  }
  void backward(const T*, const T*, const T* dy, T* dx, int64_t N, Context&) {
    if (dx) binpool1d_backward(B{}, dy, dx, (const int32_t*)starts.data(), (const int32_t*)ends.data(), N * C, L, int64_t(LO));
  }
};
template <int K, int S> struct fixed_bins { static std::pair<int, int> bin(int i, int, int) { return {i * S, i * S + K}; } };
struct adaptive_bins {
  static std::pair<int, int> bin(int i, int L, int O) { return {int((int64_t(i) * L) / O), int((int64_t(i + 1) * L + O - 1) / O)}; }
};
}  // namespace detail

template <int K, int S = K>
struct AvgPool1D {
  static_assert(K > 0 && S > 0, "AvgPool1D: kernel and stride must be positive");
  static std::string name() { return "AvgPool1D(k=" + std::to_string(K) + ", s=" + std::to_string(S) + ")"; }
  template <class In> static constexpr bool accepts = In::rank == 2 && In::dims[1] >= K;
  template <class In> using expects = expects_rank_and_min_length<2, K>;
  template <class In> using output = Shape<In::dims[0], (In::dims[1] - K) / S + 1>;
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : detail::binpool_impl<In, (In::dims[1] - K) / S + 1, T, B, detail::fixed_bins<K, S>> {
    using in_shape = In;
    using out_shape = output<In>;
  };
};

template <int Out>
struct AdaptiveAvgPool1D {
  static_assert(Out > 0, "AdaptiveAvgPool1D: output size must be positive");
  static std::string name() { return "AdaptiveAvgPool1D(" + std::to_string(Out) + ")"; }
  template <class In> static constexpr bool accepts = In::rank == 2;
  template <class In> using expects = expects_rank<2>;
  template <class In> using output = Shape<In::dims[0], Out>;
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : detail::binpool_impl<In, Out, T, B, detail::adaptive_bins> {
    using in_shape = In;
    using out_shape = output<In>;
  };
};

struct GlobalAvgPool1D {
  static std::string name() { return "GlobalAvgPool1D"; }
  template <class In> static constexpr bool accepts = In::rank == 2;
  template <class In> using expects = expects_rank<2>;
  template <class In> using output = Shape<In::dims[0]>;
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : detail::binpool_impl<In, 1, T, B, detail::adaptive_bins> {
    using in_shape = In;
    using out_shape = Shape<In::dims[0]>;
  };
};

}  // namespace galml
