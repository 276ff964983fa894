#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "galml/metrics/binned.hpp"
#include "metrics/golden.hpp"

using namespace galml::metrics;
using Catch::Matchers::WithinAbs;

TEST_CASE("bin assignment follows numpy.histogram", "[metrics][binned]") {
  const std::vector<double> e{0, 0.04, 0.08, 0.12, 0.15, 0.2, 0.3};
  CHECK(bin_index(e, 0.0) == 0);
  CHECK(bin_index(e, 0.04) == 1);  // left-closed
  CHECK(bin_index(e, 0.3) == 5);   // last bin closed on the right
  CHECK(bin_index(e, 0.31) == -1);
  CHECK(bin_index(e, -0.01) == -1);
  CHECK(bin_index(e, std::nan("")) == -1);
  const std::vector<double> sn{5, 10, 15, 20, 25, 30, std::numeric_limits<double>::infinity()};
  CHECK(bin_index(sn, 1e6) == 5);
  CHECK_THROWS_AS(assign_bins(std::vector<double>{1}, std::vector<double>{0, 0}), galml::Error);
  CHECK_THROWS_AS(assign_bins(std::vector<double>{1}, std::vector<double>{0}), galml::Error);
}

TEST_CASE("binned metrics match numpy golden values", "[metrics][binned]") {
  const auto& g = golden::data();
  const auto& b = g["binned"];
  const auto edges = golden::vec<double>(b["edges"]);
  const auto x = golden::vec<double>(b["x"]);
  const std::size_t n = x.size();
  auto truth = golden::vec<double>(g["regression"]["truth"]);
  auto pred = golden::vec<double>(g["regression"]["pred"]);
  truth.resize(n);
  pred.resize(n);
  const auto reg = binned_regression(pred, truth, x, edges);
  REQUIRE(reg.size() == edges.size() - 1);
  for (std::size_t k = 0; k < reg.size(); ++k) {
    INFO("bin " << k);
    const auto& w = b["regression"][k];
    CHECK(reg[k].lo == edges[k]);
    CHECK(reg[k].stats.n == w["n"].get<std::size_t>());
    CHECK_THAT(reg[k].stats.sd, WithinAbs(w["sd"].get<double>(), 1e-12));
    CHECK_THAT(reg[k].stats.mse, WithinAbs(w["mse"].get<double>(), 1e-12));
    CHECK_THAT(reg[k].stats.bias, WithinAbs(w["bias"].get<double>(), 1e-12));
    CHECK_THAT(reg[k].stats.nmad, WithinAbs(w["nmad"].get<double>(), 1e-12));
  }
  const auto& c = g["classification"];
  const auto cls = binned_classification(golden::vec<int>(c["y_true"]), golden::vec<int>(c["y_pred"]),
                                         c["K"], x, edges);
  for (std::size_t k = 0; k < cls.size(); ++k) {
    INFO("bin " << k);
    const auto& w = b["classification"][k];
    CHECK(cls[k].count == w["count"].get<std::size_t>());
    CHECK_THAT(cls[k].accuracy, WithinAbs(w["accuracy"].get<double>(), 1e-12));
    CHECK(cls[k].class_counts == golden::vec<std::int64_t>(w["class_counts"]));
    const auto fr = golden::vec<double>(w["class_fractions"]);
    for (std::size_t j = 0; j < fr.size(); ++j) CHECK_THAT(cls[k].class_fractions[j], WithinAbs(fr[j], 1e-12));
  }
  const auto j = to_json(cls);
  CHECK(j.size() == cls.size());
  CHECK(j[5]["hi"] == 0.3);
  CHECK(to_json(reg)[0].contains("sd"));
}

TEST_CASE("empty bins and masks", "[metrics][binned]") {
  const std::vector<double> e{0, 1, 2, 3};
  const std::vector<double> x{0.5, 0.5, 2.5};
  const std::vector<double> t{1, 2, 3}, p{1, 3, 3};
  const std::vector<std::uint8_t> m{1, 0, 1};
  const auto r = binned_regression(p, t, x, e, m);
  CHECK(r[0].stats.n == 1);
  CHECK(r[0].stats.mse == 0.0);
  CHECK(r[1].stats.n == 0);
  CHECK(std::isnan(r[1].stats.sd));
  const auto c = binned_classification(std::vector<int>{0, 1, 1}, std::vector<int>{0, 0, 1}, 2, x, e);
  CHECK(c[0].accuracy == 0.5);
  CHECK(std::isnan(c[1].accuracy));
  CHECK(c[1].class_fractions == std::vector<double>{0, 0});
  CHECK(c[0].class_fractions == std::vector<double>{0.5, 0.5});
}
