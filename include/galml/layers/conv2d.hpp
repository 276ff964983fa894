#pragma once
// Conv2D<OutChannels, Kernel, Stride = 1, Pad = Padding::valid, Bias = true> over a channels-first
// Shape<C, H, W> input, like torch.nn.Conv2d(C, OutChannels, Kernel, Stride, padding). Square kernel.
// Pad is Padding::valid (0), Padding::same (Kernel/2; stride 1 and odd kernels only, where Keras'
// and PyTorch's padding='same' are that symmetric padding) or an explicit int.
// Weight layout [Out, In, K, K] (PyTorch). A Keras Conv2D kernel is [K, K, In, Out]: permute it
// (3, 2, 0, 1) when importing.
#include <type_traits>

#include "galml/backend/cpu/conv2d.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

enum class Padding { valid, same };

namespace detail {
template <auto Pad, int K, int S>
constexpr int conv2d_padding() {
  using P = decltype(Pad);
  if constexpr (std::is_same_v<P, Padding>) {
    static_assert(Pad != Padding::same || (S == 1 && K % 2 == 1),
                  "Conv2D: Padding::same needs stride 1 and an odd kernel (give an explicit padding otherwise)");
    return Pad == Padding::same ? K / 2 : 0;
  } else {
    static_assert(std::is_integral_v<P>, "Conv2D: padding must be Padding::valid, Padding::same or an int");
    return int(Pad);
  }
}
template <auto Pad> std::string padding_name(int p) {
  if constexpr (std::is_same_v<decltype(Pad), Padding>) return Pad == Padding::same ? "same" : "valid";
  else return "p=" + std::to_string(p);
}
}  // namespace detail

template <int OutChannels, int Kernel, int Stride = 1, auto Pad = Padding::valid, bool Bias = true>
struct Conv2D {
  static constexpr int pad = detail::conv2d_padding<Pad, Kernel, Stride>();
  static_assert(OutChannels > 0 && Kernel > 0 && Stride > 0 && pad >= 0, "Conv2D: channels, kernel and stride must be positive, padding >= 0");
  static std::string name() {
    return "Conv2D(" + std::to_string(OutChannels) + ", k=" + std::to_string(Kernel) + ", s=" + std::to_string(Stride) + ", " +
           detail::padding_name<Pad>(pad) + (Bias ? "" : ", no bias") + ")";
  }
  template <class In> static constexpr bool accepts = In::rank == 3 && In::dims[1] + 2 * pad >= Kernel && In::dims[2] + 2 * pad >= Kernel;
  template <class In> using expects = expects_rank_and_min_length<3, Kernel - 2 * pad>;
  template <class In> static constexpr int ho = (In::dims[1] + 2 * pad - Kernel) / Stride + 1;
  template <class In> static constexpr int wo = (In::dims[2] + 2 * pad - Kernel) / Stride + 1;
  template <class In> using output = Shape<OutChannels, ho<In>, wo<In>>;
  template <class In> static constexpr int64_t num_params = int64_t(OutChannels) * In::dims[0] * Kernel * Kernel + (Bias ? OutChannels : 0);

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = output<In>;
    static constexpr int64_t cin = In::dims[0], kk = int64_t(Kernel) * Kernel, wsize = OutChannels * cin * kk;
    static constexpr cpu_kernels::Conv2dDims dims{cin, In::dims[1], In::dims[2], OutChannels, Kernel, Stride, pad, ho<In>, wo<In>};

    static void init(T* p, Rng& rng, Init how) {
      init_weight(p, wsize, cin * kk, int64_t(OutChannels) * kk, how, rng);  // fans as PyTorch / Keras count them
      if constexpr (Bias) init_bias(p + wsize, OutChannels, cin * kk, how, rng);
    }
    void forward(const T* x, T* y, int64_t N, Context&) {
      conv2d_forward(B{}, x, (const T*)this->params, Bias ? (const T*)this->params + wsize : (const T*)nullptr, y, N, dims);
    }
    void backward(const T* x, const T*, const T* dy, T* dx, int64_t N, Context&) {
      conv2d_backward(B{}, x, (const T*)this->params, dy, dx, this->grads, Bias ? this->grads + wsize : (T*)nullptr, N, dims);
    }
    template <class V> void visit(V& v) {
      v.param("weight", this->params, this->grads, {OutChannels, cin, Kernel, Kernel});
      if constexpr (Bias) v.param("bias", this->params + wsize, this->grads + wsize, {OutChannels});
    }
  };
};

}  // namespace galml
