#pragma once
// LayerNorm<Eps = 1e-5, Affine = true>: normalises the LAST axis of any shape, like
// torch.nn.LayerNorm(last_dim, eps, elementwise_affine) (Keras' default epsilon is 1e-3: use
// LayerNorm<1e-3> for Keras models). Biased variance. weight [D] init 1, bias [D] init 0.
#include "galml/backend/cpu/norm.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

template <double Eps = 1e-5, bool Affine = true>
struct LayerNorm {
  static_assert(Eps > 0.0, "LayerNorm: epsilon must be positive");
  static std::string name() { return "LayerNorm(eps=" + std::to_string(Eps) + (Affine ? "" : ", no affine") + ")"; }
  template <class In> static constexpr bool accepts = In::rank >= 1;
  template <class In> using expects = expects_anything;
  template <class In> using output = In;
  template <class In> static constexpr int64_t num_params = Affine ? 2 * int64_t(In::dims[In::rank - 1]) : 0;

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = In;
    static constexpr int64_t D = In::dims[In::rank - 1], R = In::size / D;  // rows per sample
    Tensor<T, B> mean, rstd;
    static void init(T* p, Rng&, Init) {
      if constexpr (Affine) for (int64_t i = 0; i < D; ++i) { p[i] = T(1); p[D + i] = T(0); }
    }
    void forward(const T* x, T* y, int64_t N, Context&) {
      mean.ensure({N * R}); rstd.ensure({N * R});
      layernorm_forward(B{}, x, Affine ? (const T*)this->params : (const T*)nullptr, Affine ? (const T*)this->params + D : (const T*)nullptr,
                        y, mean.data(), rstd.data(), N * R, D, Eps);
    }
    void backward(const T* x, const T*, const T* dy, T* dx, int64_t N, Context&) {
      layernorm_backward(B{}, x, dy, (const T*)mean.data(), (const T*)rstd.data(), Affine ? (const T*)this->params : (const T*)nullptr, dx,
                         Affine ? this->grads : (T*)nullptr, Affine ? this->grads + D : (T*)nullptr, N * R, D);
    }
    template <class V> void visit(V& v) {
      if constexpr (Affine) {
        v.param("weight", this->params, this->grads, {D});
        v.param("bias", this->params + D, this->grads + D, {D});
      }
    }
  };
};

}  // namespace galml
