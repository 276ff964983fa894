#pragma once
// SEAttention<Hidden>: squeeze-and-excitation channel attention (Hu et al. 2018) over Shape<C, L>,
// as in MTLforGalSpecZ (C = 256, Hidden = 16):
//   z = mean_L(x);  s = sigmoid(W2 relu(W1 z + b1) + b2);  y[c, l] = s[c] * x[c, l]
// W1 and W2 are stored as 1x1 Conv1d weights ([Hidden, C, 1] and [C, Hidden, 1]) so PyTorch's
// nn.Conv1d(C, Hidden, 1) weights load unchanged.
#include "galml/backend/cpu/ops.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

template <int Hidden>
struct SEAttention {
  static_assert(Hidden > 0, "SEAttention: the bottleneck width must be positive");
  static std::string name() { return "SEAttention(" + std::to_string(Hidden) + ")"; }
  template <class In> static constexpr bool accepts = In::rank == 2;
  template <class In> using expects = expects_rank<2>;
  template <class In> using output = In;
  template <class In> static constexpr int64_t num_params = int64_t(Hidden) * In::dims[0] * 2 + Hidden + In::dims[0];

  template <class In, class T, class B>
  struct impl : LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = In;
    static constexpr int64_t C = In::dims[0], L = In::dims[1], H = Hidden;
    static constexpr int64_t oW1 = 0, oB1 = H * C, oW2 = oB1 + H, oB2 = oW2 + C * H;
    Tensor<T, B> z, pre1, h, pre2, s, dz, dh, dpre, ds, tmp;
    Tensor<int32_t, B> bins;  // [0, L) as a single average-pool bin
    static void init(T* p, Rng& rng, Init how) {
      init_weight(p + oW1, H * C, C, H, how, rng);
      init_bias(p + oB1, H, C, how, rng);
      init_weight(p + oW2, C * H, H, C, how, rng);
      init_bias(p + oB2, C, H, how, rng);
    }
    void forward(const T* x, T* y, int64_t N, Context&) {
      z.ensure({N, C}); pre1.ensure({N, H}); h.ensure({N, H}); pre2.ensure({N, C}); s.ensure({N, C});
      if (bins.empty()) {
        bins = Tensor<int32_t, B>({2});
        const int32_t be[2] = {0, int32_t(L)};
        allocator<B>::copy_from_host(bins.data(), be, sizeof(be));
      }
      const int32_t* b0 = bins.data(); const int32_t* b1 = bins.data() + 1;
      binpool1d_forward(B{}, x, z.data(), b0, b1, N * C, L, int64_t(1));
      const T* p = this->params;
      dense_forward(B{}, (const T*)z.data(), p + oW1, p + oB1, pre1.data(), N, C, H);
      activation_forward(B{}, backend_ops::Act::relu, (const T*)pre1.data(), h.data(), N * H);
      dense_forward(B{}, (const T*)h.data(), p + oW2, p + oB2, pre2.data(), N, H, C);
      activation_forward(B{}, backend_ops::Act::sigmoid, (const T*)pre2.data(), s.data(), N * C);
      scale_rows(B{}, x, (const T*)s.data(), y, N * C, L);
    }
    void backward(const T* x, const T*, const T* dy, T* dx, int64_t N, Context&) {
      ds.ensure({N, C}); dpre.ensure({N, C}); dh.ensure({N, H}); dz.ensure({N, C}); tmp.ensure({N, C, L});
      const T* p = this->params; T* g = this->grads;
      // through the channel scaling: dx_direct = dy * s, ds = sum_l dy * x
      scale_rows_backward(B{}, x, (const T*)s.data(), dy, dx, ds.data(), N * C, L);
      activation_backward(B{}, backend_ops::Act::sigmoid, (const T*)pre2.data(), (const T*)s.data(), (const T*)ds.data(), dpre.data(), N * C);
      dense_backward(B{}, (const T*)h.data(), p + oW2, (const T*)dpre.data(), dh.data(), g + oW2, g + oB2, N, H, C);
      Tensor<T, B>& dpre1 = dh;  // relu backward in place (dh no longer needed afterwards)
      activation_backward(B{}, backend_ops::Act::relu, (const T*)pre1.data(), (const T*)h.data(), (const T*)dh.data(), dpre1.data(), N * H);
      dense_backward(B{}, (const T*)z.data(), p + oW1, (const T*)dpre1.data(), dx ? dz.data() : (T*)nullptr, g + oW1, g + oB1, N, C, H);
      if (dx) {  // through the squeeze: dx += dz / L broadcast over L
        binpool1d_backward(B{}, (const T*)dz.data(), tmp.data(), bins.data(), bins.data() + 1, N * C, L, int64_t(1));
        add_inplace(B{}, dx, (const T*)tmp.data(), N * C * L);
      }
    }
    template <class V> void visit(V& v) {
      v.param("fc1.weight", this->params + oW1, this->grads + oW1, {H, C, 1});
      v.param("fc1.bias", this->params + oB1, this->grads + oB1, {H});
      v.param("fc2.weight", this->params + oW2, this->grads + oW2, {C, H, 1});
      v.param("fc2.bias", this->params + oB2, this->grads + oB2, {C});
    }
  };
};

}  // namespace galml
