// galml/core/xtensor.hpp: tensors as xtensor views (no copy) and tensors from xtensor expressions.
#include <catch2/catch.hpp>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "galml/core/xtensor.hpp"
#include "galml/galml.hpp"

using namespace galml;

TEST_CASE("as_xtensor views a tensor without copying", "[core][xtensor]") {
  Tensor<float> t({2, 3});
  for (int i = 0; i < 6; ++i) t[i] = float(i);
  auto v = as_xtensor(t);
  REQUIRE(v.dimension() == 2);
  CHECK(v.shape()[0] == 2);
  CHECK(v.shape()[1] == 3);
  CHECK(v(1, 2) == 5.0f);  // row-major, like the tensor
  CHECK(v(0, 1) == 1.0f);
  v(1, 0) = 42.0f;         // writes reach the tensor
  CHECK(t[3] == 42.0f);
  CHECK(xt::sum(xt::view(v, 0, xt::all()))() == Approx(3.0f));
  const Tensor<float>& ct = t;
  auto cv = as_xtensor(ct);
  CHECK(cv(1, 0) == 42.0f);
  CHECK(&cv(0, 0) == t.data());
}

TEST_CASE("to_tensor evaluates any xtensor expression into a row-major tensor", "[core][xtensor]") {
  const xt::xarray<double> a = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  const auto t = to_tensor<float>(2.0 * a + 1.0);  // a lazy expression, converted to float
  REQUIRE(t.shape() == std::vector<int64_t>{2, 3});
  for (int i = 0; i < 6; ++i) CHECK(t[i] == float(2 * (i + 1) + 1));

  xt::xarray<double, xt::layout_type::column_major> c = {{1.0, 2.0}, {3.0, 4.0}};
  const auto tc = to_tensor<double>(c);  // column-major storage 1 3 2 4 comes out row-major
  REQUIRE(tc.shape() == std::vector<int64_t>{2, 2});
  CHECK(tc[0] == 1.0);
  CHECK(tc[1] == 2.0);
  CHECK(tc[2] == 3.0);
  CHECK(tc[3] == 4.0);

  // Round trip through a view: equal values, separate storage.
  Tensor<float> s({3, 1, 4});
  for (int i = 0; i < 12; ++i) s[i] = 0.5f * float(i);
  auto back = to_tensor<float>(as_xtensor(s));
  REQUIRE(back.shape() == s.shape());
  for (int i = 0; i < 12; ++i) CHECK(back[i] == s[i]);
  back[0] = -1.0f;
  CHECK(s[0] == 0.0f);

  REQUIRE_THROWS_WITH(to_tensor<float>(xt::xarray<double>(3.0)), Catch::Contains("0-d xtensor expression"));
}

TEST_CASE("A batch built with xtensor goes through a network", "[core][xtensor]") {
  // Two 'spectra' of 16 pixels, scaled with xtensor, stacked into the [N, 1, L] batch the model takes.
  using N = Net<Input<"spectrum", 1, 16>, Conv1D<2, 3>, ReLU, GlobalAvgPool1D, Dense<3>>;
  Model<N> m;
  m.eval();
  const xt::xarray<double> flux = xt::linspace<double>(0.0, 1.0, 32);
  const auto batch = to_tensor<float>(xt::reshape_view(flux / xt::amax(flux)(), {2, 1, 16}));
  REQUIRE(batch.shape() == std::vector<int64_t>{2, 1, 16});
  m.forward(batch);
  Tensor<float> ref({2, 1, 16});
  for (int i = 0; i < 32; ++i) ref[i] = float(double(i) / 31.0);
  const auto y1 = m.output(0).clone();
  m.forward(ref);
  for (int i = 0; i < 6; ++i) CHECK(y1[i] == Approx(m.output(0)[i]).epsilon(1e-6));
}
