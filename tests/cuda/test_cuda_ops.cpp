// CPU <-> CUDA parity of every backend op, forward and backward, float and double. Exact where the
// GPU does the same arithmetic in the same order (pooling, dropout, copies, ReLU); otherwise the
// tolerances documented in cuda_test_util.hpp.
#include "cuda/cuda_test_util.hpp"

using namespace galml;
using namespace cuda_test;
namespace ops = galml::backend_ops;

TEMPLATE_TEST_CASE("CUDA conv1d matches the CPU", "[cuda][ops]", float, double) {
  GALML_SKIP_WITHOUT_CUDA();
  using T = TestType;
  const cpu_kernels::Conv1dDims cases[] = {
      {3, 37, 5, 3, 1, 0, 35},   // MTL layer shape (valid padding)
      {2, 29, 4, 5, 2, 2, 15},   // strided and padded
      {4, 16, 6, 1, 1, 0, 16},   // 1x1: the direct path (no im2col)
      {1, 300, 16, 3, 1, 1, 300} // first MTL layer, same padding
  };
  for (const auto& d : cases) {
    for (bool bias : {true, false}) {
      const int64_t N = 7, xs = N * d.cin * d.L, ws = d.cout * d.cin * d.K, ys = N * d.cout * d.lout;
      INFO("cin " << d.cin << " L " << d.L << " cout " << d.cout << " K " << d.K << " S " << d.stride << " P " << d.pad << " bias " << bias);
      auto x = random_vec<T>(xs, 1), w = random_vec<T>(ws, 2), b = random_vec<T>(d.cout, 3), dy = random_vec<T>(ys, 4);
      auto dw0 = random_vec<T>(ws, 5), db0 = random_vec<T>(d.cout, 6);  // gradients accumulate onto these
      std::vector<T> y(ys), dx(xs), dw = dw0, db = db0;
      ops::conv1d_forward(cpu{}, x.data(), w.data(), bias ? b.data() : (const T*)nullptr, y.data(), N, d);
      ops::conv1d_backward(cpu{}, x.data(), w.data(), dy.data(), dx.data(), dw.data(), bias ? db.data() : (T*)nullptr, N, d);

      auto gx = dev(x), gw = dev(w), gb = dev(b), gdy = dev(dy), gdw = dev(dw0), gdb = dev(db0);
      Tensor<T, cuda> gy({ys}), gdx({xs});
      ops::conv1d_forward(cuda{}, (const T*)gx.data(), (const T*)gw.data(), bias ? (const T*)gb.data() : (const T*)nullptr, gy.data(), N, d);
      ops::conv1d_backward(cuda{}, (const T*)gx.data(), (const T*)gw.data(), (const T*)gdy.data(), gdx.data(), gdw.data(),
                           bias ? gdb.data() : (T*)nullptr, N, d);
      CHECK(max_rel(host(gy), y) < gemm_tol<T>());
      CHECK(max_rel(host(gdx), dx) < gemm_tol<T>());
      CHECK(max_rel(host(gdw), dw) < gemm_tol<T>());
      CHECK(max_rel(host(gdb), db) < gemm_tol<T>());

      // dx = nullptr (first layer): only parameter gradients
      Tensor<T, cuda> gdw2 = dev(dw0);
      ops::conv1d_backward(cuda{}, (const T*)gx.data(), (const T*)gw.data(), (const T*)gdy.data(), (T*)nullptr, gdw2.data(), (T*)nullptr, N, d);
      CHECK(host(gdw2) == host(gdw));  // same computation, same bits
    }
  }
}

TEMPLATE_TEST_CASE("CUDA dense matches the CPU", "[cuda][ops]", float, double) {
  GALML_SKIP_WITHOUT_CUDA();
  using T = TestType;
  for (auto [N, in, out] : {std::tuple<int64_t, int64_t, int64_t>{9, 33, 7}, {128, 256, 128}, {1, 5, 1}}) {
    INFO("N " << N << " in " << in << " out " << out);
    auto x = random_vec<T>(N * in, 11), w = random_vec<T>(out * in, 12), b = random_vec<T>(out, 13), dy = random_vec<T>(N * out, 14);
    auto dw0 = random_vec<T>(out * in, 15), db0 = random_vec<T>(out, 16);
    std::vector<T> y(size_t(N * out)), dx(size_t(N * in)), dw = dw0, db = db0;
    ops::dense_forward(cpu{}, x.data(), w.data(), b.data(), y.data(), N, in, out);
    ops::dense_backward(cpu{}, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), N, in, out);
    auto gx = dev(x), gw = dev(w), gb = dev(b), gdy = dev(dy), gdw = dev(dw0), gdb = dev(db0);
    Tensor<T, cuda> gy({N * out}), gdx({N * in}), gy2({N * out});
    ops::dense_forward(cuda{}, (const T*)gx.data(), (const T*)gw.data(), (const T*)gb.data(), gy.data(), N, in, out);
    ops::dense_backward(cuda{}, (const T*)gx.data(), (const T*)gw.data(), (const T*)gdy.data(), gdx.data(), gdw.data(), gdb.data(), N, in, out);
    CHECK(max_rel(host(gy), y) < gemm_tol<T>());
    CHECK(max_rel(host(gdx), dx) < gemm_tol<T>());
    CHECK(max_rel(host(gdw), dw) < gemm_tol<T>());
    CHECK(max_rel(host(gdb), db) < gemm_tol<T>());
    // no bias
    std::vector<T> y2(size_t(N * out));
    ops::dense_forward(cpu{}, x.data(), w.data(), (const T*)nullptr, y2.data(), N, in, out);
    ops::dense_forward(cuda{}, (const T*)gx.data(), (const T*)gw.data(), (const T*)nullptr, gy2.data(), N, in, out);
    CHECK(max_rel(host(gy2), y2) < gemm_tol<T>());
  }
}

TEMPLATE_TEST_CASE("CUDA activations match the CPU", "[cuda][ops]", float, double) {
  GALML_SKIP_WITHOUT_CUDA();
  using T = TestType;
  const int64_t n = 10007;
  auto x = random_vec<T>(n, 21, -6, 6), dy = random_vec<T>(n, 22);
  x[0] = T(0); x[1] = T(-0.0);  // ReLU's boundary
  for (auto a : {ops::Act::relu, ops::Act::sigmoid, ops::Act::tanh, ops::Act::gelu}) {
    INFO("act " << int(a));
    std::vector<T> y(n), dx(n);
    ops::activation_forward(cpu{}, a, x.data(), y.data(), n);
    ops::activation_backward(cpu{}, a, x.data(), y.data(), dy.data(), dx.data(), n);
    auto gx = dev(x), gdy = dev(dy), gy_cpu = dev(y);  // backward gets the CPU's y: tests the formula alone
    Tensor<T, cuda> gy({n}), gdx({n});
    ops::activation_forward(cuda{}, a, (const T*)gx.data(), gy.data(), n);
    ops::activation_backward(cuda{}, a, (const T*)gx.data(), (const T*)gy_cpu.data(), (const T*)gdy.data(), gdx.data(), n);
    if (a == ops::Act::relu) {
      CHECK(host(gy) == y);
      CHECK(host(gdx) == dx);
    } else {
      CHECK(max_rel(host(gy), y) < math_tol<T>());
      CHECK(max_rel(host(gdx), dx) < math_tol<T>());
    }
  }
}

TEMPLATE_TEST_CASE("CUDA max pooling matches the CPU exactly", "[cuda][ops]", float, double) {
  GALML_SKIP_WITHOUT_CUDA();
  using T = TestType;
  for (auto [K, S] : {std::pair<int64_t, int64_t>{3, 3}, {3, 2}, {4, 1}, {2, 3}}) {
    const int64_t rows = 37, L = 101, lout = (L - K) / S + 1;
    INFO("K " << K << " S " << S);
    auto x = random_vec<T>(rows * L, 31);
    for (auto& v : x) v = std::round(v * 3) / 3;  // many ties: first max must win on both backends
    auto dy = random_vec<T>(rows * lout, 32);
    std::vector<T> y(size_t(rows * lout)), dx(size_t(rows * L));
    std::vector<int32_t> arg(size_t(rows * lout));
    ops::maxpool1d_forward(cpu{}, x.data(), y.data(), arg.data(), rows, L, K, S, lout);
    ops::maxpool1d_backward(cpu{}, dy.data(), arg.data(), dx.data(), rows, L, lout);
    auto gx = dev(x), gdy = dev(dy);
    Tensor<T, cuda> gy({rows * lout}), gdx({rows * L});
    Tensor<int32_t, cuda> garg({rows * lout});
    ops::maxpool1d_forward(cuda{}, (const T*)gx.data(), gy.data(), garg.data(), rows, L, K, S, lout);
    ops::maxpool1d_backward(cuda{}, (const T*)gdy.data(), (const int32_t*)garg.data(), gdx.data(), rows, L, lout);
    CHECK(host(gy) == y);
    CHECK(host(garg) == arg);
    CHECK(host(gdx) == dx);
  }
}

TEMPLATE_TEST_CASE("CUDA average pooling matches the CPU exactly", "[cuda][ops]", float, double) {
  GALML_SKIP_WITHOUT_CUDA();
  using T = TestType;
  const int64_t rows = 29, L = 57;
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> bins;
  {  // AvgPool1D<3, 2> (overlapping), AdaptiveAvgPool1D<10>, GlobalAvgPool1D
    std::vector<int32_t> s, e;
    for (int i = 0; i < (L - 3) / 2 + 1; ++i) { s.push_back(i * 2); e.push_back(i * 2 + 3); }
    bins.push_back({s, e}); s.clear(); e.clear();
    for (int i = 0; i < 10; ++i) { s.push_back(int32_t(i * L / 10)); e.push_back(int32_t(((i + 1) * L + 9) / 10)); }
    bins.push_back({s, e});
    bins.push_back({{0}, {int32_t(L)}});
  }
  for (auto& [s, e] : bins) {
    const int64_t lout = int64_t(s.size());
    INFO("lout " << lout);
    auto x = random_vec<T>(rows * L, 41), dy = random_vec<T>(rows * lout, 42);
    std::vector<T> y(size_t(rows * lout)), dx(size_t(rows * L));
    ops::binpool1d_forward(cpu{}, x.data(), y.data(), s.data(), e.data(), rows, L, lout);
    ops::binpool1d_backward(cpu{}, dy.data(), dx.data(), s.data(), e.data(), rows, L, lout);
    auto gx = dev(x), gdy = dev(dy);
    auto gs = dev(s), ge = dev(e);
    Tensor<T, cuda> gy({rows * lout}), gdx({rows * L});
    ops::binpool1d_forward(cuda{}, (const T*)gx.data(), gy.data(), (const int32_t*)gs.data(), (const int32_t*)ge.data(), rows, L, lout);
    ops::binpool1d_backward(cuda{}, (const T*)gdy.data(), gdx.data(), (const int32_t*)gs.data(), (const int32_t*)ge.data(), rows, L, lout);
    CHECK(host(gy) == y);
    CHECK(host(gdx) == dx);
  }
}

TEMPLATE_TEST_CASE("CUDA dropout masks are bit-identical to the CPU's", "[cuda][ops]", float, double) {
  GALML_SKIP_WITHOUT_CUDA();
  using T = TestType;
  const int64_t n = 100003;  // not a multiple of 4: the last Philox block is partial
  auto x = random_vec<T>(n, 51), dy = random_vec<T>(n, 52);
  for (double p : {0.5, 0.1, 0.9}) {
    for (uint64_t step : {uint64_t(0), uint64_t(7), (uint64_t(1) << 33) + 5}) {  // high step bits go into the key
      const uint64_t seed = 0x123456789abcdefull, layer = 65;
      INFO("p " << p << " step " << step);
      std::vector<T> y(n), dx(n);
      std::vector<uint8_t> mask(n);
      ops::dropout_forward(cpu{}, x.data(), y.data(), mask.data(), n, p, seed, layer, step);
      ops::dropout_backward(cpu{}, dy.data(), mask.data(), dx.data(), n, p);
      auto gx = dev(x), gdy = dev(dy);
      Tensor<T, cuda> gy({n}), gdx({n});
      Tensor<uint8_t, cuda> gmask({n});
      ops::dropout_forward(cuda{}, (const T*)gx.data(), gy.data(), gmask.data(), n, p, seed, layer, step);
      ops::dropout_backward(cuda{}, (const T*)gdy.data(), (const uint8_t*)gmask.data(), gdx.data(), n, p);
      CHECK(host(gmask) == mask);
      CHECK(host(gy) == y);
      CHECK(host(gdx) == dx);
    }
  }
}

TEMPLATE_TEST_CASE("CUDA copy, add and channel scaling match the CPU", "[cuda][ops]", float, double) {
  GALML_SKIP_WITHOUT_CUDA();
  using T = TestType;
  const int64_t rows = 128 * 16, L = 19, n = rows * L;
  auto x = random_vec<T>(n, 61), z = random_vec<T>(n, 62), s = random_vec<T>(rows, 63), dy = random_vec<T>(n, 64);
  auto gx = dev(x), gz = dev(z), gs = dev(s), gdy = dev(dy);
  Tensor<T, cuda> gc({n});
  ops::copy(cuda{}, (const T*)gx.data(), gc.data(), n);
  CHECK(host(gc) == x);
  std::vector<T> sum = z;
  ops::add_inplace(cpu{}, sum.data(), x.data(), n);
  ops::add_inplace(cuda{}, gz.data(), (const T*)gx.data(), n);
  CHECK(host(gz) == sum);

  std::vector<T> y(n), dx(n), ds(rows);
  ops::scale_rows(cpu{}, x.data(), s.data(), y.data(), rows, L);
  ops::scale_rows_backward(cpu{}, x.data(), s.data(), dy.data(), dx.data(), ds.data(), rows, L);
  Tensor<T, cuda> gy({n}), gdx({n}), gds({rows}), gds2({rows});
  ops::scale_rows(cuda{}, (const T*)gx.data(), (const T*)gs.data(), gy.data(), rows, L);
  ops::scale_rows_backward(cuda{}, (const T*)gx.data(), (const T*)gs.data(), (const T*)gdy.data(), gdx.data(), gds.data(), rows, L);
  CHECK(host(gy) == y);    // one multiply per element: exact
  CHECK(host(gdx) == dx);
  CHECK(max_rel(host(gds), ds) < gemm_tol<T>());  // a sum over L in a different order
  ops::scale_rows_backward(cuda{}, (const T*)gx.data(), (const T*)gs.data(), (const T*)gdy.data(), (T*)nullptr, gds2.data(), rows, L);
  CHECK(host(gds2) == host(gds));
}

TEST_CASE("CUDA runtime: errors name the call, tensors round-trip", "[cuda][runtime]") {
  GALML_SKIP_WITHOUT_CUDA();
  const auto info = cuda_rt::device_info();
  INFO(info.name << " sm " << info.cc_major << "." << info.cc_minor << " SMs " << info.sm_count);
  CHECK(info.sm_count > 0);
  // An invalid call reports file, line, the call and CUDA's message.
  REQUIRE_THROWS_WITH([] { GALML_CUDA_CHECK(cudaSetDevice(9999)); }(), Catch::Contains("cudaSetDevice(9999)") && Catch::Contains("invalid device"));
  auto h = Tensor<float>::from({1, 2, 3, 4, 5, 6}, {2, 3});
  auto d = to_device(h);
  CHECK(d.shape() == h.shape());
  auto back = to_host(d);
  CHECK(std::vector<float>(back.data(), back.data() + 6) == std::vector<float>{1, 2, 3, 4, 5, 6});
}
