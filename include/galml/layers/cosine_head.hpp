#pragma once
// CosineHead<Classes, InitScale = 30>: cosine classifier with a learnable scale (GCSNet H1-H3,
// spec §6): logit_c = s · ⟨x/‖x‖, w_c/‖w_c‖⟩, no bias. Both norms are clamped at 1e-12 like
// F.normalize. Because both factors are unit vectors the logits are bounded by ±|s|.
// Parameters: weight [Classes, D] (rows need not be unit length: they are normalised on the fly,
// so the optimizer works on the raw weights as in the PyTorch reference), scale [1] init InitScale.
#include <cmath>
#include <vector>

#include "galml/backend/cpu/attention.hpp"
#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

template <int Classes, double InitScale = 30.0>
struct CosineHead {
  static_assert(Classes > 0, "CosineHead: Classes must be positive");
  static std::string name() { return "CosineHead(" + std::to_string(Classes) + ")"; }
  template <class In> static constexpr bool accepts = In::rank == 1;
  template <class In> using expects = expects_rank<1>;
  template <class In> using output = Shape<Classes>;
  template <class In> static constexpr int64_t num_params = int64_t(Classes) * In::size + 1;

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = Shape<Classes>;
    static constexpr int64_t D = In::size, C = Classes, o_s = C * D;
    static constexpr double kEps = 1e-12;
    Tensor<T, B> xn, xnorm, wn, wnorm, cosv, dcos, dxn, dwn, dw;

    static void init(T* p, Rng& rng, Init how) {
      init_weight(p, C * D, D, C, how, rng);
      p[o_s] = T(InitScale);
    }
    void forward(const T* x, T* y, int64_t N, Context&) {
      const T* W = this->params;
      xn.ensure({N, D}); xnorm.ensure({N}); wn.ensure({C, D}); wnorm.ensure({C}); cosv.ensure({N, C});
      l2normalize_forward(B{}, x, xn.data(), xnorm.data(), N, D, kEps);
      l2normalize_forward(B{}, W, wn.data(), wnorm.data(), C, D, kEps);
      dense_forward(B{}, (const T*)xn.data(), (const T*)wn.data(), (const T*)nullptr, cosv.data(), N, D, C);
      scaled_logits_forward(B{}, (const T*)cosv.data(), W + o_s, y, N * C);
    }
    // dcos = s·dy, ds += Σ dy·cos, then back through both normalisations.
    void backward(const T*, const T*, const T* dy, T* dx, int64_t N, Context&) {
      T* G = this->grads;
      dcos.ensure({N, C}); dwn.ensure({C, D}); dw.ensure({C, D});
      scaled_logits_backward(B{}, (const T*)cosv.data(), (const T*)this->params + o_s, dy, dcos.data(), G + o_s, N * C);
      dwn.zero();
      dense_backward(B{}, (const T*)xn.data(), (const T*)wn.data(), (const T*)dcos.data(), dx ? (dxn.ensure({N, D}), dxn.data()) : (T*)nullptr,
                     dwn.data(), (T*)nullptr, N, D, C);
      l2normalize_backward(B{}, (const T*)wn.data(), (const T*)wnorm.data(), (const T*)dwn.data(), dw.data(), C, D, kEps);
      add_inplace(B{}, G, (const T*)dw.data(), C * D);
      if (dx) l2normalize_backward(B{}, (const T*)xn.data(), (const T*)xnorm.data(), (const T*)dxn.data(), dx, N, D, kEps);
    }
    template <class V> void visit(V& v) {
      v.param("weight", this->params, this->grads, {C, D});
      v.param("scale", this->params + o_s, this->grads + o_s, {1});
    }
  };
};

}  // namespace galml
