#pragma once
// Conv1D<OutChannels, Kernel, Stride = 1, Padding = 0, Bias = true> over a Shape<C, L> input, like
// torch.nn.Conv1d(C, OutChannels, Kernel, stride, padding). Weight layout [Out, In, K] (PyTorch).
#include <type_traits>

#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

template <int OutChannels, int Kernel, int Stride = 1, int Padding = 0, bool Bias = true>
struct Conv1D {
  static_assert(OutChannels > 0 && Kernel > 0 && Stride > 0 && Padding >= 0, "Conv1D: channels, kernel and stride must be positive, padding >= 0");
  static std::string name() {
    return "Conv1D(" + std::to_string(OutChannels) + ", k=" + std::to_string(Kernel) + ", s=" + std::to_string(Stride) +
           ", p=" + std::to_string(Padding) + (Bias ? "" : ", no bias") + ")";
  }
  template <class In> static constexpr bool accepts = In::rank == 2 && In::dims[1] + 2 * Padding >= Kernel;
  template <class In> using expects = expects_rank_and_min_length<2, Kernel - 2 * Padding>;
  template <class In> static constexpr int lout = (In::dims[1] + 2 * Padding - Kernel) / Stride + 1;
  template <class In> using output = Shape<OutChannels, lout<In>>;
  template <class In> static constexpr int64_t num_params = int64_t(OutChannels) * In::dims[0] * Kernel + (Bias ? OutChannels : 0);

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = output<In>;
    static constexpr int64_t cin = In::dims[0], L = In::dims[1], wsize = OutChannels * cin * Kernel;
    static constexpr cpu_kernels::Conv1dDims dims{cin, L, OutChannels, Kernel, Stride, Padding, lout<In>};

    static void init(T* p, Rng& rng, Init how) {
      init_weight(p, wsize, cin * Kernel, int64_t(OutChannels) * Kernel, how, rng);
      if constexpr (Bias) init_bias(p + wsize, OutChannels, cin * Kernel, how, rng);
    }
    void forward(const T* x, T* y, int64_t N, Context&) {
      conv1d_forward(B{}, x, this->params, Bias ? this->params + wsize : (const T*)nullptr, y, N, dims);
    }
    void backward(const T* x, const T*, const T* dy, T* dx, int64_t N, Context&) {
      conv1d_backward(B{}, x, (const T*)this->params, dy, dx, this->grads, Bias ? this->grads + wsize : (T*)nullptr, N, dims);
    }
    // Chain fuses a following ReLU into this layer (one pass, no pre-activation tensor): the CPU and
    // CUDA backends have conv1d_relu_forward/backward.
    static constexpr bool fuses_relu = true;
    void forward_relu(const T* x, T* y, int64_t N, Context&) {
      conv1d_relu_forward(B{}, x, this->params, Bias ? this->params + wsize : (const T*)nullptr, y, N, dims);
    }
    void backward_relu(const T* x, const T* y_relu, const T* dy_relu, T* dx, int64_t N, Context&) {
      conv1d_relu_backward(B{}, x, (const T*)this->params, y_relu, dy_relu, dx, this->grads, Bias ? this->grads + wsize : (T*)nullptr, N, dims);
    }
    template <class V> void visit(V& v) {
      v.param("weight", this->params, this->grads, {OutChannels, cin, Kernel});
      if constexpr (Bias) v.param("bias", this->params + wsize, this->grads + wsize, {OutChannels});
    }
  };
};

}  // namespace galml
