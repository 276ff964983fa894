// PyTorch parity for the attention-family layers: tests/golden/make_layer_golden_attention.py runs
// torch 1.13 in float64 (nn.MultiheadAttention, nn.TransformerEncoderLayer, F.normalize, Conv1d, and
// hand-written references for CosineHead, HadamardGatedAttention, Keras MultiHeadAttention and the
// token layers) and stores input, parameters, output, upstream gradient, input and parameter
// gradients. Parameters are loaded through visit() (hierarchical names must equal PyTorch's
// named_parameters()) and everything is compared at 1e-10.
#include <catch2/catch.hpp>

#include "galml/galml.hpp"
#include "support/golden_parity.hpp"

using namespace galml;

namespace {
template <class Spec, class In> bool parity(const std::string& name) { return golden::parity<Spec, In>("attention", name); }
template <class Spec, class Q, class V> bool parity_join(const std::string& name) { return golden::parity_join<Spec, Q, V>("attention", name); }
}  // namespace

TEST_CASE("MultiHeadSelfAttention parity with torch.nn.MultiheadAttention", "[layers][parity][attention]") {
  CHECK(parity<MultiHeadSelfAttention<2>, Shape<5, 8>>("mhsa_h2"));
  CHECK(parity<MultiHeadSelfAttention<4>, Shape<3, 8>>("mhsa_h4"));
}

TEST_CASE("TransformerEncoderLayer parity with torch.nn.TransformerEncoderLayer", "[layers][parity][transformer]") {
  CHECK(parity<TransformerEncoderLayer<2, 12, 0.0, true, GELU>, Shape<4, 8>>("transformer_preln_gelu"));
  CHECK(parity<TransformerEncoderLayer<2, 12, 0.0, true, ReLU>, Shape<4, 8>>("transformer_preln_relu"));
  CHECK(parity<TransformerEncoderLayer<2, 12, 0.0, false, ReLU>, Shape<4, 8>>("transformer_postln_relu"));
  CHECK(parity<TransformerEncoderLayer<2, 12, 0.0, false, GELU>, Shape<4, 8>>("transformer_postln_gelu"));
}

TEST_CASE("L2Normalize parity with F.normalize and CosineHead parity", "[layers][parity][cosine]") {
  CHECK(parity<L2Normalize<>, Shape<7>>("l2norm_vec"));
  CHECK(parity<L2Normalize<>, Shape<3, 5>>("l2norm_rows"));
  CHECK(parity<CosineHead<4>, Shape<9>>("cosine_head"));
}

TEST_CASE("HadamardGatedAttention parity (hand-written torch reference)", "[layers][parity][gated]") {
  CHECK(parity<HadamardGatedAttention<2>, Shape<5, 8>>("gated_hadamard"));
  CHECK(parity<HadamardGatedAttention<2, GatedVariant::sigmoid_qk>, Shape<5, 8>>("gated_sigmoid_qk"));
}

TEST_CASE("KerasMultiHeadAttention parity (torch reference with Keras weight shapes)", "[layers][parity][keras]") {
  CHECK(parity_join<KerasMultiHeadAttention<2, 3, 4>, Shape<3, 5>, Shape<4, 6>>("keras_mha_join"));
  CHECK(parity<KerasMultiHeadAttention<2, 3>, Shape<4, 5>>("keras_mha_self"));
}

TEST_CASE("Token layers parity (Conv1d patch embedding, CLS + positions)", "[layers][parity][tokens]") {
  CHECK(parity<PatchEmbed1D<5, 3>, Shape<2, 14>>("patch_embed"));
  CHECK(parity<Chain<ClsToken<4>, PositionalEmbedding>, Shape<3, 4>>("cls_pos"));
  std::cout << "  attention parity: max error over all cases " << golden::max_error() << "\n";
}
