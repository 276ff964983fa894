#pragma once
// GCSNet (spec: shared/spec/architectures.md §3.2, §3.5): image + spectrum + tabular -> 4-class galaxy
// classification (SF, Composite, AGN, Normal) with a cosine head, plus the auxiliary AGN-vs-rest head.
//
//   galml::Model<galml::models::GCSNet<>> m;            // 423,682 parameters (spec §3.2)
//   m.forward({{"spectrum", s}, {"image", im}, {"tabular", t}});   // [N,1,3843], [N,3,300,300], [N,4]
//   m.output("cls");  m.output("agn");                  // 4 and 2 scaled-cosine logits
//
// Each encoder gives 16 tokens x 128; the join concatenates them along the token axis in the order
// [spec, img, meta] (F1); the trunk is the fusion (F2-F5), the flatten (F6) and the L2 normalisation
// (H1); the heads are the cosine classifiers (H2-H3, X1). Kernel sizes, downsampling, intermediate
// channels, padding and the auxiliary head are the spec's [ASSUMPTION]s (§3.5 items 1-5).
// A per-token Linear is written as a k=1 Conv1D on the channels-first (128 x 16) map: the same
// function and parameter count; its weight is [128, 128, 1] instead of Linear's [128, 128].
//
// Variants (ablation tables, spec §3.2): GCSNet<SpecLen, TabFeatures, WithImage, WithTabular>:
//   all                  GCSNet<>                          obs spectra, L = 3843
//   all_noz              GCSNet_AllNoZ<>                   tabular without z (3 features)
//   spec_img             GCSNet_SpecImg<>
//   spec_tabular_noz     GCSNet_SpecTabular<3843, 3>       (noew also 3 features, ewonly 1)
//   spec_only            GCSNet_SpecOnly<>
//   rest-frame spectra   SpecLen = 1600, e.g. GCSNet<1600>
// The fusion stage is always kept; missing modalities drop out of F1 and F5.
//
// GaSNet baseline (spec §3.6): not provided, see the note in galml/models/resnet1d.hpp.
#include <type_traits>

#include "galml/graph/model.hpp"
#include "galml/layers/activation.hpp"
#include "galml/layers/attention.hpp"
#include "galml/layers/batchnorm.hpp"
#include "galml/layers/batchnorm2d.hpp"
#include "galml/layers/concat.hpp"
#include "galml/layers/conv1d.hpp"
#include "galml/layers/conv2d.hpp"
#include "galml/layers/cosine_head.hpp"
#include "galml/layers/dense.hpp"
#include "galml/layers/identity.hpp"
#include "galml/layers/l2norm.hpp"
#include "galml/layers/layernorm.hpp"
#include "galml/layers/pool1d.hpp"
#include "galml/layers/pool2d.hpp"
#include "galml/layers/reshape.hpp"
#include "galml/layers/residual.hpp"
#include "galml/layers/transpose.hpp"
#include "galml/models/resnet1d.hpp"  // detail::branch_of helpers

namespace galml::models {

inline constexpr int kGCSNetTokens = 16, kGCSNetDim = 128;

// Image encoder, 3 x 300 x 300 -> F_img 16 x 128 (110,208 parameters).
using GCSNetImageEncoder = detail::layers<Conv2D<32, 3, 1, Padding::same>, BatchNorm2D<>, ReLU,    // row 1: 32 x 300 x 300
                                          MaxPool2D<2>,                                            // row 2: 32 x 150 x 150
                                          Conv2D<64, 3, 1, Padding::same>, BatchNorm2D<>, ReLU,    // row 3: 64 x 150 x 150
                                          MaxPool2D<2>,                                            // row 4: 64 x 75 x 75
                                          Conv2D<128, 3, 1, Padding::same>, BatchNorm2D<>, ReLU,   // row 5: 128 x 75 x 75
                                          AdaptiveAvgPool2D<4, 4>,                                 // row 6: 128 x 4 x 4
                                          Reshape<128, 16>,                                        // row 7: grid row-major
                                          Conv1D<128, 1>,                                          // row 8: Linear 128->128 per token
                                          Transpose>;                                              //        -> 16 x 128

// Spectral encoder, 1 x L -> F_spec 16 x 128 (56,320 parameters); padding floor(k/2).
using GCSNetSpectralEncoder = detail::layers<Conv1D<32, 11, 2, 5>, BatchNorm1D<>, ReLU,   // row 1: 32 x 1922 (obs)
                                             Conv1D<64, 7, 2, 3>, BatchNorm1D<>, ReLU,    // row 2: 64 x 961
                                             Conv1D<128, 5, 1, 2>, BatchNorm1D<>, ReLU,   // row 3: 128 x 961
                                             AdaptiveAvgPool1D<16>,                       // row 4: 128 x 16
                                             Transpose>;                                  // row 5: 16 x 128

// Tabular encoder, F features -> F_meta 16 x 128 (141,696 parameters with F = 4).
using GCSNetTabularEncoder = detail::layers<Dense<64>, ReLU,          // row 1
                                            Dense<64>, ReLU,          // row 2
                                            Dense<2048>,              // row 3
                                            LayerNorm<>, ReLU,        // row 4
                                            Reshape<16, 128>>;        // row 5

// Fusion on the F1 tokens (T x 128) -> F_final = [F1; F_fused] ((T + 16) x 128); 66,304 parameters.
using GCSNetFusion = Concat<0,
                            Identity,                                     // F5 skip: [F_spec, F_img, F_meta]
                            Chain<Residual<MultiHeadSelfAttention<4>>,    // F2 + F3 residual: F1 + MHSA(F1)
                                  LayerNorm<>,                            // F3 (post-norm)
                                  Transpose,                              // F4: 128 x T
                                  AdaptiveAvgPool1D<16>,                  //     128 x 16 (T = 48: bins of 3 tokens)
                                  Transpose>>;                            //     F_fused 16 x 128

namespace detail {
template <int SpecLen> using gcs_spec_branch = branch_of<"spectrum", Shape<1, SpecLen>, GCSNetSpectralEncoder>;
using gcs_image_branch = branch_of<"image", Shape<3, 300, 300>, GCSNetImageEncoder>;
template <int TabFeatures> using gcs_tab_branch = branch_of<"tabular", Shape<TabFeatures>, GCSNetTabularEncoder>;

template <int SpecLen, int TabFeatures, bool WithImage, bool WithTabular> struct gcs_inputs;
template <int L, int F> struct gcs_inputs<L, F, true, true> { using type = Inputs<JoinConcat<0>, gcs_spec_branch<L>, gcs_image_branch, gcs_tab_branch<F>>; };
template <int L, int F> struct gcs_inputs<L, F, true, false> { using type = Inputs<JoinConcat<0>, gcs_spec_branch<L>, gcs_image_branch>; };
template <int L, int F> struct gcs_inputs<L, F, false, true> { using type = Inputs<JoinConcat<0>, gcs_spec_branch<L>, gcs_tab_branch<F>>; };
template <int L, int F> struct gcs_inputs<L, F, false, false> { using type = Inputs<JoinConcat<0>, gcs_spec_branch<L>>; };
}  // namespace detail

template <int SpecLen = 3843, int TabFeatures = 4, bool WithImage = true, bool WithTabular = true>
using GCSNet = Net<typename detail::gcs_inputs<SpecLen, TabFeatures, WithImage, WithTabular>::type,  // F1
                   GCSNetFusion,                                                                    // F2-F5
                   Flatten,                                                                         // F6: token-major
                   L2Normalize<>,                                                                   // H1: x / max(|x|, 1e-12)
                   Heads<Head<"cls", CosineHead<4>>,        // H2-H3: 4 x D weights (rows normalised), scale init 30
                         Head<"agn", CosineHead<2>>>>;      // X1: AGN vs rest, own weights and scale
// (CosineHead normalises its input again: a no-op on the unit vector H1 gives it.)

template <int SpecLen = 3843> using GCSNet_AllNoZ = GCSNet<SpecLen, 3>;
template <int SpecLen = 3843> using GCSNet_SpecImg = GCSNet<SpecLen, 4, true, false>;
template <int SpecLen = 3843, int TabFeatures = 4> using GCSNet_SpecTabular = GCSNet<SpecLen, TabFeatures, false, true>;
template <int SpecLen = 3843> using GCSNet_SpecOnly = GCSNet<SpecLen, 4, false, false>;

namespace detail {
template <class N> inline constexpr int64_t gcs_params = Model<N>::num_params;
}
// Spec §3.2: image 110,208 + spectral 56,320 + tabular 141,696 + MHSA/LN 66,304 + main head 32,769
// + auxiliary head 16,385.
static_assert(detail::gcs_params<GCSNet<>> == 423682, "GCSNet must have 423,682 parameters");
static_assert(detail::gcs_params<GCSNet<1600>> == 423682, "the rest-frame input changes no parameter count");

}  // namespace galml::models
