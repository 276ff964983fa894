// GaSNet baseline (spec §3.6): parameter count with its arithmetic, the lengths 3843 -> 1280 -> 426
// -> 141 -> 46 -> 14 -> 4 through the residual blocks, the block's Keras "same" max pool, and one
// forward + backward step at batch 2.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "galml/models/resnet1d.hpp"

using namespace galml;
using namespace galml::models;

TEST_CASE("GaSNet: 4,025,908 parameters, block lengths of spec §3.6", "[models][gasnet]") {
  using M = Model<GaSNet<>>;
  // Block (Cin -> N): conv k5 same 5*Cin*N + N, BN 2N, conv k5/s3 5*N*N + N, BN 2N, shortcut conv
  // k5/s3 5*Cin*N + N  =>  10*Cin*N + 5*N^2 + 7*N:
  //   (1, 16)    160 + 1,280 + 112                 =     1,552
  //   (16, 32)   5,120 + 5,120 + 224               =    10,464
  //   (32, 64)   20,480 + 20,480 + 448             =    41,408
  //   (64, 128)  81,920 + 81,920 + 896             =   164,736
  //   (128, 256) 327,680 + 327,680 + 1,792         =   657,152
  //   (256, 512) 1,310,720 + 1,310,720 + 3,584     = 2,625,024   blocks: 3,500,336
  // head: Dense 2048 -> 256: 2048*256 + 256 = 524,544; Dense 256 -> 4: 256*4 + 4 = 1,028
  STATIC_REQUIRE(M::num_params == 1552 + 10464 + 41408 + 164736 + 657152 + 2625024 + 524544 + 1028);
  STATIC_REQUIRE(M::num_params == 4025908);
  STATIC_REQUIRE(std::is_same_v<M::input_shape, Shape<1, 3843>>);
  STATIC_REQUIRE(std::is_same_v<M::trunk_shape, Shape<4>>);
  // GaSNet-II's own 3600-pixel input: 1199 -> 399 -> 132 -> 43 -> 13 -> 3, flatten 1536.
  STATIC_REQUIRE(Model<GaSNet<3600>>::num_params == 4025908 - (2048 - 1536) * 256);
  STATIC_REQUIRE(Model<GaSNet<3843, 7>>::num_params == 4025908 + 3 * 257);

  // Lengths through the blocks (spec: 1280 -> 426 -> 141 -> 46 -> 14 -> 4).
  using B1 = GaSNetBlock<16>::output<Shape<1, 3843>>;
  using B2 = GaSNetBlock<32>::output<B1>;
  using B3 = GaSNetBlock<64>::output<B2>;
  using B4 = GaSNetBlock<128>::output<B3>;
  using B5 = GaSNetBlock<256>::output<B4>;
  using B6 = GaSNetBlock<512>::output<B5>;
  STATIC_REQUIRE(std::is_same_v<B1, Shape<16, 1280>>);
  STATIC_REQUIRE(std::is_same_v<B2, Shape<32, 426>>);
  STATIC_REQUIRE(std::is_same_v<B3, Shape<64, 141>>);
  STATIC_REQUIRE(std::is_same_v<B4, Shape<128, 46>>);
  STATIC_REQUIRE(std::is_same_v<B5, Shape<256, 14>>);
  STATIC_REQUIRE(std::is_same_v<B6, Shape<512, 4>>);
  // The pool keeps the strided convolution's length (k5/s1 "same": 2 ignored samples each side),
  // which is what lets the residual add type-check against the k5/s3 shortcut.
  STATIC_REQUIRE(std::is_same_v<MaxPool1DSame<5>::output<Shape<16, 1280>>, Shape<16, 1280>>);
  STATIC_REQUIRE(MaxPool1DSame<5>::pad_left<1280> == 2 && MaxPool1DSame<5>::pad_total<1280> == 4);
}

TEST_CASE("GaSNet: forward + backward at batch 2", "[models][gasnet]") {
  using M = Model<GaSNet<>>;
  auto m = std::make_unique<M>(Init::glorot_uniform);
  const int64_t N = 2;
  Rng rng(11);
  auto x = Tensor<float>::zeros({N, 1, 3843});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = float(rng.normal());
  m->train();
  const auto& y = m->forward(x);
  REQUIRE(y.shape() == std::vector<int64_t>{N, 4});
  CHECK(std::all_of(y.data(), y.data() + y.numel(), [](float v) { return std::isfinite(v); }));
  auto dy = Tensor<float>::zeros({N, 4});
  for (int64_t i = 0; i < dy.numel(); ++i) dy[i] = float(rng.normal());
  m->zero_grad();
  m->backward({dy.data()});
  int64_t nonzero = 0, nonfinite = 0;
  for (int64_t i = 0; i < M::num_params; ++i) {
    nonfinite += !std::isfinite(m->grads()[i]);
    nonzero += m->grads()[i] != 0.0f;
  }
  CHECK(nonfinite == 0);
  CHECK(nonzero > M::num_params / 5);
  // Every parameter tensor gets some gradient: first convolution, the shortcuts, the head.
  for (const auto& p : m->parameter_info()) {
    const float* g = m->grads() + p.offset;
    INFO(p.name);
    CHECK(std::any_of(g, g + p.numel, [](float v) { return v != 0.0f; }));
  }
  // Eval mode (running statistics, no dropout) is deterministic.
  m->eval();
  const auto y1 = m->forward(x);
  std::vector<float> a(y1.data(), y1.data() + y1.numel());
  const auto& y2 = m->forward(x);
  CHECK(std::equal(a.begin(), a.end(), y2.data()));
}
