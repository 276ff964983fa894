// Focal loss: spec §6 reference values, reductions to CE, gradients (numeric, double precision).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "galml/loss/cross_entropy.hpp"
#include "galml/loss/focal.hpp"
#include "loss/loss_test_util.hpp"

using namespace galml::loss;

TEMPLATE_TEST_CASE("focal loss reproduces the spec test values", "[loss][focal]", float, double) {
  using T = TestType;
  const FocalLoss fl;  // α = 0.25 for every class, γ = 2
  // Two classes with logits log p: softmax gives exactly p.
  const T pred[4] = {T(std::log(0.9)), T(std::log(0.1)), T(std::log(0.5)), T(std::log(0.5))};
  const T tgt0[1] = {T(0)};
  CHECK(double(fl.forward_backward(pred, tgt0, 1, 2)) == Approx(2.634e-4).epsilon(1e-3));
  CHECK(double(fl.forward_backward(pred + 2, tgt0, 1, 2)) == Approx(0.04332).epsilon(1e-3));
  // Exact closed forms.
  CHECK(double(fl.forward_backward(pred, tgt0, 1, 2)) == Approx(-0.25 * 0.01 * std::log(0.9)).epsilon(1e-5));
  // Mean over N: both rows together average the two values.
  const T both[2] = {T(0), T(1)};
  const T pred2[4] = {T(std::log(0.9)), T(std::log(0.1)), T(std::log(0.5)), T(std::log(0.5))};
  CHECK(double(fl.forward_backward(pred2, both, 2, 2)) ==
        Approx(0.5 * (-0.25 * 0.01 * std::log(0.9) - 0.25 * 0.25 * std::log(0.5))).epsilon(1e-5));
}

TEST_CASE("focal loss with gamma 0 is alpha-scaled cross-entropy", "[loss][focal]") {
  const std::vector<double> pred = {0.3, -1.2, 2.0, 0.1, 0.5, -0.7, 1.1, 0.0, -2.0};
  const std::vector<double> tgt = {2, 0, 1};
  FocalLoss fl; fl.gamma = 0.0;
  CrossEntropy ce;
  std::vector<double> gf(9), gc(9);
  const double vf = fl.forward_backward(pred.data(), tgt.data(), 3, 3, gf.data());
  const double vc = ce.forward_backward(pred.data(), tgt.data(), 3, 3, gc.data());
  CHECK(vf == Approx(0.25 * vc).epsilon(1e-14));
  for (int i = 0; i < 9; ++i) CHECK(gf[size_t(i)] == Approx(0.25 * gc[size_t(i)]).epsilon(1e-12));
}

TEST_CASE("focal loss gradients match central differences", "[loss][focal][gradcheck]") {
  const int64_t N = 5, D = 4;
  const std::vector<double> pred = {0.3, -1.2, 2.0, 0.1, 0.5, -0.7, 1.1, 0.0, -2.0, 0.4,
                                    3.0, -3.0, 1.0, 1.5, 0.2, -0.4, 0.9, 0.8, 0.7, 0.6};
  const std::vector<double> tgt = {2, 0, 1, 3, 0};
  SECTION("default alpha, gamma 2") { galml_test::check_loss_gradient(FocalLoss{}, pred, tgt, N, D); }
  SECTION("per-class alpha, gamma 0.5 (< 1: (1−p)^(γ−1) is singular at p = 1)") {
    FocalLoss fl; fl.alpha = {0.1, 0.4, 0.25, 0.7}; fl.gamma = 0.5;
    galml_test::check_loss_gradient(fl, pred, tgt, N, D);
  }
  SECTION("gamma 3") { FocalLoss fl; fl.gamma = 3; galml_test::check_loss_gradient(fl, pred, tgt, N, D); }
  SECTION("soft targets") {
    FocalLoss fl; fl.soft_targets = true; fl.alpha = {0.3, 0.2, 0.25, 0.5};
    std::vector<double> q = {0.1, 0.2, 0.3, 0.4, 1, 0, 0, 0, 0.25, 0.25, 0.25, 0.25, 0, 0.5, 0.5, 0, 0.7, 0.1, 0.1, 0.1};
    galml_test::check_loss_gradient(fl, pred, q, N, D);
  }
  SECTION("row mask with NaN targets in dropped rows") {
    std::vector<double> t = tgt; t[1] = NAN; t[3] = NAN;
    const std::vector<double> mask = {1, 0, 1, 0, 1};
    galml_test::check_loss_gradient(FocalLoss{}, pred, t, N, D, &mask);
  }
}

TEST_CASE("focal loss stays finite for confident predictions", "[loss][focal]") {
  const float pred[3] = {60.f, -60.f, 0.f};
  const float t[1] = {0.f};
  float g[3];
  FocalLoss fl; fl.gamma = 0.5;
  const float v = fl.forward_backward(pred, t, 1, 3, g);
  CHECK(std::isfinite(v));
  for (float x : g) CHECK(std::isfinite(x));
  const float t2[1] = {1.f};  // hopeless prediction: loss ≈ 0.25·120, gradient ≈ 0.25
  CHECK(fl.forward_backward(pred, t2, 1, 3, g) == Approx(0.25 * 120.0).epsilon(1e-4));
}

TEST_CASE("focal loss rejects bad targets", "[loss][focal]") {
  const double pred[2] = {0.0, 1.0};
  const double bad[1] = {2.0}, frac[1] = {0.5};
  CHECK_THROWS_AS(FocalLoss{}.forward_backward(pred, bad, 1, 2), galml::Error);
  CHECK_THROWS_AS(FocalLoss{}.forward_backward(pred, frac, 1, 2), galml::Error);
  FocalLoss fl; fl.alpha = {0.25, 0.25, 0.25};
  const double ok[2] = {1.0, 0.0};  // sized for D so no path reads past it
  CHECK_THROWS_AS(fl.forward_backward(pred, ok, 1, 2), galml::Error);
}
