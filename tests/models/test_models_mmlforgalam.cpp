// MMLforGalAM M1-M4 (spec §2.2): parameter counts, per-sample shapes, one forward + backward step each
// (batch 2), and the M4 fusion written as [S; attn(I)] -> mean -> LayerNorm<eps/4> equals the
// literal Keras join followed by LayerNorm(1e-3)(S + A2).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "galml/models/mmlforgalam.hpp"
#include "support/forward_backward.hpp"

using namespace galml;
using namespace galml::models;

using galml::testing_support::forward_backward;

TEST_CASE("MMLforGalAM M1: 36,907,229 parameters, (2) prediction and 1024-d F_spec_real", "[models][mmlforgalam]") {
  using M = Model<MMLforGalAM_M1>;
  // convolutions: 1*16*3+16 + 16*16*3+16 + 16*32*3+32 + 32*32*3+32 + 32*64*3+64 + 64*64*3+64
  //               + 64*128*3+128 + 128*128*3+128 = 98,064
  // dense: 6272*4171+4171 + 4171*2048+2048 + 2048*1024+1024 + 1024*2+2 = 36,809,165
  STATIC_REQUIRE(M::num_params == 98064 + 36809165);
  STATIC_REQUIRE(M::num_params == 36907229);
  STATIC_REQUIRE(std::is_same_v<M::input_shape, Shape<1, 4171>>);
  STATIC_REQUIRE(std::is_same_v<M::trunk_shape, Shape<1024>>);
  STATIC_REQUIRE(std::is_same_v<M::head_shape<0>, Shape<2>>);
  STATIC_REQUIRE(std::is_same_v<M::head_shape<1>, Shape<1024>>);
  M m(Init::glorot_uniform);
  auto info = m.parameter_info();
  for (int pos : mml_m1_l2_layers) {  // the L2-regularised kernels are the convolutions
    auto it = std::find_if(info.begin(), info.end(), [&](auto& p) { return p.name == "trunk." + std::to_string(pos) + ".weight"; });
    REQUIRE(it != info.end());
    CHECK(it->shape.size() == 3);
  }
  forward_backward(m, true, 2, galml::testing_support::InputDist::uniform);
  CHECK(m.output("y").shape() == std::vector<int64_t>{2, 2});
  CHECK(m.output("feature").shape() == std::vector<int64_t>{2, 1024});
  const float* f = m.output("feature").data();
  CHECK(std::all_of(f, f + 2 * 1024, [](float v) { return v >= 0.0f; }));  // a ReLU feature
}

TEST_CASE("MMLforGalAM M2: 10,876,224 parameters, 1024-d F_spec_sim", "[models][mmlforgalam]") {
  using M = Model<MMLforGalAM_M2<>>;
  // conv: 3*32*9+32 + 32*64*9+64 + 64*128*9+128 + 128*256*9+256 = 388,416
  // dense: 9216*1024+1024 + 1024*1024+1024 = 10,487,808
  STATIC_REQUIRE(M::num_params == 388416 + 10487808);
  STATIC_REQUIRE(M::num_params == 10876224);
  STATIC_REQUIRE(std::is_same_v<M::input_shape, Shape<3, 128, 128>>);
  STATIC_REQUIRE(std::is_same_v<M::head_shape<0>, Shape<1024>>);
  // Appendix A.1 / A.2 variants change the flatten width (and the first kernel's input channels).
  STATIC_REQUIRE(Model<MMLforGalAM_M2<64>>::num_params == 388416 + (2 * 2 * 256) * 1024 + 1024 + 1024 * 1024 + 1024);
  STATIC_REQUIRE(Model<MMLforGalAM_M2<128, 1>>::num_params == 10876224 - 2 * 32 * 9);
  M m(Init::glorot_uniform);
  forward_backward(m, true, 2, galml::testing_support::InputDist::uniform);
  CHECK(m.output().shape() == std::vector<int64_t>{2, 1024});
}

TEST_CASE("MMLforGalAM M3: 37,612,802 parameters, (2) prediction and 1024-d F_img", "[models][mmlforgalam]") {
  using M = Model<MMLforGalAM_M3<>>;
  // conv: (3*32*9+32 + 2*(32*32*9+32)) + (32*64*9+64 + 2*(64*64*9+64)) + (64*128*9+128 + 2*(128*128*9+128))
  //       + (128*256*9+256 + 2*(256*256*9+256)) = 1,956,096
  // dense: 16384*2048+2048 + 2048*1024+1024 + 1024*2+2 = 35,656,706
  STATIC_REQUIRE(M::num_params == 1956096 + 35656706);
  STATIC_REQUIRE(M::num_params == 37612802);
  STATIC_REQUIRE(std::is_same_v<M::head_shape<0>, Shape<2>>);
  STATIC_REQUIRE(std::is_same_v<M::head_shape<1>, Shape<1024>>);
  M m(Init::glorot_uniform);
  auto info = m.parameter_info();
  for (int pos : mml_m3_l2_layers) {
    auto it = std::find_if(info.begin(), info.end(), [&](auto& p) { return p.name == "trunk." + std::to_string(pos) + ".weight"; });
    REQUIRE(it != info.end());
    CHECK(it->shape.size() == 4);
  }
  forward_backward(m, true, 2, galml::testing_support::InputDist::uniform);
  CHECK(m.output("y").shape() == std::vector<int64_t>{2, 2});
  CHECK(m.output("feature").shape() == std::vector<int64_t>{2, 1024});
}

TEST_CASE("MMLforGalAM M4 MLP: 4,788,098 parameters", "[models][mmlforgalam]") {
  using M = Model<MMLforGalAM_M4MLP>;
  // 1024*2048+2048 + 2048*1024+1024 + 1024*512+512 + 512*128+128 + 128*2+2
  STATIC_REQUIRE(M::num_params == 2099200 + 2098176 + 524800 + 65664 + 258);
  STATIC_REQUIRE(M::num_params == 4788098);
  M m(Init::glorot_uniform);
  forward_backward(m, true, 2, galml::testing_support::InputDist::uniform);
  CHECK(m.output().shape() == std::vector<int64_t>{2, 2});
}

TEST_CASE("MMLforGalAM M4 fusion equals LayerNorm(1e-3)(S + KerasAttention(query S, key/value I))", "[models][mmlforgalam]") {
  // attention: 4 kernels of 1024*8*1024 + 3 biases of 8*1024 + output bias 1024; LayerNorm 2*1024
  constexpr int64_t attn = 4LL * 1024 * 8 * 1024 + 3 * 8 * 1024 + 1024;
  STATIC_REQUIRE(attn == 33580032);
  using F = Model<MMLforGalAM_M4Fusion<true>>;
  STATIC_REQUIRE(F::num_params == attn + 2048);
  STATIC_REQUIRE(std::is_same_v<F::head_shape<0>, Shape<1024>>);
  // The literal join of the spec (rows A0-A2): query branch S, key/value branch I.
  using Join = Net<Inputs<KerasMultiHeadAttention<8, 1024>, Branch<"S", Shape<1024>, Reshape<1, 1024>>,
                          Branch<"I", Shape<1024>, Reshape<1, 1024>>>>;
  STATIC_REQUIRE(Model<Join>::num_params == attn);

  auto fusion = std::make_unique<F>(Init::glorot_uniform);
  Rng rng(3);
  float* p = fusion->params();
  for (int64_t i = 0; i < 2048; ++i) p[attn + i] = float(rng.uniform(0.5, 1.5)) * (i < 1024 ? 1.0f : 0.2f);  // gamma, beta
  {
    // Attention biases are zero at Keras init: make them non-zero so the check covers them.
    for (int64_t i = 0; i < attn; i += 97) p[i] += float(rng.normal(0.0, 0.01));
  }
  auto join = std::make_unique<Model<Join>>();
  std::copy(p, p + attn, join->params());  // same layout: query, key, value, attention_output

  const int64_t N = 2;
  auto S = Tensor<float>::zeros({N, 1024}), I = Tensor<float>::zeros({N, 1024});
  for (int64_t i = 0; i < N * 1024; ++i) { S[i] = float(rng.uniform()); I[i] = float(rng.uniform()); }
  fusion->eval();
  join->eval();
  const auto& y = fusion->forward({{"S", S}, {"I", I}});
  const auto& a2 = join->forward({{"S", S}, {"I", I}});
  double worst = 0;
  for (int64_t n = 0; n < N; ++n) {
    std::vector<double> r(1024);
    double mean = 0, var = 0;
    for (int j = 0; j < 1024; ++j) { r[j] = double(S[n * 1024 + j]) + double(a2.data()[n * 1024 + j]); mean += r[j]; }
    mean /= 1024;
    for (int j = 0; j < 1024; ++j) var += (r[j] - mean) * (r[j] - mean);
    var /= 1024;
    for (int j = 0; j < 1024; ++j) {
      const double want = (r[j] - mean) / std::sqrt(var + 1e-3) * p[attn + j] + p[attn + 1024 + j];
      worst = std::max(worst, std::abs(want - double(y.data()[n * 1024 + j])));
    }
  }
  INFO("max |difference| " << worst);
  CHECK(worst < 2e-4);
  // Trainable mode: gradients reach the value/output projections and the LayerNorm; with one key
  // token the softmax is constant, so the query and key projections get exactly zero gradient.
  for (int64_t i = 0; i < attn; ++i) p[i] = float(rng.normal(0.0, 1e-3));
  fusion->train();
  fusion->forward({{"S", S}, {"I", I}});
  auto dy = Tensor<float>::zeros({N, 1024});
  for (int64_t i = 0; i < dy.numel(); ++i) dy[i] = float(rng.normal());
  fusion->zero_grad();
  fusion->backward({dy.data()});
  for (const auto& info : fusion->parameter_info()) {
    const float* g = fusion->grads() + info.offset;
    const bool any = std::any_of(g, g + info.numel, [](float v) { return v != 0.0f; });
    INFO(info.name);
    CHECK(std::all_of(g, g + info.numel, [](float v) { return std::isfinite(v); }));
    const bool qk = info.name.find(".query.") != std::string::npos || info.name.find(".key.") != std::string::npos;
    CHECK(any == !qk);
  }
}

TEST_CASE("MMLforGalAM M4 fusion, reference frozen_random mode: fixed, seeded, never trained", "[models][mmlforgalam]") {
  using F = Model<MMLforGalAM_M4Fusion<>>;
  STATIC_REQUIRE(F::num_params == 33580032 + 2048);
  auto a = std::make_unique<F>();
  auto b = std::make_unique<F>(Init::pytorch);
  // The attention comes from Rng(seed) whatever the model's stream: two models agree.
  CHECK(std::equal(a->params(), a->params() + F::num_params, b->params()));
  auto ranges = frozen_ranges(*a);
  int64_t frozen = 0;
  for (auto r : ranges) frozen += r.size;
  CHECK(frozen == F::num_params);
  forward_backward(*a, /*expect_grads=*/false, 2, galml::testing_support::InputDist::uniform);
  CHECK(a->output().shape() == std::vector<int64_t>{2, 1024});
}

namespace {
// One train-mode step of an end-to-end M4 at batch N on [0, 1] inputs (the existing helper expects
// gradient on the first parameters, which here are the query kernel: zero by construction).
template <class M>
void m4_step(M& m, int64_t N = 2) {
  Rng rng(9);
  auto S = Tensor<float>::zeros({N, 1024}), I = Tensor<float>::zeros({N, 1024});
  for (int64_t i = 0; i < N * 1024; ++i) { S[i] = float(rng.uniform()); I[i] = float(rng.uniform()); }
  m.train();
  const auto& y = m.forward({{"S", S}, {"I", I}});
  REQUIRE(y.shape() == std::vector<int64_t>{N, 2});
  CHECK(std::all_of(y.data(), y.data() + y.numel(), [](float v) { return std::isfinite(v); }));
  auto dy = Tensor<float>::zeros({N, 2});
  for (int64_t i = 0; i < dy.numel(); ++i) dy[i] = float(rng.normal());
  m.zero_grad();
  m.backward({dy.data()});
  CHECK(std::all_of(m.grads(), m.grads() + M::num_params, [](float v) { return std::isfinite(v); }));
}
}  // namespace

TEST_CASE("MMLforGalAM M4 end to end: 38,370,178 parameters, equals fusion -> min-max -> MLP", "[models][mmlforgalam]") {
  // fusion 33,580,032 (attention) + 2,048 (LayerNorm) = 33,582,080; MLP 4,788,098 (test above);
  // A7 MinMaxNormalize has no parameters: 33,582,080 + 4,788,098 = 38,370,178.
  constexpr int64_t fusion = 33580032 + 2048, mlp = 4788098;
  using E = Model<MMLforGalAM_M4<>>;
  STATIC_REQUIRE(E::num_params == fusion + mlp);
  STATIC_REQUIRE(E::num_params == 38370178);
  STATIC_REQUIRE(Model<MMLforGalAM_M4<false>>::num_params == 38370178);
  STATIC_REQUIRE(std::is_same_v<E::head_shape<0>, Shape<2>>);

  // Same parameters in the two-network form give the same output (eval: no dropout), with the
  // per-sample min-max computed by hand between them: the layer is exactly the data-side A7.
  auto e = std::make_unique<E>(Init::glorot_uniform);
  auto f = std::make_unique<Model<MMLforGalAM_M4Fusion<true>>>();
  auto mlp_net = std::make_unique<Model<MMLforGalAM_M4MLP>>();
  Rng rng(21);
  for (int64_t i = 0; i < fusion; i += 101) e->params()[i] += float(rng.normal(0.0, 0.01));  // non-zero biases too
  std::copy(e->params(), e->params() + fusion, f->params());
  std::copy(e->params() + fusion, e->params() + fusion + mlp, mlp_net->params());
  const int64_t N = 2;
  auto S = Tensor<float>::zeros({N, 1024}), I = Tensor<float>::zeros({N, 1024});
  for (int64_t i = 0; i < N * 1024; ++i) { S[i] = float(rng.uniform()); I[i] = float(rng.uniform()); }
  e->eval(); f->eval(); mlp_net->eval();
  const auto& fused = f->forward({{"S", S}, {"I", I}});
  auto scaled = Tensor<float>::zeros({N, 1024});
  for (int64_t n = 0; n < N; ++n) {
    const float* r = fused.data() + n * 1024;
    const double lo = *std::min_element(r, r + 1024), hi = *std::max_element(r, r + 1024);
    REQUIRE(hi > lo);
    for (int j = 0; j < 1024; ++j) scaled[n * 1024 + j] = float((double(r[j]) - lo) / (hi - lo));
  }
  const auto& want = mlp_net->forward(scaled);
  const auto& got = e->forward({{"S", S}, {"I", I}});
  REQUIRE(got.shape() == std::vector<int64_t>{N, 2});
  for (int64_t i = 0; i < N * 2; ++i) CHECK(got.data()[i] == Approx(want.data()[i]).epsilon(1e-4).margin(1e-5));

  // Trainable: one train step reaches the MLP, the LayerNorm and the value/output projections
  // (through the min-max); the query and key projections get exactly zero gradient (one key token).
  m4_step(*e);
  for (const auto& info : e->parameter_info()) {
    const float* g = e->grads() + info.offset;
    INFO(info.name);
    const bool any = std::any_of(g, g + info.numel, [](float v) { return v != 0.0f; });
    const bool qk = info.name.find(".query.") != std::string::npos || info.name.find(".key.") != std::string::npos;
    CHECK(any == !qk);
  }
}

TEST_CASE("MMLforGalAM M4 end to end, frozen_random: only the MLP learns", "[models][mmlforgalam]") {
  using E = Model<MMLforGalAM_M4<false>>;
  auto e = std::make_unique<E>(Init::glorot_uniform);
  int64_t frozen = 0;
  for (auto r : frozen_ranges(*e)) frozen += r.size;
  CHECK(frozen == 33580032 + 2048);
  m4_step(*e);
  const float* g = e->grads();
  CHECK(std::all_of(g, g + frozen, [](float v) { return v == 0.0f; }));
  CHECK(std::any_of(g + frozen, g + E::num_params, [](float v) { return v != 0.0f; }));
}
