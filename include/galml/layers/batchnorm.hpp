#pragma once
// BatchNorm1D<Eps = 1e-5, Momentum = 0.1, Affine = true> over Shape<C, L> (statistics per channel
// over batch and length) or Shape<C> (per feature over the batch), like torch.nn.BatchNorm1d(C).
//
//   train: normalise with the batch mean / biased variance; update the running statistics with
//          PyTorch's rule r = (1 - m) r + m * batch, the running variance from the UNBIASED batch
//          variance.
//   eval:  normalise with the running statistics.
//   mc:    like eval (MC dropout samples the dropouts only; the statistics stay frozen, untouched).
//
// Parameters weight [C] (init 1) and bias [C] (init 0); buffers running_mean [C] (0) and
// running_var [C] (1), visited as "running_mean" / "running_var" so checkpoints and PyTorch state
// dicts carry them. PyTorch's num_batches_tracked is not kept (only used when momentum is None).
#include "galml/backend/cpu/norm.hpp"
#include "galml/graph/layer.hpp"

namespace galml {

namespace detail {

// The implementation BatchNorm1D and BatchNorm2D share: statistics per channel (In::dims[0]) over the
// batch and the L = size / C values of each sample and channel (1 for Shape<C>, length, or H*W).
template <double Eps, double Momentum, bool Affine, class In, class T, class B>
struct BatchNormImpl : LayerImplBase<T, B> {
  using in_shape = In;
  using out_shape = In;
  static constexpr int64_t C = In::dims[0], L = In::size / In::dims[0];
  Tensor<T, B> running_mean, running_var;        // buffers (owned here, not in the parameter buffer)
  Tensor<T, B> mean, var, invstd;                // statistics used by the last forward
  bool used_batch_stats = false;                 // which statistics the last forward used

  BatchNormImpl() : running_mean({C}), running_var({C}), mean({C}), var({C}), invstd({C}) {
    std::vector<T> zeros(size_t(C), T(0)), ones(size_t(C), T(1));
    allocator<B>::copy_from_host(running_mean.data(), zeros.data(), size_t(C) * sizeof(T));
    allocator<B>::copy_from_host(running_var.data(), ones.data(), size_t(C) * sizeof(T));
  }
  static void init(T* p, Rng&, Init) {  // PyTorch (and Keras) default: scale 1, shift 0
    if constexpr (Affine) for (int64_t c = 0; c < C; ++c) { p[c] = T(1); p[C + c] = T(0); }
  }
  const T* gamma() const { return Affine ? this->params : nullptr; }
  const T* beta() const { return Affine ? this->params + C : nullptr; }

  void forward(const T* x, T* y, int64_t N, Context& ctx) {
    used_batch_stats = ctx.batch_statistics();
    if (used_batch_stats) {
      GALML_CHECK(N * L > 1, In::rank == 3 ? "BatchNorm2D" : "BatchNorm1D", ": training needs more than one value per channel (batch ", N,
                  In::rank == 3 ? ", H*W " : ", length ", L, ")");
      batchnorm_stats(B{}, x, mean.data(), var.data(), N, C, L);
      batchnorm_update_running(B{}, running_mean.data(), running_var.data(), (const T*)mean.data(), (const T*)var.data(), C, N * L, Momentum);
      batchnorm_invstd(B{}, (const T*)var.data(), invstd.data(), C, Eps);
      batchnorm_forward(B{}, x, (const T*)mean.data(), (const T*)invstd.data(), gamma(), beta(), y, N, C, L);
    } else {
      batchnorm_invstd(B{}, (const T*)running_var.data(), invstd.data(), C, Eps);
      batchnorm_forward(B{}, x, (const T*)running_mean.data(), (const T*)invstd.data(), gamma(), beta(), y, N, C, L);
    }
  }
  void backward(const T* x, const T*, const T* dy, T* dx, int64_t N, Context&) {
    const T* m = used_batch_stats ? (const T*)mean.data() : (const T*)running_mean.data();
    batchnorm_backward(B{}, x, dy, m, (const T*)invstd.data(), gamma(), dx, Affine ? this->grads : (T*)nullptr,
                       Affine ? this->grads + C : (T*)nullptr, N, C, L, used_batch_stats);
  }
  template <class V> void visit(V& v) {
    if constexpr (Affine) {
      v.param("weight", this->params, this->grads, {C});
      v.param("bias", this->params + C, this->grads + C, {C});
    }
    v.buffer("running_mean", running_mean.data(), {C});
    v.buffer("running_var", running_var.data(), {C});
  }
};

}  // namespace detail

template <double Eps = 1e-5, double Momentum = 0.1, bool Affine = true>
struct BatchNorm1D {
  static_assert(Eps > 0.0, "BatchNorm1D: epsilon must be positive");
  static_assert(Momentum >= 0.0 && Momentum <= 1.0, "BatchNorm1D: momentum must be in [0, 1]");
  static std::string name() { return "BatchNorm1D(eps=" + std::to_string(Eps) + ", m=" + std::to_string(Momentum) + ")"; }
  template <class In> static constexpr bool accepts = In::rank == 1 || In::rank == 2;
  template <class In> using expects = expects_rank<2>;
  template <class In> using output = In;
  template <class In> static constexpr int64_t num_params = Affine ? 2 * int64_t(In::dims[0]) : 0;

  template <class In, class T, class B> using impl = detail::BatchNormImpl<Eps, Momentum, Affine, In, T, B>;
};

}  // namespace galml
