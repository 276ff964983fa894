#pragma once
// Dense<Units, Bias = true> over a Shape<In> feature vector, like torch.nn.Linear(In, Units).
// Weight layout [Units, In] (PyTorch). Keras' Dense kernel is the transpose: see io/safetensors.hpp.
#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

template <int Units, bool Bias = true>
struct Dense {
  static_assert(Units > 0, "Dense: Units must be positive");
  static std::string name() { return "Dense(" + std::to_string(Units) + (Bias ? "" : ", no bias") + ")"; }
  template <class In> static constexpr bool accepts = In::rank == 1;
  template <class In> using expects = expects_rank<1>;
  template <class In> using output = Shape<Units>;
  template <class In> static constexpr int64_t num_params = int64_t(Units) * In::size + (Bias ? Units : 0);

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = Shape<Units>;
    static constexpr int64_t fin = In::size, wsize = int64_t(Units) * fin;
    static void init(T* p, Rng& rng, Init how) {
      init_weight(p, wsize, fin, Units, how, rng);
      if constexpr (Bias) init_bias(p + wsize, Units, fin, how, rng);
    }
    void forward(const T* x, T* y, int64_t N, Context&) {
      dense_forward(B{}, x, (const T*)this->params, Bias ? (const T*)this->params + wsize : (const T*)nullptr, y, N, fin, int64_t(Units));
    }
    void backward(const T* x, const T*, const T* dy, T* dx, int64_t N, Context&) {
      dense_backward(B{}, x, (const T*)this->params, dy, dx, this->grads, Bias ? this->grads + wsize : (T*)nullptr, N, fin, int64_t(Units));
    }
    template <class V> void visit(V& v) {
      v.param("weight", this->params, this->grads, {Units, fin});
      if constexpr (Bias) v.param("bias", this->params + wsize, this->grads + wsize, {Units});
    }
  };
};

}  // namespace galml
