// Numeric gradient checks (central differences, double precision, relative error < 1e-6) for every loss,
// plus the masking, L2 and multi-task behaviours that the checks rely on.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "galml/core/rng.hpp"
#include "galml/loss/cross_entropy.hpp"
#include "galml/loss/focal.hpp"
#include "galml/loss/l2_penalty.hpp"
#include "galml/loss/mae.hpp"
#include "galml/loss/masked.hpp"
#include "galml/loss/mse.hpp"
#include "galml/loss/multitask.hpp"
#include "loss/loss_test_util.hpp"

using namespace galml::loss;
using galml_test::check_loss_gradient;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Deterministic pseudo-random values in [lo, hi) (a tiny LCG keeps the test independent of other headers).
std::vector<double> values(size_t n, double lo, double hi, uint64_t seed) {
  std::vector<double> v(n);
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (auto& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = lo + (hi - lo) * double(s >> 11) / double(1ull << 53);
  }
  return v;
}

const int64_t N = 6, D = 4;
const std::vector<double> kLogits = values(size_t(N * D), -3, 3, 1);
const std::vector<double> kLabels = {0, 3, 1, 2, 1, 3};
const std::vector<double> kMask = {1, 0, 1, 1, 0, 1};

std::vector<double> soft_targets() {
  auto q = values(size_t(N * D), 0.05, 1, 2);
  for (int64_t i = 0; i < N; ++i) {
    double s = 0;
    for (int64_t c = 0; c < D; ++c) s += q[size_t(i * D + c)];
    for (int64_t c = 0; c < D; ++c) q[size_t(i * D + c)] /= s;
  }
  return q;
}
std::vector<double> with_nan_rows(std::vector<double> t, int64_t width) {
  for (int64_t i = 0; i < N; ++i)
    if (kMask[size_t(i)] == 0)
      for (int64_t d = 0; d < width; ++d) t[size_t(i * width + d)] = kNaN;
  return t;
}
}  // namespace

TEST_CASE("cross-entropy gradients", "[loss][ce][gradcheck]") {
  CrossEntropy ce;
  SECTION("plain") { check_loss_gradient(ce, kLogits, kLabels, N, D); }
  SECTION("class weights") { ce.class_weights = {0.5, 2.0, 1.0, 3.0}; check_loss_gradient(ce, kLogits, kLabels, N, D); }
  SECTION("label smoothing") { ce.label_smoothing = 0.1; check_loss_gradient(ce, kLogits, kLabels, N, D); }
  SECTION("class weights + label smoothing") {
    ce.class_weights = {0.5, 2.0, 1.0, 3.0}; ce.label_smoothing = 0.2;
    check_loss_gradient(ce, kLogits, kLabels, N, D);
  }
  SECTION("soft targets") { ce.soft_targets = true; check_loss_gradient(ce, kLogits, soft_targets(), N, D); }
  SECTION("soft targets + weights + smoothing") {
    ce.soft_targets = true; ce.class_weights = {0.5, 2.0, 1.0, 3.0}; ce.label_smoothing = 0.1;
    check_loss_gradient(ce, kLogits, soft_targets(), N, D);
  }
  SECTION("row mask, NaN labels in dropped rows, weights + smoothing") {
    ce.class_weights = {0.5, 2.0, 1.0, 3.0}; ce.label_smoothing = 0.1;
    check_loss_gradient(ce, kLogits, with_nan_rows(kLabels, 1), N, D, &kMask);
  }
  SECTION("soft targets with NaN rows masked") {
    ce.soft_targets = true;
    check_loss_gradient(ce, kLogits, with_nan_rows(soft_targets(), D), N, D, &kMask);
  }
}

TEST_CASE("focal loss gradients (all variants)", "[loss][focal][gradcheck]") {
  FocalLoss fl;
  check_loss_gradient(fl, kLogits, kLabels, N, D);
  fl.alpha = {0.1, 0.2, 0.3, 0.4};
  check_loss_gradient(fl, kLogits, with_nan_rows(kLabels, 1), N, D, &kMask);
}

TEST_CASE("regression loss gradients", "[loss][mse][mae][gradcheck]") {
  const int64_t R = 3;
  const auto pred = values(size_t(N * R), -2, 2, 3);
  auto target = values(size_t(N * R), -2, 2, 4);
  for (size_t j = 0; j < target.size(); ++j)  // keep |pred − target| well above the difference step (MAE kink)
    if (std::abs(pred[j] - target[j]) < 1e-3) target[j] += 0.1;
  const auto nan_target = with_nan_rows(target, R);
  SECTION("MSE") { check_loss_gradient(MSE{}, pred, target, N, R); }
  SECTION("MAE") { check_loss_gradient(MAE{}, pred, target, N, R); }
  SECTION("Masked<MAE> ÷N with NaN targets") {
    check_loss_gradient(Masked<MAE>{}, pred, nan_target, N, R, &kMask);
  }
  SECTION("Masked<MAE> ÷ΣM with NaN targets") {
    check_loss_gradient(Masked<MAE>{MAE{}, Normalize::mask_count}, pred, nan_target, N, R, &kMask);
  }
  SECTION("Masked<MSE> both normalisations with NaN targets") {
    check_loss_gradient(Masked<MSE>{}, pred, nan_target, N, R, &kMask);
    check_loss_gradient(Masked<MSE>{MSE{}, Normalize::mask_count}, pred, nan_target, N, R, &kMask);
  }
  SECTION("Masked<CrossEntropy> and Masked<FocalLoss> ÷N") {
    CrossEntropy ce; ce.label_smoothing = 0.1;
    check_loss_gradient(Masked<CrossEntropy>{ce}, kLogits, with_nan_rows(kLabels, 1), N, D, &kMask);
    check_loss_gradient(Masked<FocalLoss>{}, kLogits, with_nan_rows(kLabels, 1), N, D, &kMask);
  }
}

TEST_CASE("masked losses: values, NaN isolation and normalisation", "[loss][masked]") {
  // Eq. 7 by hand: N = 4, two SF rows with |errors| 0.5 and 1.5 → (0.5 + 1.5)/4.
  const double pred[4] = {9.0, 8.5, 7.0, 8.0};
  const double target[4] = {8.5, kNaN, 8.5, kNaN};
  const double mask[4] = {1, 0, 1, 0};
  double g[4];
  Masked<MAE> eq7;
  CHECK(eq7.forward_backward(pred, target, 4, 1, g, mask) == Approx(0.5));
  CHECK(g[0] == 0.25); CHECK(g[1] == 0.0); CHECK(g[2] == -0.25); CHECK(g[3] == 0.0);
  Masked<MAE> mean{MAE{}, Normalize::mask_count};
  CHECK(mean.forward_backward(pred, target, 4, 1, g, mask) == Approx(1.0));
  CHECK(g[0] == 0.5); CHECK(g[1] == 0.0);
  // A plain loss given a mask is the masked mean.
  CHECK(MAE{}.forward_backward(pred, target, 4, 1, g, mask) == Approx(1.0));

  SECTION("no kept rows gives 0 and a zero gradient under ÷ΣM") {
    const double none[4] = {0, 0, 0, 0};
    double g2[4] = {7, 7, 7, 7};
    CHECK(mean.forward_backward(pred, target, 4, 1, g2, none) == 0.0);
    for (double x : g2) CHECK(x == 0.0);
    CHECK(eq7.forward_backward(pred, target, 4, 1, g2, none) == 0.0);
    for (double x : g2) CHECK(x == 0.0);
  }
  SECTION("float: NaN targets do not leak") {
    const float pf[4] = {9.f, 8.5f, 7.f, 8.f};
    const float tf[4] = {8.5f, NAN, 8.5f, NAN};
    const float mf[4] = {1, 0, 1, 0};
    float gf[4];
    CHECK(Masked<MSE>{}.forward_backward(pf, tf, 4, 1, gf, mf) == Approx((0.25 + 2.25) / 4));
    for (float x : gf) CHECK(std::isfinite(x));
  }
  SECTION("unmasked NaN target does propagate (it is a data error)") {
    CHECK(std::isnan(MAE{}.forward_backward(pred, target, 4, 1)));
  }
}

TEST_CASE("class_mask builds the mask from true labels", "[loss][masked]") {
  const double labels[6] = {0, 1, 2, 1, 3, kNaN};
  const auto m = class_mask<double>(labels, 6, 1);
  CHECK(m == std::vector<double>{0, 1, 0, 1, 0, 0});
  const int64_t li[4] = {2, 0, 3, 2};
  float mf[4];
  class_mask(li, 4, {2, 3}, mf);
  CHECK(mf[0] == 1.f); CHECK(mf[1] == 0.f); CHECK(mf[2] == 1.f); CHECK(mf[3] == 1.f);
}

TEST_CASE("cross-entropy semantics", "[loss][ce]") {
  // Uniform logits: CE = log C with smoothing alone, and with weights alone (they cancel in the weighted
  // mean); with both, PyTorch's smoothing term Σ_c w_c/C no longer cancels against Σ_i w[y_i].
  const double z[6] = {0, 0, 0, 1, 1, 1};
  const double y[2] = {0, 2};
  CrossEntropy ce;
  CHECK(ce.forward_backward(z, y, 2, 3) == Approx(std::log(3.0)));
  ce.label_smoothing = 0.3;
  CHECK(ce.forward_backward(z, y, 2, 3) == Approx(std::log(3.0)));
  ce.label_smoothing = 0.0;
  ce.class_weights = {1, 5, 10};
  CHECK(ce.forward_backward(z, y, 2, 3) == Approx(std::log(3.0)));
  ce.label_smoothing = 0.3;
  CHECK(ce.forward_backward(z, y, 2, 3) == Approx(std::log(3.0) * (0.7 * 11 + 0.1 * 16 * 2) / 11));
  // Bad inputs are reported.
  const double bad[2] = {0, 3};
  CHECK_THROWS_AS(ce.forward_backward(z, bad, 2, 3), galml::Error);
  ce.class_weights = {1, 2};
  CHECK_THROWS_AS(ce.forward_backward(z, y, 2, 3), galml::Error);
  // Extreme logits stay finite (stable log-softmax).
  const float big[3] = {1000.f, -1000.f, 0.f};
  const float t[1] = {1.f};
  float g[3];
  CrossEntropy plain;
  CHECK(plain.forward_backward(big, t, 1, 3, g) == Approx(2000.0f));
  CHECK(g[0] == Approx(1.0f)); CHECK(g[1] == Approx(-1.0f));
}

TEST_CASE("Keras-style L2 penalty", "[loss][l2]") {
  const std::vector<double> w = values(10, -1, 1, 5);
  L2Penalty l2{0.003};
  std::vector<double> g(10, 1.0);  // accumulates into an existing gradient
  double s = 0;
  for (double x : w) s += x * x;
  CHECK(l2.forward_backward(w.data(), 10, g.data()) == Approx(0.003 * s));
  for (size_t i = 0; i < 10; ++i) CHECK(g[i] == Approx(1.0 + 0.006 * w[i]));
  galml_test::check_gradient(
      [&](const std::vector<double>& x) { return l2.forward_backward(x.data(), 10, nullptr); }, w,
      [&] { std::vector<double> gg(10, 0.0); l2.forward_backward(w.data(), 10, gg.data()); return gg; }());
  // Ranges: only the "kernel" slices are penalised.
  const std::vector<galml::optim::ParamRange> kernels = {{0, 3}, {5, 4}};
  std::vector<double> g2(10, 0.0);
  double sk = 0;
  for (int i : {0, 1, 2, 5, 6, 7, 8}) sk += w[size_t(i)] * w[size_t(i)];
  CHECK(l2.forward_backward(w.data(), std::span<const galml::optim::ParamRange>(kernels), g2.data()) == Approx(0.003 * sk));
  CHECK(g2[3] == 0.0); CHECK(g2[4] == 0.0); CHECK(g2[9] == 0.0); CHECK(g2[5] == Approx(0.006 * w[5]));
}

TEST_CASE("multi-task objective: weighted sum, raw values, weighted gradients", "[loss][multitask][gradcheck]") {
  MultiTaskLoss<FocalLoss, Masked<MAE>> mtl({"class", "regress"}, FocalLoss{}, Masked<MAE>{});
  const auto reg_pred = values(size_t(N), 7, 10, 6);
  auto reg_target = values(size_t(N), 7, 10, 7);
  reg_target = with_nan_rows(reg_target, 1);
  std::vector<double> gc(static_cast<size_t>(N * D)), gr(static_cast<size_t>(N));
  const std::vector<double> lambda = {0.95, 1.05};
  const std::array<TaskBatch<double>, 2> b = {
      TaskBatch<double>{kLogits.data(), kLabels.data(), N, D, gc.data(), nullptr},
      TaskBatch<double>{reg_pred.data(), reg_target.data(), N, 1, gr.data(), kMask.data()}};
  const auto v = mtl.forward_backward(b, lambda);
  const double lc = FocalLoss{}.forward_backward(kLogits.data(), kLabels.data(), N, D);
  const double lr = Masked<MAE>{}.forward_backward(reg_pred.data(), reg_target.data(), N, 1, nullptr, kMask.data());
  CHECK(v["class"] == lc);
  CHECK(v["regress"] == lr);
  CHECK(v.total == Approx(0.95 * lc + 1.05 * lr));
  CHECK(v.weights == lambda);
  CHECK_THROWS_AS(v["nope"], galml::Error);
  // Gradient of the total w.r.t. the classification logits.
  galml_test::check_gradient(
      [&](const std::vector<double>& z) {
        auto bb = b;
        bb[0].pred = z.data(); bb[0].grad = nullptr; bb[1].grad = nullptr;
        return mtl.forward_backward(bb, lambda).total;
      },
      kLogits, gc);
  std::vector<double> lambda3 = {1, 1, 1};
  CHECK_THROWS_AS(mtl.forward_backward(b, lambda3), galml::Error);
}
