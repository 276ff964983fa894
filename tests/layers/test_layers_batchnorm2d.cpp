// BatchNorm2D: gradient checks (train: batch statistics over N, H, W; eval: running statistics),
// the train / eval / mc semantics of the running statistics, and its state-dict buffers.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;

TEST_CASE("BatchNorm2D gradients, train mode", "[layers][gradcheck][batchnorm2d]") {
  auto r = check_layer<BatchNorm2D<>, Shape<3, 4, 5>>();  // default options: train mode
  INFO(r.worst << " rel " << r.max_rel_error << " abs " << r.max_abs_error);
  CHECK(r.checked > 60);
  CHECK(r.ok(1e-6));
  auto r2 = check_layer<BatchNorm2D<1e-3, 0.01, false>, Shape<2, 3, 3>>();
  INFO(r2.worst << " rel " << r2.max_rel_error << " abs " << r2.max_abs_error);
  CHECK(r2.ok(1e-6));
}

TEST_CASE("BatchNorm2D gradients, eval mode", "[layers][gradcheck][batchnorm2d]") {
  galml::testing::GradCheckOptions o; o.mode = Mode::eval;
  auto r = check_layer<BatchNorm2D<>, Shape<3, 4, 5>>(o);
  INFO(r.worst << " rel " << r.max_rel_error << " abs " << r.max_abs_error);
  CHECK(r.ok(1e-6));
}

TEST_CASE("BatchNorm2D modes: train updates running stats per channel over N, H, W; eval and mc use them", "[layers][batchnorm2d]") {
  using Impl = BatchNorm2D<>::impl<Shape<2, 2, 3>, double, cpu>;
  Impl bn;
  std::vector<double> p(4), g(4, 0.0);
  Rng rng(3, 3);
  Impl::init(p.data(), rng, Init::pytorch);
  bn.bind(p.data(), g.data());
  const int64_t N = 3;
  std::vector<double> x(size_t(N * 12)), y(x.size());
  // channel c, sample n, position l: value l + 0.5 n + 10 c
  for (int64_t n = 0; n < N; ++n) for (int c = 0; c < 2; ++c) for (int l = 0; l < 6; ++l) x[size_t((n * 2 + c) * 6 + l)] = l + 0.5 * n + 10 * c;
  Context ctx;
  ctx.mode = Mode::train;
  bn.forward(x.data(), y.data(), N, ctx);
  // channel 1 mean: 2.5 + 0.5 + 10 = 13; running = 0.1 * mean (from 0)
  CHECK(bn.running_mean[0] == Approx(0.1 * 3.0));
  CHECK(bn.running_mean[1] == Approx(0.1 * 13.0));
  double v = 0; for (int n = 0; n < 3; ++n) for (int l = 0; l < 6; ++l) v += std::pow(l + 0.5 * n - 3.0, 2);
  CHECK(bn.running_var[0] == Approx(0.9 + 0.1 * v / 17.0));  // unbiased over N*H*W = 18 values
  CHECK(bn.running_var[1] == Approx(bn.running_var[0]));
  double mean_y = 0; for (int64_t n = 0; n < N; ++n) for (int l = 0; l < 6; ++l) mean_y += y[size_t((n * 2 + 1) * 6 + l)];
  CHECK(std::abs(mean_y) < 1e-12);
  const double rm1 = bn.running_mean[1], rv1 = bn.running_var[1];
  ctx.mode = Mode::mc;
  bn.forward(x.data(), y.data(), N, ctx);
  CHECK(bn.running_mean[1] == rm1);
  CHECK(bn.running_var[1] == rv1);
  CHECK(y[6] == Approx((x[6] - rm1) / std::sqrt(rv1 + 1e-5)));
  ctx.mode = Mode::eval;
  std::vector<double> y2(y.size());
  bn.forward(x.data(), y2.data(), N, ctx);
  CHECK(y2 == y);
}

TEST_CASE("BatchNorm2D in a model: state dict names and buffers", "[layers][batchnorm2d]") {
  using N = Net<Input<"img", 3, 8, 8>, Conv2D<4, 3, 1, Padding::same, false>, BatchNorm2D<>, ReLU, GlobalAvgPool2D, Dense<2>>;
  Model<N, double> m;
  auto sd = m.state_dict();
  CHECK(sd.contains("trunk.1.weight"));
  CHECK(sd.contains("trunk.1.bias"));
  CHECK(sd.vector<double>("trunk.1.running_mean") == std::vector<double>(4, 0.0));
  CHECK(sd.vector<double>("trunk.1.running_var") == std::vector<double>(4, 1.0));
  // Relative errors floored at 1e-3: some input pixels get gradients ~1e-5, where the central
  // difference's rounding noise (~1e-10 absolute) would dominate a plain relative error.
  galml::testing::GradCheckOptions o; o.floor = 1e-3;
  auto r = galml::testing::check_model<N>(o);
  INFO(r.worst << " rel " << r.max_rel_error << " abs " << r.max_abs_error);
  CHECK(r.ok(1e-6));
}
