// The stellar multi-head network (spec §4.2): the eight variants of Table 1, parameter counts
// (Model 6 as the spec computes it, the others derived with the same arithmetic), per-sample shapes,
// one forward + backward step each (batch 2), and the depth/width template parameters.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "galml/models/stellar.hpp"
#include "support/forward_backward.hpp"

using namespace galml;
using namespace galml::models;

using galml::testing_support::forward_backward;

namespace {
// Spec §4.2, Model 6 under its assumptions.
constexpr int64_t kStem = (1 * 32 * 7 + 32) + 64 + (32 * 64 * 5 + 64) + 128 + (64 * 128 * 5 + 128) + 256
                          + (128 * 256 * 5 + 256) + 512;                                       // 216,704 (conv + BN x4)
constexpr int64_t kLayer = (4 * 256 * 256 + 4 * 256)                                           // MHA: in_proj + out_proj
                           + (256 * 1024 + 1024) + (1024 * 256 + 256) + 2 * 2 * 256;           // FFN + 2 LayerNorms = 789,760
constexpr int64_t kEncoder = 4 * kLayer + 2 * 256 + 256 + 426 * 256;                           // + final LN, CLS, pos = 3,268,864
constexpr int64_t kMLP = (29 * 256 + 256) + (256 * 256 + 256);                                  // 73,472
constexpr int64_t fusion(int64_t in) { return (in * 512 + 512) + 3 * (512 * 512 + 512); }       // 1,050,624 from 512
constexpr int64_t kHeads = (512 + 1) + (512 + 1) + (512 * 5 + 5);                                // 3,591
constexpr int64_t kPatch = 256 * 16 + 256;                                                      // 4,352
// 1-D ResNet at depth 4 (no conv biases): stem 64*7 + BN; 2 blocks of 64; 1 strided block of 128
// with a projection; 1 block of 128; Linear 128 -> 256.
constexpr int64_t kResNet = (64 * 7 + 128) + 2 * (2 * 64 * 64 * 3 + 2 * 128)
                            + (128 * 64 * 3 + 128 * 128 * 3 + 2 * 256 + 128 * 64 + 256)
                            + (2 * 128 * 128 * 3 + 2 * 256) + (128 * 256 + 256);               // 264,768
static_assert(kStem == 216704 && kEncoder == 3268864 && kMLP == 73472 && fusion(512) == 1050624 && kHeads == 3591);
static_assert(kResNet == 264768);

template <class M> void check_heads() {
  STATIC_REQUIRE(M::num_heads == 3);
  STATIC_REQUIRE(std::is_same_v<typename M::template head_shape<0>, Shape<1>>);
  STATIC_REQUIRE(std::is_same_v<typename M::template head_shape<1>, Shape<1>>);
  STATIC_REQUIRE(std::is_same_v<typename M::template head_shape<2>, Shape<5>>);
}
template <class Net> void run_one() {
  using M = Model<Net>;
  check_heads<M>();
  auto m = std::make_unique<M>();
  forward_backward(*m);
  CHECK(m->output("age").shape() == std::vector<int64_t>{2, 1});
  CHECK(m->output("lifetime").shape() == std::vector<int64_t>{2, 1});
  CHECK(m->output("stage").shape() == std::vector<int64_t>{2, 5});
  // Every input reaches the heads: the first layer of each branch gets a gradient.
  for (const auto& p : m->parameter_info()) {
    if (p.name != "trunk.0.weight" && !(p.name.rfind("inputs.", 0) == 0 && p.name.find(".0.weight") != std::string::npos)) continue;
    INFO(p.name);
    const float* g = m->grads() + p.offset;
    CHECK(std::any_of(g, g + p.numel, [](float v) { return v != 0.0f; }));
  }
}
}  // namespace

TEST_CASE("stellar Model 6 (MLP + CNN + Transformer): 4,613,255 parameters", "[models][stellar]") {
  using M = Model<StellarMLPCNNTransformer<>>;
  // 216,704 + 3,268,864 + 73,472 + 1,050,624 + 3,591
  STATIC_REQUIRE(M::num_params == kStem + kEncoder + kMLP + fusion(512) + kHeads);
  STATIC_REQUIRE(M::num_params == 4613255);
  STATIC_REQUIRE(std::is_same_v<M::input_shape, Shape<512>>);  // [h_phot, h_spec]
  run_one<StellarMLPCNNTransformer<>>();
}

TEST_CASE("stellar Models 1-5, 7, 8: parameter counts", "[models][stellar]") {
  STATIC_REQUIRE(Model<StellarMLPOnly<>>::num_params == kMLP + fusion(256) + kHeads);                          // 996,615
  STATIC_REQUIRE(Model<StellarResNetOnly<>>::num_params == kResNet + fusion(256) + kHeads);                    // 1,187,911
  STATIC_REQUIRE(Model<StellarSpectraTransformer<>>::num_params == kPatch + kEncoder + fusion(256) + kHeads);   // 4,196,359
  STATIC_REQUIRE(Model<StellarSpectraHadamard<>>::num_params == kPatch + kEncoder + fusion(256) + kHeads);     // same widths
  STATIC_REQUIRE(Model<StellarMLPResNet<>>::num_params == kMLP + kResNet + fusion(512) + kHeads);              // 1,392,455
  STATIC_REQUIRE(Model<StellarMLPCNNHadamard<>>::num_params == 4613255);          // gated attention: same 4 projections
  STATIC_REQUIRE(Model<StellarMLPTransformer<>>::num_params == kPatch + kEncoder + kMLP + fusion(512) + kHeads);  // 4,400,903
  STATIC_REQUIRE(Model<StellarMLPOnly<>>::num_params == 996615);
  STATIC_REQUIRE(Model<StellarResNetOnly<>>::num_params == 1187911);
  STATIC_REQUIRE(Model<StellarSpectraTransformer<>>::num_params == 4196359);
  STATIC_REQUIRE(Model<StellarMLPResNet<>>::num_params == 1392455);
  STATIC_REQUIRE(Model<StellarMLPTransformer<>>::num_params == 4400903);
}

TEST_CASE("stellar depth and width template parameters (Tables 2, 5, 6)", "[models][stellar]") {
  using M6 = StellarMLPCNNTransformer<>;
  // Depth: one encoder layer of 789,760 per step.
  STATIC_REQUIRE(Model<StellarMLPCNNTransformer<2>>::num_params == Model<M6>::num_params - 2 * kLayer);
  STATIC_REQUIRE(Model<StellarMLPCNNTransformer<6>>::num_params == Model<M6>::num_params + 2 * kLayer);
  // Width 128: stem's last conv 128*128*5+128 + BN, 4 layers at d 128 (FFN 512), CLS/pos at 128, fusion input 384.
  constexpr int64_t w = 128;
  constexpr int64_t layer128 = (4 * w * w + 4 * w) + (w * 4 * w + 4 * w) + (4 * w * w + w) + 4 * w;
  constexpr int64_t stem128 = kStem - (128 * 256 * 5 + 256 + 512) + (128 * w * 5 + w + 2 * w);
  STATIC_REQUIRE(Model<StellarMLPCNNTransformer<4, 128>>::num_params
                 == stem128 + 4 * layer128 + 2 * w + w + 426 * w + kMLP + fusion(256 + w) + kHeads);
  STATIC_REQUIRE(std::is_same_v<Model<StellarMLPCNNTransformer<4, 384>>::input_shape, Shape<256 + 384>>);
  // MLP and fusion sweeps.
  STATIC_REQUIRE(Model<StellarMLPCNNTransformer<4, 256, 3, 384, 2, 768>>::num_params
                 == kStem + kEncoder + (29 * 384 + 384) + 2 * (384 * 384 + 384) + ((384 + 256) * 768 + 768) + (768 * 768 + 768)
                        + (7 * 768 + 7));  // heads: 1 + 1 + 5 outputs from 768
  // ResNet depth (Table 5: 2 / 4 / 6 BasicBlocks): depth 2 = two 64-channel blocks, Linear 64 -> 256.
  STATIC_REQUIRE(Model<StellarMLPResNet<2>>::num_params
                 == kMLP + (64 * 7 + 128) + 2 * (2 * 64 * 64 * 3 + 2 * 128) + (64 * 256 + 256) + fusion(512) + kHeads);
  STATIC_REQUIRE(std::is_same_v<Model<StellarMLPResNet<6>>::input_shape, Shape<512>>);
  // The no-leak photometric feature set (spec §4.5 item 1): 26 features.
  STATIC_REQUIRE(Model<StellarMLPCNNTransformer<4, 256, 2, 256, 4, 512, 26>>::num_params == 4613255 - 3 * 256);
}

TEST_CASE("stellar Model 1 (MLP only)", "[models][stellar]") { run_one<StellarMLPOnly<>>(); }
TEST_CASE("stellar Model 2 (ResNet only)", "[models][stellar]") { run_one<StellarResNetOnly<>>(); }
TEST_CASE("stellar Model 3 (spectra Transformer)", "[models][stellar]") { run_one<StellarSpectraTransformer<>>(); }
TEST_CASE("stellar Model 4 (spectra Hadamard)", "[models][stellar]") {
  // forward_backward checks that the patch embedding (the first parameters) gets a gradient: with
  // token-independent Hadamard attention this needs the mean pooling (a CLS token would never see
  // the spectrum).
  run_one<StellarSpectraHadamard<>>();
}
TEST_CASE("stellar Model 5 (MLP + ResNet)", "[models][stellar]") { run_one<StellarMLPResNet<>>(); }
TEST_CASE("stellar Model 7 (MLP + CNN + Hadamard)", "[models][stellar]") { run_one<StellarMLPCNNHadamard<>>(); }
TEST_CASE("stellar Model 8 (MLP + Transformer)", "[models][stellar]") { run_one<StellarMLPTransformer<>>(); }
TEST_CASE("stellar ResNet blocks: projection shortcut where the block downsamples", "[models][stellar][resnet1d]") {
  using Id = BasicResidual1D<64>;
  using Proj = BasicResidual1D<128, 2>;
  STATIC_REQUIRE(std::is_same_v<Id::output<Shape<64, 100>>, Shape<64, 100>>);
  STATIC_REQUIRE(std::is_same_v<Proj::output<Shape<64, 100>>, Shape<128, 50>>);
  STATIC_REQUIRE(Proj::num_params<Shape<64, 100>> == 128 * 64 * 3 + 128 * 128 * 3 + 2 * 256 + (128 * 64 + 256));
  // Spectral lengths through the stem and the strided blocks (spec: 3400 -> 1700 -> 850 -> 425).
  using Branch6 = models::detail::chain_of<ResNet1DStem>;
  STATIC_REQUIRE(std::is_same_v<Branch6::output<Shape<1, 6800>>, Shape<64, 1700>>);
  using Blocks = models::detail::chain_of<ResNet1DStem, ResNet1DBlocks<6>>;
  STATIC_REQUIRE(std::is_same_v<Blocks::output<Shape<1, 6800>>, Shape<256, 425>>);
}
