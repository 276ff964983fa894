#pragma once
// MMLforGalAM (spec: shared/spec/architectures.md §2.2, §2.5): log age and [M/H] of a galaxy from its
// spectrum and its gri image, in four networks trained one after the other (§2.3):
//
//   MMLforGalAM_M1        spectrum 1x4171 -> (scaled logAge, [M/H]); head "feature" = F_spec_real (1024)
//   MMLforGalAM_M2        image 3x128x128 -> F_spec_sim (1024), trained against F_spec_real
//   MMLforGalAM_M3        image 3x128x128 -> (logAge, [M/H]);      head "feature" = F_img (1024)
//   MMLforGalAM_M4Fusion  (S = F_spec_sim, I = F_img) -> fused 1024 (rows A0-A6)
//   MMLforGalAM_M4MLP     min-max-normalised fused 1024 -> (logAge, [M/H]) (rows B1-B7)
//   MMLforGalAM_M4        (S, I) -> (logAge, [M/H]): A0-A7 + B1-B7 as ONE network, A7 = MinMaxNormalize
//
// The tables are Keras layouts (channels-last); galml is channels-first, so inputs are [N, 1, 4171]
// and [N, 3, 128, 128], and the Flatten before the first Dense is FlattenChannelsLast (Keras' order:
// index = position * C + channel), so a Keras Dense kernel loads unchanged after the usual transpose.
// Keras kernels of Conv1D/Conv2D are [K, (K,) In, Out]: permute to galml's [Out, In, K(, K)].
// Build the models with Init::glorot_uniform for Keras' defaults (Glorot-uniform kernels, zero biases).
// The L2(1e-3) kernel penalties (all M1 convolutions; the first two convolutions of every M3 block)
// belong to the loss, not to the layers: see the *_l2_layers lists below.
#include <array>
#include <cstdint>
#include <string_view>

#include "galml/graph/model.hpp"
#include "galml/layers/activation.hpp"
#include "galml/layers/attention.hpp"
#include "galml/layers/conv1d.hpp"
#include "galml/layers/conv2d.hpp"
#include "galml/layers/dense.hpp"
#include "galml/layers/dropout.hpp"
#include "galml/layers/flatten_channels_last.hpp"
#include "galml/layers/frozen.hpp"
#include "galml/layers/layernorm.hpp"
#include "galml/layers/minmax.hpp"
#include "galml/layers/pool1d.hpp"
#include "galml/layers/pool2d.hpp"
#include "galml/layers/reshape.hpp"
#include "galml/layers/transpose.hpp"
#include "galml/models/resnet1d.hpp"  // detail::flat / branch_of helpers

namespace galml::models {

// ---------------------------------------------------------------------------------------------
// M1: spectral feature extractor / spectra-only model (36,907,229 parameters).
// Keras Conv1D "valid", stride 1, k = 3; MaxPooling1D(3) = pool 3, stride 3, valid.
template <int Channels>
using MMLConv1DBlock = detail::layers<Conv1D<Channels, 3>, ReLU,   // rows 1, 4, 7, 10
                                      Conv1D<Channels, 3>, ReLU,   // rows 2, 5, 8, 11
                                      MaxPool1D<3>>;               // rows 3, 6, 9, 12

using MMLforGalAM_M1 = detail::flat_net<Input<"spectrum", 1, 4171>,
                                        MMLConv1DBlock<16>,     // 16 x 1389
                                        MMLConv1DBlock<32>,     // 32 x 461
                                        MMLConv1DBlock<64>,     // 64 x 152
                                        MMLConv1DBlock<128>,    // 128 x 49
                                        FlattenChannelsLast,    // row 13: 6272, index = l*128 + c
                                        Dense<4171>, ReLU,      // row 14
                                        Dense<2048>, ReLU,      // row 15
                                        Dense<1024>, ReLU,      // row 16: F_spec_real
                                        Heads<Head<"y", Dense<2>>,   // row 17: scaled (logAge, [M/H])
                                              Head<"feature">>>;     // F_spec_real itself (identity head)

// Trunk positions of the L2(1e-3)-regularised kernels (Keras kernel_regularizer): all 8 convolutions.
inline constexpr std::array<int, 8> mml_m1_l2_layers{0, 2, 5, 7, 10, 12, 15, 17};

// ---------------------------------------------------------------------------------------------
// M2: image -> simulated spectral feature F_spec_sim (10,876,224 parameters). Conv2D 3x3 "valid",
// MaxPooling2D 2x2, no L2. ImageSize / Bands: Appendix A.1 (64x64) and A.2 (g, r, i, gr, gi, ri:
// one channel per band).
template <int Channels>
using MMLConv2DValidBlock = detail::layers<Conv2D<Channels, 3>, ReLU, MaxPool2D<2>>;

template <int ImageSize = 128, int Bands = 3>
using MMLforGalAM_M2 = detail::flat_net<Input<"image", Bands, ImageSize, ImageSize>,
                                        MMLConv2DValidBlock<32>,    // rows 1-2: 32 x 63 x 63
                                        MMLConv2DValidBlock<64>,    // rows 3-4: 64 x 30 x 30
                                        MMLConv2DValidBlock<128>,   // rows 5-6: 128 x 14 x 14
                                        MMLConv2DValidBlock<256>,   // rows 7-8: 256 x 6 x 6
                                        FlattenChannelsLast,        // row 9: 9216 in (H, W, C) order
                                        Dropout<0.3>,               // row 10
                                        Dense<1024>, ReLU,          // row 11
                                        Dropout<0.3>,               // row 12
                                        Dense<1024>>;               // row 13: F_spec_sim (linear)

// ---------------------------------------------------------------------------------------------
// M3: image feature extractor / image-only model (37,612,802 parameters). Conv2D 3x3 "same".
template <int Channels>
using MMLConv2DSameBlock = detail::layers<Conv2D<Channels, 3, 1, Padding::same>, ReLU,   // L2
                                          Conv2D<Channels, 3, 1, Padding::same>, ReLU,   // L2
                                          Conv2D<Channels, 3, 1, Padding::same>, ReLU,   // no L2
                                          MaxPool2D<2>>;

template <int ImageSize = 128, int Bands = 3>
using MMLforGalAM_M3 = detail::flat_net<Input<"image", Bands, ImageSize, ImageSize>,
                                        MMLConv2DSameBlock<32>,     // rows 1-4:   32 x 64 x 64
                                        MMLConv2DSameBlock<64>,     // rows 5-8:   64 x 32 x 32
                                        MMLConv2DSameBlock<128>,    // rows 9-12:  128 x 16 x 16
                                        MMLConv2DSameBlock<256>,    // rows 13-16: 256 x 8 x 8
                                        FlattenChannelsLast,        // row 17: 16384
                                        Dense<2048>, ReLU,          // row 18
                                        Dense<1024>, ReLU,          // row 19: F_img
                                        Heads<Head<"y", Dense<2>>,  // row 20
                                              Head<"feature">>>;    // F_img itself

// The first two convolutions of each block carry L2(1e-3).
inline constexpr std::array<int, 8> mml_m3_l2_layers{0, 2, 7, 9, 14, 16, 21, 23};

// ---------------------------------------------------------------------------------------------
// M4 = fusion (A0-A6) -> per-sample min-max (A7) -> MLP (B1-B7), in two forms:
//   * two networks, MMLforGalAM_M4Fusion and MMLforGalAM_M4MLP, with A7 between them as data code
//     (galml::data::MinMaxNormalize, or the MinMaxNormalize layer as a one-layer net). This is the
//     reference code's path (fusion computed once for all samples as preprocessing, then only the MLP
//     trained, spec §2.3 steps 6-7);
//   * one network, MMLforGalAM_M4<Trainable, Seed> (end of this file), with A7 the MinMaxNormalize
//     layer, so gradients flow from the MLP through the min-max into the fusion (spec §2.5 item 4,
//     "fusion=trainable"); MMLforGalAM_M4<false> is the reference path as one network.
//
// Fusion (33,582,080 parameters: attention 33,580,032 + LayerNorm 2,048). Keras MultiHeadAttention,
// 8 heads, key_dim = value_dim = 1024 PER HEAD, query S, key = value I, each a single token.
// The residual A3 needs S after the attention, but an attention JOIN (Inputs<KerasMultiHeadAttention,
// S, I>) outputs only A2, so S would be lost. It is written instead with the property of §2.2: with one
// key/value token the softmax weight is exactly 1 and the query has no influence, A2 = attn(I, I, I).
// So branch "I" applies the same Keras layer (same parameters, names and shapes: query/key/value/
// attention_output kernels [1024, 8, 1024] ... [8, 1024, 1024]) to its one token, the branches are
// concatenated as two tokens [S; A2], and the residual sum is their mean times 2, absorbed exactly
// by the LayerNorm: LN_eps(x) = LN_{eps/4}(x / 2) (mean and deviation halve, variance quarters).
// Hence LayerNorm<Eps / 4> after a mean over the two tokens == Keras LayerNormalization(1e-3)(A2 + S),
// with the same gamma/beta. Gradients match too (the query and key get zero gradient either way).
//   Trainable = true:  the paper's reading (A2-A4 learned end to end, dropout 0.1 active in training).
//   Trainable = false: the reference code's frozen_random mode (default, spec §2.5 item 4): the
//     attention is FixedRandom (Keras Glorot init from Rng(Seed), never trained) and the LayerNorm
//     frozen at gamma = 1, beta = 0; run it in eval mode (dropout off, as in the reference).
inline constexpr double kKerasLayerNormEps = 1e-3;

namespace detail {
template <bool Trainable, uint64_t Seed>
using mml_attention = std::conditional_t<Trainable, KerasMultiHeadAttention<8, 1024>,
                                         FixedRandom<KerasMultiHeadAttention<8, 1024>, Seed>>;
template <bool Trainable>
using mml_fusion_norm = std::conditional_t<Trainable, LayerNorm<kKerasLayerNormEps / 4>, Frozen<LayerNorm<kKerasLayerNormEps / 4>>>;
}  // namespace detail

namespace detail {
template <bool Trainable, uint64_t Seed>
using mml_fusion_inputs = Inputs<JoinConcat<0>,                                 // -> [S; A2] as 2 x 1024
                                 Branch<"S", Shape<1024>, Reshape<1, 1024>>,    // A0-A1: F_spec_sim as one token
                                 Branch<"I", Shape<1024>, Reshape<1, 1024>,     // A0-A1: F_img as one token
                                        mml_attention<Trainable, Seed>>>;       // A2 (query-independent, see above)
}  // namespace detail

template <bool Trainable = false, uint64_t Seed = 42>
using MMLforGalAM_M4Fusion =
    Net<detail::mml_fusion_inputs<Trainable, Seed>,
        Transpose,                                                   // 1024 x 2
        GlobalAvgPool1D,                                             // A3: (S + A2) / 2, also the A6 squeeze
        detail::mml_fusion_norm<Trainable>,                          // A4: == LayerNorm(eps 1e-3)(S + A2)
        Dropout<0.1>>;                                               // A5

// MLP on the min-max-normalised fused feature (4,788,098 parameters). Also "MMLforGalAMwithReal"
// (the same network fed with fusion(F_spec_real, F_img)).
namespace detail {
using mml_m4_mlp = layers<Dense<2048>, ReLU,      // B1
                          Dense<1024>, ReLU,      // B2
                          Dense<512>, ReLU,       // B3
                          Dropout<0.2>,           // B4
                          Dense<128>, ReLU,       // B5
                          Dropout<0.2>,           // B6
                          Dense<2>>;              // B7: scaled (logAge, [M/H])
}  // namespace detail
using MMLforGalAM_M4MLP = detail::flat_net<Input<"fused", 1024>, detail::mml_m4_mlp>;

// The whole M4 as one network (38,370,178 parameters = fusion 33,582,080 + MLP 4,788,098), inputs
// "S" = F_spec_sim and "I" = F_img, output the scaled (logAge, [M/H]). Parameters are laid out as
// MMLforGalAM_M4Fusion's followed by MMLforGalAM_M4MLP's (same names up to the trunk index).
//   Trainable = true (default here): the paper's reading, fusion and MLP trained end to end; the
//     gradient reaches the fusion through A7 (MinMaxNormalize: through every element and the first
//     min/max; a sample whose fused vector is constant gets output 0 and no gradient).
//   Trainable = false: the reference path in one network: frozen random attention and frozen
//     LayerNorm, only the MLP learns. A5 is left out here, because the reference applies the fusion
//     outside training (dropout inactive) while the MLP trains with B4/B6 active in train mode.
template <bool Trainable = true, uint64_t Seed = 42>
using MMLforGalAM_M4 =
    detail::flat_net<detail::mml_fusion_inputs<Trainable, Seed>,                         // A0-A2
                     Transpose, GlobalAvgPool1D,                                         // A3 (+ A6 squeeze), see above
                     detail::mml_fusion_norm<Trainable>,                                 // A4
                     std::conditional_t<Trainable, detail::layers<Dropout<0.1>>, detail::layers<>>,  // A5
                     MinMaxNormalize,                                                    // A7: per sample, over 1024
                     detail::mml_m4_mlp>;                                                // B1-B7

namespace detail {
template <class N> inline constexpr int64_t mml_params = Model<N>::num_params;
}
// Spec §2.2 totals.
static_assert(detail::mml_params<MMLforGalAM_M1> == 36907229, "M1: convolutions 98,064 + dense 36,809,165");
static_assert(detail::mml_params<MMLforGalAM_M2<>> == 10876224, "M2: 10,876,224 parameters");
static_assert(detail::mml_params<MMLforGalAM_M3<>> == 37612802, "M3: convolutions 1,956,096 + dense 35,656,706");
static_assert(detail::mml_params<MMLforGalAM_M4Fusion<>> == 33580032 + 2048, "M4 fusion: attention + LayerNorm");
static_assert(detail::mml_params<MMLforGalAM_M4MLP> == 4788098, "M4 MLP: 4,788,098 parameters");
static_assert(detail::mml_params<MMLforGalAM_M4<>> == 33582080 + 4788098, "M4 end to end: fusion + MLP");
static_assert(detail::mml_params<MMLforGalAM_M4<false>> == 33582080 + 4788098, "M4 end to end: same layout frozen");

}  // namespace galml::models
