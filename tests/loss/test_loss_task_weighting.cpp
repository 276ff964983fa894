// Task weighting: DWA (spec §1.3/§6, MTAN convention) and fixed weights, including resume through
// StateDict::save/load.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <vector>

#include "galml/core/state_dict.hpp"
#include "galml/loss/task_weighting.hpp"

using namespace galml::loss;

TEST_CASE("DWA spec test: T = 1, w = (0.9, 1.0) gives λ = (0.9500, 1.0500)", "[loss][dwa]") {
  const auto l = DWA::weights_from_ratios({0.9, 1.0}, 1.0);
  const double e = std::exp(0.9) + std::exp(1.0);
  CHECK(l[0] == Approx(2 * std::exp(0.9) / e).epsilon(1e-14));
  CHECK(l[1] == Approx(2 * std::exp(1.0) / e).epsilon(1e-14));
  CHECK(l[0] == Approx(0.9500).margin(5e-5));
  CHECK(l[1] == Approx(1.0500).margin(5e-5));
  // Same numbers through the epoch API: L̄(1) = (1, 2), L̄(2) = (0.9, 2) → w = (0.9, 1.0) for epoch 3.
  DWA dwa(2, 1.0);
  CHECK(dwa.weights_for_epoch(1) == std::vector<double>{1, 1});
  dwa.record_epoch({1.0, 2.0});
  CHECK(dwa.weights_for_epoch(2) == std::vector<double>{1, 1});
  dwa.record_epoch({0.9, 2.0});
  const auto w3 = dwa.weights_for_epoch(3);
  CHECK(w3[0] == Approx(l[0]).epsilon(1e-14));
  CHECK(w3[1] == Approx(l[1]).epsilon(1e-14));
  CHECK(w3[0] + w3[1] == Approx(2.0));
}

TEST_CASE("DWA follows the MTAN recurrence and checks its inputs", "[loss][dwa]") {
  DWA dwa(3, 2.0);  // MTAN default temperature
  const std::vector<std::vector<double>> L = {{3, 2, 1}, {2, 2, 1.5}, {1, 1.8, 1.2}, {0.9, 1.9, 1.0}};
  for (auto& e : L) dwa.record_epoch(e);
  for (int t = 3; t <= 5; ++t) {
    const auto lam = dwa.weights_for_epoch(t);
    double w[3], s = 0;
    for (int k = 0; k < 3; ++k) s += std::exp((w[k] = L[size_t(t - 2)][size_t(k)] / L[size_t(t - 3)][size_t(k)]) / 2.0);
    for (int k = 0; k < 3; ++k) CHECK(lam[size_t(k)] == Approx(3 * std::exp(w[k] / 2.0) / s).epsilon(1e-14));
  }
  CHECK_THROWS_AS(dwa.weights_for_epoch(6), galml::Error);  // needs epoch 5's losses
  CHECK_THROWS_AS(dwa.weights_for_epoch(0), galml::Error);  // one-based
  CHECK_THROWS_AS(dwa.record_epoch({1.0, 2.0}), galml::Error);
  CHECK_THROWS_AS(dwa.record_epoch({1.0, NAN, 1.0}), galml::Error);
  // Large ratios do not overflow (softmax is shifted).
  const auto big = DWA::weights_from_ratios({800.0, 1.0}, 0.5);
  CHECK(big[0] == Approx(2.0)); CHECK(big[1] == Approx(0.0).margin(1e-300));
}

TEST_CASE("DWA state survives save/load and resumes bit-identically", "[loss][dwa][resume]") {
  const std::vector<std::vector<double>> L = {{1.3, 0.7}, {1.1, 0.65}, {0.97, 0.66}, {0.91, 0.6}, {0.88, 0.61}, {0.8, 0.55}};
  DWA straight(2, 1.0);
  std::vector<std::vector<double>> ref;
  for (int t = 1; t <= 6; ++t) { ref.push_back(straight.weights_for_epoch(t)); straight.record_epoch(L[size_t(t - 1)]); }

  DWA first(2, 1.0);
  for (int t = 1; t <= 3; ++t) { CHECK(first.weights_for_epoch(t) == ref[size_t(t - 1)]); first.record_epoch(L[size_t(t - 1)]); }
  galml::StateDict ck;
  ck.merge(first.state_dict(), "dwa.");
  const auto path = std::filesystem::path(GALML_TEST_TMP_DIR) / "dwa_resume.gsd";
  ck.save(path);

  DWA resumed(2, 7.0);  // temperature comes back from the checkpoint
  resumed.load_state_dict(galml::StateDict::load(path).sub("dwa."));
  CHECK(resumed.temperature() == 1.0);
  CHECK(resumed.epochs_recorded() == 3);
  for (int t = 4; t <= 6; ++t) {
    CHECK(resumed.weights_for_epoch(t) == ref[size_t(t - 1)]);  // exact equality: bit-identical
    resumed.record_epoch(L[size_t(t - 1)]);
  }
  CHECK(resumed.history() == straight.history());

  DWA wrong(3, 1.0);
  CHECK_THROWS_AS(wrong.load_state_dict(first.state_dict()), galml::Error);
}

TEST_CASE("fixed weights", "[loss][taskweights]") {
  FixedWeights fw{{1.0, 0.3}};
  CHECK(fw.weights_for_epoch(1) == std::vector<double>{1.0, 0.3});
  fw.record_epoch({5.0, 5.0});
  CHECK(fw.weights_for_epoch(50) == std::vector<double>{1.0, 0.3});
  FixedWeights other;
  other.load_state_dict(fw.state_dict());
  CHECK(other.lambdas == fw.lambdas);
}
