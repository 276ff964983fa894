// mtlforgalspecz predict: the multi-task network over SDSS spFrame/spec and DESI coadd files (its own
// translation unit: the network's forward pass compiles in parallel with main.cpp).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "galml/data/preprocess.hpp"
#include "galml/io/csv.hpp"
#include "galml/io/desi.hpp"
#include "galml/io/sdss.hpp"
#include "predict_files.hpp"
#include "run.hpp"

namespace mtl {

int predict_files(const std::vector<std::string>& inputs, const fs::path& weights, const fs::path& out, int mc) {
  galml::Model<NetMT> model;
  const auto sd = galml::StateDict::load(weights);
  model.load_state_dict(sd.contains("trainer.epoch") ? sd.sub("model.") : sd);
  const auto pipe = galml::data::mtl_pipeline();
  std::vector<std::vector<std::string>> rows;
  int64_t ok = 0;
  auto handle = [&](const std::string& id, galml::io::Spectrum s) {
    std::string reason = s.flag;
    if (reason.empty()) if (auto rej = pipe(s)) reason = *rej;
    if (!reason.empty()) { rows.push_back({id, "", "", "", "", "", "", "", "rejected: " + reason}); return; }
    galml::Tensor<float> x({1, 1, kPixels});
    std::copy(s.flux.begin(), s.flux.end(), x.data());
    model.eval(); model.forward(x);
    const float* l = model.output("cls").data();
    const float mx = *std::max_element(l, l + 4); double e[4], sum = 0;
    for (int c = 0; c < 4; ++c) { e[c] = std::exp(double(l[c] - mx)); sum += e[c]; }
    int best = int(std::max_element(l, l + 4) - l);
    const double z = model.output("z").data()[0];
    double sig = 0;
    if (mc > 0) {
      model.mc(); double s1 = 0, s2 = 0;
      for (int t = 0; t < mc; ++t) { model.forward(x); const double v = model.output("z").data()[0]; s1 += v; s2 += v * v; }
      sig = std::sqrt(std::max(0.0, s2 / mc - (s1 / mc) * (s1 / mc)));
    }
    char b[6][32];
    for (int c = 0; c < 4; ++c) std::snprintf(b[c], 32, "%.5f", e[c] / sum);
    std::snprintf(b[4], 32, "%.4f", z); std::snprintf(b[5], 32, "%.4f", sig);
    rows.push_back({id, b[0], b[1], b[2], b[3], kClassNames[size_t(best)], b[4], mc > 0 ? b[5] : "", ""});
    ++ok;
  };
  std::vector<fs::path> files;
  for (auto& in : inputs) {
    if (fs::is_directory(in)) { for (auto& e : fs::directory_iterator(in)) if (e.path().extension() == ".fits") files.push_back(e.path()); }
    else files.push_back(in);
  }
  std::sort(files.begin(), files.end());
  for (auto& f : files) {
    try {
      bool desi = false;
      { galml::io::FitsFile ff = galml::io::FitsFile::open(f); desi = ff.has_hdu("B_FLUX") && ff.has_hdu("FIBERMAP"); }
      if (desi) { auto v = galml::io::read_desi_coadd(f); for (size_t k = 0; k < v.size(); ++k) handle(f.filename().string() + ":" + (v[k].targetid.empty() ? "row" + std::to_string(k) : v[k].targetid), std::move(v[k])); }
      else handle(f.filename().string(), galml::io::read_sdss_spectrum(f));
    } catch (const std::exception& ex) { rows.push_back({f.filename().string(), "", "", "", "", "", "", "", std::string("rejected: ") + ex.what()}); }
  }
  galml::io::write_csv(out, {"id", "p_passive", "p_starforming", "p_composite", "p_agn", "class", "oh_12_log_oh", "oh_sigma_mc", "status"}, rows);
  std::printf("%lld of %zu spectra predicted, %zu rejected with a reason; written to %s\n", (long long)ok, rows.size(), rows.size() - size_t(ok), out.string().c_str());
  return 0;
}

}  // namespace mtl
