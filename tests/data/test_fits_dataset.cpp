// prepare_mtl_dataset on a small mock survey with every kind of bad input: each gives a reason in the
// manifest and the run completes.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include "galml/data/dataset.hpp"
#include "galml/io/sdss.hpp"
#include "galml/mock/survey.hpp"

using namespace galml;
using namespace galml::data;
namespace fs = std::filesystem;

namespace {
bool manifest_has(const PreparedDataset& d, const std::string& needle, const std::string& source_part = "") {
  for (auto& e : d.manifest)
    if (e.reason.find(needle) != std::string::npos && e.source.find(source_part) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST_CASE("prepare_mtl_dataset: selection, corruptions, manifest, split, cache", "[data][fits]") {
  const fs::path root = fs::path(GALML_TEST_TMP_DIR) / "ds_mock";
  fs::remove_all(root);
  mock::MockOptions mo;
  mo.n_per_class = 60;
  mo.seed = 5;
  mo.progress = false;
  mo.short_blue_fraction = 0.05;
  mock::write_survey(root, mo);
  const fs::path spectra = root / "spectra";
  auto cat = io::CsvTable::read(root / "catalog.csv");

  // Pick clean, agreeing rows of one class to damage (so we know they were candidates).
  std::vector<size_t> good;
  for (size_t r = 0; r < cat.rows(); ++r) {
    const auto f = spectra / io::sdss_spec_filename(cat.get_int(r, "plate"), cat.get_int(r, "mjd"), cat.get_int(r, "fiberid"));
    if (fs::exists(f) && cat.get_int(r, "zwarning") == 0 && cat.get_double(r, "snMedian_r") >= 5 && cat.get_double(r, "z") >= 0.002 &&
        cat.get_double(r, "z") <= 0.3 && io::agreed_galaxy_class(int(cat.get_int(r, "bptclass")), cat.get_string(r, "port_bpt")) == 0)
      good.push_back(r);
  }
  REQUIRE(good.size() >= 5);
  auto file_of = [&](size_t r) { return spectra / io::sdss_spec_filename(cat.get_int(r, "plate"), cat.get_int(r, "mjd"), cat.get_int(r, "fiberid")); };
  // 1. truncated file
  fs::resize_file(file_of(good[0]), fs::file_size(file_of(good[0])) / 3);
  // 2. garbage file
  { std::ofstream f(file_of(good[1]), std::ios::trunc); f << "not a FITS file"; }
  // 3. NaN flux; 4. coverage gap (starts red-ward of 3840 A)
  {
    auto s = io::read_sdss_spectrum(file_of(good[2]));
    s.flux[1000] = NAN;
    fs::remove(file_of(good[2]));
    io::write_sdss_spectrum(file_of(good[2]), s);
    auto t = io::read_sdss_spectrum(file_of(good[3]));
    size_t cut = 0;
    while (t.wavelength[cut] < 3860) ++cut;
    t.wavelength.erase(t.wavelength.begin(), t.wavelength.begin() + long(cut));
    t.flux.erase(t.flux.begin(), t.flux.begin() + long(cut));
    t.ivar.erase(t.ivar.begin(), t.ivar.begin() + long(cut));
    t.and_mask.erase(t.and_mask.begin(), t.and_mask.begin() + long(cut));
    fs::remove(file_of(good[3]));
    io::write_sdss_spectrum(file_of(good[3]), t);
  }
  // 5. a spectrum file with no catalogue row
  fs::copy_file(file_of(good[4]), spectra / "spec-9999-59999-0001.fits");

  DatasetOptions o;
  o.n_per_class = 1000;  // take every candidate, so every damaged file is visited
  o.seed = 3;
  o.n_threads = 2;
  o.progress = false;
  o.manifest = root / "manifest.csv";
  auto d = prepare_mtl_dataset(spectra, root / "catalog.csv", o);

  for (auto& [k, v] : d.counts) std::printf("  %-50s %lld\n", k.c_str(), (long long)v);
  CHECK(d.n_pix == 5161);
  CHECK(d.flux.size() == size_t(d.size()) * 5161);
  CHECK(d.counts["selected"] == d.size());
  CHECK(manifest_has(d, "unreadable spectrum", file_of(good[0]).filename().string()));
  CHECK(manifest_has(d, "unreadable spectrum", file_of(good[1]).filename().string()));
  CHECK(manifest_has(d, "nan: 1 non-finite flux value(s)", file_of(good[2]).filename().string()));
  CHECK(manifest_has(d, "interpolate: grid not covered: spectrum starts at", file_of(good[3]).filename().string()));
  CHECK(manifest_has(d, "spectrum file has no catalogue row", "spec-9999-59999-0001.fits"));
  CHECK(manifest_has(d, "duplicate catalogue row") == (d.counts.count("rejected: duplicate row") > 0));
  CHECK(manifest_has(d, "ZWARNING = "));
  CHECK(manifest_has(d, "classes disagree"));
  CHECK(fs::exists(o.manifest));
  CHECK(io::CsvTable::read(o.manifest).rows() == d.manifest.size());

  // Labels, mean normalisation, stratified 6:2:2.
  std::map<int, int> per;
  for (auto c : d.label) ++per[c];
  for (int64_t i = 0; i < d.size(); ++i) {
    double m = 0;
    for (float f : d.sample(i)) m += f;
    CHECK(m / 5161.0 == Approx(1.0).epsilon(1e-4));
    CHECK(bool(d.oh_mask[size_t(i)]) == (d.label[size_t(i)] == 1));
    CHECK(std::isnan(d.oh[size_t(i)]) == (d.label[size_t(i)] != 1));
  }
  std::map<int, std::array<int, 3>> sp;
  for (auto i : d.train) ++sp[d.label[size_t(i)]][0];
  for (auto i : d.val) ++sp[d.label[size_t(i)]][1];
  for (auto i : d.test) ++sp[d.label[size_t(i)]][2];
  for (auto& [c, a] : sp) {
    CHECK(a[0] == int(std::lround(0.6 * per[c])));
    CHECK(a[1] == int(std::lround(0.2 * per[c])));
  }

  // Quota: asking for exactly the number of good passive spectra must still get all of them, so the
  // damaged files drawn among the first picks are replaced by later candidates.
  DatasetOptions q = o;
  q.n_per_class = per[0];
  q.manifest.clear();
  auto dq = prepare_mtl_dataset(spectra, root / "catalog.csv", q);
  std::map<int, int> perq;
  for (auto c : dq.label) ++perq[c];
  CHECK(perq[0] == per[0]);
  for (int c = 1; c < 4; ++c) CHECK(perq[c] == std::min(per[c], per[0]));
  CHECK(dq.counts["spectra processed"] > dq.size());

  // Same inputs and seed -> same dataset; the cache round-trips and refuses other options.
  o.n_threads = 1;
  o.manifest.clear();
  auto d2 = prepare_mtl_dataset(spectra, root / "catalog.csv", o);
  CHECK(d2.flux == d.flux);
  CHECK(d2.id == d.id);
  CHECK(d2.train == d.train);
  const fs::path cache = root / "mtl.cache";
  auto c1 = prepare_mtl_dataset_cached(spectra, root / "catalog.csv", o, cache);
  auto c2 = prepare_mtl_dataset_cached(spectra, root / "catalog.csv", o, cache);
  CHECK(c2.flux == c1.flux);
  CHECK(c2.id == c1.id);
  o.seed = 4;
  CHECK_THROWS_WITH(prepare_mtl_dataset_cached(spectra, root / "catalog.csv", o, cache), Catch::Contains("different options"));
}

TEST_CASE("prepare_mtl_dataset: empty or odd catalogues do not crash", "[data][fits]") {
  const fs::path root = fs::path(GALML_TEST_TMP_DIR) / "ds_empty";
  fs::remove_all(root);
  fs::create_directories(root / "spectra");
  DatasetOptions o;
  o.progress = false;
  { std::ofstream f(root / "empty.csv"); }
  auto d = prepare_mtl_dataset(root / "spectra", root / "empty.csv", o);
  CHECK(d.size() == 0);
  REQUIRE(d.manifest.size() == 1);
  CHECK(d.manifest[0].reason.find("empty catalogue") == 0);
  { std::ofstream f(root / "header.csv"); f << "specobjid,plate,mjd,fiberid,z,zwarning,snMedian_r,bptclass,port_bpt,oh_p50,lgm_tot_p50\n"; }
  auto h = prepare_mtl_dataset(root / "spectra", root / "header.csv", o);
  CHECK(h.size() == 0);
  CHECK(h.manifest.at(0).reason == "empty catalogue: header only, no rows");
  {
    std::ofstream f(root / "odd.csv");
    f << "specobjid,plate,mjd,fiberid,z,zwarning,snMedian_r,bptclass,port_bpt,oh_p50,lgm_tot_p50\n"
      << "1,300,51600,1,0.1,0,10,1,Star Forming,8.5,10\n"      // no spectrum file
      << "2,300,51600,1,0.1,0,10,1,Star Forming,8.5,10\n"      // duplicate of the row above
      << "3,300,51600,2,abc,0,10,1,Star Forming,8.5,10\n"      // unparsable z
      << "4,300,51600,3,0.1,0,10,7,Star Forming,8.5,10\n"      // unknown bptclass
      << "5,300,51600,4,0.1,0,10,1,Star Forming,-9999,10\n";   // SF without metallicity
  }
  auto odd = prepare_mtl_dataset(root / "spectra", root / "odd.csv", o);
  CHECK(odd.size() == 0);
  CHECK(manifest_has(odd, "no spectrum file spec-0300-51600-0001.fits"));
  CHECK(manifest_has(odd, "duplicate catalogue row: same plate/mjd/fiberid as line 2"));
  CHECK(manifest_has(odd, "'abc' is not a number"));
  CHECK(manifest_has(odd, "unknown bptclass 7"));
  CHECK(manifest_has(odd, "star-forming without a valid oh_p50"));
  { std::ofstream f(root / "nocol.csv"); f << "plate,mjd\n1,2\n"; }
  CHECK_THROWS_WITH(prepare_mtl_dataset(root / "spectra", root / "nocol.csv", o), Catch::Contains("missing column"));
}
