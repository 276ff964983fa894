#pragma once
// Classification metrics with scikit-learn semantics: confusion matrix (rows = true, cols = pred),
// per-class precision/recall/F1/support with zero_division = 0, macro and support-weighted means
// over all n_classes (sklearn with labels = range(n_classes)), and one-vs-rest ROC-AUC computed as
// the trapezoid over distinct score thresholds (ties between a positive and a negative count ½).
// Labels are integers in [0, n_classes); probabilities are N×K row-major.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "galml/core/error.hpp"

namespace galml::metrics {

struct ConfusionMatrix {
  std::size_t n_classes = 0;
  std::vector<std::int64_t> counts;  // row-major n_classes × n_classes, [true][pred]

  std::int64_t at(std::size_t true_class, std::size_t pred_class) const {
    return counts[true_class * n_classes + pred_class];
  }
  std::int64_t row_sum(std::size_t t) const {
    std::int64_t s = 0;
    for (std::size_t p = 0; p < n_classes; ++p) s += at(t, p);
    return s;
  }
  std::int64_t col_sum(std::size_t p) const {
    std::int64_t s = 0;
    for (std::size_t t = 0; t < n_classes; ++t) s += at(t, p);
    return s;
  }
  std::int64_t total() const { return std::accumulate(counts.begin(), counts.end(), std::int64_t{0}); }
  // Row-normalised fraction (the recall of the true class on the diagonal); 0 for an empty row.
  double row_fraction(std::size_t t, std::size_t p) const {
    const auto r = row_sum(t);
    return r == 0 ? 0.0 : double(at(t, p)) / double(r);
  }
  nlohmann::json to_json() const {
    auto rows = nlohmann::json::array();
    for (std::size_t t = 0; t < n_classes; ++t) {
      auto row = nlohmann::json::array();
      for (std::size_t p = 0; p < n_classes; ++p) row.push_back(at(t, p));
      rows.push_back(row);
    }
    return rows;
  }
};

namespace detail {
inline void check_labels(std::span<const int> labels, std::size_t n_classes, const char* what,
                         const char* which) {
  for (std::size_t i = 0; i < labels.size(); ++i)
    GALML_CHECK(labels[i] >= 0 && std::size_t(labels[i]) < n_classes, what, ": ", which, "[", i,
                "] = ", labels[i], " is outside [0, ", n_classes, ")");
}
}  // namespace detail

inline ConfusionMatrix confusion_matrix(std::span<const int> y_true, std::span<const int> y_pred,
                                        std::size_t n_classes) {
  GALML_CHECK(y_true.size() == y_pred.size(), "confusion_matrix: y_true has ", y_true.size(),
              " labels but y_pred has ", y_pred.size());
  GALML_CHECK(n_classes > 0, "confusion_matrix: n_classes must be positive");
  detail::check_labels(y_true, n_classes, "confusion_matrix", "y_true");
  detail::check_labels(y_pred, n_classes, "confusion_matrix", "y_pred");
  ConfusionMatrix cm{n_classes, std::vector<std::int64_t>(n_classes * n_classes, 0)};
  for (std::size_t i = 0; i < y_true.size(); ++i)
    ++cm.counts[std::size_t(y_true[i]) * n_classes + std::size_t(y_pred[i])];
  return cm;
}

inline double accuracy(std::span<const int> y_true, std::span<const int> y_pred) {
  GALML_CHECK(y_true.size() == y_pred.size(), "accuracy: y_true has ", y_true.size(),
              " labels but y_pred has ", y_pred.size());
  if (y_true.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::size_t ok = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) ok += (y_true[i] == y_pred[i]);
  return double(ok) / double(y_true.size());
}

// argmax over each row of an N×K probability (or logit) matrix; ties go to the lower index,
// like numpy.argmax.
inline std::vector<int> argmax_rows(std::span<const double> probs, std::size_t n_classes) {
  GALML_CHECK(n_classes > 0 && probs.size() % n_classes == 0, "argmax_rows: ", probs.size(),
              " values is not a multiple of n_classes = ", n_classes);
  std::vector<int> out(probs.size() / n_classes);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double* row = probs.data() + i * n_classes;
    out[i] = int(std::max_element(row, row + n_classes) - row);
  }
  return out;
}

// Points of a ROC curve at every distinct threshold (sklearn roc_curve with
// drop_intermediate=False), starting at (0, 0).
struct RocCurve {
  std::vector<double> fpr, tpr, thresholds;
};

inline RocCurve roc_curve(std::span<const double> scores, std::span<const std::uint8_t> positive) {
  GALML_CHECK(scores.size() == positive.size(), "roc_curve: ", scores.size(), " scores but ",
              positive.size(), " labels");
  std::vector<std::size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  // Descending score; stable so the result does not depend on the sort implementation.
  std::stable_sort(idx.begin(), idx.end(), [&](auto a, auto b) { return scores[a] > scores[b]; });
  double P = 0, N = 0;
  for (auto p : positive) (p ? P : N) += 1;
  RocCurve c;
  c.fpr.push_back(0);
  c.tpr.push_back(0);
  c.thresholds.push_back(std::numeric_limits<double>::infinity());
  double tp = 0, fp = 0;
  for (std::size_t k = 0; k < idx.size();) {
    const double s = scores[idx[k]];
    // Consume the whole group of tied scores before emitting a point: that is what makes the
    // trapezoid give ties a ½ credit.
    for (; k < idx.size() && scores[idx[k]] == s; ++k) (positive[idx[k]] ? tp : fp) += 1;
    c.fpr.push_back(N > 0 ? fp / N : std::numeric_limits<double>::quiet_NaN());
    c.tpr.push_back(P > 0 ? tp / P : std::numeric_limits<double>::quiet_NaN());
    c.thresholds.push_back(s);
  }
  return c;
}

// Binary ROC-AUC; NaN when only one class is present (sklearn raises there).
inline double roc_auc(std::span<const double> scores, std::span<const std::uint8_t> positive) {
  const auto c = roc_curve(scores, positive);
  if (c.fpr.size() < 2 || std::isnan(c.fpr.back()) || std::isnan(c.tpr.back()))
    return std::numeric_limits<double>::quiet_NaN();
  double a = 0;
  for (std::size_t i = 1; i < c.fpr.size(); ++i)
    a += (c.fpr[i] - c.fpr[i - 1]) * 0.5 * (c.tpr[i] + c.tpr[i - 1]);
  return a;
}

// One-vs-rest AUC of class c from column c of the N×K probability matrix.
inline double roc_auc_ovr(std::span<const int> y_true, std::span<const double> probs,
                          std::size_t n_classes, std::size_t c) {
  GALML_CHECK(probs.size() == y_true.size() * n_classes, "roc_auc_ovr: probs has ", probs.size(),
              " values, expected N×K = ", y_true.size(), "×", n_classes);
  GALML_CHECK(c < n_classes, "roc_auc_ovr: class ", c, " >= n_classes ", n_classes);
  std::vector<double> s(y_true.size());
  std::vector<std::uint8_t> pos(y_true.size());
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    s[i] = probs[i * n_classes + c];
    pos[i] = y_true[i] == int(c);
  }
  return roc_auc(s, pos);
}

struct ClassificationReport {
  std::size_t n = 0, n_classes = 0;
  std::vector<std::string> class_names;  // optional; "0", "1", ... when not given
  double accuracy = 0;
  ConfusionMatrix confusion;
  std::vector<double> precision, recall, f1;
  std::vector<std::int64_t> support;  // true count per class
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  double weighted_precision = 0, weighted_recall = 0, weighted_f1 = 0;
  // Filled only when probabilities were given. NaN for a class absent from (or filling) y_true;
  // the means skip NaN classes (sklearn would refuse to compute them at all).
  bool has_auc = false;
  std::vector<double> auc;
  double macro_auc = std::numeric_limits<double>::quiet_NaN();
  double weighted_auc = std::numeric_limits<double>::quiet_NaN();

  nlohmann::json to_json() const {
    nlohmann::json j;
    j["n"] = n;
    j["n_classes"] = n_classes;
    j["class_names"] = class_names;
    j["accuracy"] = accuracy;
    j["confusion_matrix"] = confusion.to_json();
    auto per = nlohmann::json::array();
    for (std::size_t c = 0; c < n_classes; ++c) {
      nlohmann::json e{{"class", class_names[c]}, {"precision", precision[c]}, {"recall", recall[c]},
                       {"f1", f1[c]}, {"support", support[c]}};
      if (has_auc) e["auc"] = auc[c];
      per.push_back(e);
    }
    j["per_class"] = per;
    j["macro"] = {{"precision", macro_precision}, {"recall", macro_recall}, {"f1", macro_f1}};
    j["weighted"] = {{"precision", weighted_precision}, {"recall", weighted_recall}, {"f1", weighted_f1}};
    if (has_auc) {
      j["macro"]["auc"] = macro_auc;
      j["weighted"]["auc"] = weighted_auc;
    }
    return j;
  }
};

namespace detail {
inline double safe_div(double a, double b) { return b == 0 ? 0.0 : a / b; }  // zero_division = 0
}  // namespace detail

// Everything from the confusion matrix; probs (N×K, optional) adds the one-vs-rest AUCs.
inline ClassificationReport classification_report(std::span<const int> y_true,
                                                  std::span<const int> y_pred, std::size_t n_classes,
                                                  std::span<const double> probs = {},
                                                  std::vector<std::string> class_names = {}) {
  ClassificationReport r;
  r.confusion = confusion_matrix(y_true, y_pred, n_classes);
  GALML_CHECK(class_names.empty() || class_names.size() == n_classes, "classification_report: ",
              class_names.size(), " class names for ", n_classes, " classes");
  if (class_names.empty())
    for (std::size_t c = 0; c < n_classes; ++c) class_names.push_back(std::to_string(c));
  r.class_names = std::move(class_names);
  r.n = y_true.size();
  r.n_classes = n_classes;
  r.accuracy = accuracy(y_true, y_pred);
  const auto& cm = r.confusion;
  double total_support = 0;
  for (std::size_t c = 0; c < n_classes; ++c) {
    const double tp = double(cm.at(c, c));
    const double fp = double(cm.col_sum(c)) - tp;
    const double fn = double(cm.row_sum(c)) - tp;
    r.precision.push_back(detail::safe_div(tp, tp + fp));
    r.recall.push_back(detail::safe_div(tp, tp + fn));
    // 2TP/(2TP+FP+FN) equals 2PR/(P+R) and is 0 (not NaN) when the class never occurs.
    r.f1.push_back(detail::safe_div(2 * tp, 2 * tp + fp + fn));
    r.support.push_back(cm.row_sum(c));
    total_support += double(r.support.back());
  }
  for (std::size_t c = 0; c < n_classes; ++c) {
    r.macro_precision += r.precision[c] / double(n_classes);
    r.macro_recall += r.recall[c] / double(n_classes);
    r.macro_f1 += r.f1[c] / double(n_classes);
    const double w = detail::safe_div(double(r.support[c]), total_support);
    r.weighted_precision += w * r.precision[c];
    r.weighted_recall += w * r.recall[c];
    r.weighted_f1 += w * r.f1[c];
  }
  if (!probs.empty()) {
    r.has_auc = true;
    double sm = 0, sw = 0, nm = 0, nw = 0;
    for (std::size_t c = 0; c < n_classes; ++c) {
      r.auc.push_back(roc_auc_ovr(y_true, probs, n_classes, c));
      if (std::isnan(r.auc.back())) continue;
      sm += r.auc.back(); nm += 1;
      sw += r.auc.back() * double(r.support[c]); nw += double(r.support[c]);
    }
    if (nm > 0) r.macro_auc = sm / nm;
    if (nw > 0) r.weighted_auc = sw / nw;
  }
  return r;
}

}  // namespace galml::metrics
