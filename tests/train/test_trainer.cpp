// Trainer: learning on a synthetic two-task problem, history files, checkpoints, NaN guard, and a run
// killed mid-training and resumed that ends bit-identical to an uninterrupted one.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "galml/galml.hpp"
#include "galml/loss/focal.hpp"
#include "galml/loss/mae.hpp"
#include "galml/loss/masked.hpp"
#include "galml/loss/task_weighting.hpp"
#include "galml/optim/adam.hpp"
#include "galml/optim/schedulers.hpp"
#include "galml/train/memory_source.hpp"
#include "galml/train/trainer.hpp"

using namespace galml;
namespace fs = std::filesystem;

namespace {
using TinyNet = Net<Input<"x", 1, 32>, Conv1D<4, 3>, ReLU, MaxPool1D<2>, Conv1D<8, 3>, ReLU, GlobalAvgPool1D,
                    Heads<Head<"cls", Dropout<0.2>, Dense<16>, ReLU, Dense<3>>, Head<"z", Dropout<0.2>, Dense<8>, ReLU, Dense<1>>>>;

// Class = width of a bump at a random position (a translation-invariant feature, as the network ends
// in global pooling); z = bump height (only defined for class 1).
struct Data { std::vector<float> x, cls, z, mask; };
Data make_data(int n, uint64_t seed) {
  Rng r(seed, 1);
  Data d;
  for (int i = 0; i < n; ++i) {
    const int c = int(r.below(3));
    const double h = 1.0 + r.uniform();
    const double centre = 8 + 16 * r.uniform(), var = c == 0 ? 0.5 : c == 1 ? 4.0 : 25.0;
    for (int l = 0; l < 32; ++l) {
      d.x.push_back(float(h * std::exp(-0.5 * (l - centre) * (l - centre) / var) + 0.05 * r.normal()));
    }
    d.cls.push_back(float(c));
    d.z.push_back(c == 1 ? float(h) : std::numeric_limits<float>::quiet_NaN());
    d.mask.push_back(c == 1 ? 1.0f : 0.0f);
  }
  return d;
}

std::vector<train::Task<float>> tasks() {
  return {
      {"cls", 0, [](const float* p, const float* t, int64_t N, int64_t D, float* g, const float* m) { return loss::FocalLoss{}.forward_backward(p, t, N, D, g, m); }},
      {"z", 1, [](const float* p, const float* t, int64_t N, int64_t D, float* g, const float* m) { return loss::Masked<loss::MAE>{}.forward_backward(p, t, N, D, g, m); }},
  };
}

struct Run {
  std::vector<float> params;
  std::vector<train::EpochRecord> history;
};
Run run(const fs::path& dir, int epochs, int stop_after, bool resume) {
  manual_seed(11);
  Model<TinyNet> model;
  auto d = make_data(240, 3), v = make_data(60, 4);
  train::InMemorySource<float> tr({1, 32}, d.x, {d.cls, d.z}, {{}, d.mask}, 32, true, 99);
  train::InMemorySource<float> va({1, 32}, v.x, {v.cls, v.z}, {{}, v.mask}, 64, false, 99);
  optim::Adam<float> opt(Model<TinyNet>::num_params, {.lr = 1e-2});
  loss::DWA dwa(2, 1.0);
  optim::ReduceLROnPlateau sched({.factor = 0.5, .patience = 2});
  train::TrainerOptions o;
  o.epochs = epochs; o.out_dir = dir; o.progress = false; o.resume = resume; o.stop_after_epoch = stop_after;
  train::Trainer trainer(model, tasks(), opt, dwa, &sched, o);
  trainer.fit(tr, va);
  return {std::vector<float>(model.params(), model.params() + Model<TinyNet>::num_params), trainer.history()};
}
}  // namespace

TEST_CASE("Trainer learns, logs, checkpoints and resumes bit-identically", "[train]") {
  const fs::path base = fs::path(GALML_TEST_TMP_DIR) / "trainer";
  fs::remove_all(base);
  const auto full = run(base / "full", 12, 0, false);
  REQUIRE(full.history.size() == 12);
  CHECK(full.history.back().train_loss[0] < 0.8 * full.history.front().train_loss[0]);
  CHECK(full.history.back().train_loss[1] < full.history.front().train_loss[1]);
  // DWA: λ = 1 for the first two epochs, then varies, always summing to K = 2
  CHECK(full.history[0].lambda[0] == 1.0);
  CHECK(full.history[1].lambda[1] == 1.0);
  CHECK(full.history[4].lambda[0] + full.history[4].lambda[1] == Approx(2.0));
  CHECK(fs::exists(base / "full" / "best.ckpt"));
  CHECK(fs::exists(base / "full" / "last.ckpt"));
  CHECK(fs::exists(base / "full" / "history.json"));
  {
    std::ifstream f(base / "full" / "history.csv");
    std::string header; std::getline(f, header);
    CHECK(header.find("train_cls") != std::string::npos);
    int rows = 0; std::string line; while (std::getline(f, line)) ++rows;
    CHECK(rows == 12);
  }
  // killed after epoch 3, then resumed in a fresh process state
  run(base / "resumed", 12, 5, false);
  const auto resumed = run(base / "resumed", 12, 0, true);
  REQUIRE(resumed.history.size() == 12);
  CHECK(resumed.params == full.params);
  for (size_t e = 0; e < 12; ++e) {
    CHECK(resumed.history[e].train_loss == full.history[e].train_loss);
    CHECK(resumed.history[e].lambda == full.history[e].lambda);
    CHECK(resumed.history[e].lr == full.history[e].lr);
  }
}

TEST_CASE("Trainer stops with a clear message when a loss becomes NaN", "[train]") {
  manual_seed(1);
  Model<TinyNet> model;
  auto d = make_data(64, 3);
  d.x[5] = std::numeric_limits<float>::quiet_NaN();
  train::InMemorySource<float> tr({1, 32}, d.x, {d.cls, d.z}, {{}, d.mask}, 32, false, 1);
  optim::Adam<float> opt(Model<TinyNet>::num_params);
  loss::FixedWeights w{{1.0, 1.0}};
  train::TrainerOptions o; o.epochs = 2; o.out_dir = fs::path(GALML_TEST_TMP_DIR) / "trainer_nan"; o.progress = false;
  train::Trainer trainer(model, tasks(), opt, w, (optim::ReduceLROnPlateau*)nullptr, o);
  REQUIRE_THROWS_WITH(trainer.fit(tr, tr), Catch::Contains("training diverged") && Catch::Contains("epoch 1"));
}
