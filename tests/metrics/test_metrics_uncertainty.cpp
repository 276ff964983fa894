#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "galml/metrics/uncertainty.hpp"
#include "metrics/golden.hpp"

using namespace galml::metrics;
using Catch::Matchers::WithinAbs;

TEST_CASE("MC-dropout aggregation matches numpy", "[metrics][uncertainty]") {
  const auto& g = golden::data()["uncertainty"];
  const std::size_t T = g["T"], N = g["N"], D = g["D"], K = g["K"];
  const auto s = mc_aggregate(golden::vec<double>(g["passes"]), T, N, D);
  const auto mean = golden::vec<double>(g["mean"]), sd = golden::vec<double>(g["std"]);
  REQUIRE(s.mean.size() == N * D);
  for (std::size_t j = 0; j < N * D; ++j) {
    CHECK_THAT(s.mean[j], WithinAbs(mean[j], 1e-12));
    CHECK_THAT(s.std[j], WithinAbs(sd[j], 1e-12));
  }
  const auto pp = golden::vec<double>(g["pass_probs"]);
  const auto pm = mc_aggregate(pp, T, N, K).mean;
  const auto h = predictive_entropy(pm, N, K);
  const auto mi = mutual_information(pp, T, N, K);
  const auto H = golden::vec<double>(g["entropy"]), MI = golden::vec<double>(g["mutual_information"]);
  for (std::size_t i = 0; i < N; ++i) {
    CHECK_THAT(h[i], WithinAbs(H[i], 1e-12));
    CHECK_THAT(mi[i], WithinAbs(MI[i], 1e-12));
    CHECK(mi[i] >= -1e-15);
    CHECK(mi[i] <= h[i] + 1e-15);
  }
}

TEST_CASE("hand-computed uncertainty values", "[metrics][uncertainty]") {
  // T = 2 passes, N = 1, D = 1: values 9 and 9.02 -> mean 9.01, population std 0.01
  const auto s = mc_aggregate(std::vector<double>{9.0, 9.02}, 2, 1, 1);
  CHECK(s.mean[0] == Approx(9.01));
  CHECK(s.std[0] == Approx(0.01).epsilon(1e-9));
  // uniform over 4 classes -> ln 4; one-hot -> 0 (0·log 0 = 0)
  const auto h = predictive_entropy(std::vector<double>{.25, .25, .25, .25, 1, 0, 0, 0}, 2, 4);
  CHECK(h[0] == Approx(std::log(4.0)));
  CHECK(h[1] == 0.0);
  // two confident passes that disagree: MI = ln 2
  const auto mi = mutual_information(std::vector<double>{1, 0, 0, 1}, 2, 1, 2);
  CHECK(mi[0] == Approx(std::log(2.0)));
  CHECK_THROWS_AS(mc_aggregate(std::vector<double>{1, 2, 3}, 2, 1, 1), galml::Error);
  CHECK(s.to_json()["std"].size() == 1);
}
