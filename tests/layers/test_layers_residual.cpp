// Residual: gradient checks with the identity shortcut and a projection shortcut, names, and a
// residual network with BatchNorm.
#include <catch2/catch.hpp>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;

// No conv bias before BatchNorm (as in ResNets): the batch mean removes it, its exact gradient is 0.
using Block = Residual<Chain<Conv1D<3, 3, 1, 1, false>, BatchNorm1D<>, ReLU, Conv1D<3, 3, 1, 1>>>;
using Down = Residual<Chain<Conv1D<5, 3, 2, 1>, Tanh>, Chain<Conv1D<5, 1, 2>>>;

TEST_CASE("Residual gradients", "[layers][gradcheck][residual]") {
  auto r = check_layer<Block, Shape<3, 8>>();
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.ok(1e-6));
  auto r2 = check_layer<Down, Shape<3, 9>>();
  INFO(r2.worst << " rel " << r2.max_rel_error);
  CHECK(r2.ok(1e-6));
  STATIC_REQUIRE(std::is_same_v<Down::output<Shape<3, 9>>, Shape<5, 5>>);
  auto r3 = check_layer<Residual<Dense<6>>, Shape<6>>();
  CHECK(r3.ok(1e-6));
}

TEST_CASE("Residual network: names and model gradients", "[layers][gradcheck][residual]") {
  using N = Net<Input<"x", 2, 10>, Conv1D<3, 3, 1, 1>, Block, Down, GlobalAvgPool1D, Dense<2>>;
  auto r = galml::testing::check_model<N>({.eps = 1e-5});  // deeper net: larger steps beat rounding noise
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.ok(1e-6));
  Model<N, double> m;
  auto sd = m.state_dict();
  CHECK(sd.contains("trunk.1.fn.0.weight"));
  CHECK(sd.contains("trunk.1.fn.1.running_mean"));
  CHECK(sd.contains("trunk.2.shortcut.0.weight"));
  CHECK(sd.contains("trunk.2.fn.0.bias"));
  CHECK(!sd.contains("trunk.1.fn.0.bias"));
}
