#pragma once
// Loads tests/data/metrics_golden.json (written by tests/metrics/make_golden.py with numpy).
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace golden {

inline const nlohmann::json& data() {
  static const nlohmann::json j = [] {
    std::ifstream f(std::string(GALML_TEST_DATA_DIR) + "/metrics_golden.json");
    if (!f) throw std::runtime_error("missing tests/data/metrics_golden.json");
    return nlohmann::json::parse(f);
  }();
  return j;
}

template <class T>
std::vector<T> vec(const nlohmann::json& j) { return j.get<std::vector<T>>(); }

}  // namespace golden
