// CPU <-> CUDA parity of the normalisation, softmax and layout ops (backend/cuda/norm.cuh), float and
// double, and a small network that uses BatchNorm1D, LayerNorm, Transpose, Residual, Concat and
// LogSoftmax on the GPU against the same network on the CPU (training mode: batch statistics and the
// running-statistics update; then eval mode with the running statistics).
#include "cuda/cuda_test_util.hpp"

using namespace galml;
using namespace cuda_test;
namespace ops = galml::backend_ops;

namespace {
template <class T> constexpr double tol() { return sizeof(T) == 4 ? 2e-6 : 1e-13; }
}  // namespace

TEMPLATE_TEST_CASE("CUDA batch norm matches the CPU", "[cuda][ops][norm]", float, double) {
  GALML_SKIP_WITHOUT_CUDA();
  using T = TestType;
  // Shapes for each path of the split channel sums: flat groups (L < 256), one partial row tile, several
  // tiles per row, many groups per channel; and the flat / row-wise elementwise kernels (L < / >= 128).
  for (auto [N, C, L] : {std::tuple<int64_t, int64_t, int64_t>{7, 5, 33}, {64, 16, 1}, {2, 3, 1000}, {33, 3, 129}, {1, 4, 300}, {3, 2, 5000},
                         {700, 2, 7}}) {
    INFO("N " << N << " C " << C << " L " << L);
    const int64_t n = N * C * L;
    auto x = random_vec<T>(n, 1, -2.0, 3.0), dy = random_vec<T>(n, 2), g = random_vec<T>(C, 3, 0.5, 1.5), b = random_vec<T>(C, 4);
    auto rm0 = random_vec<T>(C, 5), rv0 = random_vec<T>(C, 6, 0.5, 2.0), dg0 = random_vec<T>(C, 7), db0 = random_vec<T>(C, 8);
    std::vector<T> mean(C), var(C), is(C), y(n), dx(n), rm = rm0, rv = rv0, dg = dg0, dbt = db0;
    ops::batchnorm_stats(cpu{}, x.data(), mean.data(), var.data(), N, C, L);
    ops::batchnorm_update_running(cpu{}, rm.data(), rv.data(), mean.data(), var.data(), C, N * L, 0.1);
    ops::batchnorm_invstd(cpu{}, var.data(), is.data(), C, 1e-5);
    ops::batchnorm_forward(cpu{}, x.data(), mean.data(), is.data(), g.data(), b.data(), y.data(), N, C, L);
    ops::batchnorm_backward(cpu{}, x.data(), dy.data(), mean.data(), is.data(), g.data(), dx.data(), dg.data(), dbt.data(), N, C, L, true);

    auto gx = dev(x), gdy = dev(dy), gg = dev(g), gb = dev(b), grm = dev(rm0), grv = dev(rv0), gdg = dev(dg0), gdb = dev(db0);
    Tensor<T, cuda> gmean({C}), gvar({C}), gis({C}), gy({n}), gdx({n});
    ops::batchnorm_stats(cuda{}, (const T*)gx.data(), gmean.data(), gvar.data(), N, C, L);
    ops::batchnorm_update_running(cuda{}, grm.data(), grv.data(), (const T*)gmean.data(), (const T*)gvar.data(), C, N * L, 0.1);
    ops::batchnorm_invstd(cuda{}, (const T*)gvar.data(), gis.data(), C, 1e-5);
    ops::batchnorm_forward(cuda{}, (const T*)gx.data(), (const T*)gmean.data(), (const T*)gis.data(), (const T*)gg.data(), (const T*)gb.data(), gy.data(), N, C, L);
    ops::batchnorm_backward(cuda{}, (const T*)gx.data(), (const T*)gdy.data(), (const T*)gmean.data(), (const T*)gis.data(), (const T*)gg.data(), gdx.data(),
                            gdg.data(), gdb.data(), N, C, L, true);
    CHECK(max_rel(host(gmean), mean) < tol<T>());
    CHECK(max_rel(host(gvar), var) < tol<T>());
    CHECK(max_rel(host(grm), rm) < tol<T>());
    CHECK(max_rel(host(grv), rv) < tol<T>());
    CHECK(max_rel(host(gis), is) < tol<T>());
    CHECK(max_rel(host(gy), y) < 4 * tol<T>());
    CHECK(max_rel(host(gdx), dx) < 4 * tol<T>());
    CHECK(max_rel(host(gdg), dg) < tol<T>());
    CHECK(max_rel(host(gdb), dbt) < tol<T>());
    // Running statistics (eval): no batch terms; no affine parameters.
    std::vector<T> dx2(n);
    ops::batchnorm_backward(cpu{}, x.data(), dy.data(), rm.data(), is.data(), (const T*)nullptr, dx2.data(), (T*)nullptr, (T*)nullptr, N, C, L, false);
    Tensor<T, cuda> gdx2({n});
    ops::batchnorm_backward(cuda{}, (const T*)gx.data(), (const T*)gdy.data(), (const T*)grm.data(), (const T*)gis.data(), (const T*)nullptr, gdx2.data(),
                            (T*)nullptr, (T*)nullptr, N, C, L, false);
    CHECK(max_rel(host(gdx2), dx2) < 4 * tol<T>());
    // Deterministic: a second run gives the same bits (fixed split, fixed order of the partials).
    Tensor<T, cuda> gmean2({C}), gvar2({C}), gdx3({n}), gdg2({C}), gdb2({C});
    gdg2.zero(); gdb2.zero();
    Tensor<T, cuda> gdg1({C}), gdb1({C}), gdx1({n});
    gdg1.zero(); gdb1.zero();
    ops::batchnorm_stats(cuda{}, (const T*)gx.data(), gmean2.data(), gvar2.data(), N, C, L);
    ops::batchnorm_backward(cuda{}, (const T*)gx.data(), (const T*)gdy.data(), (const T*)gmean.data(), (const T*)gis.data(), (const T*)gg.data(), gdx1.data(),
                            gdg1.data(), gdb1.data(), N, C, L, true);
    ops::batchnorm_backward(cuda{}, (const T*)gx.data(), (const T*)gdy.data(), (const T*)gmean.data(), (const T*)gis.data(), (const T*)gg.data(), gdx3.data(),
                            gdg2.data(), gdb2.data(), N, C, L, true);
    CHECK(host(gmean2) == host(gmean));
    CHECK(host(gvar2) == host(gvar));
    CHECK(host(gdx3) == host(gdx1));
    CHECK(host(gdg2) == host(gdg1));
    CHECK(host(gdb2) == host(gdb1));
  }
}

TEMPLATE_TEST_CASE("CUDA layer norm and softmax match the CPU", "[cuda][ops][norm]", float, double) {
  GALML_SKIP_WITHOUT_CUDA();
  using T = TestType;
  // D <= 1024: a warp per row; longer rows: a block per row
  for (auto [rows, D] : {std::pair<int64_t, int64_t>{37, 64}, {5, 700}, {300, 3}, {9, 1024}, {4, 1500}}) {
    INFO("rows " << rows << " D " << D);
    const int64_t n = rows * D;
    auto x = random_vec<T>(n, 11, -3.0, 2.0), dy = random_vec<T>(n, 12), g = random_vec<T>(D, 13, 0.5, 1.5), b = random_vec<T>(D, 14);
    auto dg0 = random_vec<T>(D, 15), db0 = random_vec<T>(D, 16);
    std::vector<T> y(n), mean(rows), rstd(rows), dx(n), dg = dg0, dbt = db0;
    ops::layernorm_forward(cpu{}, x.data(), g.data(), b.data(), y.data(), mean.data(), rstd.data(), rows, D, 1e-5);
    ops::layernorm_backward(cpu{}, x.data(), dy.data(), mean.data(), rstd.data(), g.data(), dx.data(), dg.data(), dbt.data(), rows, D);
    auto gx = dev(x), gdy = dev(dy), gg = dev(g), gb = dev(b), gdg = dev(dg0), gdb = dev(db0);
    Tensor<T, cuda> gy({n}), gmean({rows}), grstd({rows}), gdx({n});
    ops::layernorm_forward(cuda{}, (const T*)gx.data(), (const T*)gg.data(), (const T*)gb.data(), gy.data(), gmean.data(), grstd.data(), rows, D, 1e-5);
    ops::layernorm_backward(cuda{}, (const T*)gx.data(), (const T*)gdy.data(), (const T*)gmean.data(), (const T*)grstd.data(), (const T*)gg.data(), gdx.data(),
                            gdg.data(), gdb.data(), rows, D);
    CHECK(max_rel(host(gy), y) < 4 * tol<T>());
    CHECK(max_rel(host(gmean), mean) < tol<T>());
    CHECK(max_rel(host(grstd), rstd) < tol<T>());
    CHECK(max_rel(host(gdx), dx) < 4 * tol<T>());
    CHECK(max_rel(host(gdg), dg) < tol<T>());
    CHECK(max_rel(host(gdb), dbt) < tol<T>());

    for (bool log : {false, true}) {
      INFO("log " << log);
      std::vector<T> sy(n), sdx(n);
      ops::softmax_forward(cpu{}, x.data(), sy.data(), rows, D, log);
      ops::softmax_backward(cpu{}, sy.data(), dy.data(), sdx.data(), rows, D, log);
      Tensor<T, cuda> gsy({n}), gsdx({n});
      ops::softmax_forward(cuda{}, (const T*)gx.data(), gsy.data(), rows, D, log);
      ops::softmax_backward(cuda{}, (const T*)gsy.data(), (const T*)gdy.data(), gsdx.data(), rows, D, log);
      CHECK(max_rel(host(gsy), sy) < 8 * tol<T>());
      CHECK(max_rel(host(gsdx), sdx) < 8 * tol<T>());
    }
  }
}

TEMPLATE_TEST_CASE("CUDA transpose, concat and add match the CPU exactly", "[cuda][ops][layout]", float, double) {
  GALML_SKIP_WITHOUT_CUDA();
  using T = TestType;
  const int64_t N = 3, A = 7, B = 11;
  auto x = random_vec<T>(N * A * B, 21), y = random_vec<T>(N * A * B, 22);
  std::vector<T> t(N * A * B), s(N * A * B);
  ops::transpose2d(cpu{}, x.data(), t.data(), N, A, B);
  ops::add(cpu{}, x.data(), y.data(), s.data(), N * A * B);
  auto gx = dev(x), gy = dev(y);
  Tensor<T, cuda> gt({N * A * B}), gs({N * A * B});
  ops::transpose2d(cuda{}, (const T*)gx.data(), gt.data(), N, A, B);
  ops::add(cuda{}, (const T*)gx.data(), (const T*)gy.data(), gs.data(), N * A * B);
  CHECK(host(gt) == t);
  CHECK(host(gs) == s);
  ops::add(cuda{}, (const T*)gx.data(), (const T*)gy.data(), gx.data(), N * A * B);  // z aliases x
  CHECK(host(gx) == s);

  // [N, pre, len, post] blocks into [N, pre, total, post] at an offset and back.
  const int64_t pre = 2, len = 3, post = 5, total = 8, off = 4;
  auto src = random_vec<T>(N * pre * len * post, 23), dst0 = random_vec<T>(N * pre * total * post, 24);
  std::vector<T> dst = dst0, back(N * pre * len * post);
  ops::concat_put(cpu{}, src.data(), dst.data(), N, pre, len, post, total, off);
  ops::concat_get(cpu{}, dst.data(), back.data(), N, pre, len, post, total, off);
  auto gsrc = dev(src), gdst = dev(dst0);
  Tensor<T, cuda> gback({N * pre * len * post});
  ops::concat_put(cuda{}, (const T*)gsrc.data(), gdst.data(), N, pre, len, post, total, off);
  ops::concat_get(cuda{}, (const T*)gdst.data(), gback.data(), N, pre, len, post, total, off);
  CHECK(host(gdst) == dst);  // untouched elements kept, the block placed
  CHECK(host(gback) == src);
}

namespace {
using NormNet = Net<Input<"x", 4, 24>, Conv1D<8, 3>, BatchNorm1D<>, ReLU, Transpose, LayerNorm<>, Transpose,
                    Residual<Chain<Conv1D<8, 3, 1, 1>, BatchNorm1D<>>>, Flatten,
                    Heads<Head<"cls", Dense<16>, ReLU, Dense<5>, LogSoftmax>, Head<"p", Dense<3>, Softmax>>>;
}  // namespace

TEST_CASE("A network with BatchNorm1D, LayerNorm, Transpose, Residual and softmax heads on CUDA matches the CPU", "[cuda][model][norm]") {
  GALML_SKIP_WITHOUT_CUDA();
  for (bool training : {true, false}) {
    INFO("training " << training);
    const auto e = compare_backends<NormNet, double>(6, training);
    CHECK(e.out < 1e-12);
    CHECK(e.grad < 1e-11);
    CHECK(e.dx < 1e-11);
    CHECK(e.state < 1e-13);  // every state-dict entry, the running statistics the training step updated included
    CHECK(e.running == 4);   // two BatchNorm1D layers, mean and variance each
  }
}

TEMPLATE_TEST_CASE("CUDA padded max pooling and min-max normalisation match the CPU exactly", "[cuda][ops][minmax]", float, double) {
  GALML_SKIP_WITHOUT_CUDA();
  using T = TestType;
  const int64_t rows = 6, L = 29;
  auto x = random_vec<T>(rows * L, 31);
  x[40] = x[41];  // a tie
  for (auto [K, S, pad] : {std::tuple<int64_t, int64_t, int64_t>{3, 1, 1}, {4, 2, 1}, {5, 3, 2}}) {
    INFO("K " << K << " S " << S << " pad " << pad);
    const int64_t lout = (L + 2 * pad - K) / S + 1, n = rows * lout;
    auto dy = random_vec<T>(n, 32);
    std::vector<T> y(n), dx(rows * L);
    std::vector<int32_t> arg(static_cast<size_t>(n));
    ops::maxpool1d_padded_forward(cpu{}, x.data(), y.data(), arg.data(), rows, L, K, S, pad, lout);
    ops::maxpool1d_backward(cpu{}, dy.data(), arg.data(), dx.data(), rows, L, lout);
    auto gx = dev(x), gdy = dev(dy);
    Tensor<T, cuda> gy({n}), gdx({rows * L});
    Tensor<int32_t, cuda> garg({n});
    ops::maxpool1d_padded_forward(cuda{}, (const T*)gx.data(), gy.data(), garg.data(), rows, L, K, S, pad, lout);
    ops::maxpool1d_backward(cuda{}, (const T*)gdy.data(), (const int32_t*)garg.data(), gdx.data(), rows, L, lout);
    CHECK(host(gy) == y);
    CHECK(host(gdx) == dx);
  }
  const int64_t D = 17;
  auto z = random_vec<T>(rows * D, 33), dz = random_vec<T>(rows * D, 34);
  for (int64_t i = 0; i < D; ++i) z[size_t(2 * D + i)] = T(0.5);  // a constant row: range 0
  std::vector<T> y(rows * D), dx(rows * D);
  std::vector<int32_t> ext(static_cast<size_t>(2 * rows));
  ops::minmax_normalize_forward(cpu{}, z.data(), y.data(), ext.data(), rows, D);
  ops::minmax_normalize_backward(cpu{}, z.data(), y.data(), ext.data(), dz.data(), dx.data(), rows, D);
  auto gz = dev(z), gdz = dev(dz);
  Tensor<T, cuda> gy({rows * D}), gdx({rows * D});
  Tensor<int32_t, cuda> gext({2 * rows});
  ops::minmax_normalize_forward(cuda{}, (const T*)gz.data(), gy.data(), gext.data(), rows, D);
  ops::minmax_normalize_backward(cuda{}, (const T*)gz.data(), (const T*)gy.data(), (const int32_t*)gext.data(), (const T*)gdz.data(), gdx.data(), rows, D);
  CHECK(host(gy) == y);
  CHECK(host(gdx) == dx);
}
