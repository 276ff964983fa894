// Token layers: PatchEmbed1D, ClsToken, PositionalEmbedding, TokenPool (gradient checks and values).
#include <catch2/catch.hpp>

#include <iostream>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;

namespace {
void report(const char* what, const galml::testing::GradCheckResult& r) {
  std::cout << "  gradcheck " << what << ": max rel " << r.max_rel_error << " (worst " << r.worst << ")\n";
}
}  // namespace

TEST_CASE("PatchEmbed1D gradient checks and equivalence with Conv1D + Transpose", "[layers][tokens]") {
  auto a = check_layer<PatchEmbed1D<6, 4>, Shape<1, 20>>();
  report("PatchEmbed1D<6,4> (1x20)", a);
  CHECK(a.ok(1e-6));
  auto b = check_layer<PatchEmbed1D<5, 3>, Shape<2, 14>>();  // two channels, tail of 2 dropped
  report("PatchEmbed1D<5,3> (2x14)", b);
  CHECK(b.ok(1e-6));
  static_assert(std::is_same_v<PatchEmbed1D<5, 3>::output<Shape<2, 14>>, Shape<4, 5>>);
  // same parameters in Conv1D<5, 3, 3> then Transpose give the same tokens
  using A = Model<Net<Input<"x", 2, 14>, PatchEmbed1D<5, 3>>, double>;
  using Bm = Model<Net<Input<"x", 2, 14>, Conv1D<5, 3, 3>, Transpose>, double>;
  A ma; Bm mb;
  REQUIRE(A::num_params == Bm::num_params);
  std::copy(ma.params(), ma.params() + A::num_params, mb.params());
  Tensor<double> x({3, 2, 14});
  Rng rng(2);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.normal();
  const auto ya = ma.forward(x), yb = mb.forward(x);
  REQUIRE(ya.numel() == yb.numel());
  for (int64_t i = 0; i < ya.numel(); ++i) CHECK(ya[i] == Approx(yb[i]).margin(1e-12));
}

TEST_CASE("ClsToken, PositionalEmbedding and TokenPool gradient checks", "[layers][tokens]") {
  auto a = check_layer<ClsToken<4>, Shape<3, 4>>();
  report("ClsToken<4>", a);
  CHECK(a.ok(1e-6));
  auto b = check_layer<PositionalEmbedding, Shape<3, 4>>();
  report("PositionalEmbedding", b);
  CHECK(b.ok(1e-6));
  auto c = check_layer<TokenPool<TokenPooling::cls>, Shape<3, 4>>();
  report("TokenPool<cls>", c);
  CHECK(c.ok(1e-6));
  auto d = check_layer<TokenPool<TokenPooling::mean>, Shape<3, 4>>();
  report("TokenPool<mean>", d);
  CHECK(d.ok(1e-6));
}

TEST_CASE("ClsToken prepends the same learned token to every sample; TokenPool values", "[layers][tokens]") {
  using M = Model<Net<Input<"x", 2, 3>, ClsToken<3>, PositionalEmbedding, Heads<Head<"cls", TokenPool<TokenPooling::cls>>, Head<"mean", TokenPool<TokenPooling::mean>>>>, double>;
  M m;
  const auto info = m.parameter_info();
  REQUIRE(info.size() == 2);
  CHECK(info[0].name == "trunk.0.cls_token");
  CHECK(info[0].shape == std::vector<int64_t>{1, 1, 3});
  CHECK(info[1].name == "trunk.1.pos_embedding");
  CHECK(info[1].shape == std::vector<int64_t>{1, 3, 3});
  Tensor<double> x({2, 2, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = double(i);
  m.forward(x);
  const double* cls = m.params();
  const double* pos = m.params() + 3;
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 3; ++i) {
      CHECK(m.output("cls")[n * 3 + i] == Approx(cls[i] + pos[i]));
      const double mean = (cls[i] + pos[i] + x[n * 6 + i] + pos[3 + i] + x[n * 6 + 3 + i] + pos[6 + i]) / 3.0;
      CHECK(m.output("mean")[n * 3 + i] == Approx(mean));
    }
}
