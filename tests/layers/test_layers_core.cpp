// Gradient checks (double precision) for the layers the MTLforGalSpecZ network uses, and a whole
// multi-head model.
#include <catch2/catch.hpp>

#include "galml/galml.hpp"
#include "galml/testing/gradcheck.hpp"

using namespace galml;
using galml::testing::check_layer;

TEST_CASE("Conv1D gradients", "[layers][gradcheck]") {
  auto r = check_layer<Conv1D<4, 3>, Shape<2, 11>>();
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.checked > 50);
  CHECK(r.ok(1e-6));
  auto r2 = check_layer<Conv1D<3, 5, 2, 2>, Shape<3, 13>>();
  INFO(r2.worst << " rel " << r2.max_rel_error);
  CHECK(r2.ok(1e-6));
  auto r3 = check_layer<Conv1D<5, 1, 1, 0, false>, Shape<3, 7>>();
  CHECK(r3.ok(1e-6));
  // >= 8 input channels, stride 1, no padding: the shifted-GEMM fast path (no im2col)
  auto r4 = check_layer<Conv1D<6, 3>, Shape<9, 12>>();
  INFO(r4.worst << " rel " << r4.max_rel_error);
  CHECK(r4.ok(1e-6));
  auto r5 = check_layer<Conv1D<10, 3>, Shape<16, 9>>({.batch = 1});
  CHECK(r5.ok(1e-6));
}

TEST_CASE("Conv1D fast path matches the im2col path and is thread-count independent", "[layers][determinism]") {
  // Same weights through the fast path (Cin >= 8) and through a padded-then-cropped formulation is
  // overkill; compare against a direct triple loop instead.
  using L = Conv1D<12, 3>;
  using Impl = L::impl<Shape<8, 40>, double, cpu>;
  Rng rng(3, 3);
  std::vector<double> p(size_t(L::num_params<Shape<8, 40>>)), g(p.size(), 0.0);
  Impl::init(p.data(), rng, Init::pytorch);
  for (int64_t N : {1, 5}) {
    std::vector<double> x(size_t(N * 8 * 40)), y(size_t(N * 12 * 38)), ref(y.size());
    for (auto& v : x) v = rng.normal();
    for (int64_t n = 0; n < N; ++n)
      for (int o = 0; o < 12; ++o)
        for (int l = 0; l < 38; ++l) {
          double s = p[size_t(12 * 8 * 3 + o)];
          for (int c = 0; c < 8; ++c) for (int k = 0; k < 3; ++k) s += p[size_t((o * 8 + c) * 3 + k)] * x[size_t((n * 8 + c) * 40 + l + k)];
          ref[size_t((n * 12 + o) * 38 + l)] = s;
        }
    std::vector<std::vector<double>> outs;
    for (int threads : {1, 2, 3}) {
      set_num_threads(threads);
      Impl layer; layer.bind(p.data(), g.data());
      Context ctx;
      layer.forward(x.data(), y.data(), N, ctx);
      for (size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == Approx(ref[i]).epsilon(1e-12).margin(1e-12));
      std::vector<double> dx(x.size()); std::fill(g.begin(), g.end(), 0.0);
      layer.backward(x.data(), y.data(), y.data(), dx.data(), N, ctx);
      dx.insert(dx.end(), g.begin(), g.end());
      outs.push_back(dx);
    }
    set_num_threads(2);
    CHECK(outs[0] == outs[1]);
    CHECK(outs[0] == outs[2]);
  }
}

TEST_CASE("Dense gradients", "[layers][gradcheck]") {
  auto r = check_layer<Dense<5>, Shape<7>>();
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.ok(1e-6));
}

TEST_CASE("Activation gradients", "[layers][gradcheck]") {
  CHECK(check_layer<ReLU, Shape<3, 9>>().ok(1e-6));
  CHECK(check_layer<Sigmoid, Shape<3, 9>>().ok(1e-6));
  CHECK(check_layer<Tanh, Shape<3, 9>>().ok(1e-6));
  CHECK(check_layer<GELU, Shape<3, 9>>().ok(1e-6));
}

TEST_CASE("Pooling gradients", "[layers][gradcheck]") {
  CHECK(check_layer<MaxPool1D<3>, Shape<2, 14>>().ok(1e-6));
  CHECK(check_layer<MaxPool1D<3, 2>, Shape<2, 14>>().ok(1e-6));
  CHECK(check_layer<AvgPool1D<3>, Shape<2, 14>>().ok(1e-6));
  CHECK(check_layer<AdaptiveAvgPool1D<4>, Shape<2, 10>>().ok(1e-6));
  CHECK(check_layer<GlobalAvgPool1D, Shape<3, 10>>().ok(1e-6));
}

TEST_CASE("SEAttention gradients", "[layers][gradcheck]") {
  auto r = check_layer<SEAttention<3>, Shape<6, 5>>();
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.ok(1e-6));
}

TEST_CASE("Dropout gradients and modes", "[layers][gradcheck]") {
  CHECK(check_layer<Dropout<0.3>, Shape<20>>().ok(1e-6));
  using Impl = Dropout<0.5>::impl<Shape<1000>, float, cpu>;
  Impl d;
  d.layer_id = 3;
  std::vector<float> x(1000, 1.0f), y(1000);
  Context ctx; ctx.mode = Mode::eval;
  d.forward(x.data(), y.data(), 1, ctx);
  CHECK(y == x);
  ctx.mode = Mode::mc;
  d.forward(x.data(), y.data(), 1, ctx);
  int zeros = 0; for (float v : y) { zeros += v == 0.0f; if (v != 0.0f) CHECK(v == Approx(2.0f)); }
  CHECK(zeros > 420); CHECK(zeros < 580);
}

TEST_CASE("Chain and multi-head model gradients", "[graph][gradcheck]") {
  using N = Net<Input<"x", 2, 20>, Conv1D<3, 3>, ReLU, MaxPool1D<2>, Conv1D<4, 3, 1, 1>, Tanh, SEAttention<2>, GlobalAvgPool1D,
                Heads<Head<"a", Dropout<0.2>, Dense<5>, ReLU, Dense<3>>, Head<"b", Dense<1>>>>;
  auto r = galml::testing::check_model<N>();
  INFO(r.worst << " rel " << r.max_rel_error);
  CHECK(r.checked > 100);
  CHECK(r.ok(1e-6));
}

TEST_CASE("Model state dict round trip and summary", "[graph]") {
  using N = Net<Input<"x", 1, 30>, Conv1D<4, 3>, ReLU, GlobalAvgPool1D, Heads<Head<"cls", Dense<3>>, Head<"z", Dense<1>>>>;
  STATIC_REQUIRE(Model<N>::num_params == 4 * 3 + 4 + 4 * 3 + 3 + 4 + 1);
  manual_seed(5);
  Model<N> a;
  manual_seed(6);
  Model<N> b;
  CHECK(a.params()[0] != b.params()[0]);
  auto path = std::string(GALML_TEST_TMP_DIR) + "/sd_roundtrip.galml";
  a.state_dict().save(path);
  b.load_state_dict(StateDict::load(path));
  for (int64_t i = 0; i < Model<N>::num_params; ++i) REQUIRE(a.params()[i] == b.params()[i]);
  auto names = a.parameter_info();
  REQUIRE(names.size() == 6);
  CHECK(names[0].name == "trunk.0.weight");
  CHECK(names[2].name == "heads.cls.0.weight");
  CHECK(names[5].name == "heads.z.0.bias");
  const auto s = Model<N>::summary();
  CHECK_THAT(s, Catch::Contains("Conv1D(4, k=3, s=1, p=0)"));
  CHECK_THAT(s, Catch::Contains("total parameters: 36"));
  // Wrong architecture is refused with a message naming the entry.
  using N2 = Net<Input<"x", 1, 30>, Conv1D<5, 3>, ReLU, GlobalAvgPool1D, Heads<Head<"cls", Dense<3>>, Head<"z", Dense<1>>>>;
  Model<N2> c;
  REQUIRE_THROWS_WITH(c.load_state_dict(a.state_dict()), Catch::Contains("trunk.0.weight"));
}

TEST_CASE("Same seed gives the same initialisation and outputs on any thread count", "[core][determinism]") {
  using N = Net<Input<"x", 1, 64>, Conv1D<8, 3>, ReLU, MaxPool1D<2>, GlobalAvgPool1D, Dropout<0.5>, Dense<2>>;
  auto run = [](int threads) {
    set_num_threads(threads);
    manual_seed(42);
    Model<N> m;
    m.train();
    Tensor<float> x({16, 1, 64});
    Rng r(1, 1);
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = float(r.normal());
    m.forward(x);
    std::vector<float> g(32, 1.0f);
    m.backward({g.data()});
    std::vector<float> out(m.grads(), m.grads() + Model<N>::num_params);
    out.insert(out.end(), m.output().data(), m.output().data() + 32);
    return out;
  };
  const auto a = run(1), b = run(2), c = run(3);
  set_num_threads(2);
  CHECK(a == b);
  CHECK(a == c);
}

TEST_CASE("A batch of the wrong shape is refused with the input's name and both shapes", "[core][errors]") {
  using N = Net<Input<"spectrum", 2, 30>, Conv1D<4, 3>, ReLU, GlobalAvgPool1D, Dense<3>>;
  Model<N> m;
  m.eval();
  Tensor<float> ok({5, 2, 30});
  ok.fill(0.5f);
  REQUIRE_NOTHROW(m.forward(ok));
  CHECK(m.output(0).shape(0) == 5);
  Tensor<float> flat({5, 60});  // wrong rank
  REQUIRE_THROWS_WITH(m.forward(flat), Catch::Contains("input 'spectrum': expected shape [N](2x30), got [5, 60]"));
  Tensor<float> swapped({5, 30, 2});  // right rank, wrong per-sample dims
  REQUIRE_THROWS_WITH(m.forward(swapped), Catch::Contains("input 'spectrum': expected per-sample shape (2x30), got [5, 30, 2]"));
  Tensor<float> empty({0, 2, 30});
  REQUIRE_THROWS_WITH(m.forward(empty), Catch::Contains("input 'spectrum': empty batch"));
}
