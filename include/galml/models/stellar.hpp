#pragma once
// Multimodal multi-head stellar network (Puah & Arsovski; spec: shared/spec/architectures.md §4.2,
// §4.5): 29 photometric features and a 1x6800 rest-frame spectrum -> log age, log lifetime (1 value
// each) and the evolutionary stage (5 logits). The eight variants of the paper's Table 1:
//
//   ID  type                              photometric   spectral branch                   attention
//   1   StellarMLPOnly                    MLP           -                                  -
//   2   StellarResNetOnly                 -             1-D ResNet                         -
//   3   StellarSpectraTransformer         -             patch embedding + Transformer      standard
//   4   StellarSpectraHadamard            -             patch embedding + Transformer      Hadamard gated
//   5   StellarMLPResNet                  MLP           1-D ResNet                         -
//   6   StellarMLPCNNTransformer (final)  MLP           CNN stem + Transformer             standard
//   7   StellarMLPCNNHadamard             MLP           CNN stem + Transformer             Hadamard gated
//   8   StellarMLPTransformer             MLP           patch embedding + Transformer      standard
//
//   galml::Model<galml::models::StellarMLPCNNTransformer<>> m;   // Model 6: 4,613,255 parameters
//   m.forward({{"phot", x29}, {"spectrum", s}});                   // [N, 29], [N, 1, 6800]
//   m.output("age"), m.output("lifetime"), m.output("stage")
//
// Template parameters (Tables 2, 5, 6): Depth = Spec-Depth (encoder layers; BasicBlocks for the
// ResNet), Width = Spec-Width (d_model; the ResNet's output Linear), MlpDepth/MlpWidth,
// FusionDepth/FusionWidth, PhotFeatures (29; 26 for the no-leak feature set of §4.5 item 1).
// The paper fixes only Model 6's depths and widths (4, 256, 2 x 256, 4 x 512) and "standard
// multi-head attention"; everything else is the spec's ViT-style [ASSUMPTION] (§4.2): 8 heads of
// Width/8, FFN 4 x Width with GELU, pre-LN, dropout 0.1, learned [CLS] + positional embedding, final
// LayerNorm, CLS pooling (mean pooling with Hadamard attention, see StellarEncoder). The Phase I baseline is probably Depth 2 (§4.5 item 5).
// Single-modality models feed their one branch straight into the fusion MLP (same heads).
#include <type_traits>

#include "galml/graph/model.hpp"
#include "galml/layers/activation.hpp"
#include "galml/layers/batchnorm.hpp"
#include "galml/layers/conv1d.hpp"
#include "galml/layers/dense.hpp"
#include "galml/layers/dropout.hpp"
#include "galml/layers/gated_attention.hpp"
#include "galml/layers/layernorm.hpp"
#include "galml/layers/residual.hpp"
#include "galml/layers/tokens.hpp"
#include "galml/layers/transformer.hpp"
#include "galml/layers/transpose.hpp"
#include "galml/models/resnet1d.hpp"

namespace galml::models {

inline constexpr int kStellarSpectrumLength = 6800;
inline constexpr double kStellarDropout = 0.1;
enum class StellarAttention { standard, hadamard };

// Photometric MLP (rows 1-2): MlpDepth x (Linear -> ReLU -> Dropout 0.1).
template <int MlpDepth = 2, int MlpWidth = 256>
using StellarMLP = detail::repeat<MlpDepth, detail::layers<Dense<MlpWidth>, ReLU, Dropout<kStellarDropout>>>;

// CNN stem (rows 1-5): 1 x 6800 -> 425 x Width tokens.
template <int Width = 256>
using StellarCNNStem = detail::layers<Conv1D<32, 7, 2, 3>, BatchNorm1D<>, ReLU,      // row 1: 32 x 3400
                                      Conv1D<64, 5, 2, 2>, BatchNorm1D<>, ReLU,      // row 2: 64 x 1700
                                      Conv1D<128, 5, 2, 2>, BatchNorm1D<>, ReLU,     // row 3: 128 x 850
                                      Conv1D<Width, 5, 2, 2>, BatchNorm1D<>, ReLU,   // row 4: Width x 425
                                      Transpose>;                                    // row 5: 425 x Width

// Patch embedding for the Transformers without CNN (Models 3, 4, 8): Conv1d(1 -> Width, k = s = 16),
// 425 tokens like the stem.
template <int Width = 256>
using StellarPatchStem = detail::layers<PatchEmbed1D<Width, 16>>;

// Pre-LN encoder layer with Hadamard gated attention (Models 4, 7): TransformerEncoderLayer with its
// attention replaced (TransformerEncoderLayer is built on MultiHeadSelfAttention only), written from
// its parts. The per-token FFN is a k=1 Conv1D pair on the transposed (Width x T) sequence: the same
// function and parameter count as Linear -> GELU -> Linear (weights [FF, Width, 1], [Width, FF, 1]).
//   x = x + Dropout(HGA(LN1(x)));  y = x + Dropout(W2 Dropout(GELU(W1 LN2(x))))
template <int Width = 256, int Heads = 8>
using HadamardEncoderLayer =
    detail::layers<Residual<Chain<LayerNorm<>, HadamardGatedAttention<Heads>, Dropout<kStellarDropout>>>,
                   Residual<Chain<LayerNorm<>, Transpose, Conv1D<4 * Width, 1>, GELU, Dropout<kStellarDropout>,
                                  Conv1D<Width, 1>, Transpose, Dropout<kStellarDropout>>>>;

template <StellarAttention A, int Width>
using StellarEncoderLayer = std::conditional_t<A == StellarAttention::standard,
                                               TransformerEncoderLayer<8, 4 * Width, kStellarDropout, true, GELU>,
                                               HadamardEncoderLayer<Width, 8>>;

// Pooling of the encoded tokens. Standard attention: the [CLS] token (spec §4.2 row 12). Hadamard
// gated attention mixes NO information between tokens (element-wise gate, per-token FFN), so the
// [CLS] output would depend on the [CLS] parameters only and the spectrum would never reach the heads
// (the paper's Model 4 learns from spectra alone, so that cannot be what it did): the Hadamard
// encoders average all 426 tokens instead (spec §4.5 item 3 leaves CLS-or-mean open). The [CLS]
// token is kept there so that Models 6 and 7 have the same parameters.
template <StellarAttention A>
inline constexpr TokenPooling stellar_pooling = A == StellarAttention::standard ? TokenPooling::cls : TokenPooling::mean;

// Encoder (rows 6-12): [CLS] + positional embedding, Depth layers, final LayerNorm, pooling -> Width.
template <StellarAttention A = StellarAttention::standard, int Depth = 4, int Width = 256>
using StellarEncoder = detail::layers<ClsToken<Width>,                            // row 6: 426 x Width
                                      PositionalEmbedding,                        // row 7
                                      detail::repeat<Depth, StellarEncoderLayer<A, Width>>,   // rows 8-11
                                      LayerNorm<>, TokenPool<stellar_pooling<A>>>;  // row 12: h_spec

// Fusion (rows 14-17) and the three heads.
template <int FusionDepth = 4, int FusionWidth = 512>
using StellarFusion = detail::repeat<FusionDepth, detail::layers<Dense<FusionWidth>, ReLU, Dropout<kStellarDropout>>>;
using StellarHeads = Heads<Head<"age", Dense<1>>,        // H_age: log age (standardised)
                           Head<"lifetime", Dense<1>>,   // H_life: log lifetime (standardised)
                           Head<"stage", Dense<5>>>;     // H_stage: 5 logits

namespace detail {
template <int F> using stellar_phot_input = Shape<F>;
using stellar_spec_shape = Shape<1, kStellarSpectrumLength>;

// Two branches joined by concatenation (row 13: [h_phot, h_spec]).
template <int PhotFeatures, class PhotLayers, class SpecLayers, class Fusion>
using stellar_two_branch = flat_net<Inputs<JoinConcat<0>,
                                           branch_of<"phot", stellar_phot_input<PhotFeatures>, PhotLayers>,
                                           branch_of<"spectrum", stellar_spec_shape, SpecLayers>>,
                                    Fusion, StellarHeads>;
}  // namespace detail

// ---- Model 1: MLP only --------------------------------------------------------------------------
template <int MlpDepth = 2, int MlpWidth = 256, int FusionDepth = 4, int FusionWidth = 512, int PhotFeatures = 29>
using StellarMLPOnly = detail::flat_net<Input<"phot", PhotFeatures>, StellarMLP<MlpDepth, MlpWidth>,
                                        StellarFusion<FusionDepth, FusionWidth>, StellarHeads>;

// ---- Model 2: 1-D ResNet only (Depth BasicBlocks, Linear -> Width) --------------------------------
template <int Depth = 4, int Width = 256, int FusionDepth = 4, int FusionWidth = 512>
using StellarResNetOnly = detail::flat_net<Input<"spectrum", 1, kStellarSpectrumLength>, ResNet1DBranch<Depth, Width>,
                                           StellarFusion<FusionDepth, FusionWidth>, StellarHeads>;

// ---- Models 3 and 4: spectra-only Transformer (patch embedding), standard or Hadamard attention ----
template <int Depth = 4, int Width = 256, int FusionDepth = 4, int FusionWidth = 512>
using StellarSpectraTransformer =
    detail::flat_net<Input<"spectrum", 1, kStellarSpectrumLength>, StellarPatchStem<Width>,
                     StellarEncoder<StellarAttention::standard, Depth, Width>, StellarFusion<FusionDepth, FusionWidth>, StellarHeads>;
template <int Depth = 4, int Width = 256, int FusionDepth = 4, int FusionWidth = 512>
using StellarSpectraHadamard =
    detail::flat_net<Input<"spectrum", 1, kStellarSpectrumLength>, StellarPatchStem<Width>,
                     StellarEncoder<StellarAttention::hadamard, Depth, Width>, StellarFusion<FusionDepth, FusionWidth>, StellarHeads>;

// ---- Model 5: MLP + 1-D ResNet ------------------------------------------------------------------
template <int Depth = 4, int Width = 256, int MlpDepth = 2, int MlpWidth = 256, int FusionDepth = 4, int FusionWidth = 512,
          int PhotFeatures = 29>
using StellarMLPResNet = detail::stellar_two_branch<PhotFeatures, StellarMLP<MlpDepth, MlpWidth>, ResNet1DBranch<Depth, Width>,
                                                    StellarFusion<FusionDepth, FusionWidth>>;

// ---- Model 6 (final): MLP + CNN + Transformer -----------------------------------------------------
template <int Depth = 4, int Width = 256, int MlpDepth = 2, int MlpWidth = 256, int FusionDepth = 4, int FusionWidth = 512,
          int PhotFeatures = 29>
using StellarMLPCNNTransformer =
    detail::stellar_two_branch<PhotFeatures, StellarMLP<MlpDepth, MlpWidth>,
                               detail::layers<StellarCNNStem<Width>, StellarEncoder<StellarAttention::standard, Depth, Width>>,
                               StellarFusion<FusionDepth, FusionWidth>>;

// ---- Model 7: MLP + CNN + Hadamard gated Transformer -----------------------------------------------
template <int Depth = 4, int Width = 256, int MlpDepth = 2, int MlpWidth = 256, int FusionDepth = 4, int FusionWidth = 512,
          int PhotFeatures = 29>
using StellarMLPCNNHadamard =
    detail::stellar_two_branch<PhotFeatures, StellarMLP<MlpDepth, MlpWidth>,
                               detail::layers<StellarCNNStem<Width>, StellarEncoder<StellarAttention::hadamard, Depth, Width>>,
                               StellarFusion<FusionDepth, FusionWidth>>;

// ---- Model 8: MLP + Transformer (patch embedding, no CNN) -----------------------------------------
template <int Depth = 4, int Width = 256, int MlpDepth = 2, int MlpWidth = 256, int FusionDepth = 4, int FusionWidth = 512,
          int PhotFeatures = 29>
using StellarMLPTransformer =
    detail::stellar_two_branch<PhotFeatures, StellarMLP<MlpDepth, MlpWidth>,
                               detail::layers<StellarPatchStem<Width>, StellarEncoder<StellarAttention::standard, Depth, Width>>,
                               StellarFusion<FusionDepth, FusionWidth>>;

namespace detail {
template <class N> inline constexpr int64_t stellar_params = Model<N>::num_params;
}
// Spec §4.2: stem 216,704 + encoder (with CLS and positional embedding) 3,268,864 + MLP 73,472
// + fusion 1,050,624 + heads 3,591.
static_assert(detail::stellar_params<StellarMLPCNNTransformer<>> == 4613255, "Model 6 must have 4,613,255 parameters");

}  // namespace galml::models
