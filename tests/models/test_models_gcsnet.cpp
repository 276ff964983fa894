// GCSNet (spec §3.2): parameter counts of the network and its ablation variants (derived from the
// spec's tables), per-sample shapes, one forward + backward step (batch 2) of the full network.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>

#include "galml/models/gcsnet.hpp"
#include "support/forward_backward.hpp"

using namespace galml;
using namespace galml::models;

using galml::testing_support::forward_backward;

namespace {
// Encoder and fusion parameter counts of spec §3.2 (the arithmetic of its tables).
constexpr int64_t kImage = (3 * 32 * 9 + 32) + 2 * 32 + (32 * 64 * 9 + 64) + 2 * 64 + (64 * 128 * 9 + 128) + 2 * 128
                           + (128 * 128 + 128);                                        // 110,208 (conv+BN x3, token Linear)
constexpr int64_t kSpectral = (1 * 32 * 11 + 32) + 2 * 32 + (32 * 64 * 7 + 64) + 2 * 64 + (64 * 128 * 5 + 128) + 2 * 128;  // 56,320
constexpr int64_t tabular(int64_t f) { return (f * 64 + 64) + (64 * 64 + 64) + (64 * 2048 + 2048) + 2 * 2048; }  // 141,696 for 4
constexpr int64_t kFusion = (4 * 128 * 128 + 4 * 128) + 2 * 128;                      // MHSA (Q,K,V,out + biases) + LN: 66,304
constexpr int64_t heads(int64_t tokens) { return (4 * tokens * 128 + 1) + (2 * tokens * 128 + 1); }  // cosine weights + scale each
static_assert(kImage == 110208 && kSpectral == 56320 && tabular(4) == 141696 && kFusion == 66304);
static_assert(heads(64) == 32769 + 16385);
}  // namespace

TEST_CASE("GCSNet: 423,682 parameters, 4 + 2 cosine logits", "[models][gcsnet]") {
  using M = Model<GCSNet<>>;
  // 110,208 + 56,320 + 141,696 + 66,304 + 32,769 + 16,385 (F_final = 64 tokens x 128 = 8192)
  STATIC_REQUIRE(M::num_params == kImage + kSpectral + tabular(4) + kFusion + heads(64));
  STATIC_REQUIRE(M::num_params == 423682);
  STATIC_REQUIRE(M::num_inputs == 3);
  STATIC_REQUIRE(std::is_same_v<M::input_shape, Shape<48, 128>>);  // F1: [spec, img, meta]
  STATIC_REQUIRE(std::is_same_v<M::trunk_shape, Shape<8192>>);     // F6
  STATIC_REQUIRE(std::is_same_v<M::head_shape<0>, Shape<4>>);
  STATIC_REQUIRE(std::is_same_v<M::head_shape<1>, Shape<2>>);
  auto m = std::make_unique<M>();
  forward_backward(*m);
  CHECK(m->output("cls").shape() == std::vector<int64_t>{2, 4});
  CHECK(m->output("agn").shape() == std::vector<int64_t>{2, 2});
  // Cosine logits are bounded by the scale (init 30).
  for (const char* h : {"cls", "agn"}) {
    const auto& y = m->output(h);
    CHECK(std::all_of(y.data(), y.data() + y.numel(), [](float v) { return std::abs(v) <= 30.0f + 1e-3f; }));
  }
  const auto names = m->parameter_info();
  CHECK(names.front().name == "inputs.spectrum.0.weight");
  CHECK(names.back().name == "heads.agn.0.scale");
}

TEST_CASE("GCSNet ablation variants and rest-frame input", "[models][gcsnet]") {
  // Missing modalities drop out of F1 and F5, so the heads shrink with F_final.
  STATIC_REQUIRE(Model<GCSNet_SpecOnly<>>::num_params == kSpectral + kFusion + heads(32));                     // 147,202
  STATIC_REQUIRE(Model<GCSNet_SpecOnly<>>::num_params == 147202);
  STATIC_REQUIRE(Model<GCSNet_SpecImg<>>::num_params == kSpectral + kImage + kFusion + heads(48));             // 269,698
  STATIC_REQUIRE(Model<GCSNet_SpecImg<>>::num_params == 269698);
  STATIC_REQUIRE(Model<GCSNet_SpecTabular<>>::num_params == kSpectral + tabular(4) + kFusion + heads(48));     // 301,186
  STATIC_REQUIRE(Model<GCSNet_SpecTabular<3843, 3>>::num_params == 301186 - 64);                              // noz / noew
  STATIC_REQUIRE(Model<GCSNet_SpecTabular<3843, 1>>::num_params == 301186 - 192);                             // ewonly
  STATIC_REQUIRE(Model<GCSNet_AllNoZ<>>::num_params == 423682 - 64);
  STATIC_REQUIRE(Model<GCSNet<1600>>::num_params == 423682);                                                  // rest frame
  STATIC_REQUIRE(std::is_same_v<Model<GCSNet_SpecOnly<>>::trunk_shape, Shape<4096>>);
  STATIC_REQUIRE(std::is_same_v<Model<GCSNet_SpecImg<>>::trunk_shape, Shape<6144>>);
  auto m = std::make_unique<Model<GCSNet_SpecTabular<1600, 1>>>();  // small: no image branch
  forward_backward(*m);
  CHECK(m->output("cls").shape() == std::vector<int64_t>{2, 4});
}
