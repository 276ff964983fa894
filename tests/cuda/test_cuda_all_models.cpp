// Every published network of the library on the CUDA backend against the CPU backend (float, the same
// parameters, train mode: batch statistics, dropout with the CPU's masks): GCSNet (spectrum + image +
// table), MMLforGalAM M1-M4 (1-D CNN, two image CNNs, the attention fusion), the stellar networks
// (MLP, CNN and transformer branches, Hadamard gate). Building this file checks that every layer has
// CUDA ops; running it (on a GPU) checks that they compute the CPU's function. Tolerance: float, 2e-4
// of each tensor's largest magnitude (long reductions in a different order).
#include "cuda/cuda_test_util.hpp"
#include "galml/models/gcsnet.hpp"
#include "galml/models/mmlforgalam.hpp"
#include "galml/models/stellar.hpp"

using namespace galml;
using namespace cuda_test;

namespace {

template <class NetT>
void same_on_both(int64_t N, double tol = 2e-4) {
  using MC = Model<NetT, float>;
  using MG = Model<NetT, float, cuda>;
  manual_seed(13);
  MC mc;
  MG mg;
  mg.load_state_dict(mc.state_dict());
  for (auto* ctx : {&mc.context(), &mg.context()}) { ctx->seed = 5; ctx->step = 2; }
  mc.train();
  mg.train();
  Rng rng(7);
  const auto shapes = MC::front_t::sample_shapes();
  std::array<Tensor<float>, MC::num_inputs> xs;
  std::array<Tensor<float, cuda>, MC::num_inputs> gxs;
  for (size_t k = 0; k < MC::num_inputs; ++k) {
    std::vector<int64_t> s{N};
    s.insert(s.end(), shapes[k].begin(), shapes[k].end());
    xs[k] = Tensor<float>::zeros(s);
    for (int64_t i = 0; i < xs[k].numel(); ++i) xs[k][i] = float(rng.normal());
    gxs[k] = to_device(xs[k]);
  }
  if constexpr (MC::multi_input) { mc.forward(xs); mg.forward(gxs); }
  else { mc.forward(xs[0]); mg.forward(gxs[0]); }
  std::array<std::vector<float>, MC::num_heads> dys;
  std::array<Tensor<float, cuda>, MC::num_heads> gdys;
  std::array<const float*, MC::num_heads> pc{}, pg{};
  for (size_t h = 0; h < MC::num_heads; ++h) {
    INFO("head " << h);
    const auto& y = mc.output(h);
    CHECK(max_rel(host(mg.output(h)), std::vector<float>(y.data(), y.data() + y.numel())) < tol);
    dys[h].resize(size_t(y.numel()));
    for (auto& v : dys[h]) v = float(rng.normal());
    gdys[h] = dev(dys[h]);
    pc[h] = dys[h].data();
    pg[h] = gdys[h].data();
  }
  mc.zero_grad();
  mg.zero_grad();
  mc.backward(pc);
  mg.backward(pg);
  CHECK(max_rel(host_ptr(mg.grads(), MC::num_params), std::vector<float>(mc.grads(), mc.grads() + MC::num_params)) < 10 * tol);
}

}  // namespace

TEST_CASE("GCSNet on CUDA matches the CPU", "[cuda][models]") {
  GALML_SKIP_WITHOUT_CUDA();
  same_on_both<models::GCSNet<>>(2);
  same_on_both<models::GCSNet_SpecOnly<>>(3);
}

TEST_CASE("MMLforGalAM M1-M4 on CUDA match the CPU", "[cuda][models]") {
  GALML_SKIP_WITHOUT_CUDA();
  same_on_both<models::MMLforGalAM_M1>(2);
  same_on_both<models::MMLforGalAM_M2<64>>(2);
  same_on_both<models::MMLforGalAM_M3<64>>(2);
  same_on_both<models::MMLforGalAM_M4<>>(3);
}

TEST_CASE("The stellar networks on CUDA match the CPU", "[cuda][models]") {
  GALML_SKIP_WITHOUT_CUDA();
  same_on_both<models::StellarMLPCNNTransformer<>>(2);
  same_on_both<models::StellarMLPCNNHadamard<>>(2);
  same_on_both<models::StellarMLPResNet<>>(2);
}
