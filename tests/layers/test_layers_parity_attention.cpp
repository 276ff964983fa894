// PyTorch parity for the attention-family layers: tests/golden/make_layer_golden_attention.py runs
// torch 1.13 in float64 (nn.MultiheadAttention, nn.TransformerEncoderLayer, F.normalize, Conv1d, and
// hand-written references for CosineHead, HadamardGatedAttention, Keras MultiHeadAttention and the
// token layers) and stores input, parameters, output, upstream gradient, input and parameter
// gradients. Parameters are loaded through visit() (hierarchical names must equal PyTorch's
// named_parameters()) and everything is compared at 1e-10.
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

json load_case(const std::string& name) {
  std::ifstream f(std::string(GALML_TEST_DATA_DIR) + "/golden/attention/" + name + ".json");
  REQUIRE(f.good());
  return json::parse(f);
}
std::vector<double> vec(const json& j) { return j.get<std::vector<double>>(); }

double compare(const std::string& what, const double* got, const std::vector<double>& want) {
  double m = 0;
  for (size_t i = 0; i < want.size(); ++i) m = std::max(m, std::abs(got[i] - want[i]) / std::max(1.0, std::abs(want[i])));
  INFO(what << ": max error " << m);
  CHECK(m <= kTol);
  return m;
}

struct Entry { std::string name; double* data; double* grad; std::vector<int64_t> shape; };
struct Collect {
  std::vector<Entry> params;
  std::vector<std::string> stack;
  std::string full(const std::string& n) const { std::string s; for (auto& p : stack) s += p + "."; return s + n; }
  void enter(const std::string& n) { stack.push_back(n); }
  void leave() { stack.pop_back(); }
  void param(const std::string& n, double* d, double* g, std::vector<int64_t> s) { params.push_back({full(n), d, g, std::move(s)}); }
  void buffer(const std::string&, double*, std::vector<int64_t>) {}
};

// Loads the golden parameters into an impl bound to params/grads (visit order, names, shapes checked).
template <class Impl>
std::vector<Entry> load_params(Impl& layer, const json& j, int64_t P) {
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
  return c.params;
}

double compare_grads(const std::string& name, const std::vector<Entry>& params, const json& j) {
  double m = 0;
  const auto& gg = j["grads"];
  REQUIRE(gg.size() == params.size());
  for (size_t i = 0; i < params.size(); ++i) m = std::max(m, compare(name + " grad " + params[i].name, params[i].grad, vec(gg[i]["data"])));
  return m;
}

double g_max = 0;

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
  const auto entries = load_params(layer, j, P);
  const auto x = vec(j["x"]), want_y = vec(j["y"]), dy = vec(j["dy"]);
  std::vector<double> y(want_y.size()), dx(x.size());
  REQUIRE(int64_t(y.size()) == N * Impl::out_shape::size);
  Context ctx; ctx.mode = j["mode"] == "train" ? Mode::train : Mode::eval;
  layer.forward(x.data(), y.data(), N, ctx);
  layer.backward(x.data(), y.data(), dy.data(), dx.data(), N, ctx);
  double m = compare(name + " output", y.data(), want_y);
  m = std::max(m, compare(name + " input gradient", dx.data(), vec(j["dx"])));
  m = std::max(m, compare_grads(name, entries, j));
  g_max = std::max(g_max, m);
  std::cout << "  parity " << name << ": max error " << m << "\n";
}

// Two-input join (Inputs<> contract): query x, key/value x2.
template <class Spec, class Q, class V>
void parity_join(const std::string& name) {
  using Impl = typename Spec::template impl<double, cpu, Q, V>;
  constexpr int64_t P = Spec::template num_params<Q, V>;
  const json j = load_case(name);
  INFO("case " << name);
  const int64_t N = j["N"].get<int64_t>();
  REQUIRE(j["in_shape"].get<std::vector<int>>() == std::vector<int>(Q::dims.begin(), Q::dims.end()));
  REQUIRE(j["in_shape2"].get<std::vector<int>>() == std::vector<int>(V::dims.begin(), V::dims.end()));
  std::vector<double> params(static_cast<size_t>(P)), grads(params.size(), 0.0);
  Impl join;
  join.bind(params.data(), grads.data());
  const auto entries = load_params(join, j, P);
  const auto x = vec(j["x"]), x2 = vec(j["x2"]), want_y = vec(j["y"]), dy = vec(j["dy"]);
  std::vector<double> y(want_y.size()), dx(x.size()), dx2(x2.size());
  Context ctx;
  join.forward({x.data(), x2.data()}, y.data(), N, ctx);
  join.backward({x.data(), x2.data()}, y.data(), dy.data(), {dx.data(), dx2.data()}, N, ctx);
  double m = compare(name + " output", y.data(), want_y);
  m = std::max(m, compare(name + " query gradient", dx.data(), vec(j["dx"])));
  m = std::max(m, compare(name + " key/value gradient", dx2.data(), vec(j["dx2"])));
  m = std::max(m, compare_grads(name, entries, j));
  g_max = std::max(g_max, m);
  std::cout << "  parity " << name << ": max error " << m << "\n";
}

}  // namespace

TEST_CASE("MultiHeadSelfAttention parity with torch.nn.MultiheadAttention", "[layers][parity][attention]") {
  parity<MultiHeadSelfAttention<2>, Shape<5, 8>>("mhsa_h2");
  parity<MultiHeadSelfAttention<4>, Shape<3, 8>>("mhsa_h4");
}

TEST_CASE("TransformerEncoderLayer parity with torch.nn.TransformerEncoderLayer", "[layers][parity][transformer]") {
  parity<TransformerEncoderLayer<2, 12, 0.0, true, GELU>, Shape<4, 8>>("transformer_preln_gelu");
  parity<TransformerEncoderLayer<2, 12, 0.0, true, ReLU>, Shape<4, 8>>("transformer_preln_relu");
  parity<TransformerEncoderLayer<2, 12, 0.0, false, ReLU>, Shape<4, 8>>("transformer_postln_relu");
  parity<TransformerEncoderLayer<2, 12, 0.0, false, GELU>, Shape<4, 8>>("transformer_postln_gelu");
}

TEST_CASE("L2Normalize parity with F.normalize and CosineHead parity", "[layers][parity][cosine]") {
  parity<L2Normalize<>, Shape<7>>("l2norm_vec");
  parity<L2Normalize<>, Shape<3, 5>>("l2norm_rows");
  parity<CosineHead<4>, Shape<9>>("cosine_head");
}

TEST_CASE("HadamardGatedAttention parity (hand-written torch reference)", "[layers][parity][gated]") {
  parity<HadamardGatedAttention<2>, Shape<5, 8>>("gated_hadamard");
  parity<HadamardGatedAttention<2, GatedVariant::sigmoid_qk>, Shape<5, 8>>("gated_sigmoid_qk");
}

TEST_CASE("KerasMultiHeadAttention parity (torch reference with Keras weight shapes)", "[layers][parity][keras]") {
  parity_join<KerasMultiHeadAttention<2, 3, 4>, Shape<3, 5>, Shape<4, 6>>("keras_mha_join");
  parity<KerasMultiHeadAttention<2, 3>, Shape<4, 5>>("keras_mha_self");
}

TEST_CASE("Token layers parity (Conv1d patch embedding, CLS + positions)", "[layers][parity][tokens]") {
  parity<PatchEmbed1D<5, 3>, Shape<2, 14>>("patch_embed");
  parity<Chain<ClsToken<4>, PositionalEmbedding>, Shape<3, 4>>("cls_pos");
  std::cout << "  attention parity: max error over all cases " << g_max << "\n";
}
