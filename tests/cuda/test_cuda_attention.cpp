// Attention and token layers on CUDA (backend/cuda/attention.cuh) against the CPU backend in double:
// a ViT-style spectral encoder (patches, CLS token, positions, two pre-LN transformer layers with
// attention dropout, token pooling, two heads), Keras multi-head self-attention, the Hadamard-gated
// attention and a cosine head with L2 normalisation. Same parameters, same dropout seed and step
// (the CUDA dropout bits equal the CPU's), so outputs, every parameter gradient and the input gradient
// must agree to rounding.
#include "cuda/cuda_test_util.hpp"

using namespace galml;
using namespace cuda_test;

namespace {

template <class NetT>
void compare_on_both(int64_t N, bool train, double tol) {
  using MC = Model<NetT, double>;
  using MG = Model<NetT, double, cuda>;
  manual_seed(21);
  MC mc;
  MG mg;
  mg.load_state_dict(mc.state_dict());
  for (auto* ctx : {&mc.context(), &mg.context()}) { ctx->seed = 9; ctx->step = 4; }
  if (train) { mc.train(); mg.train(); } else { mc.eval(); mg.eval(); }
  using In = typename MC::input_shape;
  Tensor<double> x({N, int64_t(In::dims[0]), int64_t(In::dims[1])});
  Rng r(8, 2);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = r.normal();
  mc.forward(x);
  mg.forward(to_device(x));
  std::array<std::vector<double>, MC::num_heads> dys;
  std::array<const double*, MC::num_heads> pc{}, pg{};
  std::vector<Tensor<double, cuda>> gdys;
  for (size_t h = 0; h < MC::num_heads; ++h) {
    dys[h].resize(size_t(mc.output(h).numel()));
    for (auto& v : dys[h]) v = r.normal();
    pc[h] = dys[h].data();
    gdys.push_back(dev(dys[h]));
  }
  for (size_t h = 0; h < MC::num_heads; ++h) pg[h] = gdys[h].data();
  mc.zero_grad(); mg.zero_grad();
  mc.backward(pc, true);
  mg.backward(pg, true);
  for (size_t h = 0; h < MC::num_heads; ++h) {
    INFO("head " << h);
    CHECK(max_rel(host(mg.output(h)), std::vector<double>(mc.output(h).data(), mc.output(h).data() + mc.output(h).numel())) < tol);
  }
  CHECK(max_rel(host_ptr(mg.grads(), MC::num_params), std::vector<double>(mc.grads(), mc.grads() + MC::num_params)) < tol);
  CHECK(max_rel(host(mg.input_grad()), std::vector<double>(mc.input_grad().data(), mc.input_grad().data() + mc.input_grad().numel())) < tol);
}

using Vit = Net<Input<"spec", 1, 48>, PatchEmbed1D<8, 4>, ClsToken<8>, PositionalEmbedding, TransformerEncoderLayer<2, 16, 0.1>,
                TransformerEncoderLayer<2, 16, 0.1>, LayerNorm<>, TokenPool<TokenPooling::cls>,
                Heads<Head<"age", Dense<1>>, Head<"stage", Dense<5>>>>;
using KerasSelf = Net<Input<"x", 4, 5>, KerasMultiHeadAttention<2, 3>, Flatten, Heads<Head<"y", Dense<3>>>>;
using Gated = Net<Input<"x", 4, 6>, HadamardGatedAttention<3>, Flatten, Heads<Head<"y", Dense<2>>>>;
using GatedSigmoid = Net<Input<"x", 4, 6>, HadamardGatedAttention<3, GatedVariant::sigmoid_qk>, Flatten, Heads<Head<"y", Dense<2>>>>;
using Cosine = Net<Input<"x", 2, 5>, Flatten, L2Normalize<>, Heads<Head<"main", CosineHead<4>>, Head<"aux", CosineHead<2>>>>;

}  // namespace

TEST_CASE("A ViT-style encoder with attention dropout on CUDA matches the CPU (double)", "[cuda][model][attention]") {
  GALML_SKIP_WITHOUT_CUDA();
  SECTION("training (dropout active)") { compare_on_both<Vit>(5, true, 1e-11); }
  SECTION("eval") { compare_on_both<Vit>(3, false, 1e-11); }
}

TEST_CASE("Keras self-attention, gated attention and cosine heads on CUDA match the CPU (double)", "[cuda][model][attention]") {
  GALML_SKIP_WITHOUT_CUDA();
  compare_on_both<KerasSelf>(4, true, 1e-11);
  compare_on_both<Gated>(4, true, 1e-11);
  compare_on_both<GatedSigmoid>(4, true, 1e-11);  // attention weights through the sigmoid path
  compare_on_both<Cosine>(6, true, 1e-11);
}
