// TransformerEncoderLayer: gradient checks (pre-/post-LN, ReLU/GELU, with dropout in train mode),
// parameter names (PyTorch's), and a small ViT-style network. PyTorch parity: test_layers_parity_attention.cpp.
#include <catch2/catch.hpp>

#include <iostream>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;
using galml::testing::check_model;

namespace {
// Key-bias gradients are zero in theory (numeric estimate = rounding noise): compare small ones absolutely.
galml::testing::GradCheckOptions opts() { galml::testing::GradCheckOptions o; o.floor = 1e-3; o.eps = 1e-5; o.mode = Mode::train; return o; }
void report(const char* what, const galml::testing::GradCheckResult& r) {
  std::cout << "  gradcheck " << what << ": max rel " << r.max_rel_error << ", max abs " << r.max_abs_error << " (worst " << r.worst << ")\n";
}
}  // namespace

TEST_CASE("TransformerEncoderLayer gradient checks", "[layers][transformer]") {
  auto a = check_layer<TransformerEncoderLayer<2, 12, 0.0, true, GELU>, Shape<4, 8>>(opts());
  report("pre-LN GELU", a);
  CHECK(a.ok(1e-6));
  auto b = check_layer<TransformerEncoderLayer<2, 12, 0.0, false, ReLU>, Shape<4, 8>>(opts());
  report("post-LN ReLU", b);
  CHECK(b.ok(1e-6));
  auto c = check_layer<TransformerEncoderLayer<2, 12, 0.0, false, GELU>, Shape<4, 8>>(opts());
  report("post-LN GELU", c);
  CHECK(c.ok(1e-6));
  auto d = check_layer<TransformerEncoderLayer<4, 16, 0.2, true, GELU>, Shape<5, 8>>(opts());
  report("pre-LN GELU dropout 0.2 (train)", d);
  CHECK(d.ok(1e-6));
  auto e = check_layer<TransformerEncoderLayer<2, 6, 0.3, false, GELU>, Shape<3, 4>>(opts());
  report("post-LN GELU dropout 0.3 (train)", e);
  CHECK(e.ok(1e-6));
}

TEST_CASE("TransformerEncoderLayer parameter names follow PyTorch", "[layers][transformer]") {
  using M = Model<Net<Input<"x", 4, 8>, TransformerEncoderLayer<2, 12>>, double>;
  M m;
  std::vector<std::string> names;
  for (auto& p : m.parameter_info()) names.push_back(p.name);
  const std::vector<std::string> want{"trunk.0.self_attn.in_proj_weight", "trunk.0.self_attn.in_proj_bias", "trunk.0.self_attn.out_proj.weight",
                                      "trunk.0.self_attn.out_proj.bias", "trunk.0.linear1.weight", "trunk.0.linear1.bias",
                                      "trunk.0.linear2.weight", "trunk.0.linear2.bias", "trunk.0.norm1.weight", "trunk.0.norm1.bias",
                                      "trunk.0.norm2.weight", "trunk.0.norm2.bias"};
  CHECK(names == want);
  // offsets are contiguous in this order
  int64_t off = 0;
  for (auto& p : m.parameter_info()) { CHECK(p.offset == off); off += p.numel; }
  CHECK(off == M::num_params);
}

TEST_CASE("TransformerEncoderLayer dropout is off in eval and deterministic per step in train", "[layers][transformer]") {
  using M = Model<Net<Input<"x", 6, 8>, TransformerEncoderLayer<2, 16, 0.3>>, double>;
  M m;
  Tensor<double> x({2, 6, 8});
  Rng rng(4);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.normal();
  m.eval();
  // copies: Tensor copies share storage
  auto snap = [&] { const auto& y = m.forward(x); return std::vector<double>(y.data(), y.data() + y.numel()); };
  const auto e1 = snap(), e2 = snap();
  CHECK(e1 == e2);
  m.train();
  m.context().step = 5;
  const auto t1 = snap();
  m.context().step = 5;
  const auto t2 = snap();
  CHECK(t1 == t2);
  double diff = 0;
  for (size_t i = 0; i < t1.size(); ++i) diff = std::max(diff, std::abs(t1[i] - e1[i]));
  CHECK(diff > 1e-6);
}

TEST_CASE("A small ViT-style spectral encoder passes a whole-model gradient check", "[layers][transformer][tokens]") {
  // patch embedding -> CLS -> positions -> 2 pre-LN layers -> final LayerNorm -> CLS token -> heads
  using Vit = Net<Input<"spec", 1, 24>, PatchEmbed1D<8, 4>, ClsToken<8>, PositionalEmbedding,
                  TransformerEncoderLayer<2, 16, 0.1>, TransformerEncoderLayer<2, 16, 0.1>, LayerNorm<>, TokenPool<TokenPooling::cls>,
                  Heads<Head<"age", Dense<1>>, Head<"stage", Dense<5>>>>;
  using M = Model<Vit, double>;
  static_assert(std::is_same_v<M::trunk_shape, Shape<8>>);
  auto r = check_model<Vit>(opts());
  report("ViT model", r);
  CHECK(r.ok(1e-6));
}
