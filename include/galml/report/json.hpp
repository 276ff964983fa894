#pragma once
// Metrics to JSON (nlohmann): one document per evaluation, written atomically. NaN metrics (empty
// bins, undefined AUC) are written as null, the only JSON spelling for "no value".
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "galml/metrics/binned.hpp"
#include "galml/metrics/classification.hpp"
#include "galml/metrics/regression.hpp"
#include "galml/metrics/uncertainty.hpp"
#include "galml/report/atomic_write.hpp"

namespace galml::report {

inline nlohmann::json to_json(const metrics::RegressionReport& r) { return r.to_json(); }
inline nlohmann::json to_json(const metrics::RegressionSummary& r) { return r.to_json(); }
inline nlohmann::json to_json(const metrics::ClassificationReport& r) { return r.to_json(); }
inline nlohmann::json to_json(const metrics::ConfusionMatrix& r) { return r.to_json(); }
inline nlohmann::json to_json(const metrics::McSummary& r) { return r.to_json(); }
inline nlohmann::json to_json(const std::vector<metrics::RegressionBin>& b) { return metrics::to_json(b); }
inline nlohmann::json to_json(const std::vector<metrics::ClassificationBin>& b) { return metrics::to_json(b); }

// indent < 0 writes compact JSON.
inline void write_json(const std::filesystem::path& path, const nlohmann::json& j, int indent = 2) {
  write_file_atomic(path, j.dump(indent) + "\n");
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream f(path);
  GALML_CHECK(f.good(), "cannot open JSON file '", path.string(), "'");
  try {
    return nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::cat("'", path.string(), "' is not valid JSON: ", e.what()));
  }
}

}  // namespace galml::report
