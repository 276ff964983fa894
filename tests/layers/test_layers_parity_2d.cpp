// PyTorch parity for the 2-D layers: tests/golden/make_layer_golden_2d.py runs torch 1.13 in float64
// and stores input, parameters (PyTorch names and layout), output, a fixed upstream gradient, the input
// gradient and the parameter gradients (BatchNorm2D also the running statistics after one train step
// and an eval pass with them). Each case is loaded into the galml layer through its visit() order
// (names and shapes must match PyTorch's named_parameters()) and compared at 1e-10.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "galml/galml.hpp"

using namespace galml;
using nlohmann::json;

namespace {

constexpr double kTol = 1e-10;
double g_max_err = 0;  // over all cases, printed by the last test case

json load_case(const std::string& name) {
  std::ifstream f(std::string(GALML_TEST_DATA_DIR) + "/golden/layers2d/" + name + ".json");
  REQUIRE(f.good());
  return json::parse(f);
}
std::vector<double> vec(const json& j) { return j.get<std::vector<double>>(); }

double compare(const std::string& what, const double* got, const std::vector<double>& want) {
  double m = 0;
  for (size_t i = 0; i < want.size(); ++i) m = std::max(m, std::abs(got[i] - want[i]) / std::max(1.0, std::abs(want[i])));
  INFO(what << ": max error " << m);
  CHECK(m <= kTol);
  g_max_err = std::max(g_max_err, m);
  return m;
}

struct Entry { std::string name; double* data; double* grad; std::vector<int64_t> shape; };
struct Collect {
  std::vector<Entry> params, buffers;
  void param(const std::string& n, double* d, double* g, std::vector<int64_t> s) { params.push_back({n, d, g, std::move(s)}); }
  void buffer(const std::string& n, double* d, std::vector<int64_t> s) { buffers.push_back({n, d, nullptr, std::move(s)}); }
};

template <class Impl>
double forward_backward(Impl& layer, std::vector<double>& grads, const std::vector<Entry>& params, const json& g, int64_t N, Mode mode,
                        const std::string& tag) {
  using Out = typename Impl::out_shape;
  using In = typename Impl::in_shape;
  const auto x = vec(g["x"]), want_y = vec(g["y"]), dy = vec(g["dy"]), want_dx = vec(g["dx"]);
  REQUIRE(int64_t(x.size()) == N * In::size);
  REQUIRE(int64_t(want_y.size()) == N * Out::size);
  std::vector<double> y(want_y.size()), dx(x.size());
  Context ctx; ctx.mode = mode;
  layer.forward(x.data(), y.data(), N, ctx);
  std::fill(grads.begin(), grads.end(), 0.0);
  layer.backward(x.data(), y.data(), dy.data(), dx.data(), N, ctx);
  double m = compare(tag + " output", y.data(), want_y);
  m = std::max(m, compare(tag + " input gradient", dx.data(), want_dx));
  const auto& gg = g["grads"];
  REQUIRE(gg.size() == params.size());
  for (size_t i = 0; i < params.size(); ++i) m = std::max(m, compare(tag + " grad " + params[i].name, params[i].grad, vec(gg[i]["data"])));
  return m;
}

template <class Spec, class In>
void parity(const std::string& name) {
  using Impl = typename Spec::template impl<In, double, cpu>;
  constexpr int64_t P = Spec::template num_params<In>;
  const json j = load_case(name);
  INFO("case " << name);
  const int64_t N = j["N"].get<int64_t>();
  REQUIRE(j["in_shape"].get<std::vector<int>>() == std::vector<int>(In::dims.begin(), In::dims.end()));
  std::vector<double> params(size_t(std::max<int64_t>(P, 1))), grads(params.size(), 0.0);
  Impl layer;
  layer.bind(params.data(), grads.data());
  Collect c;
  if constexpr (requires { layer.visit(c); }) layer.visit(c);
  const auto& jp = j["params"];
  REQUIRE(jp.size() == c.params.size());
  int64_t loaded = 0;
  for (size_t i = 0; i < c.params.size(); ++i) {
    CHECK(c.params[i].name == jp[i]["name"].get<std::string>());
    CHECK(c.params[i].shape == jp[i]["shape"].get<std::vector<int64_t>>());
    const auto d = vec(jp[i]["data"]);
    std::copy(d.begin(), d.end(), c.params[i].data);
    loaded += int64_t(d.size());
  }
  REQUIRE(loaded == P);
  const Mode mode = j["mode"] == "train" ? Mode::train : Mode::eval;
  double m = forward_backward(layer, grads, c.params, j, N, mode, name);
  if (j.contains("buffers_after")) {  // BatchNorm2D: running statistics after one train step, then eval
    const auto& b = j["buffers_after"];
    REQUIRE(b.size() == c.buffers.size());
    for (size_t i = 0; i < b.size(); ++i) {
      CHECK(c.buffers[i].name == b[i]["name"].get<std::string>());
      m = std::max(m, compare(name + " buffer " + c.buffers[i].name, c.buffers[i].data, vec(b[i]["data"])));
    }
    m = std::max(m, forward_backward(layer, grads, c.params, j["eval"], N, Mode::eval, name + " (eval)"));
  }
  std::cout << "  parity " << name << ": max error " << m << "\n";
}

}  // namespace

TEST_CASE("Conv2D parity with torch.nn.Conv2d", "[layers][parity][conv2d]") {
  parity<Conv2D<3, 3>, Shape<2, 7, 8>>("conv2d_valid");
  parity<Conv2D<4, 3, 1, Padding::same>, Shape<3, 6, 5>>("conv2d_same");
  parity<Conv2D<3, 5, 1, Padding::same>, Shape<2, 6, 7>>("conv2d_same_k5");
  parity<Conv2D<4, 3, 2, 1>, Shape<3, 9, 10>>("conv2d_strided");
  parity<Conv2D<3, 4, 3>, Shape<2, 11, 13>>("conv2d_strided_valid");
  parity<Conv2D<5, 1, 1, Padding::valid, false>, Shape<3, 4, 5>>("conv2d_k1_nobias");
}

TEST_CASE("2-D pooling parity", "[layers][parity][pool2d]") {
  parity<MaxPool2D<2>, Shape<2, 7, 9>>("maxpool2d_k2");
  parity<MaxPool2D<3, 2>, Shape<2, 9, 8>>("maxpool2d_k3_s2");
  parity<AvgPool2D<2>, Shape<2, 7, 9>>("avgpool2d_k2");
  parity<AvgPool2D<3, 2>, Shape<2, 9, 8>>("avgpool2d_k3_s2");
  parity<AdaptiveAvgPool2D<4>, Shape<1, 75, 75>>("adaptive2d_75_4");
  parity<AdaptiveAvgPool2D<4>, Shape<3, 10, 10>>("adaptive2d_10_4");
  parity<AdaptiveAvgPool2D<4, 3>, Shape<2, 10, 7>>("adaptive2d_10x7_4x3");
  parity<GlobalAvgPool2D, Shape<3, 5, 6>>("gap2d");
}

TEST_CASE("BatchNorm2D parity: train step, running statistics, eval", "[layers][parity][batchnorm2d]") {
  parity<BatchNorm2D<>, Shape<3, 5, 4>>("batchnorm2d");
  parity<BatchNorm2D<1e-3, 0.01>, Shape<2, 3, 3>>("batchnorm2d_eps1e-3_m0.01");
}

TEST_CASE("FlattenChannelsLast parity with x.permute(0, 2, 3, 1).flatten(1)", "[layers][parity][flatten]") {
  parity<FlattenChannelsLast, Shape<3, 4, 5>>("flatten_cl");
  std::cout << "  parity 2-D: max error over all golden cases " << g_max_err << "\n";
}
