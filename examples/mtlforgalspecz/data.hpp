#pragma once
// Data for the example: the library's MTLforGalSpecZ selection and preprocessing (galml::data), plus
// small helpers the training and report code share.
#include <filesystem>
#include <string>
#include <vector>

#include "galml/data/dataset.hpp"

namespace mtl {
namespace fs = std::filesystem;
using Dataset = galml::data::PreparedDataset;
inline constexpr int kPixels = 5161;
inline constexpr int kClasses = 4;
inline constexpr int kSF = 1;  // class index of star-forming galaxies (Table 1 order)
inline const std::vector<std::string> kClassNames = {"Passive", "Star-forming", "Composite", "AGN"};

inline const std::vector<int64_t>& split_indices(const Dataset& d, int s) { return s == 0 ? d.train : s == 1 ? d.val : d.test; }
inline bool has_oh(const Dataset& d, int64_t i) { return d.oh_mask[size_t(i)] != 0; }

// The paper's selection (spec §1.1) from spectra + catalogue, cached next to `out`; manifest of
// rejections beside it.
inline Dataset prepare_dataset(const fs::path& spectra, const fs::path& catalog, const fs::path& out, int64_t per_class, uint64_t seed) {
  galml::data::DatasetOptions o;
  o.n_per_class = per_class;
  o.seed = seed;
  o.manifest = fs::path(out.string() + ".manifest.csv");
  if (!out.parent_path().empty()) fs::create_directories(out.parent_path());
  auto d = galml::data::prepare_mtl_dataset(spectra, catalog, o);
  galml::data::save_dataset_cache(out, d, galml::data::dataset_fingerprint(o));
  std::printf("prepared %lld spectra into %s (%zu rejected; reasons in %s)\n", (long long)d.size(), out.string().c_str(), d.manifest.size(),
              o.manifest.string().c_str());
  for (auto& [k, v] : d.counts) std::printf("  %-48s %lld\n", k.c_str(), (long long)v);
  return d;
}
inline Dataset load_dataset(const fs::path& p) {
  auto d = galml::data::load_dataset_cache(p);
  GALML_CHECK(d.n_pix == kPixels, "dataset '", p.string(), "' has ", d.n_pix, " pixels per spectrum; the MTLforGalSpecZ network takes ", kPixels);
  return d;
}

}  // namespace mtl
