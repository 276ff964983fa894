#pragma once
// Mock SDSS stars for the stellar network (spec §4.1; docs/mock-survey.md, "Stars"). Deterministic
// from (seed, star index): each star draws from its own Philox stream, so the output does not depend
// on the thread count.
//
// Per star: draw (mass, [Fe/H], age) -> evolutionary phase, Teff, log g, R, L from simple analytic
// approximations (NOT MIST isochrones):
//   main-sequence lifetime tau = 1e10 yr (M/Msun)^-2.5 (the spec's lifetime label);
//   main sequence (t < tau): L = M^4 (1 + 0.8 t/tau), R = M^0.8 or M^0.57 (1 + 0.45 t/tau);
//   subgiant (tau <= t < 1.15 tau): log g falls to 3.45 while Teff cools to the red-giant base;
//   red-giant branch (1.15 tau <= t < 1.35 tau): log g 3.45 -> 1.0, Teff cools by ~900 K;
//   older stars (remnants) are redrawn: white dwarfs are not SDSS "STAR" spectra with SSPP parameters.
// Stage label (5 classes): the spec's [ASSUMPTION] thresholds in the Teff-log g plane, configurable.
// Spectrum: blackbody (R/d)^2 pi B_lambda(Teff) with line blanketing, a Balmer jump, Balmer and metal
// absorption lines scaled by Teff, log g and [Fe/H], Cardelli-reddened, on the SDSS log-lambda grid,
// with Gaussian noise. Photometry: AB magnitudes through Gaussian ugriz bandpasses on the same model,
// extinction A_b = R_b E(B-V) with Schlafly & Finkbeiner (2011) R_b, SDSS-like magnitude errors.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "galml/core/error.hpp"
#include "galml/core/rng.hpp"
#include "galml/data/progress.hpp"
#include "galml/io/csv.hpp"
#include "galml/io/spectrum.hpp"
#include "galml/mock/galaxies.hpp"

#if defined(GALML_WITH_FITS)
#include "galml/io/sdss.hpp"
#endif

namespace galml::mock {

enum class StellarStage : int { hot = 0, medium = 1, cool = 2, subgiant = 3, red_giant = 4 };
inline constexpr std::array<const char*, 5> kStageNames = {"Hot", "Medium", "Cool", "Subgiant", "Red Giant"};
enum class StellarPhase : int { main_sequence = 0, subgiant = 1, red_giant_branch = 2 };

// Spec §4.1 [ASSUMPTION]: red giant log g < 3.5; subgiant 3.5 <= log g < 4.0; dwarfs split by Teff.
struct StageThresholds {
  double red_giant_logg = 3.5, subgiant_logg = 4.0, hot_teff = 6000.0, cool_teff = 5000.0;
};
inline int stage_from(double teff, double logg, const StageThresholds& s = {}) {
  if (logg < s.red_giant_logg) return int(StellarStage::red_giant);
  if (logg < s.subgiant_logg) return int(StellarStage::subgiant);
  if (teff >= s.hot_teff) return int(StellarStage::hot);
  if (teff >= s.cool_teff) return int(StellarStage::medium);
  return int(StellarStage::cool);
}

// Spec §4.1 [ASSUMPTION]: tau = 1e10 yr (M/Msun)^-2.5.
inline double lifetime_yr(double mass_msun) { return 1e10 * std::pow(mass_msun, -2.5); }
inline double log_lifetime(double mass_msun) { return 10.0 - 2.5 * std::log10(mass_msun); }

// Schlafly & Finkbeiner 2011 (ApJ 737, 103) Table 6, R_V = 3.1: A_b / E(B-V)_SFD for SDSS ugriz.
inline constexpr std::array<double, 5> kSF11R = {4.239, 3.303, 2.285, 1.698, 1.263};
// SDSS 95% point-source depths (5 sigma) for the magnitude-error model.
inline constexpr std::array<double, 5> kUgrizDepth = {22.0, 22.2, 22.2, 21.3, 20.5};

struct StarOptions {
  int64_t n_stars = 1000;
  uint64_t seed = 7;
  int n_threads = 0;          // 0 = hardware concurrency
  bool progress = true;
  double mass_min = 0.6, mass_max = 2.5, imf_slope = 2.35;  // Salpeter dN/dM ~ M^-2.35 (Msun)
  double age_min_gyr = 0.1, age_max_gyr = 13.5;            // uniform in age: constant star formation
  double feh_thin = -0.2, feh_thin_sd = 0.25;               // disc
  double halo_fraction = 0.25, feh_halo = -1.5, feh_halo_sd = 0.4;  // SDSS reaches the halo
  double subgiant_end = 1.15, rgb_end = 1.35;               // phase boundaries, fractions of tau
  StageThresholds thresholds;
  double rmag_min = 14.5, rmag_max = 18.5;                  // observed r (the spectroscopic star range)
  double snr_min = 20.0, snr_max = 60.0;                    // target median r-band S/N per pixel
  double ebv_median = 0.03, ebv_log_sd = 0.7, ebv_max = 0.5;  // log-normal, SFD-like at high latitude
};

struct StarTruth {
  int64_t index = 0;
  double mass = 0, feh = 0, age_yr = 0, log_age = 0, lifetime = 0, log_lifetime = 0;
  double teff = 0, logg = 0, radius = 0, luminosity = 0;  // K, cgs dex, Rsun, Lsun
  int phase = 0, stage = 0;                               // StellarPhase, StellarStage
  double ebv = 0, distance_pc = 0, rv_kms = 0, snr_target = 0, loglam_start = 0;
  std::array<double, 5> mag = {};          // true apparent ugriz AB magnitudes, no extinction
  std::array<double, 5> extinction = {};   // A_b = R_b E(B-V)
  std::array<double, 5> psf_mag = {}, psf_mag_err = {};  // observed: mag + extinction + noise
  double teff_sspp = 0, logg_sspp = 0, feh_sspp = 0;     // "SSPP" estimates (truth + noise)
  std::string subclass;
  int32_t plate = 0, mjd = 0, fiberid = 0;
  int64_t specobjid = 0;
};

struct MockStar {
  io::Spectrum spectrum;
  StarTruth truth;
};

namespace detail {
// Planck B_lambda in erg/s/cm^2/A/sr, lambda in A.
inline double planck_lambda(double lam_A, double T) {
  const double lam = lam_A * 1e-8, hc_k = 1.438776877e0;  // hc/k in cm K
  const double x = hc_k / (lam * T);
  if (x > 700) return 0.0;
  return 2 * 6.62607015e-27 * 2.99792458e10 * 2.99792458e10 / std::pow(lam, 5) / std::expm1(x) * 1e-8;
}

struct StarLine { double lam, sigma, depth0; bool balmer; };
// Rest vacuum wavelengths (A), Gaussian sigma (A) and base depth.
inline const std::vector<StarLine>& star_lines() {
  static const std::vector<StarLine> l = {
      {6564.61, 4.0, 0.55, true}, {4862.68, 4.0, 0.55, true}, {4341.68, 4.0, 0.5, true},
      {4102.89, 4.0, 0.45, true}, {3971.20, 4.0, 0.4, true},  {3890.16, 4.0, 0.35, true},
      {3934.78, 4.0, 0.6, false},  // Ca II K
      {3969.59, 4.0, 0.5, false},  // Ca II H
      {4305.0, 10.0, 0.25, false}, // G band (CH)
      {5175.0, 6.0, 0.3, false},   // Mg b
      {5270.0, 3.0, 0.15, false},  {5335.0, 3.0, 0.12, false},  // Fe
      {5891.58, 2.0, 0.4, false},  {5897.56, 2.0, 0.35, false}, // Na D
      {8500.36, 2.5, 0.3, false},  {8544.44, 2.5, 0.4, false},  {8664.52, 2.5, 0.35, false},  // Ca triplet
  };
  return l;
}

// Surface-flux shape at the star: pi B_lambda(T) x blanketing x Balmer jump x absorption lines.
inline double star_surface_flux(double lam, double T, double logg, double feh) {
  double f = 3.141592653589793 * planck_lambda(lam, T);
  // Metal-line blanketing: removes flux blue-ward of ~4600 A, more for cool, metal-rich stars.
  const double blanket = std::min(0.8, 0.35 * std::pow(10.0, 0.3 * feh) * clampd((7500 - T) / 3000, 0.1, 1.0));
  f *= 1 - blanket * clampd((4600 - lam) / 1200, 0.0, 1.0);
  const double balmer_strength = std::exp(-0.5 * std::pow((T - 9000) / 2300, 2));  // peaks in A stars
  if (lam < 3646) f *= 1 - 0.45 * balmer_strength;
  const double metal = std::pow(10.0, 0.35 * feh) * clampd((7500 - T) / 2500, 0.05, 1.0);
  for (const auto& l : star_lines()) {
    double depth, sig = l.sigma;
    if (l.balmer) {
      depth = l.depth0 * (0.08 + 0.92 * balmer_strength);
      sig *= (1 + 2.5 * balmer_strength) * clampd(0.6 + 0.1 * logg, 0.6, 1.1);  // pressure broadening in dwarfs
    } else {
      depth = l.depth0 * metal * (std::abs(l.lam - 5175.0) < 1 ? 1 + 0.15 * (logg - 4) : 1.0);  // Mg b: gravity-sensitive
    }
    depth = clampd(depth, 0.0, 0.9);
    const double d = lam - l.lam;
    if (std::abs(d) < 6 * sig) f *= 1 - depth * std::exp(-0.5 * d * d / (sig * sig));
  }
  return f;
}

// AB magnitudes through Gaussian ugriz bandpasses (photon-counting: weight R(lambda) lambda),
// for a star of radius R (Rsun) at distance d (pc). f_nu = f_lambda lambda^2 / c.
inline std::array<double, 5> star_ab_mags(double T, double logg, double feh, double radius_rsun, double dist_pc) {
  static constexpr std::array<double, 5> centre = {3551, 4686, 6166, 7480, 8932}, fwhm = {600, 1400, 1300, 1300, 1000};
  const double dil = std::pow(radius_rsun * 6.957e10 / (dist_pc * 3.0856775814913673e18), 2);
  std::array<double, 5> m{};
  for (size_t b = 0; b < 5; ++b) {
    const double sg = fwhm[b] / 2.3548200450309493;
    double num = 0, den = 0;
    for (double lam = centre[b] - 4 * sg; lam <= centre[b] + 4 * sg; lam += 2.0) {
      const double w = std::exp(-0.5 * std::pow((lam - centre[b]) / sg, 2)) * lam;
      const double fnu = dil * star_surface_flux(lam, T, logg, feh) * lam * lam / 2.99792458e18;  // erg/s/cm^2/Hz
      num += w * fnu / lam;  // AB: <f_nu> = int f_nu R dlam/lam / int R dlam/lam, with R already x lam
      den += w / lam;
    }
    m[b] = -2.5 * std::log10(num / den) - 48.60;
  }
  return m;
}

// Main-sequence luminosity and radius (solar units) at fractional age x = t/tau.
inline void main_sequence(double M, double x, double& L, double& R) {
  L = (M < 2 ? std::pow(M, 4.0) : 1.4 * std::pow(M, 3.5)) * (1 + 0.8 * x);
  R = (M < 1 ? std::pow(M, 0.8) : std::pow(M, 0.57)) * (1 + 0.45 * x);
}
inline double teff_from(double L, double R) { return 5772.0 * std::pow(L / (R * R), 0.25); }
inline double logg_from(double M, double R) { return 4.438 + std::log10(M) - 2 * std::log10(R); }

inline std::string spectral_subclass(double T) {
  struct Cls { char c; double hi, lo; };
  static constexpr std::array<Cls, 6> t = {{{'B', 30000, 10000}, {'A', 10000, 7500}, {'F', 7500, 6000},
                                            {'G', 6000, 5200}, {'K', 5200, 3700}, {'M', 3700, 2400}}};
  for (const auto& c : t)
    if (T >= c.lo || c.c == 'M') {
      const int d = std::clamp(int((c.hi - std::min(T, c.hi)) / (c.hi - c.lo) * 10), 0, 9);
      return std::string(1, c.c) + std::to_string(d);
    }
  return "M9";
}
}  // namespace detail

// Physical state at (mass, [Fe/H], age): fills mass, feh, age, lifetime, phase, Teff, log g, R, L.
// Returns false when the star is past the red-giant branch (a remnant: not modelled).
inline bool evolve_star(double mass, double feh, double age_yr, const StarOptions& o, StarTruth& t) {
  using detail::clampd;
  t.mass = mass;
  t.feh = feh;
  t.age_yr = age_yr;
  t.log_age = std::log10(age_yr);
  t.lifetime = lifetime_yr(mass);
  t.log_lifetime = log_lifetime(mass);
  const double x = age_yr / t.lifetime;
  if (x >= o.rgb_end) return false;
  const double metal_teff = std::pow(10.0, -0.03 * feh);  // metal-poor stars are hotter at fixed mass
  double L, R;
  detail::main_sequence(mass, std::min(x, 1.0), L, R);
  const double t_tams = detail::teff_from(L, R) * metal_teff, g_tams = detail::logg_from(mass, R);
  const double t_base = clampd(4950 - 300 * feh + 150 * (mass - 1), 4600, 5600);  // red-giant base; metal-poor hotter
  if (x < 1) {
    t.phase = int(StellarPhase::main_sequence);
    t.teff = t_tams;
    t.logg = g_tams;
  } else if (x < o.subgiant_end) {
    const double y = (x - 1) / (o.subgiant_end - 1);
    t.phase = int(StellarPhase::subgiant);
    t.teff = t_tams + (t_base - t_tams) * y;
    t.logg = g_tams + (3.45 - g_tams) * y;
  } else {
    const double w = (x - o.subgiant_end) / (o.rgb_end - o.subgiant_end);
    t.phase = int(StellarPhase::red_giant_branch);
    t.teff = t_base - 900 * std::pow(w, 1.5);
    t.logg = 3.45 - 2.45 * w * w;  // the ascent accelerates: most giants sit near the base
  }
  t.radius = std::sqrt(mass * std::pow(10.0, 4.438 - t.logg));
  t.luminosity = t.radius * t.radius * std::pow(t.teff / 5772.0, 4);
  t.stage = stage_from(t.teff, t.logg, o.thresholds);
  return true;
}

// SDSS-style identifiers: 640 fibres per plate from plate 3000 (so they never collide with the
// mock galaxies' plates 300+), DR8+ specObjID layout.
inline void assign_star_ids(int64_t index, StarTruth& t) {
  t.plate = int32_t(3000 + index / 640);
  t.mjd = int32_t(54500 + (int64_t(t.plate) * 53) % 3000);
  t.fiberid = int32_t(1 + index % 640);
  t.specobjid = (int64_t(t.plate) << 50) | (int64_t(t.fiberid) << 38) | (int64_t(t.mjd - 50000) << 24) | (int64_t(26) << 10);
}

// One star, deterministic from (options.seed, index).
inline MockStar make_star(int64_t index, const StarOptions& o) {
  using detail::clampd;
  GALML_CHECK(o.mass_min > 0 && o.mass_max > o.mass_min && o.age_max_gyr > o.age_min_gyr && o.age_min_gyr > 0 &&
                  o.subgiant_end > 1 && o.rgb_end > o.subgiant_end,
              "mock::make_star: inconsistent StarOptions (mass, age or phase ranges)");
  Rng r(o.seed, 0x5354415200000000ull + uint64_t(index));  // "STAR" + index
  MockStar s;
  StarTruth& t = s.truth;
  t.index = index;
  assign_star_ids(index, t);
  // (mass, [Fe/H], age): redraw remnants. Power-law IMF by inverse CDF.
  const double a = 1 - o.imf_slope, lo = std::pow(o.mass_min, a), hi = std::pow(o.mass_max, a);
  for (int tries = 0;; ++tries) {
    GALML_CHECK(tries < 100000, "mock::make_star: no living star found; widen the mass or age range");
    const double mass = std::pow(lo + (hi - lo) * r.uniform(), 1 / a);
    const bool halo = r.uniform() < o.halo_fraction;
    const double feh = clampd(halo ? r.normal(o.feh_halo, o.feh_halo_sd) : r.normal(o.feh_thin, o.feh_thin_sd), -2.5, 0.5);
    // Halo stars are old (10-13.5 Gyr); disc stars follow constant star formation.
    const double age_gyr = halo ? r.uniform(std::max(o.age_min_gyr, std::min(10.0, o.age_max_gyr - 0.5)), o.age_max_gyr)
                                : r.uniform(o.age_min_gyr, o.age_max_gyr);
    if (evolve_star(mass, feh, age_gyr * 1e9, o, t)) break;
  }

  // Observation: extinction, distance from a target observed r magnitude, radial velocity.
  t.ebv = std::min(o.ebv_max, o.ebv_median * std::exp(r.normal(0, o.ebv_log_sd)));
  for (size_t b = 0; b < 5; ++b) t.extinction[b] = kSF11R[b] * t.ebv;
  const auto abs10 = detail::star_ab_mags(t.teff, t.logg, t.feh, t.radius, 10.0);
  const double r_obs = r.uniform(o.rmag_min, o.rmag_max);
  t.distance_pc = 10.0 * std::pow(10.0, (r_obs - t.extinction[2] - abs10[2]) / 5);
  for (size_t b = 0; b < 5; ++b) {
    t.mag[b] = abs10[b] + 5 * std::log10(t.distance_pc / 10.0);
    const double m = t.mag[b] + t.extinction[b];
    const double snr = 5 * std::pow(10.0, -0.4 * (m - kUgrizDepth[b]));
    t.psf_mag_err[b] = std::sqrt(0.01 * 0.01 + std::pow(1.0857 / snr, 2));  // 0.01 mag calibration floor
    t.psf_mag[b] = m + t.psf_mag_err[b] * r.normal();
  }
  t.rv_kms = r.normal(-10.0, 60.0) + (t.feh < -1 ? r.normal(0, 100.0) : 0.0);  // halo: hotter kinematics
  t.teff_sspp = t.teff + r.normal(0, 0.015 * t.teff);
  t.logg_sspp = t.logg + r.normal(0, 0.12);
  t.feh_sspp = t.feh + r.normal(0, 0.12);
  t.subclass = detail::spectral_subclass(t.teff);

  // Spectrum on the SDSS log-lambda grid, in 1e-17 erg/s/cm^2/A.
  t.loglam_start = r.uniform(3.5790, 3.5815);
  const int npix = int(std::lround((std::log10(9210.0) - t.loglam_start) / 1e-4));
  t.snr_target = r.uniform(o.snr_min, o.snr_max);
  const double z = t.rv_kms / detail::kC_kms;
  const double dil = std::pow(t.radius * 6.957e10 / (t.distance_pc * 3.0856775814913673e18), 2);
  io::Spectrum& sp = s.spectrum;
  const size_t n = size_t(npix);
  sp.wavelength.resize(n);
  sp.flux.resize(n);
  sp.ivar.resize(n);
  std::vector<double> model(n), shape(n), ratio;
  for (size_t i = 0; i < n; ++i) {
    const double lo_ = std::pow(10.0, t.loglam_start + 1e-4 * double(i));
    sp.wavelength[i] = lo_;
    const double lr = lo_ / (1 + z);
    model[i] = 1e17 * dil * detail::star_surface_flux(lr, t.teff, t.logg, t.feh) *
               std::pow(10.0, -0.4 * t.ebv * cardelli_k(lo_));
    double sh = 1.0 + 1.2 * std::exp(-(lo_ - 3800.0) / 250.0) + 0.6 * std::exp((lo_ - 9200.0) / 400.0);
    for (double sky : {5578.9, 5891.6, 6301.7, 6365.5, 7246.0, 7913.7, 8344.6, 8827.1})
      sh += 2.0 * std::exp(-0.5 * (lo_ - sky) * (lo_ - sky) / 4.0);
    shape[i] = sh;
    if (lo_ >= 5600 && lo_ <= 6900) ratio.push_back(model[i] / sh);
  }
  std::nth_element(ratio.begin(), ratio.begin() + long(ratio.size() / 2), ratio.end());
  const double sigma0 = ratio[ratio.size() / 2] / t.snr_target;
  std::vector<double> sn_all, sn_r;
  for (size_t i = 0; i < n; ++i) {
    const double sg = sigma0 * shape[i];
    const float f = float(model[i] + sg * r.normal());
    sp.flux[i] = f;
    sp.ivar[i] = float(1.0 / (sg * sg));
    sn_all.push_back(double(f) / sg);
    if (sp.wavelength[i] >= 5600 && sp.wavelength[i] <= 6900) sn_r.push_back(double(f) / sg);
  }
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  sp.z = z;
  sp.zwarning = 0;
  sp.cls = "STAR";
  sp.subclass = t.subclass;
  sp.sn_median_all = std::round(median(sn_all) * 1e4) / 1e4;
  sp.sn_median_r = std::round(median(sn_r) * 1e4) / 1e4;
  sp.plate = t.plate;
  sp.mjd = t.mjd;
  sp.fiberid = t.fiberid;
  sp.ra = std::round(r.uniform(0.0, 360.0) * 1e6) / 1e6;
  sp.dec = std::round(r.uniform(-10.0, 70.0) * 1e6) / 1e6;
  sp.targetid = std::to_string(t.specobjid);
  return s;
}

inline const std::vector<std::string>& star_catalog_columns() {
  static const std::vector<std::string> c = {
      "specobjid", "plate", "mjd", "fiberid", "class", "subclass", "z", "zErr", "snMedian",
      "teffadop", "loggadop", "fehadop",
      "psfMag_u", "psfMag_g", "psfMag_r", "psfMag_i", "psfMag_z",
      "psfMagErr_u", "psfMagErr_g", "psfMagErr_r", "psfMagErr_i", "psfMagErr_z",
      "extinction_u", "extinction_g", "extinction_r", "extinction_i", "extinction_z",
      "log_age", "log_lifetime", "stage", "stage_name"};
  return c;
}

struct StarSurveySummary {
  int64_t stars = 0, files = 0;
  std::array<int64_t, 5> per_stage = {};
  std::filesystem::path spectra_dir, catalog, truth;
};

// Writes <out_dir>/spectra/spec-*.fits (CLASS "STAR"; needs GALML_WITH_FITS), <out_dir>/stars.csv
// (the CasJobs-like SpecObj x sppParams x PhotoObj join plus the labels log_age, log_lifetime, stage)
// and <out_dir>/stars_truth.csv. Same options -> same bytes for any n_threads.
inline StarSurveySummary write_star_survey(const std::filesystem::path& out_dir, const StarOptions& o) {
  namespace fs = std::filesystem;
  GALML_CHECK(o.n_stars >= 0, "StarOptions.n_stars must be >= 0 (got ", o.n_stars, ")");
  const fs::path spectra = out_dir / "spectra";
  std::error_code ec;
  fs::create_directories(spectra, ec);
  GALML_CHECK(!ec, "mock::write_star_survey: cannot create '", spectra.string(), "': ", ec.message());
  std::vector<StarTruth> truth(size_t(o.n_stars));
  std::vector<double> sn(size_t(o.n_stars)), z(size_t(o.n_stars));
  data::Progress prog("mock stars", o.n_stars, o.progress);
  data::parallel_items(o.n_stars, o.n_threads, [&](int64_t k) {
    MockStar s = make_star(k, o);
#if defined(GALML_WITH_FITS)
    const fs::path f = spectra / io::sdss_spec_filename(s.truth.plate, s.truth.mjd, s.truth.fiberid);
    fs::remove(f);  // cfitsio refuses to overwrite
    io::write_sdss_spectrum(f, s.spectrum);
#endif
    sn[size_t(k)] = s.spectrum.sn_median_all;
    z[size_t(k)] = s.spectrum.z;
    truth[size_t(k)] = std::move(s.truth);
    prog.add();
  });
  StarSurveySummary sum;
  sum.stars = o.n_stars;
#if defined(GALML_WITH_FITS)
  sum.files = o.n_stars;
#endif
  sum.spectra_dir = spectra;
  sum.catalog = out_dir / "stars.csv";
  sum.truth = out_dir / "stars_truth.csv";
  auto fmt = [](const char* f, double v) {
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return std::string(b);
  };
  std::vector<std::vector<std::string>> rows, trows;
  for (size_t k = 0; k < truth.size(); ++k) {
    const StarTruth& t = truth[k];
    ++sum.per_stage[size_t(t.stage)];
    std::vector<std::string> row = {std::to_string(t.specobjid), std::to_string(t.plate), std::to_string(t.mjd),
                                    std::to_string(t.fiberid), "STAR", t.subclass, fmt("%.8f", z[k]), "0.00001",
                                    fmt("%.4f", sn[k]), fmt("%.1f", t.teff_sspp), fmt("%.3f", t.logg_sspp),
                                    fmt("%.3f", t.feh_sspp)};
    for (double v : t.psf_mag) row.push_back(fmt("%.4f", v));
    for (double v : t.psf_mag_err) row.push_back(fmt("%.4f", v));
    for (double v : t.extinction) row.push_back(fmt("%.4f", v));
    row.insert(row.end(), {fmt("%.5f", t.log_age), fmt("%.5f", t.log_lifetime), std::to_string(t.stage), kStageNames[size_t(t.stage)]});
    rows.push_back(std::move(row));
    std::vector<std::string> tr = {std::to_string(t.specobjid), io::sdss_spec_filename(t.plate, t.mjd, t.fiberid),
                                   fmt("%.5f", t.mass), fmt("%.4f", t.feh), fmt("%.5f", t.age_yr / 1e9), fmt("%.2f", t.teff),
                                   fmt("%.4f", t.logg), fmt("%.5f", t.radius), fmt("%.5f", t.luminosity), std::to_string(t.phase),
                                   fmt("%.5f", t.ebv), fmt("%.3f", t.distance_pc), fmt("%.3f", t.rv_kms), fmt("%.3f", t.snr_target)};
    for (double v : t.mag) tr.push_back(fmt("%.4f", v));
    trows.push_back(std::move(tr));
  }
  io::write_csv(sum.catalog, star_catalog_columns(), rows);
  io::write_csv(sum.truth,
                {"specobjid", "file", "mass", "feh", "age_gyr", "teff", "logg", "radius", "luminosity", "phase", "ebv",
                 "distance_pc", "rv_kms", "snr_target", "mag_u", "mag_g", "mag_r", "mag_i", "mag_z"},
                trows);
  return sum;
}

}  // namespace galml::mock
