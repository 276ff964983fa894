#pragma once
// Catch2 glue around galml::testing::check_parity for the golden folders under tests/data/golden/.
#include <algorithm>
#include <iostream>
#include <string>

#include <catch2/catch.hpp>

#include "galml/testing/parity.hpp"

namespace golden {
inline double& max_error() { static double m = 0; return m; }
inline nlohmann::json load(const std::string& folder, const std::string& name) {
  return galml::testing::load_golden(std::string(GALML_TEST_DATA_DIR) + "/golden/" + folder + "/" + name + ".json");
}
// Logs the case and returns whether it matched; test cases CHECK the result.
inline bool check(const std::string& name, const galml::testing::ParityResult& r, double tol = 1e-10) {
  if (!r.ok(tol)) WARN("case " << name << ": " << r.report());
  max_error() = std::max(max_error(), r.max_error);
  std::cout << "  parity " << name << ": max error " << r.max_error << "\n";
  return r.ok(tol);
}
template <class Spec, class In> bool parity(const std::string& folder, const std::string& name) {
  return check(name, galml::testing::check_parity<Spec, In>(load(folder, name)));
}
template <class Spec, class Q, class V> bool parity_join(const std::string& folder, const std::string& name) {
  return check(name, galml::testing::check_parity_join<Spec, Q, V>(load(folder, name)));
}
}  // namespace golden
