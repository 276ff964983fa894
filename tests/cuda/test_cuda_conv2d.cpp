// Conv2D and 2-D pooling on CUDA (backend/cuda/conv2d.cuh) against the CPU backend: ops in float and
// double (strided, padded, 1x1; max pooling with overlapping windows, where the 1-D run-gather of the
// CPU's scatter order would not apply; average bins incl. adaptive overlapping ones), and a small
// image CNN (Conv2D same/valid/strided, BatchNorm2D, max and adaptive average pooling) whole-network.
#include "cuda/cuda_test_util.hpp"

using namespace galml;
using namespace cuda_test;
namespace ops = galml::backend_ops;

TEMPLATE_TEST_CASE("CUDA conv2d matches the CPU", "[cuda][ops][conv2d]", float, double) {
  GALML_SKIP_WITHOUT_CUDA();
  using T = TestType;
  const cpu_kernels::Conv2dDims cases[] = {
      {3, 11, 9, 4, 3, 1, 1, 11, 9},  // same padding
      {2, 12, 12, 5, 3, 2, 0, 5, 5},  // strided, valid
      {4, 7, 6, 3, 1, 1, 0, 7, 6},    // 1x1
      {1, 9, 10, 2, 5, 2, 2, 5, 5},   // large kernel, stride and padding
      {2, 70, 66, 3, 3, 1, 1, 70, 66},  // bias gradient long enough (3 x 13,860) for the split row reduction
  };
  for (const auto& d : cases) {
    INFO("cin " << d.cin << " H " << d.H << " W " << d.W << " cout " << d.cout << " K " << d.K << " S " << d.stride << " P " << d.pad);
    const int64_t N = 3, xs = N * d.cin * d.H * d.W, ws = d.cout * d.cin * d.K * d.K, ys = N * d.cout * d.ho * d.wo;
    auto x = random_vec<T>(xs, 1), w = random_vec<T>(ws, 2), b = random_vec<T>(d.cout, 3), dy = random_vec<T>(ys, 4);
    auto dw0 = random_vec<T>(ws, 5), db0 = random_vec<T>(d.cout, 6);
    std::vector<T> y(ys), dx(xs), dw = dw0, db = db0;
    ops::conv2d_forward(cpu{}, x.data(), w.data(), b.data(), y.data(), N, d);
    ops::conv2d_backward(cpu{}, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), N, d);
    auto gx = dev(x), gw = dev(w), gb = dev(b), gdy = dev(dy), gdw = dev(dw0), gdb = dev(db0);
    Tensor<T, cuda> gy({ys}), gdx({xs});
    ops::conv2d_forward(cuda{}, (const T*)gx.data(), (const T*)gw.data(), (const T*)gb.data(), gy.data(), N, d);
    ops::conv2d_backward(cuda{}, (const T*)gx.data(), (const T*)gw.data(), (const T*)gdy.data(), gdx.data(), gdw.data(), gdb.data(), N, d);
    CHECK(max_rel(host(gy), y) < gemm_tol<T>());
    CHECK(max_rel(host(gdx), dx) < gemm_tol<T>());
    CHECK(max_rel(host(gdw), dw) < gemm_tol<T>());
    CHECK(max_rel(host(gdb), db) < gemm_tol<T>());
  }
}

TEMPLATE_TEST_CASE("CUDA 2-D pooling matches the CPU exactly", "[cuda][ops][pool2d]", float, double) {
  GALML_SKIP_WITHOUT_CUDA();
  using T = TestType;
  const int64_t planes = 5, H = 9, W = 11;
  auto x = random_vec<T>(planes * H * W, 7);
  x[13] = x[14];  // a tie inside a window: the first maximum wins on both backends
  for (auto [K, S] : {std::pair<int64_t, int64_t>{2, 2}, {3, 2}, {3, 1}}) {
    INFO("K " << K << " S " << S);
    const int64_t ho = (H - K) / S + 1, wo = (W - K) / S + 1, n = planes * ho * wo;
    auto dy = random_vec<T>(n, 8);
    std::vector<T> y(n), dx(planes * H * W);
    std::vector<int32_t> arg(n);
    ops::maxpool2d_forward(cpu{}, x.data(), y.data(), arg.data(), planes, H, W, K, S, ho, wo);
    ops::maxpool2d_backward(cpu{}, dy.data(), arg.data(), dx.data(), planes, H, W, K, S, ho, wo);
    auto gx = dev(x), gdy = dev(dy);
    Tensor<T, cuda> gy({n}), gdx({planes * H * W});
    Tensor<int32_t, cuda> garg({n});
    ops::maxpool2d_forward(cuda{}, (const T*)gx.data(), gy.data(), garg.data(), planes, H, W, K, S, ho, wo);
    ops::maxpool2d_backward(cuda{}, (const T*)gdy.data(), (const int32_t*)garg.data(), gdx.data(), planes, H, W, K, S, ho, wo);
    CHECK(host(gy) == y);
    std::vector<int32_t> ga(static_cast<size_t>(n));
    allocator<cuda>::copy_to_host(ga.data(), garg.data(), size_t(n) * sizeof(int32_t));
    CHECK(ga == arg);
    CHECK(host(gdx) == dx);  // same additions in the same order
  }
  // Average bins: fixed 3x3 windows with stride 3, and adaptive 4x3 bins (overlapping).
  for (int mode = 0; mode < 2; ++mode) {
    INFO("mode " << mode);
    const int64_t ho = mode == 0 ? 3 : 4, wo = mode == 0 ? 3 : 3;
    std::vector<int32_t> bins(size_t(2 * ho + 2 * wo));
    for (int64_t i = 0; i < ho; ++i) {
      bins[size_t(i)] = int32_t(mode == 0 ? 3 * i : (i * H) / ho);
      bins[size_t(ho + i)] = int32_t(mode == 0 ? 3 * i + 3 : ((i + 1) * H + ho - 1) / ho);
    }
    for (int64_t j = 0; j < wo; ++j) {
      bins[size_t(2 * ho + j)] = int32_t(mode == 0 ? 3 * j : (j * W) / wo);
      bins[size_t(2 * ho + wo + j)] = int32_t(mode == 0 ? 3 * j + 3 : ((j + 1) * W + wo - 1) / wo);
    }
    const int64_t n = planes * ho * wo;
    auto dy = random_vec<T>(n, 9);
    std::vector<T> y(n), dx(planes * H * W);
    ops::binpool2d_forward(cpu{}, x.data(), y.data(), bins.data(), planes, H, W, ho, wo);
    ops::binpool2d_backward(cpu{}, dy.data(), dx.data(), bins.data(), planes, H, W, ho, wo);
    Tensor<int32_t, cuda> gbins({int64_t(bins.size())});
    allocator<cuda>::copy_from_host(gbins.data(), bins.data(), bins.size() * sizeof(int32_t));
    auto gx = dev(x), gdy = dev(dy);
    Tensor<T, cuda> gy({n}), gdx({planes * H * W});
    ops::binpool2d_forward(cuda{}, (const T*)gx.data(), gy.data(), (const int32_t*)gbins.data(), planes, H, W, ho, wo);
    ops::binpool2d_backward(cuda{}, (const T*)gdy.data(), gdx.data(), (const int32_t*)gbins.data(), planes, H, W, ho, wo);
    CHECK(host(gy) == y);
    CHECK(host(gdx) == dx);
  }
}

namespace {
using SmallCnn = Net<Input<"img", 3, 14, 13>, Conv2D<4, 3, 1, Padding::same>, BatchNorm2D<>, ReLU, MaxPool2D<3, 2>, Conv2D<6, 3, 2>, ReLU,
                     AdaptiveAvgPool2D<2, 2>, Flatten, Heads<Head<"y", Dense<3>>, Head<"z", Dense<1>>>>;
}

TEST_CASE("A small image CNN on CUDA matches the CPU (double)", "[cuda][model][conv2d]") {
  GALML_SKIP_WITHOUT_CUDA();
  for (bool training : {true, false}) {
    INFO("training " << training);
    const auto e = compare_backends<SmallCnn, double>(4, training);
    CHECK(e.out < 1e-12);
    CHECK(e.grad < 1e-11);
    CHECK(e.dx < 1e-11);
    CHECK(e.state < 1e-13);
    CHECK(e.running == 2);  // BatchNorm2D mean and variance
  }
}
