// PyTorch 1.13 parity for SGD / Adam / AdamW (5 steps), gradient clipping and LR schedules, from
// tests/data/golden/optim_golden.json (tests/golden/make_loss_optim_golden.py, float64).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "galml/optim/adam.hpp"
#include "galml/optim/clip.hpp"
#include "galml/optim/schedulers.hpp"
#include "galml/optim/sgd.hpp"
#include "loss/loss_test_util.hpp"

using namespace galml::optim;
using nlohmann::json;

namespace {

template <class T, class Opt>
void run_trace(Opt opt, const json& c, double tol) {
  auto p = galml_test::vec<T>(c["p0"]);
  const auto grads = galml_test::vec<T>(c["grads"]);
  const auto n = int64_t(p.size());
  int s = 0;
  for (const auto& want_j : c["trace"]) {
    opt.step(p.data(), grads.data() + s * n, n);
    const auto want = galml_test::vec<double>(want_j);
    for (int64_t i = 0; i < n; ++i) {
      INFO(c["name"].get<std::string>() << " step " << s + 1 << " element " << i);
      CHECK(double(p[size_t(i)]) == Approx(want[size_t(i)]).epsilon(tol).margin(tol));
    }
    ++s;
  }
  CHECK(opt.step_count() == 5);
}

template <class T>
void run_optimizers(double tol) {
  const json g = galml_test::load_golden("optim_golden.json");
  int n = 0;
  for (const auto& c : g["optimizers"]) {
    const auto kind = c["kind"].get<std::string>();
    const auto& o = c["options"];
    const auto size = int64_t(c["p0"].size());
    if (kind == "sgd") {
      SGDOptions so;
      so.lr = o["lr"]; so.momentum = o.value("momentum", 0.0); so.dampening = o.value("dampening", 0.0);
      so.weight_decay = o.value("weight_decay", 0.0); so.nesterov = o.value("nesterov", false);
      run_trace<T>(SGD<T>(size, so), c, tol);
    } else {
      AdamOptions ao = kind == "adamw" ? adamw_defaults() : AdamOptions{};
      ao.lr = o["lr"]; ao.eps = o.value("eps", 1e-8); ao.weight_decay = o.value("weight_decay", ao.weight_decay);
      ao.amsgrad = o.value("amsgrad", false);
      if (o.contains("betas")) { ao.beta1 = o["betas"][0]; ao.beta2 = o["betas"][1]; }
      if (kind == "adam") run_trace<T>(Adam<T>(size, ao), c, tol);
      else run_trace<T>(AdamW<T>(size, ao), c, tol);
    }
    ++n;
  }
  CHECK(n == 8);
}

}  // namespace

TEST_CASE("optimizers match PyTorch over 5 steps (double)", "[optim][parity]") { run_optimizers<double>(1e-12); }
TEST_CASE("optimizers match PyTorch over 5 steps (float)", "[optim][parity]") { run_optimizers<float>(1e-5); }

TEST_CASE("gradient clipping matches torch.nn.utils.clip_grad_norm_", "[optim][clip][parity]") {
  const json g = galml_test::load_golden("optim_golden.json");
  for (const auto& c : g["clip"]) {
    auto grads = galml_test::vec<double>(c["grads"]);
    const double nt = c["norm_type"].is_string() ? INFINITY : c["norm_type"].get<double>();
    const double norm = clip_grad_norm(grads.data(), int64_t(grads.size()), c["max_norm"].get<double>(), nt);
    CHECK(norm == Approx(c["norm"].get<double>()).epsilon(1e-13));
    const auto want = galml_test::vec<double>(c["clipped"]);
    for (size_t i = 0; i < grads.size(); ++i) CHECK(grads[i] == Approx(want[i]).epsilon(1e-13));
  }
  float v[4] = {-3.f, 0.5f, 2.f, NAN};
  CHECK(std::isnan(clip_grad_norm(v, 4, 1.0)));
  CHECK(v[0] == -3.f);  // non-finite norm: buffer left alone
  CHECK_THROWS_AS(clip_grad_norm(v, 4, 1.0, 2.0, true), galml::Error);
  float w[3] = {-3.f, 0.5f, 2.f};
  clip_grad_value(w, 3, 1.0);
  CHECK(w[0] == -1.f); CHECK(w[1] == 0.5f); CHECK(w[2] == 1.f);
}

TEST_CASE("ReduceLROnPlateau traces match PyTorch", "[optim][sched][parity]") {
  const json g = galml_test::load_golden("optim_golden.json");
  const auto metrics = galml_test::vec<double>(g["schedulers"]["metrics"]);
  int n = 0;
  for (const auto& c : g["schedulers"]["plateau"]) {
    const auto& o = c["options"];
    PlateauOptions po;
    po.mode = o["mode"] == "min" ? PlateauOptions::Mode::min : PlateauOptions::Mode::max;
    po.threshold_mode = o["threshold_mode"] == "rel" ? PlateauOptions::ThresholdMode::rel : PlateauOptions::ThresholdMode::abs;
    po.factor = o["factor"]; po.patience = o["patience"]; po.threshold = o["threshold"];
    po.cooldown = o["cooldown"]; po.min_lr = o["min_lr"]; po.eps = o["eps"];
    ReduceLROnPlateau sched(po);
    SGD<float> opt(1, {.lr = c["lr0"].get<double>()});
    const auto want = galml_test::vec<double>(c["lrs"]);
    for (size_t e = 0; e < metrics.size(); ++e) {
      sched.step(metrics[e], opt);
      INFO("config " << n << " epoch " << e + 1 << " metric " << metrics[e]);
      CHECK(opt.lr() == want[e]);  // exact: same double arithmetic as torch
    }
    CHECK(sched.best() == c["best"].get<double>());
    CHECK(sched.num_bad_epochs() == c["num_bad_epochs"].get<int>());
    CHECK(sched.cooldown_counter() == c["cooldown_counter"].get<int>());
    ++n;
  }
  CHECK(n == 5);
}

TEST_CASE("StepLR and CosineAnnealingLR traces match PyTorch", "[optim][sched][parity]") {
  const json g = galml_test::load_golden("optim_golden.json");
  const auto& s = g["schedulers"]["step_lr"];
  StepLR step(s["base_lr"].get<double>(), s["step_size"].get<int64_t>(), s["gamma"].get<double>());
  for (auto want : galml_test::vec<double>(s["lrs"])) CHECK(step.step() == want);
  const auto& c = g["schedulers"]["cosine"];
  CosineAnnealingLR cos(c["base_lr"].get<double>(), c["T_max"].get<int64_t>(), c["eta_min"].get<double>());
  int64_t e = 0;
  for (auto want : galml_test::vec<double>(c["lrs"])) {
    const double lr = cos.step();
    ++e;
    CHECK(lr == Approx(want).epsilon(1e-13));
    CHECK(lr == Approx(cos.closed_form(e)).epsilon(1e-12));
  }
}
