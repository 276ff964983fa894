#pragma once
// Test helpers shared by tests/loss and tests/optim: golden-file loading and a central-difference
// gradient checker for the raw-array losses.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace galml_test {

inline nlohmann::json load_golden(const std::string& name) {
  const std::string path = std::string(GALML_TEST_DATA_DIR) + "/golden/" + name;
  std::ifstream f(path);
  REQUIRE(f.good());
  return nlohmann::json::parse(f);
}

// JSON null stands for NaN (JSON has no NaN literal).
template <class T> std::vector<T> vec(const nlohmann::json& j) {
  std::vector<T> v;
  for (auto& e : j) v.push_back(e.is_null() ? std::numeric_limits<T>::quiet_NaN() : T(e.get<double>()));
  return v;
}

// Compares the analytic gradient with central differences of `value` (double precision).
// Pass criterion: ‖a − n‖/‖a + n‖ < tol and, element-wise, |a − n| ≤ tol·max(|a|,|n|) + 1e-9.
inline void check_gradient(const std::function<double(const std::vector<double>&)>& value, std::vector<double> x,
                           const std::vector<double>& analytic, double tol = 1e-6, double h = 1e-6) {
  REQUIRE(analytic.size() == x.size());
  double diff2 = 0, sum2 = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double x0 = x[i];
    x[i] = x0 + h; const double fp = value(x);
    x[i] = x0 - h; const double fm = value(x);
    x[i] = x0;
    const double num = (fp - fm) / (2 * h), a = analytic[i];
    INFO("element " << i << " analytic " << a << " numeric " << num);
    REQUIRE(std::isfinite(a));
    CHECK(std::abs(a - num) <= tol * std::max(std::abs(a), std::abs(num)) + 1e-9);
    diff2 += (a - num) * (a - num);
    sum2 += (a + num) * (a + num);
  }
  if (sum2 > 0) CHECK(std::sqrt(diff2 / sum2) < tol);
}

// Runs the check for a loss object: value/grad via forward_backward(pred, target, N, D, grad, mask).
template <class Loss>
void check_loss_gradient(const Loss& loss, const std::vector<double>& pred, const std::vector<double>& target,
                         int64_t N, int64_t D, const std::vector<double>* mask = nullptr) {
  const double* m = mask ? mask->data() : nullptr;
  std::vector<double> g(pred.size(), 12345.0);  // garbage: forward_backward must overwrite every element
  const double v = loss.forward_backward(pred.data(), target.data(), N, D, g.data(), m);
  REQUIRE(std::isfinite(v));
  const double v2 = loss.forward_backward(pred.data(), target.data(), N, D, nullptr, m);
  CHECK(v2 == v);
  check_gradient([&](const std::vector<double>& p) { return loss.forward_backward(p.data(), target.data(), N, D, nullptr, m); },
                 pred, g);
}

}  // namespace galml_test
