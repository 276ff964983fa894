#pragma once
// Kept identical to the first snippet of docs/writing-a-layer.md (tests/docs checks that).
// A learnable per-channel scale: y[c, l] = w[c] * x[c, l].
#include "galml/galml.hpp"

struct Scale {
  static std::string name() { return "Scale"; }
  template <class In> static constexpr bool accepts = In::rank == 2;
  template <class In> using expects = galml::expects_rank<2>;
  template <class In> using output = In;
  template <class In> static constexpr int64_t num_params = In::dims[0];

  template <class In, class T, class B>
  struct impl : galml::LayerImplBase<T, B> {
    using in_shape = In;
    using out_shape = In;
    static constexpr int64_t C = In::dims[0], L = In::dims[1];
    static void init(T* p, galml::Rng&, galml::Init) { for (int64_t c = 0; c < C; ++c) p[c] = T(1); }
    void forward(const T* x, T* y, int64_t N, galml::Context&) {
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t l = 0; l < L; ++l) y[(n * C + c) * L + l] = this->params[c] * x[(n * C + c) * L + l];
    }
    void backward(const T* x, const T*, const T* dy, T* dx, int64_t N, galml::Context&) {
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t l = 0; l < L; ++l) {
            const int64_t i = (n * C + c) * L + l;
            this->grads[c] += dy[i] * x[i];
            if (dx) dx[i] = dy[i] * this->params[c];
          }
    }
    template <class V> void visit(V& v) { v.param("weight", this->params, this->grads, {C}); }
  };
};
