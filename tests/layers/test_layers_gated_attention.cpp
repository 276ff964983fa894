// HadamardGatedAttention (spec §4.2): gradient checks for both variants; the Hadamard variant mixes
// no information between tokens, the sigmoid_qk variant does.
#include <catch2/catch.hpp>

#include <iostream>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;

TEST_CASE("HadamardGatedAttention gradient checks", "[layers][gated]") {
  galml::testing::GradCheckOptions o; o.eps = 1e-5; o.floor = 1e-3;
  auto a = check_layer<HadamardGatedAttention<2>, Shape<5, 8>>(o);
  std::cout << "  gradcheck HadamardGatedAttention<2> hadamard: max rel " << a.max_rel_error << " (worst " << a.worst << ")\n";
  CHECK(a.ok(1e-6));
  auto b = check_layer<HadamardGatedAttention<2, GatedVariant::sigmoid_qk>, Shape<5, 8>>(o);
  std::cout << "  gradcheck HadamardGatedAttention<2> sigmoid_qk: max rel " << b.max_rel_error << " (worst " << b.worst << ")\n";
  CHECK(b.ok(1e-6));
}

template <GatedVariant V>
static double token_leak() {
  // Change token 3 only; how much do the outputs of the other tokens move?
  using M = Model<Net<Input<"x", 4, 6>, HadamardGatedAttention<3, V>>, double>;
  M m;
  Tensor<double> x({1, 4, 6});
  Rng rng(1);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.normal();
  const std::vector<double> a(m.forward(x).data(), m.forward(x).data() + 24);  // a copy: Tensor copies share storage
  for (int i = 18; i < 24; ++i) x[i] += 1.0;
  const auto b = m.forward(x);
  double d = 0;
  for (int i = 0; i < 18; ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

TEST_CASE("Hadamard gating is per token; sigmoid(QK^T)V mixes tokens", "[layers][gated]") {
  CHECK(token_leak<GatedVariant::hadamard>() == 0.0);
  CHECK(token_leak<GatedVariant::sigmoid_qk>() > 1e-6);
}
