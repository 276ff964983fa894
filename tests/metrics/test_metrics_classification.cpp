#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "galml/metrics/classification.hpp"
#include "metrics/golden.hpp"

using namespace galml::metrics;
using Catch::Matchers::WithinAbs;

namespace {
void check_prf(const ClassificationReport& r, const nlohmann::json& g) {
  CHECK(r.accuracy == Approx(g["accuracy"].get<double>()).epsilon(1e-12));
  CHECK(r.confusion.to_json() == g["confusion"]);
  CHECK(r.support == golden::vec<std::int64_t>(g["support"]));
  const auto P = golden::vec<double>(g["precision"]), R = golden::vec<double>(g["recall"]),
             F = golden::vec<double>(g["f1"]);
  for (std::size_t c = 0; c < r.n_classes; ++c) {
    INFO("class " << c);
    CHECK_THAT(r.precision[c], WithinAbs(P[c], 1e-12));
    CHECK_THAT(r.recall[c], WithinAbs(R[c], 1e-12));
    CHECK_THAT(r.f1[c], WithinAbs(F[c], 1e-12));
  }
  CHECK_THAT(r.macro_precision, WithinAbs(g["macro"]["precision"].get<double>(), 1e-12));
  CHECK_THAT(r.macro_recall, WithinAbs(g["macro"]["recall"].get<double>(), 1e-12));
  CHECK_THAT(r.macro_f1, WithinAbs(g["macro"]["f1"].get<double>(), 1e-12));
  CHECK_THAT(r.weighted_precision, WithinAbs(g["weighted"]["precision"].get<double>(), 1e-12));
  CHECK_THAT(r.weighted_recall, WithinAbs(g["weighted"]["recall"].get<double>(), 1e-12));
  CHECK_THAT(r.weighted_f1, WithinAbs(g["weighted"]["f1"].get<double>(), 1e-12));
  // weighted recall is accuracy, always (the paper's "Overall" rows)
  CHECK_THAT(r.weighted_recall, WithinAbs(r.accuracy, 1e-12));
}
}  // namespace

TEST_CASE("hand-computed 3-class report", "[metrics][classification]") {
  // true: 0 0 0 1 1 2 ; pred: 0 0 1 1 2 2
  const std::vector<int> t{0, 0, 0, 1, 1, 2}, p{0, 0, 1, 1, 2, 2};
  const auto r = classification_report(t, p, 3, {}, {"passive", "SF", "AGN"});
  CHECK(r.accuracy == Approx(4.0 / 6));
  CHECK(r.confusion.at(0, 0) == 2);
  CHECK(r.confusion.at(0, 1) == 1);
  CHECK(r.confusion.at(1, 2) == 1);
  CHECK(r.confusion.total() == 6);
  CHECK(r.confusion.row_fraction(0, 0) == Approx(2.0 / 3));
  CHECK(r.precision == std::vector<double>{1.0, 0.5, 0.5});
  CHECK(r.recall[0] == Approx(2.0 / 3));
  CHECK(r.recall[1] == Approx(0.5));
  CHECK(r.recall[2] == Approx(1.0));
  CHECK(r.f1[0] == Approx(0.8));
  CHECK(r.macro_precision == Approx(2.0 / 3));
  CHECK(r.weighted_recall == Approx(r.accuracy));
  CHECK(r.weighted_precision == Approx((3 * 1.0 + 2 * 0.5 + 1 * 0.5) / 6));
  const auto j = r.to_json();
  CHECK(j["per_class"][1]["class"] == "SF");
  CHECK(j["per_class"][0]["support"] == 3);
  CHECK_FALSE(j.contains("auc"));
  CHECK_FALSE(r.has_auc);
}

TEST_CASE("zero division gives 0, absent classes count in the macro mean", "[metrics][classification]") {
  const std::vector<int> t{0, 0, 1}, p{0, 0, 0};
  const auto r = classification_report(t, p, 3);
  CHECK(r.precision[1] == 0.0);  // never predicted
  CHECK(r.recall[2] == 0.0);     // never true
  CHECK(r.f1[2] == 0.0);
  CHECK(r.macro_recall == Approx(1.0 / 3));
  CHECK(r.weighted_recall == Approx(2.0 / 3));
  CHECK_THROWS_AS(confusion_matrix(t, std::vector<int>{0, 0, 3}, 3), galml::Error);
  CHECK_THROWS_AS(confusion_matrix(t, std::vector<int>{0, 0}, 3), galml::Error);
}

TEST_CASE("classification matches numpy golden values", "[metrics][classification]") {
  const auto& g = golden::data()["classification"];
  const std::size_t K = g["K"];
  const auto t = golden::vec<int>(g["y_true"]), p = golden::vec<int>(g["y_pred"]);
  const auto probs = golden::vec<double>(g["probs"]);
  CHECK(argmax_rows(probs, K) == p);
  const auto r = classification_report(t, p, K, probs);
  check_prf(r, g);
  REQUIRE(r.has_auc);
  const auto auc = golden::vec<double>(g["auc"]);
  for (std::size_t c = 0; c < K; ++c) CHECK_THAT(r.auc[c], WithinAbs(auc[c], 1e-12));
  CHECK_THAT(r.macro_auc, WithinAbs(g["macro_auc"].get<double>(), 1e-12));
  CHECK_THAT(r.weighted_auc, WithinAbs(g["weighted_auc"].get<double>(), 1e-12));
  CHECK(r.to_json()["macro"]["auc"].get<double>() == r.macro_auc);

  std::vector<double> s0(t.size());
  std::vector<std::uint8_t> pos(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) { s0[i] = probs[i * K]; pos[i] = t[i] == 0; }
  const auto roc = roc_curve(s0, pos);
  CHECK(roc.fpr == golden::vec<double>(g["roc0"]["fpr"]));
  CHECK(roc.tpr == golden::vec<double>(g["roc0"]["tpr"]));

  const auto& g2 = g["no_class3"];
  check_prf(classification_report(t, golden::vec<int>(g2["y_pred"]), K), g2);
}

TEST_CASE("ROC-AUC tie handling and degenerate cases", "[metrics][classification]") {
  // all scores tied: AUC 0.5 (the diagonal), not 0 or 1
  const std::vector<double> s{0.3, 0.3, 0.3, 0.3};
  const std::vector<std::uint8_t> y{1, 0, 1, 0};
  CHECK(roc_auc(s, y) == Approx(0.5));
  // one positive tied with one of two negatives: (1 + 0.5)/2
  CHECK(roc_auc(std::vector<double>{0.9, 0.5, 0.5}, std::vector<std::uint8_t>{0, 1, 0}) == Approx(0.25));
  CHECK(roc_auc(std::vector<double>{0.9, 0.5, 0.1}, std::vector<std::uint8_t>{1, 0, 0}) == 1.0);
  // single class present -> NaN, skipped by the means
  CHECK(std::isnan(roc_auc(s, std::vector<std::uint8_t>{1, 1, 1, 1})));
  const std::vector<int> t{0, 0, 1, 1};
  const std::vector<double> probs{0.9, 0.1, 0.0, 0.6, 0.4, 0.0, 0.2, 0.8, 0.0, 0.3, 0.7, 0.0};
  const auto r = classification_report(t, argmax_rows(probs, 3), 3, probs);
  CHECK(std::isnan(r.auc[2]));
  CHECK(r.auc[0] == 1.0);
  CHECK(r.macro_auc == 1.0);
}
