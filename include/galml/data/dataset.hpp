#pragma once
// MTLforGalSpecZ dataset preparation (spec §1.1): catalogue cuts (0.002 <= z <= 0.3, ZWARNING = 0,
// S/N_r >= 5), Table 1 class mapping keeping agreeing classes, a valid oh_p50 for star-forming
// galaxies, up to N per class drawn with the seed, spectra read from SDSS files, interpolated onto
// 3840..9000 A at 1 A and mean-normalised, then a stratified 6:2:2 split. Every rejected catalogue
// row or file is listed in the manifest with its reason; nothing in the input makes it crash except
// a missing catalogue file or missing catalogue columns (usage errors, reported as galml::Error).
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "galml/core/error.hpp"
#include "galml/core/rng.hpp"
#include "galml/data/loader.hpp"
#include "galml/data/prepared.hpp"
#include "galml/data/preprocess.hpp"
#include "galml/data/progress.hpp"
#include "galml/data/sampling.hpp"
#include "galml/io/class_map.hpp"
#include "galml/io/csv.hpp"
#include "galml/io/sdss.hpp"

namespace galml::data {

struct DatasetOptions {
  int64_t n_per_class = 25000;  // paper: 25,000 per class
  uint64_t seed = 42;
  double z_min = 0.002, z_max = 0.3, snr_min = 5.0;
  LinearGrid grid = kMtlGrid;
  std::array<double, 3> split = {0.6, 0.2, 0.2};
  double z_tolerance = 1e-3;     // catalogue z vs the file's Z
  int n_threads = 0;             // 0 = hardware concurrency
  bool progress = true;          // progress line on stderr
  std::filesystem::path manifest;  // CSV of rejections, written when non-empty
};

// Identifies the options that change the prepared data (not threads/progress/manifest path).
inline uint64_t dataset_fingerprint(const DatasetOptions& o) {
  detail::Hasher h;
  auto add = [&](auto v) { h.add(&v, sizeof v); };
  add(o.n_per_class); add(o.seed); add(o.z_min); add(o.z_max); add(o.snr_min); add(o.grid.start); add(o.grid.stop);
  add(o.grid.step); add(o.split[0]); add(o.split[1]); add(o.split[2]); add(o.z_tolerance);
  add(uint32_t(2));  // bump when the selection logic changes
  return h.h;
}

inline void write_manifest(const std::filesystem::path& path, const std::vector<ManifestEntry>& m) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(m.size());
  for (auto& e : m) rows.push_back({e.source, e.id, e.reason});
  io::write_csv(path, {"source", "specobjid", "reason"}, rows);
}

namespace detail {
struct CatalogRow {
  size_t row = 0, line = 0;
  std::string id;
  int64_t plate = 0, mjd = 0, fiber = 0;
  double z = 0, snr = 0, oh = NAN, mass = NAN;
  int cls = -1;
};
struct ProcessResult {
  std::optional<std::string> reason;
  std::string category;
  std::vector<float> flux;
};
}  // namespace detail

inline PreparedDataset prepare_mtl_dataset(const std::filesystem::path& spectra_dir, const std::filesystem::path& catalog_csv,
                                           const DatasetOptions& o = {}) {
  namespace fs = std::filesystem;
  GALML_CHECK(o.n_per_class >= 0, "prepare_mtl_dataset: n_per_class must be >= 0");
  GALML_CHECK(fs::exists(catalog_csv), "prepare_mtl_dataset: catalogue '", catalog_csv.string(), "' does not exist");
  GALML_CHECK(fs::is_directory(spectra_dir), "prepare_mtl_dataset: spectra folder '", spectra_dir.string(), "' does not exist");
  PreparedDataset ds;
  ds.grid = o.grid;
  ds.n_pix = int64_t(o.grid.size());
  const std::string catname = catalog_csv.filename().string();
  auto reject = [&](std::string source, std::string id, std::string category, std::string reason) {
    ++ds.counts["rejected: " + category];
    ds.manifest.push_back({std::move(source), std::move(id), std::move(reason)});
  };
  auto finish = [&]() -> PreparedDataset& {
    if (!o.manifest.empty()) write_manifest(o.manifest, ds.manifest);
    return ds;
  };

  // --- Catalogue ---
  std::optional<io::CsvTable> cat;
  if (fs::file_size(catalog_csv) == 0) {
    reject(catalog_csv.string(), "", "empty catalogue", "empty catalogue: file has no header and no rows");
    return finish();
  }
  cat = io::CsvTable::read(catalog_csv);
  ds.counts["catalogue rows"] = int64_t(cat->rows());
  if (cat->rows() == 0) {
    reject(catalog_csv.string(), "", "empty catalogue", "empty catalogue: header only, no rows");
    return finish();
  }
  for (const char* c : {"plate", "mjd", "fiberid", "z", "zwarning", "snmedian_r", "bptclass", "port_bpt", "oh_p50"})
    (void)cat->column_index(c);  // throws naming the missing column and the columns present
  const bool has_id = cat->has_column("specobjid"), has_mass = cat->has_column("lgm_tot_p50");

  std::array<std::vector<detail::CatalogRow>, 4> cand;
  std::map<std::tuple<int64_t, int64_t, int64_t>, size_t> seen;  // (plate, mjd, fiber) -> first line
  for (size_t r = 0; r < cat->rows(); ++r) {
    detail::CatalogRow c;
    c.row = r;
    c.line = cat->line_of(r);
    const std::string src = catname + ":" + std::to_string(c.line);
    c.id = has_id ? cat->get_string(r, "specobjid") : "";
    int64_t zwarning = 0, bptclass = 0;
    std::string port;
    try {
      c.plate = cat->get_int(r, "plate");
      c.mjd = cat->get_int(r, "mjd");
      c.fiber = cat->get_int(r, "fiberid");
      c.z = cat->get_double(r, "z");
      zwarning = cat->get_int(r, "zwarning");
      c.snr = cat->get_double(r, "snmedian_r");
      bptclass = cat->get_int(r, "bptclass");
      port = cat->get_string(r, "port_bpt");
      c.oh = cat->get_double(r, "oh_p50");  // -9999 -> NaN
      if (has_mass) c.mass = cat->get_double(r, "lgm_tot_p50");
    } catch (const Error& e) {
      reject(src, c.id, "unparsable row", e.what());
      continue;
    }
    if (c.id.empty()) c.id = io::sdss_spec_filename(c.plate, c.mjd, c.fiber);
    auto [it, fresh] = seen.emplace(std::tuple{c.plate, c.mjd, c.fiber}, c.line);
    if (!fresh) {
      reject(src, c.id, "duplicate row", "duplicate catalogue row: same plate/mjd/fiberid as line " + std::to_string(it->second));
      continue;
    }
    if (!(c.z >= o.z_min && c.z <= o.z_max)) {
      reject(src, c.id, "redshift", "z = " + detail::num(c.z) + " outside [" + detail::num(o.z_min) + ", " + detail::num(o.z_max) + "]");
      continue;
    }
    if (zwarning != 0) { reject(src, c.id, "zwarning", "ZWARNING = " + std::to_string(zwarning) + " (must be 0)"); continue; }
    if (!(c.snr >= o.snr_min)) {
      reject(src, c.id, "snr", "snMedian_r = " + detail::num(c.snr) + " < " + detail::num(o.snr_min));
      continue;
    }
    const int a = io::class_from_bptclass(int(bptclass)), b = io::class_from_portsmouth_bpt(port);
    if (a < 0 || b < 0 || a != b) {
      std::string why = a < 0 ? "unknown bptclass " + std::to_string(bptclass)
                       : b < 0 ? "unknown Portsmouth class '" + port + "'"
                               : "classes disagree: bptclass " + std::to_string(bptclass) + " (" + io::kGalaxyClassNames[size_t(a)] +
                                     ") vs Portsmouth '" + port + "' (" + io::kGalaxyClassNames[size_t(b)] + ")";
      reject(src, c.id, "class", why);
      continue;
    }
    c.cls = a;
    if (c.cls == 1 && !std::isfinite(c.oh)) { reject(src, c.id, "missing oh_p50", "star-forming without a valid oh_p50 (-9999)"); continue; }
    if (c.cls != 1) c.oh = NAN;  // only SF galaxies carry a metallicity label (spec §1.1)
    cand[size_t(c.cls)].push_back(std::move(c));
  }

  // Spectrum files without a catalogue row (informational: they cannot be labelled).
  {
    std::set<std::string> names;
    for (auto& [k, line] : seen) names.insert(io::sdss_spec_filename(std::get<0>(k), std::get<1>(k), std::get<2>(k)));
    std::vector<std::string> orphans;
    for (auto& e : fs::directory_iterator(spectra_dir))
      if (e.path().extension() == ".fits" && !names.count(e.path().filename().string())) orphans.push_back(e.path().string());
    std::sort(orphans.begin(), orphans.end());
    for (auto& f : orphans) reject(f, fs::path(f).filename().string(), "file without catalogue row", "spectrum file has no catalogue row");
  }

  // --- Sample up to N per class in a seeded random order; the first N that survive preprocessing are
  // kept, so a corrupt file does not cost a slot when the class has spare candidates. ---
  for (int c = 0; c < 4; ++c) {
    Rng r(o.seed, 0x73656c6563740000ull + uint64_t(c));  // "select" + class
    r.shuffle(cand[size_t(c)].begin(), cand[size_t(c)].end());
    ds.counts["candidates " + std::string(io::kGalaxyClassNames[size_t(c)])] = int64_t(cand[size_t(c)].size());
  }
  const Pipeline pipe = mtl_pipeline(o.grid);
  auto process = [&](const detail::CatalogRow& c) {
    detail::ProcessResult res;
    const fs::path f = spectra_dir / io::sdss_spec_filename(c.plate, c.mjd, c.fiber);
    if (!fs::exists(f)) { res.category = "no spectrum file"; res.reason = "no spectrum file " + f.filename().string() + " in " + spectra_dir.string(); return res; }
    io::Spectrum s;
    try {
      s = io::read_sdss_spectrum(f);
    } catch (const std::exception& e) {
      res.category = "unreadable file";
      res.reason = std::string("unreadable spectrum: ") + e.what();
      return res;
    }
    if (s.zwarning > 0) { res.category = "file/catalogue mismatch"; res.reason = "file ZWARNING = " + std::to_string(s.zwarning); return res; }
    if (std::isfinite(s.z) && std::abs(s.z - c.z) > o.z_tolerance) {
      res.category = "file/catalogue mismatch";
      res.reason = "file Z = " + detail::num(s.z) + " differs from catalogue z = " + detail::num(c.z);
      return res;
    }
    if (auto why = pipe(s)) { res.category = "bad spectrum"; res.reason = *why; return res; }
    res.flux = std::move(s.flux);
    return res;
  };

  std::array<size_t, 4> next{}, kept{};
  std::array<std::vector<const detail::CatalogRow*>, 4> accepted;
  std::array<std::vector<std::vector<float>>, 4> fluxes;
  for (int round = 1;; ++round) {
    std::vector<std::pair<int, size_t>> batch;  // (class, candidate)
    for (int c = 0; c < 4; ++c) {
      const size_t need = size_t(o.n_per_class) - kept[size_t(c)];
      const size_t take = std::min(need, cand[size_t(c)].size() - next[size_t(c)]);
      for (size_t k = 0; k < take; ++k) batch.emplace_back(c, next[size_t(c)] + k);
      next[size_t(c)] += take;
    }
    if (batch.empty()) break;
    std::vector<detail::ProcessResult> res(batch.size());
    Progress prog(round == 1 ? "prepare spectra" : "prepare spectra (replacements, round " + std::to_string(round) + ")",
                  int64_t(batch.size()), o.progress);
    parallel_items(int64_t(batch.size()), o.n_threads, [&](int64_t i) {
      res[size_t(i)] = process(cand[size_t(batch[size_t(i)].first)][batch[size_t(i)].second]);
      prog.add();
    });
    ds.counts["spectra processed"] += int64_t(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& c = cand[size_t(batch[i].first)][batch[i].second];
      if (res[i].reason) {
        reject((spectra_dir / io::sdss_spec_filename(c.plate, c.mjd, c.fiber)).string(), c.id, res[i].category, *res[i].reason);
        continue;
      }
      ++kept[size_t(c.cls)];
      accepted[size_t(c.cls)].push_back(&c);
      fluxes[size_t(c.cls)].push_back(std::move(res[i].flux));
    }
  }
  for (int c = 0; c < 4; ++c) {
    const size_t left = cand[size_t(c)].size() - next[size_t(c)];
    if (left) ds.counts["not sampled (class quota reached) " + std::string(io::kGalaxyClassNames[size_t(c)])] = int64_t(left);
    if (kept[size_t(c)] < size_t(o.n_per_class))
      ds.counts["short of quota " + std::string(io::kGalaxyClassNames[size_t(c)])] = int64_t(size_t(o.n_per_class) - kept[size_t(c)]);
  }

  // --- Assemble, class by class in sampled order ---
  const size_t n = kept[0] + kept[1] + kept[2] + kept[3];
  ds.flux.resize(n * size_t(ds.n_pix));
  size_t k = 0;
  for (int c = 0; c < 4; ++c) {
    ds.counts["selected " + std::string(io::kGalaxyClassNames[size_t(c)])] = int64_t(kept[size_t(c)]);
    for (size_t j = 0; j < accepted[size_t(c)].size(); ++j, ++k) {
      const auto& r = *accepted[size_t(c)][j];
      std::copy(fluxes[size_t(c)][j].begin(), fluxes[size_t(c)][j].end(), ds.flux.begin() + long(k * size_t(ds.n_pix)));
      ds.label.push_back(c);
      ds.oh.push_back(float(r.oh));
      ds.oh_mask.push_back(c == 1 && std::isfinite(r.oh) ? 1 : 0);
      ds.id.push_back(r.id);
      ds.z.push_back(r.z);
      ds.snr.push_back(r.snr);
      ds.mass.push_back(r.mass);
    }
  }
  Split sp = stratified_split(ds.label, o.split, o.seed);
  ds.train = std::move(sp.train);
  ds.val = std::move(sp.val);
  ds.test = std::move(sp.test);
  ds.counts["selected"] = int64_t(n);
  ds.counts["train"] = int64_t(ds.train.size());
  ds.counts["val"] = int64_t(ds.val.size());
  ds.counts["test"] = int64_t(ds.test.size());
  ds.counts["rejected"] = int64_t(ds.manifest.size());
  return finish();
}

// prepare_mtl_dataset with a cache: loads `cache` when it exists (a cache built with other options, or a
// corrupt one, is an error telling the user to delete it), otherwise prepares and saves it.
inline PreparedDataset prepare_mtl_dataset_cached(const std::filesystem::path& spectra_dir, const std::filesystem::path& catalog_csv,
                                                  const DatasetOptions& o, const std::filesystem::path& cache) {
  if (std::filesystem::exists(cache)) return load_dataset_cache(cache, dataset_fingerprint(o), o.grid);
  PreparedDataset d = prepare_mtl_dataset(spectra_dir, catalog_csv, o);
  save_dataset_cache(cache, d, dataset_fingerprint(o));
  return d;
}

}  // namespace galml::data
