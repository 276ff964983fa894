// mtlforgalspecz: MTLforGalSpecZ (Feng et al., A&A 706, A22, 2026) end to end — mock survey, data
// preparation, training of the multi-task network and its ablations, evaluation, prediction on SDSS
// and DESI files, and a report. Run without arguments for `reproduce` on a small mock survey.
#if defined(GALML_HAVE_CUDA_BACKEND)
#include "galml/backend/cuda/cuda.hpp"  // before any layer template (see run.hpp)
#endif
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "galml/io/desi.hpp"
#include "galml/mock/survey.hpp"
#include "instances.hpp"
#include "predict_files.hpp"
#include "report.hpp"

namespace fs = std::filesystem;
using namespace mtl;

namespace {

constexpr const char* kPrecisionHelp =
    "With --device cuda: fp32, tf32, bf16 (tensor-core operands, FP32 weights) or tf32x3 (FP32-level convolutions on the "
    "tensor cores; written without a GPU, not yet run on one); docs/gpu.md";

// --device cuda: needs a build with the CUDA backend (CMake GALML_WITH_CUDA=ON defines
// GALML_HAVE_CUDA_BACKEND for this example) and a usable device at run time.
bool use_cuda(const std::string& dev) {
  if (dev != "cuda") return false;
#if defined(GALML_HAVE_CUDA_BACKEND)
  GALML_CHECK(galml::cuda_available(), "--device cuda: no usable CUDA device (driver or GPU missing); run with --device cpu");
  return true;
#else
  throw galml::Error("--device cuda: this binary was built without the CUDA backend; configure with -DGALML_WITH_CUDA=ON (docs/gpu.md) or use --device cpu");
#endif
}
#if defined(GALML_HAVE_CUDA_BACKEND)
using DeviceB = galml::cuda;
#else
using DeviceB = galml::cpu;  // never used: use_cuda() throws first
#endif
template <class NetT> TrainSummary train_on(bool cuda, const Dataset& d, const TrainConfig& c, const fs::path& out) {
  return cuda ? train_net<NetT, DeviceB>(d, c, out) : train_net<NetT>(d, c, out);
}
template <class NetT>
Predictions predict_on(bool cuda, const Dataset& d, const std::vector<int64_t>& idx, const fs::path& w, bool has_cls, bool has_reg, int mc, bool time_it) {
  return cuda ? predict_net<NetT, DeviceB>(d, idx, w, has_cls, has_reg, mc, time_it) : predict_net<NetT>(d, idx, w, has_cls, has_reg, mc, time_it);
}

template <class NetT>
ModelRun train_and_eval(const std::string& key, const std::string& label, const Dataset& d, TrainConfig c, const fs::path& dir, int mc, bool cuda = false) {
  std::fprintf(stderr, "== %s ==\n", label.c_str());
  ModelRun r; r.key = key; r.label = label;
  r.train = train_on<NetT>(cuda, d, c, dir);
  const bool cls = c.task != TaskSet::reg, reg = c.task != TaskSet::cls;
  std::vector<int64_t> test;
  for (auto i : d.test) if (c.task != TaskSet::reg || has_oh(d, i)) test.push_back(i);
  const int passes = key == "multitask" ? mc : 0;
  const auto cache = dir / "evaluation.galml";
  const uint64_t weights_hash = galml::data::file_checksum(dir / "best.ckpt");
  // --resume of a run whose model had finished: its evaluation (with 100 MC-dropout passes, minutes on a
  // CPU) is reused when the cache was made from the same best.ckpt, test set and number of passes.
  if (c.resume && load_predictions(cache, weights_hash, test, passes, r.pred)) {
    std::fprintf(stderr, "evaluation reused from %s (best.ckpt, test set and MC passes unchanged)\n", cache.string().c_str());
  } else {
    r.pred = predict_on<NetT>(cuda, d, test, dir / "best.ckpt", cls, reg, passes, true);
    save_predictions(cache, r.pred, weights_hash, passes);
  }
  r.metrics = score(d, r.pred);
  galml::report::write_json(dir / "metrics.json", r.metrics);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"MTLforGalSpecZ (A&A 706, A22, 2026) with galml: galaxy class + gas-phase metallicity from SDSS spectra.\n"
               "Without a subcommand: `reproduce` on a mock survey sized for ~10 minutes on 2 CPU cores."};
  app.require_subcommand(0, 1);
  int threads = 0;
  app.add_option("--threads", threads, "CPU threads (default: all cores or GALML_NUM_THREADS)");

  // mock
  auto* mock = app.add_subcommand("mock", "Write a mock survey (SDSS-format FITS spectra + CasJobs-style catalogue CSV)");
  fs::path mock_out = "mock"; int64_t mock_n = 250; uint64_t mock_seed = 7;
  mock->add_option("--out", mock_out, "Output directory")->required();
  mock->add_option("--n-per-class", mock_n, "Galaxies per class");
  mock->add_option("--seed", mock_seed, "Random seed");
  // prepare
  auto* prep = app.add_subcommand("prepare", "Apply the paper's selection and preprocessing; write a dataset file");
  fs::path p_spec, p_cat, p_out; int64_t p_n = 25000; uint64_t p_seed = 42;
  prep->add_option("--spectra", p_spec, "Directory of spec-PPPP-MMMMM-FFFF.fits files")->required();
  prep->add_option("--catalog", p_cat, "Catalogue CSV (plate, mjd, fiberid, z, zwarning, snMedian_r, bptclass, port_bpt, oh_p50[, lgm_tot_p50])")->required();
  prep->add_option("--out", p_out, "Dataset file to write")->required();
  prep->add_option("--n-per-class", p_n, "Keep at most N galaxies per class");
  prep->add_option("--seed", p_seed, "Seed for sampling and the split");
  // train
  auto* tr = app.add_subcommand("train", "Train one network (multi-task by default)");
  fs::path t_data, t_out; TrainConfig tc; std::string t_task = "both", t_device = "cpu"; int t_pad = 0; double t_dropout = 0.5; bool no_att = false;
  tr->add_option("--data", t_data, "Prepared dataset")->required();
  tr->add_option("--out", t_out, "Run directory")->required();
  tr->add_option("--epochs", tc.epochs, "Epochs (paper: 100)");
  tr->add_option("--batch", tc.batch, "Batch size (paper: 128)");
  tr->add_option("--device", t_device, "cpu or cuda (GPU build: docs/gpu.md)")->check(CLI::IsMember({"cpu", "cuda"}));
  tr->add_option("--task", t_task, "both | cls | reg")->check(CLI::IsMember({"both", "cls", "reg"}));
  tr->add_flag("--no-attention", no_att, "Ablation without SE attention");
  tr->add_option("--padding", t_pad, "Convolution padding 0 or 1 (only 0 is built in this example)")->check(CLI::IsMember({0, 1}));
  tr->add_option("--dropout", t_dropout, "Dropout rate (only 0.5 is built in this example)");
  tr->add_option("--seed", tc.seed, "Seed");
  tr->add_option("--precision", tc.precision, kPrecisionHelp)->check(CLI::IsMember({"fp32", "tf32", "bf16", "tf32x3"}));
  tr->add_flag("--resume", tc.resume, "Continue from RUN/last.ckpt");
  std::string t_loop = "trainer";
  tr->add_option("--loop", t_loop, "CPU training loop: trainer (galml::train::Trainer, the default) or fused (train::DeviceTrainStep, the loop --device cuda runs, here on the CPU; --task both only)")
      ->check(CLI::IsMember({"trainer", "fused"}));
  std::string t_init = "pytorch";
  tr->add_option("--init", t_init, "Weight initialisation: pytorch (Kaiming-uniform a=sqrt(5), the spec's assumption) or glorot (Keras)")->check(CLI::IsMember({"pytorch", "glorot"}));
  // evaluate
  auto* ev = app.add_subcommand("evaluate", "Metrics of spec §1.4 on the test split");
  fs::path e_run, e_data; int e_mc = 100;
  ev->add_option("--run", e_run, "Run directory (with best.ckpt and config.json)")->required();
  ev->add_option("--data", e_data, "Prepared dataset")->required();
  ev->add_option("--mc", e_mc, "MC-dropout passes for σ (0 = off)");
  std::string e_device = "cpu";
  ev->add_option("--device", e_device, "cpu or cuda (GPU build: docs/gpu.md)")->check(CLI::IsMember({"cpu", "cuda"}));
  // predict
  auto* pr = app.add_subcommand("predict", "Predict class and metallicity for SDSS spec files, directories of them, or DESI coadds");
  fs::path pr_w, pr_out = "predictions.csv"; std::vector<std::string> pr_in; int pr_mc = 0;
  pr->add_option("--weights", pr_w, "Checkpoint or state dict of the multi-task network")->required();
  pr->add_option("--out", pr_out, "CSV to write");
  pr->add_option("--mc", pr_mc, "MC-dropout passes for σ (paper: 100)");
  pr->add_option("inputs", pr_in, "Files or directories")->required();
  // reproduce
  auto* rep = app.add_subcommand("reproduce", "mock (unless --spectra/--catalog), prepare, train MT / no-SE / single-task models, evaluate, report");
  fs::path r_out = "out/mtlforgalspecz", r_spec, r_cat, r_data; int64_t r_n = 350; int r_epochs = 20; int r_batch = 32; uint64_t r_seed = 42; int r_mc = 100;
  std::string r_device = "cpu", r_init = "glorot", r_precision = "fp32";
  bool r_resume = false;
  rep->add_option("--out", r_out, "Output directory");
  rep->add_option("--n-per-class", r_n, "Galaxies per class (paper: 25000)");
  rep->add_option("--epochs", r_epochs, "Epochs per model (paper: 100)");
  rep->add_option("--batch", r_batch, "Batch size (paper: 128; the quick default uses 32 for more updates in 10 minutes)");
  rep->add_option("--init", r_init, "pytorch (the spec's assumption) or glorot (Keras; the quick default: the deep valid-conv stack starts learning within a few hundred steps)")->check(CLI::IsMember({"pytorch", "glorot"}));
  rep->add_option("--spectra", r_spec, "Real spectra directory (with --catalog)");
  rep->add_option("--catalog", r_cat, "Real catalogue CSV (with --spectra)");
  rep->add_option("--data", r_data, "A dataset written by `prepare` (or by an earlier reproduce: OUT/dataset.galml): no mock survey, no prepare");
  rep->add_flag("--resume", r_resume, "Continue each model's training from OUT/<model>/last.ckpt where there is one (a finished model's evaluation is reused from OUT/<model>/evaluation.galml when its best.ckpt is unchanged)");
  rep->add_option("--seed", r_seed, "Seed");
  rep->add_option("--mc", r_mc, "MC-dropout passes");
  rep->add_option("--device", r_device, "cpu or cuda (GPU build: docs/gpu.md)")->check(CLI::IsMember({"cpu", "cuda"}));
  rep->add_option("--precision", r_precision, kPrecisionHelp)->check(CLI::IsMember({"fp32", "tf32", "bf16", "tf32x3"}));
  // summary
  auto* sum = app.add_subcommand("summary", "Print the layer table and parameter count");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) galml::set_num_threads(threads);

  try {
    if (*sum) { std::cout << galml::Model<NetMT>::summary(); return 0; }
    if (*mock) {
      galml::mock::MockOptions mo; mo.n_per_class = mock_n; mo.seed = mock_seed;
      galml::mock::write_survey(mock_out, mo);
      std::printf("mock survey written to %s (spectra/ and catalog.csv)\n", mock_out.string().c_str());
      return 0;
    }
    if (*prep) { prepare_dataset(p_spec, p_cat, p_out, p_n, p_seed); return 0; }
    if (*tr) {
      const bool cu = use_cuda(t_device);
      GALML_CHECK(cu || tc.precision == "fp32", "--precision ", tc.precision, " needs --device cuda (the CPU backend computes in FP32)");
      GALML_CHECK(!cu || tr->count("--loop") == 0 || t_loop == "fused", "--loop trainer: --device cuda always runs the fused device loop");
      tc.fused_loop = t_loop == "fused";
      GALML_CHECK(t_pad == 0 && std::abs(t_dropout - 0.5) < 1e-12, "--padding 1 and --dropout other than 0.5 are network types: build them with galml::models::MTLforGalSpecZ<1, true, P>; this example instantiates the spec's defaults only");
      const auto d = load_dataset(t_data);
      tc.task = t_task == "both" ? TaskSet::both : t_task == "cls" ? TaskSet::cls : TaskSet::reg;
      tc.attention = !no_att;
      tc.init = t_init == "glorot" ? galml::Init::glorot_uniform : galml::Init::pytorch;
      TrainSummary s;
      if (tc.task == TaskSet::both) s = no_att ? train_on<NetNoSE>(cu, d, tc, t_out) : train_on<NetMT>(cu, d, tc, t_out);
      else if (tc.task == TaskSet::cls) s = train_on<NetCls>(cu, d, tc, t_out);
      else s = train_on<NetReg>(cu, d, tc, t_out);
      std::printf("trained in %.1f s; best epoch %d; checkpoints in %s\n", s.seconds, s.best_epoch, t_out.string().c_str());
      return 0;
    }
    if (*ev) {
      const bool cu = use_cuda(e_device);
      const auto d = load_dataset(e_data);
      const auto cfg = galml::report::read_json(e_run / "config.json");
      const std::string task = cfg.value("task", "both"); const bool att = cfg.value("attention", true);
      std::vector<int64_t> test; for (auto i : d.test) if (task != "reg" || has_oh(d, i)) test.push_back(i);
      Predictions p;
      if (task == "both") p = att ? predict_on<NetMT>(cu, d, test, e_run / "best.ckpt", true, true, e_mc, true) : predict_on<NetNoSE>(cu, d, test, e_run / "best.ckpt", true, true, e_mc, true);
      else if (task == "cls") p = predict_on<NetCls>(cu, d, test, e_run / "best.ckpt", true, false, 0, true);
      else p = predict_on<NetReg>(cu, d, test, e_run / "best.ckpt", false, true, e_mc, true);
      auto m = score(d, p);
      galml::report::write_json(e_run / "metrics.json", m);
      std::cout << m.dump(2).substr(0, 4000) << "\n";
      return 0;
    }
    if (*pr) return mtl::predict_files(pr_in, pr_w, pr_out, pr_mc);

    // reproduce (also the default)
    const bool rcu = use_cuda(r_device);
    GALML_CHECK(rcu || r_precision == "fp32", "--precision ", r_precision, " needs --device cuda (the CPU backend computes in FP32)");
    const auto t0 = std::chrono::steady_clock::now();
    fs::create_directories(r_out);
    std::string desc;
    fs::path spectra = r_spec, catalog = r_cat;
    Dataset d;
    if (!r_data.empty()) {
      GALML_CHECK(spectra.empty() && catalog.empty(), "reproduce: --data takes a prepared dataset; --spectra/--catalog would prepare another one (give one or the other)");
      d = load_dataset(r_data);
      desc = "prepared dataset " + r_data.string();
    } else {
      if (spectra.empty() || catalog.empty()) {
        GALML_CHECK(spectra.empty() && catalog.empty(), "reproduce: give both --spectra and --catalog for real data, or neither for the mock survey");
        galml::mock::MockOptions mo; mo.n_per_class = r_n; mo.seed = r_seed;
        std::fprintf(stderr, "writing a mock survey (%lld galaxies per class) to %s\n", (long long)r_n, (r_out / "mock").string().c_str());
        galml::mock::write_survey(r_out / "mock", mo);
        spectra = r_out / "mock" / "spectra"; catalog = r_out / "mock" / "catalog.csv";
      }
      d = prepare_dataset(spectra, catalog, r_out / "dataset.galml", r_n, r_seed);
      desc = r_spec.empty() ? "built-in mock survey (seed " + std::to_string(r_seed) + ")" : "real data from " + r_cat.string();
    }
    desc += ", " + std::to_string(d.size()) + " spectra after selection, " + std::to_string(r_epochs) + " epochs per model";
    const double data_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    TrainConfig c; c.epochs = r_epochs; c.seed = r_seed; c.batch = r_batch; c.precision = r_precision; c.resume = r_resume;
    c.init = r_init == "glorot" ? galml::Init::glorot_uniform : galml::Init::pytorch;
    desc += ", batch " + std::to_string(r_batch) + ", " + (r_init == "glorot" ? "Glorot-uniform" : "PyTorch-default") + " initialisation";
    std::vector<ModelRun> runs;
    if (rcu) desc += ", trained and evaluated on the GPU (CUDA, " + r_precision + " arithmetic; docs/gpu.md)";
    runs.push_back(train_and_eval<NetMT>("multitask", "multi-task (SE)", d, c, r_out / "multitask", r_mc, rcu));
    { auto c2 = c; c2.attention = false; runs.push_back(train_and_eval<NetNoSE>("noattention", "multi-task without SE", d, c2, r_out / "noattention", 0, rcu)); }
    { auto c2 = c; c2.task = TaskSet::reg; runs.push_back(train_and_eval<NetReg>("single_reg", "single-task regression", d, c2, r_out / "single_reg", 0, rcu)); }
    { auto c2 = c; c2.task = TaskSet::cls; runs.push_back(train_and_eval<NetCls>("single_cls", "single-task classification", d, c2, r_out / "single_cls", 0, rcu)); }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    write_report(r_out, d, runs, desc, {.wall_seconds = wall, .data_seconds = data_seconds, .resumed = r_resume});
    std::printf("report: %s (metrics.json, SVG figures); wall time %.0f s: data preparation %.0f s, training + evaluation %.0f s\n",
                (r_out / "report.md").string().c_str(), wall, data_seconds, wall - data_seconds);
    for (auto& r : runs) {
      std::printf("  %-28s", r.label.c_str());
      if (r.metrics.contains("classification")) std::printf(" accuracy %.4f", r.metrics["classification"]["accuracy"].get<double>());
      if (r.metrics.contains("regression")) std::printf(" SD %.4f dex  MAE %.4f", r.metrics["regression"]["sd"].get<double>(), r.metrics["regression"]["mae"].get<double>());
      std::printf("  (train %.0f s)\n", r.train.seconds);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mtlforgalspecz: error: %s\n", e.what());
    return 1;
  }
}
