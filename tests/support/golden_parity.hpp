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
inline void check(const std::string& name, const galml::testing::ParityResult& r, double tol = 1e-10) {
  INFO("case " << name << ": " << r.report());
  CHECK(r.ok(tol));
  max_error() = std::max(max_error(), r.max_error);
  std::cout << "  parity " << name << ": max error " << r.max_error << "\n";
}
template <class Spec, class In> void parity(const std::string& folder, const std::string& name) {
  check(name, galml::testing::check_parity<Spec, In>(load(folder, name)));
}
template <class Spec, class Q, class V> void parity_join(const std::string& folder, const std::string& name) {
  check(name, galml::testing::check_parity_join<Spec, Q, V>(load(folder, name)));
}
}  // namespace golden
