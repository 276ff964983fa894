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

using Vit = Net<Input<"spec", 1, 48>, PatchEmbed1D<8, 4>, ClsToken<8>, PositionalEmbedding, TransformerEncoderLayer<2, 16, 0.1>,
                TransformerEncoderLayer<2, 16, 0.1>, LayerNorm<>, TokenPool<TokenPooling::cls>,
                Heads<Head<"age", Dense<1>>, Head<"stage", Dense<5>>>>;
using KerasSelf = Net<Input<"x", 4, 5>, KerasMultiHeadAttention<2, 3>, Flatten, Heads<Head<"y", Dense<3>>>>;
using Gated = Net<Input<"x", 4, 6>, HadamardGatedAttention<3>, Flatten, Heads<Head<"y", Dense<2>>>>;
using GatedSigmoid = Net<Input<"x", 4, 6>, HadamardGatedAttention<3, GatedVariant::sigmoid_qk>, Flatten, Heads<Head<"y", Dense<2>>>>;
using Cosine = Net<Input<"x", 2, 5>, Flatten, L2Normalize<>, Heads<Head<"main", CosineHead<4>>, Head<"aux", CosineHead<2>>>>;

}  // namespace

// Double: outputs, parameter and input gradients within 1e-11 of each tensor's largest magnitude.
#define SAME_ON_BOTH(NET, N) CUDA_TEST_SAME_ON_BOTH(NET, double, N, 1e-11, 1e-11)

TEST_CASE("A ViT-style encoder with attention dropout on CUDA matches the CPU (double)", "[cuda][model][attention]") {
  GALML_SKIP_WITHOUT_CUDA();
  SAME_ON_BOTH(Vit, 5);  // training mode: attention and layer dropout active
}

TEST_CASE("Keras self-attention, gated attention and cosine heads on CUDA match the CPU (double)", "[cuda][model][attention]") {
  GALML_SKIP_WITHOUT_CUDA();
  SAME_ON_BOTH(KerasSelf, 4);
  SAME_ON_BOTH(Gated, 4);
  SAME_ON_BOTH(GatedSigmoid, 4);  // attention weights through the sigmoid path
  SAME_ON_BOTH(Cosine, 6);
}
