#pragma once
// MTLforGalSpecZ (spec: shared/spec/architectures.md §1.2): a 1-D CNN over a 1x5161 spectrum with
// squeeze-and-excitation attention and two heads, galaxy class (4 logits) and redshift z (1 value).
//
//   galml::Model<galml::models::MTLforGalSpecZ<>> model;   // padding 0 ("valid"), SE, dropout 0.5
//   model.forward(x);  model.output("cls");  model.output("z");
//
// Variants: MTLforGalSpecZ<1> (same padding), MTLforGalSpecZ_NoSE (attention ablation),
// MTLforGalSpecZ_Cls / MTLforGalSpecZ_Z (single-task networks: one head only).
#include <tuple>

#include "galml/graph/model.hpp"
#include "galml/layers/activation.hpp"
#include "galml/layers/conv1d.hpp"
#include "galml/layers/dense.hpp"
#include "galml/layers/dropout.hpp"
#include "galml/layers/pool1d.hpp"
#include "galml/layers/se_attention.hpp"

namespace galml::models {

namespace detail {
// A Net is a flat layer list; these helpers let the definition below be written block by block
// (as in the paper's figure) and still produce the flat list (so parameter names are "trunk.<i>.*").
template <class... Ls> struct layers {};
template <class... Lists> struct concat;
template <class X> struct as_layers { using type = layers<X>; };  // a layer, or a (nested) list of them
template <class... Ls> struct as_layers<layers<Ls...>> { using type = typename concat<typename as_layers<Ls>::type...>::type; };
template <> struct concat<> { using type = layers<>; };
template <class... A> struct concat<layers<A...>> { using type = layers<A...>; };
template <class... A, class... B, class... Rest> struct concat<layers<A...>, layers<B...>, Rest...> {
  using type = typename concat<layers<A..., B...>, Rest...>::type;
};
template <class In, class List> struct to_net;
template <class In, class... Ls> struct to_net<In, layers<Ls...>> { using type = Net<In, Ls...>; };
template <class In, class... Parts>
using flat_net = typename to_net<In, typename concat<typename as_layers<Parts>::type...>::type>::type;
}  // namespace detail

// One convolution block: two k=3, s=1 convolutions with ReLU, then a 3/3 max pool.
template <int Channels, int Padding>
using ConvBlock = detail::layers<Conv1D<Channels, 3, 1, Padding>, ReLU,
                                 Conv1D<Channels, 3, 1, Padding>, ReLU,
                                 MaxPool1D<3>>;

template <int Padding>
using Backbone = detail::layers<ConvBlock<16, Padding>,    // 16 x 1719   (padding 0)
                                ConvBlock<32, Padding>,    // 32 x 571
                                ConvBlock<64, Padding>,    // 64 x 189
                                ConvBlock<128, Padding>,   // 128 x 61
                                ConvBlock<256, Padding>>;  // 256 x 19

// The two heads: dropout at the head input, then 128 -> 64 -> out.
template <double DropoutRate>
using ClsHead = Head<"cls", Dropout<DropoutRate>, Dense<128>, ReLU, Dense<64>, ReLU, Dense<4>>;
template <double DropoutRate>
using ZHead = Head<"z", Dropout<DropoutRate>, Dense<128>, ReLU, Dense<64>, ReLU, Dense<1>>;

using SpectrumInput = Input<"spectrum", 1, 5161>;

namespace detail {
template <int Padding, bool WithSE, class HeadsT>
using mtl_net = flat_net<SpectrumInput,
                         Backbone<Padding>,                                               // layers 1-15
                         std::conditional_t<WithSE, layers<SEAttention<16>>, layers<>>,  // SE1-SE4 (r = 16)
                         GlobalAvgPool1D,                                                 // layer 16
                         HeadsT>;
}  // namespace detail

// The full multi-task network (484,581 parameters).
template <int Padding = 0, bool WithSE = true, double DropoutRate = 0.5>
using MTLforGalSpecZ = detail::mtl_net<Padding, WithSE, Heads<ClsHead<DropoutRate>, ZHead<DropoutRate>>>;

// Ablation: no attention (GAP applied directly to the last pooled block).
template <int Padding = 0, double DropoutRate = 0.5>
using MTLforGalSpecZ_NoSE = MTLforGalSpecZ<Padding, false, DropoutRate>;

// Single-task baselines: same backbone, one head.
template <int Padding = 0, bool WithSE = true, double DropoutRate = 0.5>
using MTLforGalSpecZ_Cls = detail::mtl_net<Padding, WithSE, Heads<ClsHead<DropoutRate>>>;
template <int Padding = 0, bool WithSE = true, double DropoutRate = 0.5>
using MTLforGalSpecZ_Z = detail::mtl_net<Padding, WithSE, Heads<ZHead<DropoutRate>>>;

namespace detail {
template <class N> inline constexpr int64_t num_params_of = Model<N>::num_params;
}  // namespace detail

// Spec §1.2: backbone 393,488 + SE 8,464 + cls 41,412 + z 41,217 (either padding).
static_assert(detail::num_params_of<MTLforGalSpecZ<>> == 484581, "MTLforGalSpecZ must have 484,581 parameters");
static_assert(detail::num_params_of<MTLforGalSpecZ<1>> == 484581, "same-padding MTLforGalSpecZ must have 484,581 parameters");
static_assert(detail::num_params_of<MTLforGalSpecZ_NoSE<>> == 484581 - 8464, "no-SE ablation drops the SE parameters");
static_assert(detail::num_params_of<MTLforGalSpecZ_Cls<>> == 484581 - 41217, "cls-only network drops the z head");
static_assert(detail::num_params_of<MTLforGalSpecZ_Z<>> == 484581 - 41412, "z-only network drops the cls head");

}  // namespace galml::models
