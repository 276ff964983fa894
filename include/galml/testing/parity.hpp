#pragma once
// Public golden-file parity checker: compares a galml layer (or a two-input join) with values another
// framework produced (galml's own tests use PyTorch goldens made by tests/golden/*.py; users can check
// their own layers the same way).
//
// A golden case is JSON: {"N", "in_shape", "mode": "train"|"eval", "x", "y", "dy", "dx",
//   "params": [{"name", "shape", "data"}...] in visit() order with hierarchical names,
//   "grads": [{"data"}...] in the same order,
//   optional "buffers_after": [{"name", "data"}...] + "eval": {x, y, dy, dx, grads} (normalisation layers),
//   for joins also "in_shape2", "x2", "dx2"}.
// Errors are relative to max(1, |expected|).
//
//   auto r = galml::testing::check_parity<Conv1D<3, 3>, Shape<2, 11>>(galml::testing::load_golden(path));
//   REQUIRE(r.ok(1e-10));   // r.report() says what differed
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "galml/graph/layer.hpp"

namespace galml::testing {

struct ParityResult {
  double max_error = 0;
  std::string worst;                  // which comparison gave max_error
  std::vector<std::string> problems;  // structural mismatches (names, shapes, sizes)
  bool ok(double tol) const { return problems.empty() && max_error <= tol; }
  std::string report() const {
    std::string s = "max error " + std::to_string(max_error) + (worst.empty() ? "" : " (" + worst + ")");
    for (auto& p : problems) s += "\n  " + p;
    return s;
  }
};

inline nlohmann::json load_golden(const std::filesystem::path& path) {
  std::ifstream f(path);
  GALML_CHECK(f.good(), "golden file '", path.string(), "' cannot be opened");
  return nlohmann::json::parse(f);
}

namespace detail {
inline std::vector<double> vec(const nlohmann::json& j) { return j.get<std::vector<double>>(); }

struct ParityEntry { std::string name; double* data; double* grad; std::vector<int64_t> shape; };
struct ParityCollect {
  std::vector<ParityEntry> params, buffers;
  std::vector<std::string> stack;
  std::string full(const std::string& n) const { std::string s; for (auto& p : stack) s += p + "."; return s + n; }
  void enter(const std::string& n) { stack.push_back(n); }
  void leave() { stack.pop_back(); }
  void param(const std::string& n, double* d, double* g, std::vector<int64_t> s) { params.push_back({full(n), d, g, std::move(s)}); }
  void buffer(const std::string& n, double* d, std::vector<int64_t> s) { buffers.push_back({full(n), d, nullptr, std::move(s)}); }
};

inline void compare(ParityResult& r, const std::string& what, const double* got, const std::vector<double>& want) {
  for (size_t i = 0; i < want.size(); ++i) {
    const double e = std::abs(got[i] - want[i]) / std::max(1.0, std::abs(want[i]));
    if (!(e <= r.max_error)) { r.max_error = std::isnan(e) ? INFINITY : e; r.worst = what + "[" + std::to_string(i) + "]"; }
  }
}

// Loads golden parameters by visit order; checks names, shapes and the total count.
template <class Impl>
std::vector<ParityEntry> load_params(Impl& layer, const nlohmann::json& j, int64_t P, ParityResult& r, std::vector<ParityEntry>* buffers = nullptr) {
  ParityCollect c;
  if constexpr (requires { layer.visit(c); }) layer.visit(c);
  const auto& jp = j["params"];
  if (jp.size() != c.params.size()) { r.problems.push_back("golden has " + std::to_string(jp.size()) + " parameters, the layer " + std::to_string(c.params.size())); return {}; }
  int64_t loaded = 0;
  for (size_t i = 0; i < c.params.size(); ++i) {
    const auto name = jp[i]["name"].get<std::string>();
    if (c.params[i].name != name) r.problems.push_back("parameter " + std::to_string(i) + " is '" + c.params[i].name + "', golden '" + name + "'");
    if (c.params[i].shape != jp[i]["shape"].get<std::vector<int64_t>>()) r.problems.push_back("parameter '" + name + "' has a different shape");
    const auto d = vec(jp[i]["data"]);
    std::copy(d.begin(), d.end(), c.params[i].data);
    loaded += int64_t(d.size());
  }
  if (loaded != P) r.problems.push_back("golden parameters have " + std::to_string(loaded) + " values, the layer " + std::to_string(P));
  if (buffers) *buffers = c.buffers;
  return c.params;
}

inline void compare_grads(ParityResult& r, const std::string& tag, const std::vector<ParityEntry>& params, const nlohmann::json& g) {
  const auto& gg = g["grads"];
  if (gg.size() != params.size()) { r.problems.push_back(tag + ": golden has " + std::to_string(gg.size()) + " gradients"); return; }
  for (size_t i = 0; i < params.size(); ++i) compare(r, tag + " grad " + params[i].name, params[i].grad, vec(gg[i]["data"]));
}

template <class Impl>
void forward_backward(Impl& layer, std::vector<double>& grads, const std::vector<ParityEntry>& params, const nlohmann::json& g, int64_t N,
                      Mode mode, const std::string& tag, ParityResult& r) {
  const auto x = vec(g["x"]), want_y = vec(g["y"]), dy = vec(g["dy"]), want_dx = vec(g["dx"]);
  if (int64_t(x.size()) != N * Impl::in_shape::size || int64_t(want_y.size()) != N * Impl::out_shape::size) {
    r.problems.push_back(tag + ": golden x/y sizes do not match the layer's shapes");
    return;
  }
  std::vector<double> y(want_y.size()), dx(x.size());
  Context ctx; ctx.mode = mode;
  layer.forward(x.data(), y.data(), N, ctx);
  std::fill(grads.begin(), grads.end(), 0.0);
  layer.backward(x.data(), y.data(), dy.data(), dx.data(), N, ctx);
  compare(r, tag + " output", y.data(), want_y);
  compare(r, tag + " input gradient", dx.data(), want_dx);
  compare_grads(r, tag, params, g);
}
}  // namespace detail

// Single-input layer Spec on per-sample shape In, in double precision on the CPU.
template <class Spec, ShapeType In>
ParityResult check_parity(const nlohmann::json& j) {
  using Impl = typename Spec::template impl<In, double, cpu>;
  constexpr int64_t P = Spec::template num_params<In>;
  ParityResult r;
  if (j["in_shape"].get<std::vector<int>>() != std::vector<int>(In::dims.begin(), In::dims.end())) { r.problems.push_back("golden in_shape differs from " + In::str()); return r; }
  const int64_t N = j["N"].get<int64_t>();
  std::vector<double> params(size_t(std::max<int64_t>(P, 1))), grads(params.size(), 0.0);
  Impl layer;
  layer.bind(params.data(), grads.data());
  std::vector<detail::ParityEntry> buffers;
  const auto entries = detail::load_params(layer, j, P, r, &buffers);
  if (!r.problems.empty()) return r;
  detail::forward_backward(layer, grads, entries, j, N, j["mode"] == "train" ? Mode::train : Mode::eval, "", r);
  if (j.contains("buffers_after")) {  // normalisation: running statistics after one train step, then eval
    const auto& b = j["buffers_after"];
    if (b.size() != buffers.size()) { r.problems.push_back("golden has " + std::to_string(b.size()) + " buffers, the layer " + std::to_string(buffers.size())); return r; }
    for (size_t i = 0; i < b.size(); ++i) {
      if (buffers[i].name != b[i]["name"].get<std::string>()) r.problems.push_back("buffer '" + buffers[i].name + "' vs golden '" + b[i]["name"].get<std::string>() + "'");
      detail::compare(r, "buffer " + buffers[i].name, buffers[i].data, detail::vec(b[i]["data"]));
    }
    detail::forward_backward(layer, grads, entries, j["eval"], N, Mode::eval, "(eval)", r);
  }
  return r;
}

// Two-input join (Inputs<> contract): query/first input x, second input x2.
template <class Spec, ShapeType Q, ShapeType V>
ParityResult check_parity_join(const nlohmann::json& j) {
  using Impl = typename Spec::template impl<double, cpu, Q, V>;
  constexpr int64_t P = Spec::template num_params<Q, V>;
  ParityResult r;
  if (j["in_shape"].get<std::vector<int>>() != std::vector<int>(Q::dims.begin(), Q::dims.end()) ||
      j["in_shape2"].get<std::vector<int>>() != std::vector<int>(V::dims.begin(), V::dims.end())) {
    r.problems.push_back("golden input shapes differ from " + Q::str() + ", " + V::str());
    return r;
  }
  const int64_t N = j["N"].get<int64_t>();
  std::vector<double> params(size_t(std::max<int64_t>(P, 1))), grads(params.size(), 0.0);
  Impl join;
  join.bind(params.data(), grads.data());
  const auto entries = detail::load_params(join, j, P, r);
  if (!r.problems.empty()) return r;
  const auto x = detail::vec(j["x"]), x2 = detail::vec(j["x2"]), want_y = detail::vec(j["y"]), dy = detail::vec(j["dy"]);
  std::vector<double> y(want_y.size()), dx(x.size()), dx2(x2.size());
  Context ctx;
  join.forward({x.data(), x2.data()}, y.data(), N, ctx);
  join.backward({x.data(), x2.data()}, y.data(), dy.data(), {dx.data(), dx2.data()}, N, ctx);
  detail::compare(r, "output", y.data(), want_y);
  detail::compare(r, "first input gradient", dx.data(), detail::vec(j["dx"]));
  detail::compare(r, "second input gradient", dx2.data(), detail::vec(j["dx2"]));
  detail::compare_grads(r, "", entries, j);
  return r;
}

}  // namespace galml::testing
