#pragma once
// 1-D residual networks for the baselines (spec §4.2 "1-D ResNet", stellar Models 2 and 5), plus
// the small type-list helpers the paper headers use to write a network block by block.
//
//   BasicBlock1D<C, Stride = 1, Project = (Stride != 1)>   ResNet BasicBlock, then the ReLU after the add
//       Residual<Chain<Conv1D<C,3,Stride,1> BN ReLU Conv1D<C,3,1,1> BN>, shortcut>
//       shortcut: Identity, or ProjectionShortcut1D<C, Stride> = Chain<Conv1D<C, 1, Stride>, BatchNorm1D<>>
//   ResNet1DBranch<Depth, Out = 256>                         stem -> Depth BasicBlocks -> GAP -> Dense<Out>
//
// Convolutions in front of a BatchNorm carry no bias (torchvision's ResNet): the BatchNorm shift
// makes one redundant. The layout of the stellar paper's ResNet is unspecified; these are the spec's
// [ASSUMPTION]s (§4.2), with one deviation, see ResNet1DStem.
//
// GaSNet baseline (spec §3.6), end of this file:
//   GaSNetBlock<N>         Residual<Chain<Conv1D<N,5,1,2>, BN, ReLU, Conv1D<N,5,3>, BN, ReLU, MaxPool1DSame<5>>,
//                                   Conv1D<N,5,3>>   (the k5/s1 "same" pool keeps the length, so the add types)
//   GaSNet<SpecLen = 3843, Classes = 4>
#include <cstddef>
#include <utility>

#include "galml/graph/inputs.hpp"
#include "galml/graph/model.hpp"
#include "galml/layers/activation.hpp"
#include "galml/layers/batchnorm.hpp"
#include "galml/layers/conv1d.hpp"
#include "galml/layers/dense.hpp"
#include "galml/layers/dropout.hpp"
#include "galml/layers/flatten_channels_last.hpp"
#include "galml/layers/identity.hpp"
#include "galml/layers/pool1d.hpp"
#include "galml/layers/residual.hpp"
#include "galml/models/mtlforgalspecz.hpp"  // detail::layers / concat / as_layers / flat_net

namespace galml::models {

namespace detail {
// A flat layer list from layers, nested layers<...> lists, or both.
template <class... Parts> using flat = typename concat<typename as_layers<Parts>::type...>::type;

// N copies of X (a layer or a layers<...> block); flattened wherever it is used.
template <class X, class Idx> struct repeat_impl;
template <class X, size_t... I> struct repeat_impl<X, std::index_sequence<I...>> {
  template <size_t> using same = X;
  using type = layers<same<I>...>;
};
template <int N, class X> using repeat = typename repeat_impl<X, std::make_index_sequence<size_t(N)>>::type;

// A flat list as a Chain, a Branch or a Head.
template <class List> struct to_chain;
template <class... Ls> struct to_chain<layers<Ls...>> { using type = Chain<Ls...>; };
template <class... Parts> using chain_of = typename to_chain<flat<Parts...>>::type;

template <fixed_string Name, class S, class List> struct to_branch;
template <fixed_string Name, class S, class... Ls> struct to_branch<Name, S, layers<Ls...>> { using type = Branch<Name, S, Ls...>; };
template <fixed_string Name, class S, class... Parts> using branch_of = typename to_branch<Name, S, flat<Parts...>>::type;

template <fixed_string Name, class List> struct to_head;
template <fixed_string Name, class... Ls> struct to_head<Name, layers<Ls...>> { using type = Head<Name, Ls...>; };
template <fixed_string Name, class... Parts> using head_of = typename to_head<Name, flat<Parts...>>::type;
}  // namespace detail

// Projection shortcut: 1x1 convolution (strided when the block downsamples) + BatchNorm.
template <int C, int Stride = 1>
using ProjectionShortcut1D = Chain<Conv1D<C, 1, Stride, 0, false>, BatchNorm1D<>>;

// The residual part of a BasicBlock (without the final ReLU).
template <int C, int Stride = 1, bool Project = (Stride != 1)>
using BasicResidual1D = Residual<Chain<Conv1D<C, 3, Stride, 1, false>, BatchNorm1D<>, ReLU,
                                       Conv1D<C, 3, 1, 1, false>, BatchNorm1D<>>,
                                 std::conditional_t<Project, ProjectionShortcut1D<C, Stride>, Identity>>;

// BasicBlock: y = ReLU(F(x) + shortcut(x)); two layers (the residual and the ReLU) in a flat list.
template <int C, int Stride = 1, bool Project = (Stride != 1)>
using BasicBlock1D = detail::layers<BasicResidual1D<C, Stride, Project>, ReLU>;

// Stem (spec §4.2): Conv(64, k7, s2, p3) -> BN -> ReLU -> MaxPool(3, 2, padding 1): 6800 -> 3400 -> 1700.
using ResNet1DStem = detail::layers<Conv1D<64, 7, 2, 3, false>, BatchNorm1D<>, ReLU, MaxPool1D<3, 2, 1>>;

namespace detail {
// Block i of the stellar ResNet: channels 64 * 2^(i/2) (doubling every 2 blocks), stride 2 (with a
// projection shortcut) at the first block of every stage but the first.
template <size_t I> using resnet_block = BasicBlock1D<(64 << (I / 2)), (I > 0 && I % 2 == 0) ? 2 : 1>;
template <class Idx> struct resnet_blocks_impl;
template <size_t... I> struct resnet_blocks_impl<std::index_sequence<I...>> { using type = layers<resnet_block<I>...>; };
}  // namespace detail

template <int Depth>
using ResNet1DBlocks = typename detail::resnet_blocks_impl<std::make_index_sequence<size_t(Depth)>>::type;

// The spectral ResNet branch of stellar Models 2 and 5: stem, Depth BasicBlocks, GAP, Linear -> Out.
template <int Depth = 4, int Out = 256>
using ResNet1DBranch = detail::layers<ResNet1DStem, ResNet1DBlocks<Depth>, GlobalAvgPool1D, Dense<Out>>;

// ---------------------------------------------------------------------------------------------
// GaSNet baseline (spec §3.6, from the GaSNet-II reference code, a Keras network).
//
// Residual block with N channels:
//   1. Conv1d(k5, s1, "same") -> BN -> ReLU           Conv1D<N, 5, 1, 2>: k5/s1 "same" = 2 each side
//   2. Conv1d(k5, s3, "valid") -> BN -> ReLU          Conv1D<N, 5, 3>:    L -> (L - 5)/3 + 1
//   3. MaxPool(k5, s1, "same")                        MaxPool1DSame<5>:   length kept (2 + 2 ignored samples)
//   4. + shortcut Conv1d(k5, s3, "valid") of the block input (no BN, no activation after the add)
// [ASSUMPTION] Keras defaults where the spec is silent: convolutions carry a bias (use_bias=True,
// even in front of a BatchNorm), and BatchNormalization is eps 1e-3, momentum 0.99, i.e.
// BatchNorm1D<1e-3, 0.01> in PyTorch's momentum convention.
template <int N>
using GaSNetBlock = Residual<Chain<Conv1D<N, 5, 1, 2>, BatchNorm1D<1e-3, 0.01>, ReLU,
                                   Conv1D<N, 5, 3>, BatchNorm1D<1e-3, 0.01>, ReLU,
                                   MaxPool1DSame<5>>,
                             Conv1D<N, 5, 3>>;

// Six blocks (N = 16 ... 512), Keras Flatten (channels-last, so a Keras Dense kernel loads after
// the usual transpose), Dropout 0.5 -> Dense 256 ReLU -> Dense Classes. The output is logits: the
// softmax belongs to the (categorical cross-entropy) loss. Input: the L2-normalised x sqrt(N_pix)
// spectrum (data code), 1 x 3843 in GCSNet's setting (3600 in GaSNet-II itself, SpecLen = 3600).
// Kernel init N(0, 1e-3) (spec) is not an Init mode: fill the ".weight" tensors after construction.
template <int SpecLen = 3843, int Classes = 4>
using GaSNet = detail::flat_net<Input<"spectrum", 1, SpecLen>,
                                GaSNetBlock<16>,     // 16 x 1280
                                GaSNetBlock<32>,     // 32 x 426
                                GaSNetBlock<64>,     // 64 x 141
                                GaSNetBlock<128>,    // 128 x 46
                                GaSNetBlock<256>,    // 256 x 14
                                GaSNetBlock<512>,    // 512 x 4
                                FlattenChannelsLast, // 2048, index = l*512 + c
                                Dropout<0.5>,
                                Dense<256>, ReLU,
                                Dense<Classes>>;

namespace detail {
// Per block: conv1 5*Cin*N + N, BN 2N, conv2 5*N*N + N, BN 2N, shortcut 5*Cin*N + N
//          = 10*Cin*N + 5*N*N + 7*N.
constexpr int64_t gasnet_block_params(int64_t cin, int64_t n) { return 10 * cin * n + 5 * n * n + 7 * n; }
}  // namespace detail
// Blocks (1,16) 1,552 + (16,32) 10,464 + (32,64) 41,408 + (64,128) 164,736 + (128,256) 657,152
// + (256,512) 2,625,024 = 3,500,336; head 2048*256+256 + 256*4+4 = 525,572; total 4,025,908.
static_assert(Model<GaSNet<>>::num_params ==
                  detail::gasnet_block_params(1, 16) + detail::gasnet_block_params(16, 32) + detail::gasnet_block_params(32, 64) +
                      detail::gasnet_block_params(64, 128) + detail::gasnet_block_params(128, 256) +
                      detail::gasnet_block_params(256, 512) + 2048 * 256 + 256 + 256 * 4 + 4,
              "GaSNet: 4,025,908 parameters");
static_assert(Model<GaSNet<>>::num_params == 4025908, "GaSNet: 4,025,908 parameters");

}  // namespace galml::models
