// LayerNorm: double-precision gradient checks over the last axis, with and without the affine
// transform, and a direct check of the normalisation.
#include <catch2/catch.hpp>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;

TEST_CASE("LayerNorm gradients", "[layers][gradcheck][layernorm]") {
  auto r = check_layer<LayerNorm<>, Shape<4, 6>>();
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.checked > 80);
  CHECK(r.ok(1e-6));
  auto r2 = check_layer<LayerNorm<1e-3>, Shape<9>>();
  INFO(r2.worst << " rel " << r2.max_rel_error);
  CHECK(r2.ok(1e-6));
  auto r3 = check_layer<LayerNorm<1e-5, false>, Shape<3, 5>>();
  CHECK(r3.ok(1e-6));
}

TEST_CASE("LayerNorm normalises the last axis", "[layers][layernorm]") {
  using Impl = LayerNorm<>::impl<Shape<2, 5>, double, cpu>;
  Impl ln;
  std::vector<double> p(10), g(10, 0.0);
  Rng rng(1, 1);
  Impl::init(p.data(), rng, Init::pytorch);
  CHECK(p[0] == 1.0); CHECK(p[5] == 0.0);
  ln.bind(p.data(), g.data());
  std::vector<double> x{1, 2, 3, 4, 5, -1, 0, 7, 7, 2}, y(10);
  Context ctx;
  ln.forward(x.data(), y.data(), 1, ctx);
  for (int r = 0; r < 2; ++r) {
    double m = 0, v = 0;
    for (int i = 0; i < 5; ++i) m += y[size_t(r * 5 + i)] / 5;
    for (int i = 0; i < 5; ++i) v += std::pow(y[size_t(r * 5 + i)] - m, 2) / 5;
    CHECK(std::abs(m) < 1e-12);
    CHECK(v == Approx(1.0).epsilon(1e-4));
  }
}
