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

// Float: outputs within 2e-4, parameter and input gradients within 2e-3 of each tensor's largest magnitude.
#define SAME_ON_BOTH(NET, N) CUDA_TEST_SAME_ON_BOTH(NET, float, N, 2e-4, 2e-3)

TEST_CASE("GCSNet on CUDA matches the CPU", "[cuda][models]") {
  GALML_SKIP_WITHOUT_CUDA();
  SAME_ON_BOTH(models::GCSNet<>, 2);
  SAME_ON_BOTH(models::GCSNet_SpecOnly<>, 3);
}

TEST_CASE("MMLforGalAM M1-M4 on CUDA match the CPU", "[cuda][models]") {
  GALML_SKIP_WITHOUT_CUDA();
  SAME_ON_BOTH(models::MMLforGalAM_M1, 2);
  SAME_ON_BOTH(models::MMLforGalAM_M2<64>, 2);
  SAME_ON_BOTH(models::MMLforGalAM_M3<64>, 2);
  SAME_ON_BOTH(models::MMLforGalAM_M4<>, 3);
}

TEST_CASE("The stellar networks on CUDA match the CPU", "[cuda][models]") {
  GALML_SKIP_WITHOUT_CUDA();
  SAME_ON_BOTH(models::StellarMLPCNNTransformer<>, 2);
  SAME_ON_BOTH(models::StellarMLPCNNHadamard<>, 2);
  SAME_ON_BOTH(models::StellarMLPResNet<>, 2);
}
