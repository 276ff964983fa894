#pragma once
// 2-D pooling over a channels-first Shape<C, H, W>:
//   MaxPool2D<K, S = K>          floor mode, no padding (torch.nn.MaxPool2d(K, S); Keras MaxPooling2D "valid")
//   AvgPool2D<K, S = K>          floor mode, no padding (torch.nn.AvgPool2d(K, S))
//   AdaptiveAvgPool2D<OH, OW>    PyTorch bin rule per axis: [floor(i*H/OH), ceil((i+1)*H/OH)); bins may
//                                overlap (75 -> 4: [0,19) [18,38) [37,57) [56,75))
//   GlobalAvgPool2D              mean over H, W -> Shape<C>
#include <vector>

#include "galml/backend/cpu/ops.hpp"
#include "galml/backend/cpu/pool2d.hpp"
#include "galml/graph/layer.hpp"
#include "galml/layers/pool1d.hpp"  // detail::fixed_bins / adaptive_bins: the same bin rules per axis

namespace galml {

template <int K, int S = K>
struct MaxPool2D {
  static_assert(K > 0 && S > 0, "MaxPool2D: kernel and stride must be positive");
  static std::string name() { return "MaxPool2D(k=" + std::to_string(K) + ", s=" + std::to_string(S) + ")"; }
  template <class In> static constexpr bool accepts = In::rank == 3 && In::dims[1] >= K && In::dims[2] >= K;
  template <class In> using expects = expects_rank_and_min_length<3, K>;
  template <class In> using output = Shape<In::dims[0], (In::dims[1] - K) / S + 1, (In::dims[2] - K) / S + 1>;
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = output<In>;
    static constexpr int64_t C = In::dims[0], H = In::dims[1], W = In::dims[2], HO = out_shape::dims[1], WO = out_shape::dims[2];
    Tensor<int32_t, B> argmax;
    static void init(T*, Rng&, Init) {}
    void forward(const T* x, T* y, int64_t N, Context&) {
      argmax.ensure({N, C, HO, WO});
      maxpool2d_forward(B{}, x, y, argmax.data(), N * C, H, W, int64_t(K), int64_t(S), HO, WO);
    }
    void backward(const T*, const T*, const T* dy, T* dx, int64_t N, Context&) {
      if (dx) maxpool2d_backward(B{}, dy, (const int32_t*)argmax.data(), dx, N * C, H, W, int64_t(K), int64_t(S), HO, WO);
    }
  };
};

namespace detail {
// Average pooling through explicit separable bins, shared by AvgPool2D, AdaptiveAvgPool2D and
// GlobalAvgPool2D. Bins are computed once per layer and kept on the backend's device.
template <class In, int HO, int WO, class T, class B, class BinFn>
struct binpool2d_impl : LayerImplBase<T, B> {
  static constexpr int64_t C = In::dims[0], H = In::dims[1], W = In::dims[2];
  Tensor<int32_t, B> bins;  // [hstart(HO), hend(HO), wstart(WO), wend(WO)]
  binpool2d_impl() {
    Tensor<int32_t, cpu> b({2 * HO + 2 * WO});
    for (int i = 0; i < HO; ++i) { auto [s, e] = BinFn::bin(i, int(H), HO); b[i] = s; b[HO + i] = e; }
    for (int j = 0; j < WO; ++j) { auto [s, e] = BinFn::bin(j, int(W), WO); b[2 * HO + j] = s; b[2 * HO + WO + j] = e; }
    if constexpr (std::is_same_v<B, cpu>) bins = b;
    else { bins = Tensor<int32_t, B>({2 * HO + 2 * WO});
           allocator<B>::copy_from_host(bins.data(), b.data(), size_t(2 * HO + 2 * WO) * sizeof(int32_t)); }
  }
  static void init(T*, Rng&, Init) {}
  void forward(const T* x, T* y, int64_t N, Context&) {
    binpool2d_forward(B{}, x, y, (const int32_t*)bins.data(), N * C, H, W, int64_t(HO), int64_t(WO));
  }
  void backward(const T*, const T*, const T* dy, T* dx, int64_t N, Context&) {
    if (dx) binpool2d_backward(B{}, dy, dx, (const int32_t*)bins.data(), N * C, H, W, int64_t(HO), int64_t(WO));
  }
};
}  // namespace detail

template <int K, int S = K>
struct AvgPool2D {
  static_assert(K > 0 && S > 0, "AvgPool2D: kernel and stride must be positive");
  static std::string name() { return "AvgPool2D(k=" + std::to_string(K) + ", s=" + std::to_string(S) + ")"; }
  template <class In> static constexpr bool accepts = In::rank == 3 && In::dims[1] >= K && In::dims[2] >= K;
  template <class In> using expects = expects_rank_and_min_length<3, K>;
  template <class In> using output = Shape<In::dims[0], (In::dims[1] - K) / S + 1, (In::dims[2] - K) / S + 1>;
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : detail::binpool2d_impl<In, (In::dims[1] - K) / S + 1, (In::dims[2] - K) / S + 1, T, B, detail::fixed_bins<K, S>> {
    using in_shape = In;
    using out_shape = output<In>;
  };
};

template <int OH, int OW = OH>
struct AdaptiveAvgPool2D {
  static_assert(OH > 0 && OW > 0, "AdaptiveAvgPool2D: output size must be positive");
  static std::string name() { return "AdaptiveAvgPool2D(" + std::to_string(OH) + "x" + std::to_string(OW) + ")"; }
  template <class In> static constexpr bool accepts = In::rank == 3;
  template <class In> using expects = expects_rank<3>;
  template <class In> using output = Shape<In::dims[0], OH, OW>;
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : detail::binpool2d_impl<In, OH, OW, T, B, detail::adaptive_bins> {
    using in_shape = In;
    using out_shape = output<In>;
  };
};

struct GlobalAvgPool2D {
  static std::string name() { return "GlobalAvgPool2D"; }
  template <class In> static constexpr bool accepts = In::rank == 3;
  template <class In> using expects = expects_rank<3>;
  template <class In> using output = Shape<In::dims[0]>;
  template <class In> static constexpr int64_t num_params = 0;
  template <class In, class T, class B>
  struct impl : detail::binpool2d_impl<In, 1, 1, T, B, detail::adaptive_bins> {
    using in_shape = In;
    using out_shape = Shape<In::dims[0]>;
  };
};

}  // namespace galml
