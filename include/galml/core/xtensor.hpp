#pragma once
// Interop with xtensor (Debian libxtensor-dev 0.24), for programs that prepare or analyse their arrays
// with it: a CPU tensor seen as an xtensor expression without a copy, and a tensor made from any
// xtensor expression. Opt-in (galml.hpp does not include it), so programs that do not use xtensor do
// not pay for its headers.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "galml/core/error.hpp"
#include "galml/core/tensor.hpp"

namespace galml {

// A row-major view of a CPU tensor's elements with the tensor's shape (batch first). No copy: writes
// through the view change the tensor; valid while the tensor's storage lives.
template <class T>
auto as_xtensor(Tensor<T, cpu>& t) {
  const std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
  return xt::adapt(t.data(), std::size_t(t.numel()), xt::no_ownership(), shape);
}
template <class T>
auto as_xtensor(const Tensor<T, cpu>& t) {
  const std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
  return xt::adapt(t.data(), std::size_t(t.numel()), xt::no_ownership(), shape);
}

// A new CPU tensor holding the values of an xtensor expression (any layout, lazily computed ones
// included), converted to T, in row-major order; its first dimension is the batch.
template <class T, class E>
Tensor<T> to_tensor(const xt::xexpression<E>& e) {
  const xt::xarray<T, xt::layout_type::row_major> a = e.derived_cast();
  GALML_CHECK(a.dimension() >= 1, "galml::to_tensor: a 0-d xtensor expression has no batch dimension (reshape it to {1})");
  Tensor<T> t(std::vector<int64_t>(a.shape().begin(), a.shape().end()));
  std::copy(a.storage().begin(), a.storage().end(), t.data());
  return t;
}

}  // namespace galml
