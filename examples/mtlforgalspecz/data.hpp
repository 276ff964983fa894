#pragma once
// MTLforGalSpecZ data: the paper's selection (spec §1.1) from a directory of SDSS spec files plus a
// CasJobs-style catalogue, the 3840-9000 A grid, mean normalisation, and the stratified 6:2:2 split.
// The prepared dataset is one galml StateDict file (versioned, validated on load, written atomically).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <vector>

#include "galml/core/parallel.hpp"
#include "galml/core/rng.hpp"
#include "galml/core/state_dict.hpp"
#include "galml/data/preprocess.hpp"
#include "galml/io/class_map.hpp"
#include "galml/io/csv.hpp"
#include "galml/io/sdss.hpp"
#include "galml/train/progress.hpp"

namespace mtl {
namespace fs = std::filesystem;
inline constexpr int kPixels = 5161;
inline constexpr int kClasses = 4;
inline constexpr int kSF = 1;  // class index of star-forming galaxies (Table 1 order)
inline const std::vector<std::string> kClassNames = {"Passive", "Star-forming", "Composite", "AGN"};

struct Dataset {
  std::vector<float> flux;              // [n, 5161], mean-normalised
  std::vector<int64_t> cls;             // 0..3
  std::vector<float> oh;                // 12 + log(O/H); NaN when absent (non-SF)
  std::vector<double> z, snr, mass;     // mass NaN when the catalogue has none
  std::vector<std::string> ids;         // spec file names
  std::vector<int64_t> split;           // 0 train, 1 val, 2 test
  std::string source;                   // "mock survey (seed 7)" or the catalogue path
  int64_t size() const { return int64_t(cls.size()); }
  std::vector<int64_t> indices(int s) const { std::vector<int64_t> v; for (int64_t i = 0; i < size(); ++i) if (split[size_t(i)] == s) v.push_back(i); return v; }

  void save(const fs::path& p) const {
    galml::StateDict sd;
    sd.set("flux", flux.data(), {size(), kPixels});
    sd.set_vector("cls", cls); sd.set_vector("oh", oh); sd.set_vector("z", z); sd.set_vector("snr", snr);
    sd.set_vector("mass", mass); sd.set_vector("split", split);
    std::string joined; for (auto& s : ids) joined += s + "\n";
    sd.set("ids", reinterpret_cast<const uint8_t*>(joined.data()), {int64_t(joined.size())});
    sd.set("source", reinterpret_cast<const uint8_t*>(source.data()), {int64_t(source.size())});
    sd.set_scalar<int64_t>("format.mtlforgalspecz", 1);
    sd.save(p);
  }
  static Dataset load(const fs::path& p) {
    const auto sd = galml::StateDict::load(p);
    GALML_CHECK(sd.contains("format.mtlforgalspecz"), "'", p.string(), "' is a galml file but not an MTLforGalSpecZ dataset (run `mtlforgalspecz prepare`)");
    Dataset d;
    d.cls = sd.vector<int64_t>("cls");
    const auto n = int64_t(d.cls.size());
    const auto& fa = sd.at("flux");
    GALML_CHECK(fa.shape.size() == 2 && fa.shape[0] == n && fa.shape[1] == kPixels, "'", p.string(), "': flux has shape [", fa.shape.size() ? fa.shape[0] : 0, ", ...], expected [", n, ", ", kPixels, "]");
    d.flux = fa.to_vector<float>();
    d.oh = sd.vector<float>("oh"); d.z = sd.vector<double>("z"); d.snr = sd.vector<double>("snr"); d.mass = sd.vector<double>("mass");
    d.split = sd.vector<int64_t>("split");
    for (auto* v : {&d.oh}) GALML_CHECK(int64_t(v->size()) == n, "'", p.string(), "': column sizes disagree (corrupt dataset)");
    GALML_CHECK(int64_t(d.z.size()) == n && int64_t(d.snr.size()) == n && int64_t(d.mass.size()) == n && int64_t(d.split.size()) == n,
                "'", p.string(), "': column sizes disagree (corrupt dataset)");
    const auto ids = sd.vector<uint8_t>("ids"); std::string s(ids.begin(), ids.end());
    size_t a = 0; for (size_t b; (b = s.find('\n', a)) != std::string::npos; a = b + 1) d.ids.push_back(s.substr(a, b - a));
    GALML_CHECK(int64_t(d.ids.size()) == n, "'", p.string(), "': id list has ", d.ids.size(), " entries for ", n, " spectra");
    const auto src = sd.vector<uint8_t>("source"); d.source.assign(src.begin(), src.end());
    return d;
  }
};

struct PrepareOptions {
  int64_t max_per_class = 25000;
  uint64_t seed = 42;
  double zmin = 0.002, zmax = 0.3, min_snr = 5.0;
  bool progress = true;
};
struct Rejection { std::string item, reason; };
struct PrepareResult { Dataset data; std::vector<Rejection> rejected; std::map<std::string, int64_t> counts; };

// Find a column among alternative CasJobs spellings.
inline std::string pick(const galml::io::CsvTable& t, std::initializer_list<const char*> names, const char* what) {
  for (auto n : names) if (t.has_column(n)) return n;
  std::string all; for (auto n : names) all += std::string(all.empty() ? "" : ", ") + n;
  throw galml::Error(galml::detail::cat("catalogue '", t.source(), "': missing column for ", what, " (expected one of: ", all, ")"));
}

inline PrepareResult prepare(const fs::path& spectra_dir, const fs::path& catalog, const PrepareOptions& o) {
  GALML_CHECK(fs::is_directory(spectra_dir), "spectra directory '", spectra_dir.string(), "' does not exist");
  const auto t = galml::io::CsvTable::read(catalog);
  GALML_CHECK(t.rows() > 0, "catalogue '", catalog.string(), "' has no rows");
  const auto cp = pick(t, {"plate"}, "plate"), cm = pick(t, {"mjd"}, "MJD"), cf = pick(t, {"fiberid", "fiberID", "fiber"}, "fiber id");
  const auto cz = pick(t, {"z", "redshift"}, "redshift"), czw = pick(t, {"zwarning", "zWarning"}, "ZWARNING");
  const auto csn = pick(t, {"snMedian_r", "sn_median_r", "snMedian"}, "r-band S/N");
  const auto cb = pick(t, {"bptclass"}, "MPA-JHU bptclass"), cpo = pick(t, {"port_bpt", "bpt"}, "Portsmouth BPT class");
  const auto coh = pick(t, {"oh_p50"}, "oh_p50");
  const std::string cmass = t.has_column("lgm_tot_p50") ? "lgm_tot_p50" : t.has_column("lgm_fib_p50") ? "lgm_fib_p50" : "";
  PrepareResult r;
  auto reject = [&](const std::string& item, const std::string& why) { r.rejected.push_back({item, why}); ++r.counts["rejected: " + why.substr(0, why.find(':'))]; };
  // 1. catalogue cuts and class mapping
  std::vector<std::vector<size_t>> by_class(kClasses);
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < t.rows(); ++i) {
    const std::string item = "catalogue line " + std::to_string(t.line_of(i));
    try {
      const double z = t.get_double(i, cz), sn = t.get_double(i, csn);
      const auto zw = t.get_int(i, czw);
      const auto name = galml::io::sdss_spec_filename(t.get_int(i, cp), t.get_int(i, cm), t.get_int(i, cf));
      if (seen.count(name)) { reject(item, "duplicate row: " + name + " already on line " + std::to_string(t.line_of(seen[name]))); continue; }
      seen[name] = i;
      if (!(z >= o.zmin && z <= o.zmax)) { reject(name, "redshift cut: z = " + std::to_string(z)); continue; }
      if (zw != 0) { reject(name, "ZWARNING cut: ZWARNING = " + std::to_string(zw)); continue; }
      if (!(sn >= o.min_snr)) { reject(name, "S/N cut: snMedian_r = " + std::to_string(sn)); continue; }
      const int c = galml::io::agreed_galaxy_class(int(t.get_int(i, cb)), t.get_string(i, cpo));
      if (c < 0) { reject(name, "class mapping: MPA-JHU and Portsmouth classes disagree or are unknown"); continue; }
      if (c == kSF && !std::isfinite(t.get_double(i, coh))) { reject(name, "metallicity: star-forming galaxy without a valid oh_p50"); continue; }
      by_class[size_t(c)].push_back(i);
    } catch (const galml::Error& e) { reject(item, std::string("bad row: ") + e.what()); }
  }
  // 2. up to N per class, drawn with the seed
  galml::Rng rng(o.seed, 0xC1A55);
  std::vector<size_t> rows;
  for (auto& v : by_class) { rng.shuffle(v.begin(), v.end()); if (int64_t(v.size()) > o.max_per_class) v.resize(size_t(o.max_per_class)); rows.insert(rows.end(), v.begin(), v.end()); }
  std::sort(rows.begin(), rows.end());
  // 3. read and preprocess spectra in parallel
  const auto pipe = galml::data::mtl_pipeline();
  std::vector<std::vector<float>> flux(rows.size());
  std::vector<std::string> why(rows.size());
  std::atomic<int64_t> done{0};
  galml::train::Progress bar("prepare", int64_t(rows.size()), o.progress);
  std::mutex bar_m;
  galml::parallel_for(int64_t(rows.size()), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const size_t i = rows[size_t(k)];
      const auto name = galml::io::sdss_spec_filename(t.get_int(i, cp), t.get_int(i, cm), t.get_int(i, cf));
      const auto path = spectra_dir / name;
      try {
        if (!fs::exists(path)) { why[size_t(k)] = "missing spectrum: no file " + name + " in " + spectra_dir.string(); }
        else {
          auto s = galml::io::read_sdss_spectrum(path);
          if (auto rej = pipe(s)) why[size_t(k)] = "preprocessing: " + *rej;
          else if (int(s.flux.size()) != kPixels) why[size_t(k)] = "preprocessing: grid has " + std::to_string(s.flux.size()) + " pixels";
          else flux[size_t(k)] = std::move(s.flux);
        }
      } catch (const std::exception& ex) { why[size_t(k)] = std::string("unreadable: ") + ex.what(); }
      const auto d = ++done;
      if (std::unique_lock lk(bar_m, std::try_to_lock); lk.owns_lock()) bar.update(d);
    }
  }, 8);
  bar.finish(done);
  // 4. assemble
  Dataset& d = r.data;
  for (size_t k = 0; k < rows.size(); ++k) {
    const size_t i = rows[k];
    const auto name = galml::io::sdss_spec_filename(t.get_int(i, cp), t.get_int(i, cm), t.get_int(i, cf));
    if (!why[k].empty()) { reject(name, why[k]); continue; }
    const int c = galml::io::agreed_galaxy_class(int(t.get_int(i, cb)), t.get_string(i, cpo));
    d.flux.insert(d.flux.end(), flux[k].begin(), flux[k].end());
    d.cls.push_back(c);
    d.oh.push_back(c == kSF ? float(t.get_double(i, coh)) : std::numeric_limits<float>::quiet_NaN());
    d.z.push_back(t.get_double(i, cz)); d.snr.push_back(t.get_double(i, csn));
    d.mass.push_back(cmass.empty() ? std::numeric_limits<double>::quiet_NaN() : t.get_double(i, cmass));
    d.ids.push_back(name);
  }
  GALML_CHECK(d.size() > 0, "no spectrum passed the selection (", r.rejected.size(), " rejected; see the manifest)");
  // 5. stratified 6:2:2 split
  d.split.assign(size_t(d.size()), 0);
  for (int c = 0; c < kClasses; ++c) {
    std::vector<int64_t> idx; for (int64_t i = 0; i < d.size(); ++i) if (d.cls[size_t(i)] == c) idx.push_back(i);
    galml::Rng sr(o.seed, 0x5B117 + uint64_t(c)); sr.shuffle(idx.begin(), idx.end());
    const auto n = int64_t(idx.size()), ntr = (n * 6 + 5) / 10, nva = (n * 2 + 5) / 10;
    for (int64_t k = 0; k < n; ++k) d.split[size_t(idx[size_t(k)])] = k < ntr ? 0 : k < ntr + nva ? 1 : 2;
  }
  for (int c = 0; c < kClasses; ++c) r.counts["kept: " + kClassNames[size_t(c)]] = std::count(d.cls.begin(), d.cls.end(), c);
  for (int s = 0; s < 3; ++s) r.counts[std::string("split: ") + (s == 0 ? "train" : s == 1 ? "val" : "test")] = std::count(d.split.begin(), d.split.end(), s);
  r.counts["catalogue rows"] = int64_t(t.rows());
  d.source = catalog.string();
  return r;
}

inline void write_manifest(const fs::path& path, const PrepareResult& r) {
  std::vector<std::vector<std::string>> rows;
  for (auto& [k, v] : r.counts) rows.push_back({"count", k, std::to_string(v)});
  for (auto& x : r.rejected) rows.push_back({"rejected", x.item, x.reason});
  galml::io::write_csv(path, {"kind", "item", "detail"}, rows);
}

}  // namespace mtl
