// Transpose: gradient check, values and shape propagation.
#include <catch2/catch.hpp>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;

TEST_CASE("Transpose gradients and values", "[layers][gradcheck][transpose]") {
  auto r = check_layer<Transpose, Shape<3, 5>>();
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.ok(1e-6));
  STATIC_REQUIRE(std::is_same_v<Transpose::output<Shape<3, 5>>, Shape<5, 3>>);
  Transpose::impl<Shape<2, 3>, double, cpu> t;
  std::vector<double> x{0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15}, y(12);
  Context ctx;
  t.forward(x.data(), y.data(), 2, ctx);
  CHECK(y == std::vector<double>{0, 3, 1, 4, 2, 5, 10, 13, 11, 14, 12, 15});
  // token sequence view of a feature map, then per-token dense layers: a whole model checks through it
  using N = Net<Input<"x", 3, 6>, Conv1D<4, 3>, Transpose, LayerNorm<>, Transpose, GlobalAvgPool1D, Dense<2>>;
  auto rm = galml::testing::check_model<N>();
  INFO(rm.worst << " rel " << rm.max_rel_error);
  CHECK(rm.ok(1e-6));
}
