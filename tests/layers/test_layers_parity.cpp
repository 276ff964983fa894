// PyTorch parity for every layer: tests/golden/make_layer_golden.py runs torch 1.13 in float64 and
// stores input, parameters (PyTorch names and layout), output, a fixed upstream gradient, the input
// gradient and the parameter gradients. Here each case is loaded into the galml layer through its
// visit() order (names and shapes must match PyTorch's named_parameters()) and compared at 1e-10.
// Dropout is random in both libraries, so it is checked statistically.
#include <catch2/catch.hpp>

#include "galml/galml.hpp"
#include "support/golden_parity.hpp"

using namespace galml;

namespace {
template <class Spec, class In> bool parity(const std::string& name) { return golden::parity<Spec, In>("layers", name); }
}  // namespace

TEST_CASE("Conv1D parity with torch.nn.Conv1d", "[layers][parity]") {
  CHECK(parity<Conv1D<3, 3>, Shape<2, 11>>("conv1d_valid"));
  CHECK(parity<Conv1D<4, 3, 1, 1>, Shape<2, 10>>("conv1d_same"));
  CHECK(parity<Conv1D<4, 5, 2, 2>, Shape<3, 13>>("conv1d_strided"));
  CHECK(parity<Conv1D<5, 1, 1, 0, false>, Shape<3, 7>>("conv1d_k1_nobias"));
}

TEST_CASE("Dense parity with torch.nn.Linear", "[layers][parity]") { parity<Dense<3>, Shape<5>>("dense"); }

TEST_CASE("Activation parity", "[layers][parity]") {
  CHECK(parity<ReLU, Shape<3, 7>>("relu"));
  CHECK(parity<GELU, Shape<3, 7>>("gelu"));
  CHECK(parity<Sigmoid, Shape<3, 7>>("sigmoid"));
  CHECK(parity<Tanh, Shape<3, 7>>("tanh"));
}

TEST_CASE("Pooling parity", "[layers][parity]") {
  CHECK(parity<MaxPool1D<3>, Shape<2, 14>>("maxpool_k3"));
  CHECK(parity<MaxPool1D<3, 2>, Shape<2, 14>>("maxpool_k3_s2"));
  CHECK(parity<AvgPool1D<3>, Shape<2, 14>>("avgpool_k3"));
  CHECK(parity<AvgPool1D<3, 2>, Shape<2, 14>>("avgpool_k3_s2"));
  CHECK(parity<AdaptiveAvgPool1D<4>, Shape<2, 10>>("adaptive_10_4"));
  CHECK(parity<AdaptiveAvgPool1D<16>, Shape<1, 961>>("adaptive_961_16"));
  CHECK(parity<AdaptiveAvgPool1D<16>, Shape<2, 48>>("adaptive_48_16"));
  CHECK(parity<GlobalAvgPool1D, Shape<3, 10>>("gap"));
}

TEST_CASE("SEAttention parity (GAP, Conv1d k1, ReLU, Conv1d k1, Sigmoid, multiply)", "[layers][parity]") {
  CHECK(parity<SEAttention<3>, Shape<6, 5>>("se_attention"));
}

TEST_CASE("BatchNorm1D parity: train step, running statistics, eval", "[layers][parity]") {
  CHECK(parity<BatchNorm1D<>, Shape<3, 7>>("batchnorm_cl"));
  CHECK(parity<BatchNorm1D<>, Shape<4>>("batchnorm_c"));
}

TEST_CASE("LayerNorm parity", "[layers][parity]") {
  CHECK(parity<LayerNorm<>, Shape<4, 6>>("layernorm"));
  CHECK(parity<LayerNorm<1e-3>, Shape<9>>("layernorm_eps1e-3"));
}

TEST_CASE("Softmax / LogSoftmax parity", "[layers][parity]") {
  CHECK(parity<Softmax, Shape<3, 6>>("softmax"));
  CHECK(parity<LogSoftmax, Shape<3, 6>>("logsoftmax"));
}

// torch.nn.Dropout(p) zeroes each element with probability p and scales survivors by 1/(1-p); the
// random streams differ, so compare the distribution: keep rate, scaling, mean, and that backward
// applies the same mask.
TEST_CASE("Dropout matches torch.nn.Dropout statistically", "[layers][parity]") {
  constexpr int64_t n = 200000;
  Dropout<0.3>::impl<Shape<n>, double, cpu> d;
  d.layer_id = 11;
  std::vector<double> x(static_cast<size_t>(n)), y(x.size()), dy(x.size(), 1.0), dx(x.size());
  Rng rng(5, 5);
  for (auto& v : x) v = 1.0 + 0.1 * rng.normal();
  Context ctx; ctx.mode = Mode::train; ctx.seed = 99;
  d.forward(x.data(), y.data(), 1, ctx);
  d.backward(x.data(), y.data(), dy.data(), dx.data(), 1, ctx);
  int64_t kept = 0; double sx = 0, sy = 0, max_scale_err = 0;
  for (int64_t i = 0; i < n; ++i) {
    sx += x[size_t(i)]; sy += y[size_t(i)];
    if (y[size_t(i)] != 0.0) {
      ++kept;
      max_scale_err = std::max(max_scale_err, std::abs(y[size_t(i)] - x[size_t(i)] / 0.7));
      CHECK(dx[size_t(i)] == Approx(1.0 / 0.7));
    } else {
      CHECK(dx[size_t(i)] == 0.0);
    }
  }
  const double keep = double(kept) / double(n);
  CHECK(std::abs(keep - 0.7) < 5 * std::sqrt(0.21 / double(n)));  // 5 sigma of a binomial
  CHECK(max_scale_err < 1e-12);
  CHECK(std::abs(sy / sx - 1.0) < 0.01);  // inverted dropout keeps the expectation
  ctx.mode = Mode::eval;
  d.forward(x.data(), y.data(), 1, ctx);
  CHECK(y == x);
  std::cout << "  parity dropout: keep rate " << keep << " (expected 0.7)\n";
  std::cout << "  parity: max error over all golden cases " << golden::max_error() << "\n";
}
