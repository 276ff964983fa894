// FlattenChannelsLast: index order (h*W + w)*C + c, its gradient, the Shape<C, L> case, and that a
// Keras-style Dense after it sees the Keras Flatten order.
#include <catch2/catch.hpp>

#include <vector>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;

TEST_CASE("FlattenChannelsLast puts channels last", "[layers][flatten]") {
  STATIC_REQUIRE(std::is_same_v<FlattenChannelsLast::output<Shape<256, 6, 6>>, Shape<9216>>);  // M2's flatten
  constexpr int C = 3, H = 2, W = 4;
  FlattenChannelsLast::impl<Shape<C, H, W>, double, cpu> f;
  const int64_t N = 2;
  std::vector<double> x(size_t(N * C * H * W)), y(x.size()), dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = double(i);
  Context ctx;
  f.forward(x.data(), y.data(), N, ctx);
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int h = 0; h < H; ++h)
        for (int w = 0; w < W; ++w)
          CHECK(y[size_t(n * C * H * W + (h * W + w) * C + c)] == x[size_t(((n * C + c) * H + h) * W + w)]);
  f.backward(x.data(), y.data(), y.data(), dx.data(), N, ctx);  // the gradient undoes the permutation
  CHECK(dx == x);
}

TEST_CASE("FlattenChannelsLast on Shape<C, L> (Keras Conv1D + Flatten: index l*C + c)", "[layers][flatten]") {
  FlattenChannelsLast::impl<Shape<2, 3>, double, cpu> f;
  std::vector<double> x{0, 1, 2, 10, 11, 12}, y(6);
  Context ctx;
  f.forward(x.data(), y.data(), 1, ctx);
  CHECK(y == std::vector<double>{0, 10, 1, 11, 2, 12});
}

TEST_CASE("FlattenChannelsLast gradients", "[layers][gradcheck][flatten]") {
  auto r = galml::testing::check_layer<FlattenChannelsLast, Shape<3, 4, 5>>();
  INFO(r.worst << " rel " << r.max_rel_error << " abs " << r.max_abs_error);
  CHECK(r.ok(1e-6));
  using N = Net<Input<"img", 2, 5, 4>, Conv2D<3, 3>, FlattenChannelsLast, Dense<2>>;
  // Relative errors floored at 1e-3: some input pixels get gradients ~1e-5, where the central
  // difference's rounding noise (~1e-10 absolute) would dominate a plain relative error.
  galml::testing::GradCheckOptions o; o.floor = 1e-3;
  auto r2 = galml::testing::check_model<N>(o);
  INFO(r2.worst << " rel " << r2.max_rel_error << " abs " << r2.max_abs_error);
  CHECK(r2.ok(1e-6));
}
