#pragma once
// Compile-time per-sample shapes. The batch dimension is dynamic and never part of a Shape.
// A 1-D feature map is Shape<C, L>, a 2-D map Shape<C, H, W>, a token sequence Shape<T, D>,
// a feature vector Shape<D>.
#include <array>
#include <cstdint>
#include <string>
#include <tuple>

namespace galml {

template <int... D>
struct Shape {
  static_assert(((D > 0) && ...), "galml::Shape: every dimension must be positive");
  static constexpr int rank = sizeof...(D);
  static constexpr std::array<int, sizeof...(D)> dims{D...};
  static constexpr int64_t size = (int64_t(1) * ... * int64_t(D));
  template <int I> static constexpr int dim = std::get<I>(std::tuple{D...});
  static std::string str() {
    std::string s = "(";
    for (size_t i = 0; i < dims.size(); ++i) {
      if (i) s += 'x';
      s += std::to_string(dims[i]);
    }
    return s + ")";
  }
};

template <class S> struct is_shape : std::false_type {};
template <int... D> struct is_shape<Shape<D...>> : std::true_type {};
template <class S> concept ShapeType = is_shape<S>::value;

// Shape from a std::array (for computed shapes).
namespace detail {
template <auto Arr, class Idx> struct shape_from_array_impl;
template <auto Arr, size_t... I> struct shape_from_array_impl<Arr, std::index_sequence<I...>> { using type = Shape<Arr[I]...>; };
}  // namespace detail
template <auto Arr> using shape_from_array = typename detail::shape_from_array_impl<Arr, std::make_index_sequence<Arr.size()>>::type;

// Compile-time string usable as a template argument: Head<"cls", ...>.
template <size_t N>
struct fixed_string {
  char value[N]{};
  constexpr fixed_string(const char (&s)[N]) { for (size_t i = 0; i < N; ++i) value[i] = s[i]; }
  constexpr std::string_view view() const { return {value, N - 1}; }
  std::string str() const { return std::string(value, N - 1); }
};

}  // namespace galml
