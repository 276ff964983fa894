// Concat: gradient checks for channel and length concatenation, parameter naming, and a
// multi-branch model (gradient of the shared input sums over the branches).
#include <catch2/catch.hpp>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;

using Inception = Concat<0, Chain<Conv1D<2, 3, 1, 1>, Tanh>, Chain<Conv1D<3, 5, 1, 2>>, Chain<Identity>>;

TEST_CASE("Concat shapes", "[layers][concat]") {
  STATIC_REQUIRE(std::is_same_v<Inception::output<Shape<2, 9>>, Shape<7, 9>>);
  STATIC_REQUIRE(std::is_same_v<Concat<1, Chain<Conv1D<4, 3>>, Chain<MaxPool1D<2>>>::output<Shape<4, 10>>, Shape<4, 13>>);
  STATIC_REQUIRE(!Concat<0, Chain<Conv1D<4, 3>>, Chain<Identity>>::accepts<Shape<4, 10>>);  // lengths 8 and 10 differ
  STATIC_REQUIRE(Inception::num_params<Shape<2, 9>> == 2 * 2 * 3 + 2 + 3 * 2 * 5 + 3);
}

TEST_CASE("Concat gradients", "[layers][gradcheck][concat]") {
  auto r = check_layer<Inception, Shape<2, 9>>();
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.ok(1e-6));
  auto r2 = check_layer<Concat<1, Chain<Conv1D<3, 3>, ReLU>, Chain<Conv1D<3, 2, 2>>>, Shape<2, 10>>(
      {.input_offset = 0.05});
  INFO(r2.worst << " rel " << r2.max_rel_error);
  CHECK(r2.ok(1e-6));
  auto r3 = check_layer<Concat<0, Chain<Dense<3>>, Chain<Sigmoid>>, Shape<4>>();
  CHECK(r3.ok(1e-6));
}

TEST_CASE("Concat in a model: names and gradients", "[layers][gradcheck][concat]") {
  using N = Net<Input<"x", 2, 9>, Inception, GlobalAvgPool1D, Heads<Head<"a", Concat<0, Chain<Dropout<0.3>, Dense<2>>, Chain<Dense<1>>>>>>;
  auto r = galml::testing::check_model<N>();
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.ok(1e-6));
  Model<N, double> m;
  auto info = m.parameter_info();
  REQUIRE(info.size() == 8);
  CHECK(info[0].name == "trunk.0.0.0.weight");
  CHECK(info[2].name == "trunk.0.1.0.weight");
  CHECK(info[4].name == "heads.a.0.0.1.weight");
  CHECK(info[7].name == "heads.a.0.1.0.bias");
}
