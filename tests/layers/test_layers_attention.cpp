// Gradient checks and properties of MultiHeadSelfAttention and KerasMultiHeadAttention (layer and join).
// PyTorch parity is in test_layers_parity_attention.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;
using galml::testing::check_model;

namespace {
// Some gradients are exactly zero in theory (the key bias: softmax ignores a per-row constant), so
// their numeric estimate is pure rounding noise (~1e-10); compare gradients below 1e-3 absolutely.
galml::testing::GradCheckOptions opts(Mode m = Mode::train) { galml::testing::GradCheckOptions o; o.floor = 1e-3; o.eps = 1e-5; o.mode = m; return o; }
void report(const char* what, const galml::testing::GradCheckResult& r) {
  std::cout << "  gradcheck " << what << ": max rel " << r.max_rel_error << ", max abs " << r.max_abs_error << " (" << r.checked << " checked, worst " << r.worst << ")\n";
}
}  // namespace

TEST_CASE("MultiHeadSelfAttention gradient check", "[layers][attention]") {
  auto r = check_layer<MultiHeadSelfAttention<2>, Shape<5, 8>>(opts());
  report("MHSA<2> (5x8)", r);
  CHECK(r.ok(1e-6));
  auto r1 = check_layer<MultiHeadSelfAttention<1>, Shape<3, 4>>(opts());
  report("MHSA<1> (3x4)", r1);
  CHECK(r1.ok(1e-6));
  auto r4 = check_layer<MultiHeadSelfAttention<4>, Shape<6, 8>>(opts());
  report("MHSA<4> (6x8)", r4);
  CHECK(r4.ok(1e-6));
}

TEST_CASE("MultiHeadSelfAttention attention dropout: gradient check in train mode, off in eval", "[layers][attention]") {
  auto r = check_layer<MultiHeadSelfAttention<2, 0.3>, Shape<5, 8>>(opts());
  report("MHSA<2, 0.3> train", r);
  CHECK(r.ok(1e-6));
  // eval: identical to the dropout-free layer with the same parameters
  using Net0 = Net<Input<"x", 4, 6>, MultiHeadSelfAttention<3>>;
  using NetD = Net<Input<"x", 4, 6>, MultiHeadSelfAttention<3, 0.5>>;
  Model<Net0, double> a;
  Model<NetD, double> b;
  std::copy(a.params(), a.params() + a.num_params, b.params());
  Tensor<double> x({2, 4, 6});
  Rng rng(3);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.normal();
  a.eval(); b.eval();
  const auto ya = a.forward(x), yb = b.forward(x);  // different models: separate storage
  for (int64_t i = 0; i < ya.numel(); ++i) CHECK(ya[i] == yb[i]);
  b.train();
  const auto yt = b.forward(x);
  double diff = 0;
  for (int64_t i = 0; i < ya.numel(); ++i) diff = std::max(diff, std::abs(yt[i] - ya[i]));
  CHECK(diff > 1e-6);  // dropout active in train mode
}

TEST_CASE("MultiHeadSelfAttention softmax is stable for large scores", "[layers][attention]") {
  using Impl = MultiHeadSelfAttention<2>::impl<Shape<4, 4>, float, cpu>;
  std::vector<float> p(size_t(MultiHeadSelfAttention<2>::num_params<Shape<4, 4>>), 0.f), g(p.size(), 0.f);
  Rng rng(1);
  Impl::init(p.data(), rng, Init::pytorch);
  for (size_t i = 0; i < 2 * 16; ++i) p[i] *= 300.f;  // huge Q and K projections
  Impl layer;
  layer.bind(p.data(), g.data());
  std::vector<float> x(2 * 16), y(x.size()), dx(x.size());
  for (auto& v : x) v = float(rng.normal() * 10);
  Context ctx;
  layer.forward(x.data(), y.data(), 2, ctx);
  for (float v : y) CHECK(std::isfinite(v));
  layer.backward(x.data(), y.data(), y.data(), dx.data(), 2, ctx);
  for (float v : dx) CHECK(std::isfinite(v));
}

TEST_CASE("MultiHeadSelfAttention parameter names and count", "[layers][attention]") {
  using M = Model<Net<Input<"x", 5, 8>, MultiHeadSelfAttention<2>>, double>;
  M m;
  const auto info = m.parameter_info();
  REQUIRE(info.size() == 4);
  CHECK(info[0].name == "trunk.0.in_proj_weight");
  CHECK(info[0].shape == std::vector<int64_t>{24, 8});
  CHECK(info[1].name == "trunk.0.in_proj_bias");
  CHECK(info[2].name == "trunk.0.out_proj.weight");
  CHECK(info[3].name == "trunk.0.out_proj.bias");
  CHECK(M::num_params == 4 * 64 + 4 * 8);
}

TEST_CASE("MultiHeadSelfAttention is bit-identical on 1 and 2 threads", "[layers][attention]") {
  using M = Model<Net<Input<"x", 7, 8>, MultiHeadSelfAttention<2, 0.2>>, float>;
  auto run = [](int threads) {
    set_num_threads(threads);
    manual_seed(11);  // same parameters in both runs
    M m;
    m.train();
    Tensor<float> x({33, 7, 8});
    Rng rng(5);
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = float(rng.normal());
    m.forward(x);
    std::vector<float> dy(size_t(m.output().numel()), 0.5f);
    m.backward({dy.data()}, true);
    std::vector<float> out(m.output().data(), m.output().data() + m.output().numel());
    out.insert(out.end(), m.grads(), m.grads() + M::num_params);
    out.insert(out.end(), m.input_grad().data(), m.input_grad().data() + m.input_grad().numel());
    return out;
  };
  const auto a = run(1), b = run(2);
  set_num_threads(2);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == b[i]);
}

TEST_CASE("KerasMultiHeadAttention as a self-attention layer: gradient check", "[layers][attention][keras]") {
  auto r = check_layer<KerasMultiHeadAttention<2, 3, 4>, Shape<4, 5>>(opts());
  report("KerasMHA<2,3,4> self (4x5)", r);
  CHECK(r.ok(1e-6));
  auto rd = check_layer<KerasMultiHeadAttention<2, 3, 3, 0.25>, Shape<4, 5>>(opts());
  report("KerasMHA<2,3,3,0.25> self train", rd);
  CHECK(rd.ok(1e-6));
}

TEST_CASE("KerasMultiHeadAttention as a join: query from branch 0, key/value from branch 1", "[layers][attention][keras]") {
  using NetJ = Net<Inputs<KerasMultiHeadAttention<2, 3, 4>,
                          Branch<"s", Shape<6>, Reshape<3, 2>>,            // 3 query tokens of width 2
                          Branch<"i", Shape<4, 5>>>,                       // 4 key/value tokens of width 5
                   Flatten, Dense<3>>;
  auto r = check_model<NetJ>(opts());
  report("KerasMHA join model", r);
  CHECK(r.ok(1e-6));
  using M = Model<NetJ, double>;
  CHECK(M::input_shape::dims == std::array<int, 2>{3, 2});
  M m;
  const auto info = m.parameter_info();
  CHECK(info[0].name == "inputs.join.query.kernel");
  CHECK(info[0].shape == std::vector<int64_t>{2, 2, 3});
  CHECK(info[2].name == "inputs.join.key.kernel");
  CHECK(info[2].shape == std::vector<int64_t>{5, 2, 3});
  CHECK(info[4].name == "inputs.join.value.kernel");
  CHECK(info[4].shape == std::vector<int64_t>{5, 2, 4});
  CHECK(info[6].name == "inputs.join.attention_output.kernel");
  CHECK(info[6].shape == std::vector<int64_t>{2, 4, 2});
  CHECK(info[7].shape == std::vector<int64_t>{2});
}

TEST_CASE("MMLforGalAM M4 property: with one key/value token the query has no influence", "[layers][attention][keras]") {
  // Spec §2.2: softmax over a single key is exactly 1, so A2 = I·(Σ_h W_V W_O) + c whatever S is.
  using NetM4 = Net<Inputs<KerasMultiHeadAttention<8, 16>, Branch<"S", Shape<1, 32>>, Branch<"I", Shape<1, 32>>>>;
  Model<NetM4, double> m(Init::glorot_uniform);
  CHECK(Model<NetM4, double>::num_params == 4 * 32 * 8 * 16 + 3 * 8 * 16 + 32);
  Tensor<double> s({3, 1, 32}), s2({3, 1, 32}), im({3, 1, 32});
  Rng rng(9);
  for (int64_t i = 0; i < s.numel(); ++i) { s[i] = rng.normal(); s2[i] = 5 * rng.normal(); im[i] = rng.normal(); }
  auto run = [&](const Tensor<double>& q) { const auto& y = m.forward({{"S", q}, {"I", im}}); return std::vector<double>(y.data(), y.data() + y.numel()); };
  const auto a = run(s), b = run(s2);  // vector copies: Tensor copies share storage
  REQUIRE(a.size() == 3 * 32);
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(b[i]).margin(1e-12));
  // ...while the key/value input does change it
  for (int64_t i = 0; i < im.numel(); ++i) im[i] += 0.5;
  const auto c = run(s);
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - c[i]));
  CHECK(d > 1e-3);
}
