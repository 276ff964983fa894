// Optimizer and schedule state: bit-identical resume through StateDict::save/load, frozen parameters,
// Keras epsilon, and error reporting.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <vector>

#include "galml/core/state_dict.hpp"
#include "galml/optim/adam.hpp"
#include "galml/optim/schedulers.hpp"
#include "galml/optim/sgd.hpp"

using namespace galml::optim;

namespace {

template <class T> std::vector<T> grads_at(int step, int64_t n) {
  std::vector<T> g(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) g[size_t(i)] = T(std::sin(0.7 * double(step) + 1.3 * double(i)) * (1.0 + 0.1 * double(i)));
  return g;
}
template <class T> std::vector<T> init_params(int64_t n) {
  std::vector<T> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[size_t(i)] = T(std::cos(0.37 * double(i)));
  return p;
}
template <class T> bool bit_equal(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

galml::StateDict through_file(const galml::StateDict& s, const char* name) {
  galml::StateDict ck;
  ck.merge(s, "optim.");
  const auto path = std::filesystem::path(GALML_TEST_TMP_DIR) / name;
  ck.save(path);
  return galml::StateDict::load(path).sub("optim.");
}

// Runs `total` steps straight, and `split` steps + save/load into `fresh` + the rest; compares bits.
template <class T, class Opt, class Setup>
void check_resume(Opt straight, Opt first, Opt fresh, Setup setup, const char* file) {
  const int64_t n = 23;
  const int total = 12, split = 5;
  setup(straight); setup(first);
  auto pa = init_params<T>(n), pb = init_params<T>(n);
  for (int s = 0; s < total; ++s) {
    if (s == 7) straight.set_lr(straight.lr() * 0.5);  // lr changes are part of the state too
    straight.step(pa.data(), grads_at<T>(s, n).data(), n);
  }
  for (int s = 0; s < split; ++s) first.step(pb.data(), grads_at<T>(s, n).data(), n);
  fresh.load_state_dict(through_file(first.state_dict(), file));
  CHECK(fresh.step_count() == split);
  CHECK(fresh.lr() == first.lr());
  for (int s = split; s < total; ++s) {
    if (s == 7) fresh.set_lr(fresh.lr() * 0.5);
    fresh.step(pb.data(), grads_at<T>(s, n).data(), n);
  }
  CHECK(bit_equal(pa, pb));
}

}  // namespace

TEMPLATE_TEST_CASE("optimizer state_dict round trip resumes bit-identically", "[optim][resume]", float, double) {
  using T = TestType;
  const int64_t n = 23;
  auto none = [](auto&) {};
  auto freeze = [](auto& o) { o.freeze({3, 5}); o.freeze({15, 2}); };
  SECTION("SGD nesterov + wd") {
    const SGDOptions o{.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-3, .nesterov = true};
    check_resume<T>(SGD<T>(n, o), SGD<T>(n, o), SGD<T>(n, {.lr = 9.0}), none, "sgd.gsd");
  }
  SECTION("SGD momentum + dampening, frozen ranges") {
    const SGDOptions o{.lr = 0.05, .momentum = 0.8, .dampening = 0.2};
    check_resume<T>(SGD<T>(n, o), SGD<T>(n, o), SGD<T>(n), freeze, "sgd_frozen.gsd");
  }
  SECTION("Adam amsgrad + coupled wd") {
    const AdamOptions o{.lr = 0.01, .weight_decay = 0.01, .amsgrad = true};
    check_resume<T>(Adam<T>(n, o), Adam<T>(n, o), Adam<T>(n), none, "adam.gsd");
  }
  SECTION("Adam Keras epsilon, frozen ranges") {
    const AdamOptions o{.lr = 0.01, .eps = 1e-7, .keras_epsilon = true};
    check_resume<T>(Adam<T>(n, o), Adam<T>(n, o), Adam<T>(n), freeze, "adam_keras.gsd");
  }
  SECTION("AdamW") {
    check_resume<T>(AdamW<T>(n), AdamW<T>(n), AdamW<T>(n, {.lr = 1.0}), none, "adamw.gsd");
  }
}

TEST_CASE("frozen parameters never change and keep zero moments", "[optim][frozen]") {
  const int64_t n = 10;
  Adam<double> adam(n, {.lr = 0.1, .weight_decay = 0.1, .amsgrad = true});
  AdamW<double> adamw(n);
  SGD<double> sgd(n, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1});
  std::vector<uint8_t> mask(size_t(n), 0);
  mask[2] = mask[7] = 1;
  adam.set_frozen_mask(mask);
  adamw.freeze({2, 1}); adamw.freeze({7, 1});
  sgd.set_frozen_mask(mask);
  auto p1 = init_params<double>(n), p2 = p1, p3 = p1;
  const auto p0 = p1;
  for (int s = 0; s < 4; ++s) {
    const auto g = grads_at<double>(s, n);
    adam.step(p1.data(), g.data(), n);
    adamw.step(p2.data(), g.data(), n);
    sgd.step(p3.data(), g.data(), n);
  }
  for (size_t i : {size_t(2), size_t(7)}) {
    CHECK(p1[i] == p0[i]); CHECK(p2[i] == p0[i]); CHECK(p3[i] == p0[i]);
    CHECK(adam.exp_avg()[i] == 0.0); CHECK(adam.exp_avg_sq()[i] == 0.0); CHECK(adam.max_exp_avg_sq()[i] == 0.0);
    CHECK(adamw.exp_avg()[i] == 0.0); CHECK(sgd.momentum_buffer()[i] == 0.0);
  }
  CHECK(p1[0] != p0[0]); CHECK(p3[9] != p0[9]);
  CHECK(adam.is_frozen(2)); CHECK(!adam.is_frozen(3));
}

TEST_CASE("a block unfrozen later starts its own Adam bias correction (PyTorch lazy state)", "[optim][frozen]") {
  const int64_t n = 6;
  Adam<double> adam(n, {.lr = 0.01});
  adam.freeze({3, 3});  // e.g. a pretrained head held fixed for the first epochs
  auto p = init_params<double>(n);
  for (int s = 0; s < 3; ++s) adam.step(p.data(), grads_at<double>(s, n).data(), n);
  adam.unfreeze_all();
  // Reference: a fresh Adam on the tail only, fed the same gradients from now on.
  Adam<double> ref(3, {.lr = 0.01});
  std::vector<double> tail(p.begin() + 3, p.end());
  for (int s = 3; s < 7; ++s) {
    const auto g = grads_at<double>(s, n);
    adam.step(p.data(), g.data(), n);
    ref.step(tail.data(), g.data() + 3, 3);
  }
  for (size_t i = 0; i < 3; ++i) CHECK(p[3 + i] == tail[i]);
  CHECK(adam.step_count() == 7);
}

TEST_CASE("SGD momentum buffer of a newly unfrozen block starts from its first gradient", "[optim][frozen]") {
  SGD<double> sgd(2, {.lr = 1.0, .momentum = 0.5, .dampening = 0.5});
  sgd.freeze({1, 1});
  double p[2] = {0, 0};
  const double g[2] = {1, 1};
  sgd.step(p, g, 2);
  sgd.unfreeze({1, 1});
  sgd.step(p, g, 2);
  CHECK(p[0] == -(1.0 + (0.5 * 1 + 0.5 * 1)));  // buf: 1, then 0.5·1 + 0.5·1
  CHECK(p[1] == -1.0);                          // first update: buf = d (no dampening), like torch
}

TEST_CASE("Keras epsilon places eps before the bias correction", "[optim][adam]") {
  const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  Adam<double> k(1, {.lr = lr, .eps = eps, .keras_epsilon = true});
  Adam<double> t(1, {.lr = lr, .eps = eps});
  double pk = 1.0, pt = 1.0, m = 0, v = 0, want = 1.0;
  for (int s = 1; s <= 3; ++s) {
    const double g = 1e-6 * s;  // tiny gradients make the ε placement visible
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    want -= lr * std::sqrt(1 - std::pow(b2, s)) / (1 - std::pow(b1, s)) * m / (std::sqrt(v) + eps);
    k.step(&pk, &g, 1);
    t.step(&pt, &g, 1);
  }
  CHECK(pk == Approx(want).epsilon(1e-14));
  CHECK(std::abs(pk - pt) > 1e-6);
}

TEST_CASE("optimizer errors name the problem", "[optim]") {
  Adam<float> a(4);
  float p[5] = {}, g[5] = {};
  CHECK_THROWS_AS(a.step(p, g, 5), galml::Error);
  CHECK_THROWS_AS(a.freeze({3, 2}), galml::Error);
  CHECK_THROWS_AS(a.set_frozen_mask(std::vector<uint8_t>(3)), galml::Error);
  CHECK_THROWS_AS(SGD<float>(4, {.lr = 0.1, .nesterov = true}), galml::Error);
  Adam<float> b(5);
  CHECK_THROWS_AS(b.load_state_dict(a.state_dict()), galml::Error);
  a.set_lr(0.5);
  CHECK(a.lr() == 0.5);
  CHECK_THROWS_AS(a.set_lr(-1), galml::Error);
}

TEST_CASE("float checkpoint loads into a double optimizer", "[optim][resume]") {
  Adam<float> f(3);
  float p[3] = {1, 2, 3};
  const float g[3] = {0.1f, -0.2f, 0.3f};
  f.step(p, g, 3);
  Adam<double> d(3);
  d.load_state_dict(through_file(f.state_dict(), "adam_f2d.gsd"));
  CHECK(d.exp_avg()[1] == double(f.exp_avg()[1]));
  CHECK(d.step_count() == 1);
}

TEST_CASE("schedule state_dicts resume exactly", "[optim][sched][resume]") {
  const std::vector<double> metrics = {1.0, 0.9, 0.95, 0.97, 0.96, 0.5, 0.6, 0.7, 0.8, 0.9, 0.91, 0.92, 0.4, 0.5, 0.6, 0.7};
  PlateauOptions o{.factor = 0.5, .patience = 1, .threshold = 0.01, .cooldown = 2, .min_lr = 0.02};
  ReduceLROnPlateau a(o), b(o), c;
  double la = 1.0, lb = 1.0;
  std::vector<double> ref;
  for (double m : metrics) ref.push_back(la = a.step(m, la));
  for (size_t e = 0; e < 7; ++e) lb = b.step(metrics[e], lb);
  c.load_state_dict(through_file(b.state_dict(), "plateau.gsd"));
  CHECK(c.options().cooldown == 2);
  for (size_t e = 7; e < metrics.size(); ++e) CHECK((lb = c.step(metrics[e], lb)) == ref[e]);
  CHECK(c.last_epoch() == int64_t(metrics.size()));

  CosineAnnealingLR cs(0.1, 7, 0.001), cr(5.0, 2);
  std::vector<double> cref;
  for (int e = 0; e < 20; ++e) cref.push_back(cs.step());
  CosineAnnealingLR c2(0.1, 7, 0.001);
  for (int e = 0; e < 9; ++e) c2.step();
  cr.load_state_dict(through_file(c2.state_dict(), "cos.gsd"));
  for (int e = 9; e < 20; ++e) CHECK(cr.step() == cref[size_t(e)]);

  StepLR s1(0.2, 5, 0.5), s2(0.2, 5, 0.5), s3(1.0, 1);
  std::vector<double> sref;
  for (int e = 0; e < 17; ++e) sref.push_back(s1.step());
  for (int e = 0; e < 6; ++e) s2.step();
  s3.load_state_dict(through_file(s2.state_dict(), "step.gsd"));
  for (int e = 6; e < 17; ++e) CHECK(s3.step() == sref[size_t(e)]);
  // GaSNet: ×0.5 every 5 epochs.
  CHECK(sref[4] == 0.1); CHECK(sref[9] == 0.05);
  // Driving an optimizer directly.
  SGD<float> opt(1, {.lr = 0.2});
  StepLR s4(0.2, 1, 0.5);
  s4.step(opt);
  CHECK(opt.lr() == 0.1);
}
