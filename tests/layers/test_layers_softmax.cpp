// Softmax / LogSoftmax: gradient checks and numerical stability on large logits.
#include <catch2/catch.hpp>

#include <cmath>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;

TEST_CASE("Softmax and LogSoftmax gradients", "[layers][gradcheck][softmax]") {
  auto r = check_layer<Softmax, Shape<3, 6>>();
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.ok(1e-6));
  galml::testing::GradCheckOptions o; o.eps = 1e-5;  // tiny gradients (|g| ~ 1e-4): cut the rounding noise of 1e-6 steps
  auto r2 = check_layer<LogSoftmax, Shape<7>>(o);
  INFO(r2.worst << " rel " << r2.max_rel_error);
  CHECK(r2.ok(1e-6));
  CHECK(check_layer<Softmax, Shape<1>>().ok(1e-6));
}

TEST_CASE("Softmax is numerically stable for large logits", "[layers][softmax]") {
  Softmax::impl<Shape<3>, float, cpu> sm;
  LogSoftmax::impl<Shape<3>, float, cpu> lsm;
  std::vector<float> x{1000.f, 999.f, -1000.f}, y(3), ly(3);
  Context ctx;
  sm.forward(x.data(), y.data(), 1, ctx);
  lsm.forward(x.data(), ly.data(), 1, ctx);
  for (float v : y) CHECK(std::isfinite(v));
  CHECK(y[0] + y[1] + y[2] == Approx(1.0f));
  CHECK(y[0] == Approx(1.0 / (1.0 + std::exp(-1.0))));
  CHECK(ly[1] == Approx(-1.0 - std::log1p(std::exp(-1.0))));
  CHECK(ly[2] == Approx(-2000.0f - std::log1p(std::exp(-1.0))));
}
