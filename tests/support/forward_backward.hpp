#pragma once
// Shared by the model tests (tests/models/): random inputs for every input of a network, one train-mode
// forward, random output gradients on every head, one backward.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "galml/core/rng.hpp"
#include "galml/core/tensor.hpp"

namespace galml::testing_support {

enum class InputDist { normal, uniform };  // uniform: inputs in [0, 1], as min-max scaled data

// Checks output shapes [N, per-sample...], finiteness, and that gradients reach the parameters, the
// first layer's included (dead ReLUs and dropout leave many exact zeros); with expect_grads false every
// gradient must be exactly zero.
template <class M>
void forward_backward(M& m, bool expect_grads = true, int64_t N = 2, InputDist dist = InputDist::normal) {
  Rng rng(7);
  const auto shapes = M::front_t::sample_shapes();
  std::array<Tensor<float>, M::num_inputs> xs;
  for (size_t k = 0; k < M::num_inputs; ++k) {
    std::vector<int64_t> s{N};
    s.insert(s.end(), shapes[k].begin(), shapes[k].end());
    xs[k] = Tensor<float>::zeros(s);
    for (int64_t i = 0; i < xs[k].numel(); ++i) xs[k][i] = float(dist == InputDist::uniform ? rng.uniform() : rng.normal());
  }
  m.train();
  if constexpr (M::multi_input) m.forward(xs);
  else m.forward(xs[0]);
  std::array<Tensor<float>, M::num_heads> dys;
  std::array<const float*, M::num_heads> dy{};
  for (size_t h = 0; h < M::num_heads; ++h) {
    const auto& y = m.output(h);
    REQUIRE(y.batch_size() == N);
    CHECK(std::all_of(y.data(), y.data() + y.numel(), [](float v) { return std::isfinite(v); }));
    dys[h] = Tensor<float>::zeros(y.shape());
    for (int64_t i = 0; i < dys[h].numel(); ++i) dys[h][i] = float(rng.normal());
    dy[h] = dys[h].data();
  }
  m.zero_grad();
  m.backward(dy);
  int64_t nonzero = 0;
  int64_t nonfinite = 0;
  for (int64_t i = 0; i < M::num_params; ++i) {
    nonfinite += !std::isfinite(m.grads()[i]);
    nonzero += m.grads()[i] != 0.0f;
  }
  CHECK(nonfinite == 0);
  if (expect_grads) {
    CHECK(nonzero > M::num_params / 5);
    CHECK(std::any_of(m.grads(), m.grads() + 64, [](float g) { return g != 0.0f; }));
  } else {
    CHECK(nonzero == 0);
  }
}
}  // namespace galml::testing_support
