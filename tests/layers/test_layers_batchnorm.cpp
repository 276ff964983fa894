// BatchNorm1D: double-precision gradient checks (train mode, batch statistics; eval mode, running
// statistics) and the train / eval / mc semantics of the running statistics.
#include <catch2/catch.hpp>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;

TEST_CASE("BatchNorm1D gradients, train mode", "[layers][gradcheck][batchnorm]") {
  auto r = check_layer<BatchNorm1D<>, Shape<3, 7>>();  // default options: train mode
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.checked > 60);
  CHECK(r.ok(1e-6));
  galml::testing::GradCheckOptions o; o.batch = 5;
  auto r2 = check_layer<BatchNorm1D<1e-3>, Shape<4>>(o);  // feature vectors: statistics over the batch
  INFO(r2.worst << " rel " << r2.max_rel_error);
  CHECK(r2.ok(1e-6));
  auto r3 = check_layer<BatchNorm1D<1e-5, 0.1, false>, Shape<2, 5>>();
  CHECK(r3.ok(1e-6));
}

TEST_CASE("BatchNorm1D gradients, eval mode", "[layers][gradcheck][batchnorm]") {
  galml::testing::GradCheckOptions o; o.mode = Mode::eval;
  auto r = check_layer<BatchNorm1D<>, Shape<3, 7>>(o);
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.ok(1e-6));
}

TEST_CASE("BatchNorm1D in a model: gradients and state dict buffers", "[layers][gradcheck][batchnorm]") {
  using N = Net<Input<"x", 2, 12>, Conv1D<3, 3, 1, 0, false>, BatchNorm1D<>, ReLU, GlobalAvgPool1D, Dense<4, false>, BatchNorm1D<>, Dense<2>>;  // no bias before BN: its exact gradient is 0
  auto r = galml::testing::check_model<N>();
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.ok(1e-6));
  Model<N, double> m;
  auto sd = m.state_dict();
  CHECK(sd.contains("trunk.1.weight"));
  CHECK(sd.contains("trunk.1.running_mean"));
  CHECK(sd.contains("trunk.5.running_var"));
  CHECK(sd.vector<double>("trunk.1.running_var") == std::vector<double>(3, 1.0));
  CHECK(sd.vector<double>("trunk.1.weight") == std::vector<double>(3, 1.0));
  CHECK(sd.vector<double>("trunk.1.bias") == std::vector<double>(3, 0.0));
}

TEST_CASE("BatchNorm1D modes: train updates running stats, eval and mc use them and leave them alone", "[layers][batchnorm]") {
  using Impl = BatchNorm1D<>::impl<Shape<2, 4>, double, cpu>;
  Impl bn;
  std::vector<double> p(4), g(4, 0.0);
  Rng rng(3, 3);
  Impl::init(p.data(), rng, Init::pytorch);
  bn.bind(p.data(), g.data());
  const int64_t N = 3;
  std::vector<double> x(size_t(N * 8)), y(x.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = double(i % 8) + 0.5 * double(i / 8);
  Context ctx;
  ctx.mode = Mode::train;
  bn.forward(x.data(), y.data(), N, ctx);
  // channel 0 values: l + 0.5 n for l in 0..3, n in 0..2 -> mean 2.0; running = 0.1 * mean
  const double rm0 = bn.running_mean[0], rv0 = bn.running_var[0];
  CHECK(rm0 == Approx(0.1 * 2.0));
  double v = 0; for (int n = 0; n < 3; ++n) for (int l = 0; l < 4; ++l) v += std::pow(l + 0.5 * n - 2.0, 2);
  CHECK(rv0 == Approx(0.9 + 0.1 * v / 11.0));  // unbiased batch variance
  double mean_y = 0; for (int n = 0; n < 3; ++n) for (int l = 0; l < 4; ++l) mean_y += y[size_t(n * 8 + l)];
  CHECK(std::abs(mean_y) < 1e-12);
  ctx.mode = Mode::mc;
  bn.forward(x.data(), y.data(), N, ctx);
  CHECK(bn.running_mean[0] == rm0);
  CHECK(bn.running_var[0] == rv0);
  CHECK(y[0] == Approx((x[0] - rm0) / std::sqrt(rv0 + 1e-5)));
  ctx.mode = Mode::eval;
  std::vector<double> y2(y.size());
  bn.forward(x.data(), y2.data(), N, ctx);
  CHECK(y2 == y);
  CHECK(bn.running_mean[0] == rm0);
}
