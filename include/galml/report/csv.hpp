#pragma once
// CSV tables (RFC 4180 quoting) for metrics: a generic table plus converters for the per-class,
// per-bin and per-epoch tables a report needs. Numbers are written with 17 significant digits
// so a CSV round-trips doubles exactly; NaN is written as an empty field.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "galml/core/error.hpp"
#include "galml/metrics/binned.hpp"
#include "galml/metrics/classification.hpp"
#include "galml/metrics/regression.hpp"
#include "galml/report/atomic_write.hpp"

namespace galml::report {

class CsvTable {
 public:
  using Cell = std::variant<std::string, double, long long>;

  explicit CsvTable(std::vector<std::string> header) : header_(std::move(header)) {
    GALML_CHECK(!header_.empty(), "CsvTable: the header must name at least one column");
  }
  CsvTable& row(std::vector<Cell> cells) {
    GALML_CHECK(cells.size() == header_.size(), "CsvTable: row ", rows_.size(), " has ", cells.size(),
                " cells but the header has ", header_.size(), " columns");
    rows_.push_back(std::move(cells));
    return *this;
  }
  std::size_t n_rows() const { return rows_.size(); }
  const std::vector<std::string>& header() const { return header_; }

  static std::string quote(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string o = "\"";
    for (char c : s) { if (c == '"') o += '"'; o += c; }
    return o + "\"";
  }
  static std::string cell_text(const Cell& c) {
    if (auto* s = std::get_if<std::string>(&c)) return quote(*s);
    if (auto* i = std::get_if<long long>(&c)) return std::to_string(*i);
    const double v = std::get<double>(c);
    if (std::isnan(v)) return "";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
  }
  std::string str() const {
    std::string o;
    for (std::size_t i = 0; i < header_.size(); ++i) {
      if (i) o += ',';
      o += quote(header_[i]);
    }
    o += "\n";
    for (const auto& r : rows_) {
      for (std::size_t i = 0; i < r.size(); ++i) {
        if (i) o += ',';
        o += cell_text(r[i]);
      }
      o += "\n";
    }
    return o;
  }
  void save(const std::filesystem::path& path) const { write_file_atomic(path, str()); }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<Cell>> rows_;
};

// metric,value rows of one regression report.
inline CsvTable to_csv(const metrics::RegressionReport& r) {
  CsvTable t({"metric", "value"});
  t.row({std::string("n"), (long long)r.n});
  for (auto [k, v] : {std::pair{"mse", r.mse}, {"mae", r.mae}, {"rmse", r.rmse}, {"bias", r.bias}, {"sd", r.sd},
                      {"r2", r.r2}, {"nmad", r.nmad}})
    t.row({std::string(k), v});
  t.row({std::string("n_rejected"), (long long)r.n_rejected});
  return t;
}

// One row per class plus "macro avg" and "weighted avg" rows, like sklearn's classification_report.
inline CsvTable to_csv(const metrics::ClassificationReport& r) {
  CsvTable t({"class", "precision", "recall", "f1", "support", "auc"});
  const double nan = std::nan("");
  for (std::size_t c = 0; c < r.n_classes; ++c)
    t.row({r.class_names[c], r.precision[c], r.recall[c], r.f1[c], (long long)r.support[c], r.has_auc ? r.auc[c] : nan});
  t.row({std::string("macro avg"), r.macro_precision, r.macro_recall, r.macro_f1, (long long)r.n, r.macro_auc});
  t.row({std::string("weighted avg"), r.weighted_precision, r.weighted_recall, r.weighted_f1, (long long)r.n, r.weighted_auc});
  t.row({std::string("accuracy"), nan, nan, r.accuracy, (long long)r.n, nan});
  return t;
}

inline CsvTable to_csv(const metrics::ConfusionMatrix& cm, const std::vector<std::string>& names = {}) {
  auto name = [&](std::size_t c) { return names.empty() ? std::to_string(c) : names.at(c); };
  std::vector<std::string> h{"true\\pred"};
  for (std::size_t c = 0; c < cm.n_classes; ++c) h.push_back(name(c));
  CsvTable t(h);
  for (std::size_t r = 0; r < cm.n_classes; ++r) {
    std::vector<CsvTable::Cell> row{name(r)};
    for (std::size_t c = 0; c < cm.n_classes; ++c) row.emplace_back((long long)cm.at(r, c));
    t.row(std::move(row));
  }
  return t;
}

inline CsvTable to_csv(const std::vector<metrics::RegressionBin>& bins) {
  CsvTable t({"lo", "hi", "n", "mse", "mae", "rmse", "bias", "sd", "r2", "nmad"});
  for (const auto& b : bins) {
    const auto& s = b.stats;
    t.row({b.lo, b.hi, (long long)s.n, s.mse, s.mae, s.rmse, s.bias, s.sd, s.r2, s.nmad});
  }
  return t;
}

inline CsvTable to_csv(const std::vector<metrics::ClassificationBin>& bins, const std::vector<std::string>& names = {}) {
  const std::size_t K = bins.empty() ? 0 : bins[0].class_counts.size();
  std::vector<std::string> h{"lo", "hi", "count", "accuracy"};
  for (std::size_t c = 0; c < K; ++c) h.push_back("frac_" + (names.empty() ? std::to_string(c) : names.at(c)));
  CsvTable t(h);
  for (const auto& b : bins) {
    std::vector<CsvTable::Cell> row{b.lo, b.hi, (long long)b.count, b.accuracy};
    for (double f : b.class_fractions) row.emplace_back(f);
    t.row(std::move(row));
  }
  return t;
}

// Per-epoch history: columns named by the caller (e.g. epoch, train_loss, val_loss, lr).
inline CsvTable history_csv(const std::vector<std::string>& columns, const std::vector<std::vector<double>>& values) {
  GALML_CHECK(columns.size() == values.size(), "history_csv: ", columns.size(), " names for ", values.size(), " columns");
  CsvTable t(columns);
  const std::size_t n = values.empty() ? 0 : values[0].size();
  for (const auto& v : values)
    GALML_CHECK(v.size() == n, "history_csv: columns have different lengths (", v.size(), " vs ", n, ")");
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<CsvTable::Cell> row;
    for (const auto& v : values) row.emplace_back(v[i]);
    t.row(std::move(row));
  }
  return t;
}

}  // namespace galml::report
