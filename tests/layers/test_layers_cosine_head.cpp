// L2Normalize and CosineHead: gradient checks, F.normalize eps behaviour, logits bounded by ±scale.
#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;
using galml::testing::check_model;

TEST_CASE("L2Normalize gradient checks", "[layers][l2norm]") {
  auto a = check_layer<L2Normalize<>, Shape<7>>();
  std::cout << "  gradcheck L2Normalize (7): max rel " << a.max_rel_error << "\n";
  CHECK(a.ok(1e-6));
  auto b = check_layer<L2Normalize<>, Shape<3, 5>>();
  std::cout << "  gradcheck L2Normalize (3x5 rows): max rel " << b.max_rel_error << "\n";
  CHECK(b.ok(1e-6));
}

TEST_CASE("L2Normalize: unit rows, zero rows stay zero (eps 1e-12)", "[layers][l2norm]") {
  using Impl = L2Normalize<>::impl<Shape<2, 3>, double, cpu>;
  Impl l;
  std::vector<double> x{3, 4, 0, 0, 0, 0}, y(6), dy{1, 1, 1, 1, 1, 1}, dx(6);
  Context ctx;
  l.forward(x.data(), y.data(), 1, ctx);
  CHECK(y[0] == Approx(0.6)); CHECK(y[1] == Approx(0.8)); CHECK(y[2] == 0.0);
  for (int i = 3; i < 6; ++i) CHECK(y[i] == 0.0);
  l.backward(x.data(), y.data(), dy.data(), dx.data(), 1, ctx);
  for (double v : dx) CHECK(std::isfinite(v));
  CHECK(dx[3] == Approx(1e12));  // PyTorch: norm clamped to eps, clamp has zero gradient => dy / eps
  // (dy - y (y·dy)) / |x| for the first row
  CHECK(dx[0] == Approx((1 - 0.6 * 1.4) / 5));
}

TEST_CASE("CosineHead gradient check and bounded logits", "[layers][cosine]") {
  auto a = check_layer<CosineHead<4>, Shape<9>>();
  std::cout << "  gradcheck CosineHead<4> (9): max rel " << a.max_rel_error << "\n";
  CHECK(a.ok(1e-6));
  using NetC = Net<Input<"x", 2, 5>, Flatten, L2Normalize<>, Heads<Head<"main", CosineHead<4>>, Head<"aux", CosineHead<2>>>>;
  auto b = check_model<NetC>();
  std::cout << "  gradcheck Flatten-L2Normalize-2xCosineHead model: max rel " << b.max_rel_error << "\n";
  CHECK(b.ok(1e-6));
  Model<NetC, double> m;
  const auto info = m.parameter_info();
  REQUIRE(info.size() == 4);
  CHECK(info[1].name == "heads.main.0.scale");
  CHECK(m.params()[info[1].offset] == 30.0);  // learnable scale initialised to 30
  Tensor<double> x({50, 2, 5});
  Rng rng(8);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = 100 * rng.normal();
  m.forward(x);
  for (int64_t i = 0; i < m.output(0).numel(); ++i) CHECK(std::abs(m.output(0)[i]) <= 30.0 + 1e-9);
  // a sample equal to a class weight row gets cosine 1 => logit exactly s
  Tensor<double> w({1, 2, 5});
  for (int i = 0; i < 10; ++i) w[i] = 3.0 * m.params()[info[0].offset + 10 * 2 + i];  // row 2 of the main weight
  m.forward(w);
  CHECK(m.output(0)[2] == Approx(30.0).epsilon(1e-12));
}
