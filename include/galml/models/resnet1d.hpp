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
// GaSNet baseline (spec §3.6) — NOT provided. Its residual block has a MaxPool(k=5, s=1, "same")
// between the second convolution and the add; galml's MaxPool1D has no padding, so the pooled branch
// would be 4 samples shorter than the Conv1D(k5, s3, valid) shortcut and the add does not type-check.
// There is no padding layer to build it from either. It needs a padded max pool (Keras "same":
// out-of-range samples ignored), e.g. MaxPool1D<5, 1, /*pad*/ 2>; the block would then be
//   Residual<Chain<Conv1D<N,5,1,2>, BatchNorm1D<>, ReLU, Conv1D<N,5,3>, BatchNorm1D<>, ReLU, MaxPool1D<5,1,2>>,
//            Chain<Conv1D<N,5,3>>>
// (spec §3.6: lengths 3843 -> 1280 -> 426 -> 141 -> 46 -> 14 -> 4 for N = 16 ... 512).
#include <cstddef>
#include <utility>

#include "galml/graph/inputs.hpp"
#include "galml/graph/model.hpp"
#include "galml/layers/activation.hpp"
#include "galml/layers/batchnorm.hpp"
#include "galml/layers/conv1d.hpp"
#include "galml/layers/dense.hpp"
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

// Stem (spec §4.2): Conv(64, k7, s2, p3) -> BN -> ReLU -> MaxPool(3, 2).
// Deviation: the spec's MaxPool(3, 2, padding 1) needs a padded max pool, which galml lacks; the
// unpadded MaxPool1D<3, 2> gives 1699 instead of 1700 samples on the 1x6800 input (the block
// strides then give 850 and 425 as in the spec; parameter counts are unaffected).
using ResNet1DStem = detail::layers<Conv1D<64, 7, 2, 3, false>, BatchNorm1D<>, ReLU, MaxPool1D<3, 2>>;

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

}  // namespace galml::models
