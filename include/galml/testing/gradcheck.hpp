#pragma once
// Public numeric gradient checker (like dlib's test_layer): compares a layer's or model's analytic
// gradients with central differences in double precision. Users can check their own layers with it.
//
//   auto r = galml::testing::check_layer<MyLayer, Shape<3, 20>>();
//   REQUIRE(r.max_rel_error < 1e-6);
//
// The loss used is L = sum_i c_i * y_i with fixed random c, so dL/dy = c.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "galml/graph/chain.hpp"
#include "galml/graph/model.hpp"

namespace galml::testing {

struct GradCheckResult {
  double max_abs_error = 0;   // max |analytic - numeric|
  double max_rel_error = 0;   // max |a - n| / max(1e-6 scale, |a| + |n|)
  int64_t checked = 0;        // number of derivatives compared
  std::string worst;          // which one ("input[12]", "param[3]")
  bool ok(double tol = 1e-6) const { return max_rel_error <= tol; }
};

namespace detail {
inline void record(GradCheckResult& r, double a, double n, const std::string& what, double floor) {
  const double abs_err = std::abs(a - n);
  const double rel = abs_err / std::max(floor, std::abs(a) + std::abs(n));
  ++r.checked;
  r.max_abs_error = std::max(r.max_abs_error, abs_err);
  if (rel > r.max_rel_error) { r.max_rel_error = rel; r.worst = what; }
}
}  // namespace detail

struct GradCheckOptions {
  int64_t batch = 3;
  double eps = 1e-6;
  Mode mode = Mode::train;          // dropout masks are fixed per step, so train mode is checkable
  int64_t max_checks = 400;         // per tensor; elements sampled evenly when larger
  double floor = 1e-7;              // denominator floor for relative errors
  uint64_t seed = 1234;
  bool check_input = true;
  double input_offset = 0.0;        // shift inputs (e.g. away from ReLU kinks)
};

// Gradient check of layer spec L on per-sample input shape In, in double precision.
template <class L, ShapeType In>
GradCheckResult check_layer(GradCheckOptions o = {}) {
  using Impl = typename L::template impl<In, double, cpu>;
  using Out = typename Impl::out_shape;
  constexpr int64_t P = L::template num_params<In>;
  const int64_t N = o.batch;
  Rng rng(o.seed, 99);
  std::vector<double> params(size_t(std::max<int64_t>(P, 1))), grads(params.size(), 0.0);
  Impl::init(params.data(), rng, Init::pytorch);
  // Perturb parameters so zero-initialised ones (norm scales/biases) are tested off their init.
  for (int64_t i = 0; i < P; ++i) params[size_t(i)] += 0.1 * rng.normal();
  Impl layer;
  layer.bind(P ? params.data() : nullptr, P ? grads.data() : nullptr);
  layer.layer_id = 7;
  if constexpr (requires { layer.set_ids(uint64_t(7)); }) layer.set_ids(7);
  std::vector<double> x(size_t(N * In::size)), y(size_t(N * Out::size)), c(y.size()), dx(x.size());
  for (auto& v : x) v = rng.normal() + o.input_offset;
  for (auto& v : c) v = rng.normal();
  Context ctx; ctx.mode = o.mode; ctx.seed = o.seed; ctx.step = 0;

  auto loss = [&]() {
    Context cx = ctx;  // same step => same dropout mask every evaluation
    layer.forward(x.data(), y.data(), N, cx);
    double s = 0; for (size_t i = 0; i < y.size(); ++i) s += c[i] * y[i];
    return s;
  };
  loss();
  std::fill(grads.begin(), grads.end(), 0.0);
  {
    Context cx = ctx;
    layer.backward(x.data(), y.data(), c.data(), o.check_input ? dx.data() : nullptr, N, cx);
  }
  const std::vector<double> analytic_p(grads.begin(), grads.end());
  GradCheckResult r;
  auto numeric = [&](double& v) {
    const double old = v;
    v = old + o.eps; const double lp = loss();
    v = old - o.eps; const double lm = loss();
    v = old;
    return (lp - lm) / (2 * o.eps);
  };
  auto sweep = [&](std::vector<double>& vals, int64_t n, const std::vector<double>& analytic, const char* what) {
    const int64_t step = std::max<int64_t>(1, n / o.max_checks);
    for (int64_t i = 0; i < n; i += step)
      detail::record(r, analytic[size_t(i)], numeric(vals[size_t(i)]), std::string(what) + "[" + std::to_string(i) + "]", o.floor);
  };
  if (o.check_input) sweep(x, int64_t(x.size()), dx, "input");
  if (P > 0) sweep(params, P, analytic_p, "param");
  return r;
}

// Gradient check of a whole Model<Net, double> w.r.t. its parameters (and input), with a linear loss
// on every head.
template <class NetSpec>
GradCheckResult check_model(GradCheckOptions o = {}) {
  using M = Model<NetSpec, double, cpu>;
  constexpr size_t K = M::num_inputs;
  M model;
  Rng rng(o.seed, 77);
  for (int64_t i = 0; i < M::num_params; ++i) model.params()[i] += 0.05 * rng.normal();
  model.context().mode = o.mode;
  const int64_t N = o.batch;
  std::array<Tensor<double>, K> xs;
  const auto shapes = M::front_t::sample_shapes();
  for (size_t k = 0; k < K; ++k) {
    std::vector<int64_t> s{N};
    s.insert(s.end(), shapes[k].begin(), shapes[k].end());
    xs[k] = Tensor<double>(s);
    for (int64_t i = 0; i < xs[k].numel(); ++i) xs[k][i] = rng.normal() + o.input_offset;
  }
  std::array<std::vector<double>, M::num_heads> c;
  const uint64_t step0 = model.context().step;
  auto loss = [&]() {
    model.context().step = step0;
    if constexpr (K == 1) model.forward(xs[0]); else model.forward(xs);
    double s = 0;
    for (size_t h = 0; h < M::num_heads; ++h) {
      const auto& out = model.output(h);
      if (c[h].empty()) { c[h].resize(size_t(out.numel())); for (auto& v : c[h]) v = rng.normal(); }
      for (int64_t i = 0; i < out.numel(); ++i) s += c[h][size_t(i)] * out[i];
    }
    return s;
  };
  loss();
  model.zero_grad();
  std::array<const double*, M::num_heads> dy;
  for (size_t h = 0; h < M::num_heads; ++h) dy[h] = c[h].data();
  model.backward(dy, o.check_input);
  std::vector<double> ap(model.grads(), model.grads() + M::num_params);
  std::array<std::vector<double>, K> ax;
  if (o.check_input)
    for (size_t k = 0; k < K; ++k) ax[k].assign(model.input_grad(k).data(), model.input_grad(k).data() + xs[k].numel());
  GradCheckResult r;
  auto numeric = [&](double* v) {
    const double old = *v;
    *v = old + o.eps; const double lp = loss();
    *v = old - o.eps; const double lm = loss();
    *v = old;
    return (lp - lm) / (2 * o.eps);
  };
  const int64_t ps = std::max<int64_t>(1, M::num_params / o.max_checks);
  for (int64_t i = 0; i < M::num_params; i += ps) detail::record(r, ap[size_t(i)], numeric(model.params() + i), "param[" + std::to_string(i) + "]", o.floor);
  if (o.check_input)
    for (size_t k = 0; k < K; ++k) {
      const int64_t xs_step = std::max<int64_t>(1, xs[k].numel() / o.max_checks);
      for (int64_t i = 0; i < xs[k].numel(); i += xs_step)
        detail::record(r, ax[k][size_t(i)], numeric(xs[k].data() + i), "input" + std::to_string(k) + "[" + std::to_string(i) + "]", o.floor);
    }
  return r;
}

}  // namespace galml::testing
