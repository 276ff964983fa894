// Multi-input networks: a spectrum, an image and a table through their own branches, joined, shared
// trunk, two heads with different losses; gradient check of everything; names; errors.
#include <catch2/catch.hpp>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"
#include "support/three_input_net.hpp"

using namespace galml;
using galml_test::ThreeInputNet;


TEST_CASE("three-input, two-head network: shapes, names and gradients", "[graph][gradcheck]") {
  using M = Model<ThreeInputNet, double>;
  STATIC_REQUIRE(M::num_inputs == 3);
  STATIC_REQUIRE(std::is_same_v<M::input_shape, Shape<12>>);  // 3 + 5 + 4 features
  STATIC_REQUIRE(M::num_params == (3 * 5 + 3) + (32 * 5 + 5) + (12 * 6 + 6) + (6 * 3 + 3) + (6 + 1));
  auto r = galml::testing::check_model<ThreeInputNet>();
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.checked > 200);
  CHECK(r.ok(1e-6));
  M m;
  auto names = m.parameter_info();
  CHECK(names.front().name == "inputs.spectrum.0.weight");
  CHECK(names[2].name == "inputs.image.1.weight");
  CHECK(names.back().name == "heads.z.0.bias");
  const auto s = M::summary();
  CHECK_THAT(s, Catch::Contains("input \"table\"") && Catch::Contains("JoinConcat"));
}

TEST_CASE("multi-input forward by name and clear errors", "[graph]") {
  Model<ThreeInputNet> m;
  auto s = Tensor<float>::zeros({2, 1, 24}), im = Tensor<float>::zeros({2, 2, 4, 4}), t = Tensor<float>::zeros({2, 4});
  m.eval();
  m.forward({{"table", t}, {"spectrum", s}, {"image", im}});
  CHECK(m.output("cls").shape() == std::vector<int64_t>{2, 3});
  REQUIRE_THROWS_WITH(m.forward({{"spectrum", s}, {"image", im}}), Catch::Contains("input 'table' is missing"));
  REQUIRE_THROWS_WITH(m.forward({{"spectrum", s}, {"image", im}, {"tabel", t}}), Catch::Contains("no input named 'tabel'"));
  auto bad = Tensor<float>::zeros({2, 4, 4});
  REQUIRE_THROWS_WITH(m.forward({{"spectrum", s}, {"image", bad}, {"table", t}}), Catch::Contains("input 'image'"));
  auto t3 = Tensor<float>::zeros({3, 4});
  REQUIRE_THROWS_WITH(m.forward({{"spectrum", s}, {"image", im}, {"table", t3}}), Catch::Contains("batch"));
}

TEST_CASE("join along channels keeps per-position features", "[graph]") {
  using N = Net<Inputs<JoinConcat<0>, Branch<"a", Shape<2, 6>>, Branch<"b", Shape<3, 6>, Conv1D<1, 1>>>, Conv1D<2, 3>, GlobalAvgPool1D>;
  STATIC_REQUIRE(std::is_same_v<Model<N>::input_shape, Shape<3, 6>>);
  CHECK(galml::testing::check_model<N>().ok(1e-6));
}
