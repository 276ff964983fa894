#pragma once
// Mock SDSS galaxy spectra for the MTLforGalSpecZ task (docs/mock-survey.md has the physics and
// references). Everything is deterministic from (seed, galaxy index): each galaxy draws from its own
// Philox stream, so the result does not depend on the thread count or on generation order.
//
// Model, in the rest frame, then sampled on an SDSS observed log-lambda grid:
//   continuum = (1 - f_young) * old(T=4500 K, 4000 A break, metal lines scaled by [M/H])
//             + f_young * young(power law, weak break, Balmer absorption), Calzetti-attenuated;
//   nebular lines (H-alpha, H-beta, [O III], [N II], [O II], [S II]) with ratios that put each class
//   in its region of the [N II] BPT diagram, Cardelli-attenuated from the Balmer decrement;
//   star-forming galaxies: 12+log(O/H) from a mass-metallicity relation sets [N II]/H-alpha (PP04 N2)
//   and [O III]/H-beta (PP04 O3N2), inverted; then Gaussian noise with the ivar written to the file.
// The catalogue labels are the classes used to generate the lines, so a classifier can only recover
// them through the line ratios, the 4000 A break and the absorption lines, with noise-driven confusion.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "galml/core/error.hpp"
#include "galml/core/rng.hpp"
#include "galml/io/spectrum.hpp"

namespace galml::mock {

// Class indices follow io/class_map.hpp (MTLforGalSpecZ Table 1 order).
enum class GalaxyClass : int { passive = 0, star_forming = 1, composite = 2, agn = 3 };

struct MockOptions {
  int64_t n_per_class = 100;  // galaxies generated per class (odd rows are among them)
  uint64_t seed = 42;
  int n_threads = 0;          // 0 = hardware concurrency
  bool progress = true;       // progress line on stderr
  double z_min = 0.002, z_max = 0.3;
  double snr_min = 5.0, snr_max = 30.0;  // target median r-band S/N per pixel
  // "Odd" rows so the selection code has work to do (fractions of all galaxies unless stated).
  double zwarning_fraction = 0.03;       // ZWARNING != 0 in file and catalogue
  double disagree_fraction = 0.04;       // Portsmouth class differs from MPA-JHU
  double missing_oh_fraction = 0.02;     // of star-forming: oh_p50 = -9999
  double low_snr_fraction = 0.02;        // S/N 2..5
  double z_out_of_range_fraction = 0.005;
  double short_blue_fraction = 0.01;     // spectrum starts red-ward of 3840 A
  double duplicate_row_fraction = 0.003; // catalogue row repeated
  double missing_file_fraction = 0.003;  // catalogue row without a spectrum file
};

// What the generator used (the truth) and what the catalogue reports.
struct GalaxyTruth {
  int64_t index = 0;
  int cls = 0;                 // true class, GalaxyClass
  bool liner = false;          // AGN subtype (LINER vs Seyfert)
  bool weak_lines = false;     // MPA-JHU "low S/N" flavour (bptclass 2 or 5)
  double z = 0, log_mstar = 0, f_young = 0, mh = 0;   // [M/H] of the stars
  double oh = std::numeric_limits<double>::quiet_NaN();  // true gas 12+log(O/H), SF only
  double log_n2ha = 0, log_o3hb = 0;  // intrinsic BPT coordinates
  double ebv_gas = 0, ew_ha = 0, sigma_gas_kms = 0;
  double snr_target = 0;
  double loglam_start = 0;
  // Catalogue values.
  int bptclass = -1;
  std::string port_bpt;
  double oh_p50 = -9999.0, lgm_tot_p50 = 0;
  int zwarning = 0;
  int32_t plate = 0, mjd = 0, fiberid = 0;
  int64_t specobjid = 0;
  bool write_file = true;      // false: catalogue row without a spectrum
  bool duplicate_row = false;  // catalogue row written twice
};

struct MockGalaxy {
  io::Spectrum spectrum;
  GalaxyTruth truth;
};

// ---------------------------------------------------------------------------------------------
// Published relations, usable by tests and by the classical baseline.

// Kauffmann et al. 2003 (MNRAS 346, 1055) pure star-forming boundary: y = 0.61/(x - 0.05) + 1.3, x < 0.05.
inline double kauffmann03(double log_n2ha) { return 0.61 / (log_n2ha - 0.05) + 1.3; }
// Kewley et al. 2001 (ApJ 556, 121) maximum starburst line: y = 0.61/(x - 0.47) + 1.19, x < 0.47.
inline double kewley01(double log_n2ha) { return 0.61 / (log_n2ha - 0.47) + 1.19; }
// Schawinski et al. 2007 Seyfert/LINER division in the [N II] diagram: y = 1.05 x + 0.45.
inline double schawinski07(double log_n2ha) { return 1.05 * log_n2ha + 0.45; }
// BPT class from (log [N II]/H-alpha, log [O III]/H-beta): 1 SF, 2 composite, 3 AGN.
inline int bpt_class(double x, double y) {
  if (x < 0.05 && y < kauffmann03(x)) return 1;
  if (x < 0.47 && y < kewley01(x)) return 2;
  return 3;
}
// Pettini & Pagel 2004 (MNRAS 348, L59): 12+log(O/H) = 8.90 + 0.57 N2, N2 = log([N II]6584/H-alpha).
inline double pp04_n2_oh(double n2) { return 8.90 + 0.57 * n2; }
inline double pp04_n2_inverse(double oh) { return (oh - 8.90) / 0.57; }
// PP04 O3N2 = log(([O III]5007/H-beta)/([N II]6584/H-alpha)); 12+log(O/H) = 8.73 - 0.32 O3N2.
inline double pp04_o3n2_oh(double o3n2) { return 8.73 - 0.32 * o3n2; }
inline double pp04_o3n2_inverse(double oh) { return (8.73 - oh) / 0.32; }
// Tremonti et al. 2004 (ApJ 613, 898) mass-metallicity form: -1.492 + 1.847 x - 0.08026 x^2, x = log M*.
// The mock shifts it by -0.45 dex onto the PP04 N2 scale (its asymptote ~8.65) so the N2/O3N2
// inversions stay inside the calibrations' range and SF galaxies stay below the Kauffmann line.
inline double tremonti04_mzr(double log_mstar) { return -1.492 + 1.847 * log_mstar - 0.08026 * log_mstar * log_mstar; }
inline constexpr double kMzrOffsetToPP04 = -0.45;

// Calzetti et al. 2000 (ApJ 533, 682) starburst attenuation k(lambda), lambda in Angstrom, R_V = 4.05.
inline double calzetti_k(double lam_A) {
  const double l = lam_A * 1e-4;  // micron
  if (l >= 0.63) return 2.659 * (-1.857 + 1.040 / l) + 4.05;
  return 2.659 * (-2.156 + 1.509 / l - 0.198 / (l * l) + 0.011 / (l * l * l)) + 4.05;
}
// Cardelli, Clayton & Mathis 1989 (ApJ 345, 245) k(lambda) = A_lambda/E(B-V), R_V = 3.1 (optical/IR).
inline double cardelli_k(double lam_A) {
  const double rv = 3.1, x = 1e4 / lam_A;  // inverse micron
  double a, b;
  if (x < 1.1) { a = 0.574 * std::pow(x, 1.61); b = -0.527 * std::pow(x, 1.61); }
  else {
    const double y = x - 1.82;
    a = 1 + y * (0.17699 + y * (-0.50447 + y * (-0.02427 + y * (0.72085 + y * (0.01979 + y * (-0.77530 + y * 0.32999))))));
    b = y * (1.41338 + y * (2.28305 + y * (1.07233 + y * (-5.38434 + y * (-0.62251 + y * (5.30260 + y * -2.09002))))));
  }
  return a * rv + b;
}
inline constexpr double kCaseBHaHb = 2.86;  // intrinsic Balmer decrement, case B, T = 10^4 K

// Rest-frame vacuum wavelengths (A) of the lines the mock puts in (SDSS line list).
namespace lines {
inline constexpr double OII_3727 = 3728.48, Hdelta = 4102.89, Hgamma = 4341.68, Hbeta = 4862.68, OIII_4959 = 4960.295,
                        OIII_5007 = 5008.24, NII_6548 = 6549.86, Halpha = 6564.61, NII_6584 = 6585.27,
                        SII_6717 = 6718.29, SII_6731 = 6732.67;
}  // namespace lines

namespace detail {
inline double clampd(double v, double lo, double hi) { return std::min(hi, std::max(lo, v)); }
inline constexpr double kC_kms = 299792.458;
inline constexpr double kSigmaInstKms = 69.0;  // SDSS resolution R ~ 1850-2200

struct Absorption { double lam, sigma, depth_old, depth_young; bool metal; };
// Stellar absorption features: Ca II K & H, G band (CH), Mg b, Fe 5270/5335, Na D, and the Balmer
// series (strong in A stars, i.e. in the young component). Depths are for solar [M/H]; metal depths
// scale with (1 + 1.2 [M/H]).
inline const std::array<Absorption, 13>& absorption_lines() {
  static const std::array<Absorption, 13> a = {{
      {3934.78, 5.0, 0.45, 0.10, true},   // Ca II K
      {3969.59, 5.0, 0.38, 0.08, true},   // Ca II H
      {4305.6, 9.0, 0.17, 0.03, true},    // G band
      {5176.7, 9.0, 0.14, 0.02, true},    // Mg b
      {5270.0, 6.0, 0.07, 0.01, true},    // Fe 5270
      {5335.0, 6.0, 0.06, 0.01, true},    // Fe 5335
      {5894.6, 5.0, 0.11, 0.02, true},    // Na D
      {3890.2, 9.0, 0.03, 0.14, false},   // H8
      {3971.2, 9.0, 0.03, 0.14, false},   // H-epsilon
      {4102.9, 10.0, 0.04, 0.15, false},  // H-delta
      {4341.7, 10.0, 0.04, 0.14, false},  // H-gamma
      {4862.7, 10.0, 0.04, 0.12, false},  // H-beta
      {6564.6, 10.0, 0.03, 0.09, false},  // H-alpha
  }};
  return a;
}

// Planck B_lambda shape (arbitrary units), lambda in A.
inline double planck(double lam_A, double T) {
  const double l = lam_A * 1e-8;  // cm
  return 1.0 / (l * l * l * l * l * (std::exp(1.438777 / (l * T)) - 1.0));
}

// Continuum of one stellar component at rest wavelength lam, normalised to 1 at 5500 A before lines.
struct Component {
  double temp_or_slope;  // old: T (K); young: power-law slope
  bool old;
  double break_amp;      // fractional drop blue-ward of 4000 A
  double metal_scale, sigma_star_kms;
  double norm = 1.0;
  double shape(double lam) const {
    const double c = old ? planck(lam, temp_or_slope) : std::pow(lam / 5500.0, temp_or_slope);
    return c * (1.0 - break_amp / (1.0 + std::exp((lam - 4000.0) / 30.0)));
  }
  double operator()(double lam) const {
    double f = shape(lam) / norm;
    for (const auto& a : absorption_lines()) {
      const double dv = lam * sigma_star_kms / kC_kms;
      const double s = std::sqrt(a.sigma * a.sigma + dv * dv);
      const double d = lam - a.lam;
      if (std::abs(d) > 5 * s) continue;
      double depth = old ? a.depth_old : a.depth_young;
      if (a.metal) depth *= metal_scale;
      f *= 1.0 - depth * std::exp(-0.5 * d * d / (s * s));
    }
    return f;
  }
};

// Uniform draw helpers.
inline double U(Rng& r, double a, double b) { return r.uniform(a, b); }
}  // namespace detail

// Class of every galaxy in the survey: n_per_class of each, in a seeded random order (so plate or
// fibre numbers carry no class information).
inline std::vector<int> survey_classes(const MockOptions& o) {
  GALML_CHECK(o.n_per_class >= 0, "MockOptions.n_per_class must be >= 0 (got ", o.n_per_class, ")");
  std::vector<int> c;
  c.reserve(size_t(4 * o.n_per_class));
  for (int k = 0; k < 4; ++k) c.insert(c.end(), size_t(o.n_per_class), k);
  Rng r(o.seed, 0x6d6f636b636c6173ull);  // "mockclas"
  r.shuffle(c.begin(), c.end());
  return c;
}

// SDSS-style identifiers for galaxy `index`: 600 fibres per plate, an MJD per plate, and the DR8+
// specObjID bit layout (plate << 50 | fiber << 38 | (mjd - 50000) << 24 | run2d 26 << 10).
inline void assign_ids(int64_t index, GalaxyTruth& t) {
  t.plate = int32_t(300 + index / 600);
  t.mjd = int32_t(51600 + (int64_t(t.plate) * 37) % 3000);
  t.fiberid = int32_t(1 + index % 600);
  t.specobjid = (int64_t(t.plate) << 50) | (int64_t(t.fiberid) << 38) | (int64_t(t.mjd - 50000) << 24) | (int64_t(26) << 10);
}

// One galaxy, deterministic from (options.seed, index, cls).
inline MockGalaxy make_galaxy(int64_t index, int cls, const MockOptions& o) {
  using namespace detail;
  GALML_CHECK(cls >= 0 && cls <= 3, "make_galaxy: class ", cls, " is not 0..3");
  Rng r(o.seed, 0x1000000ull + uint64_t(index));
  MockGalaxy g;
  GalaxyTruth& t = g.truth;
  t.index = index;
  t.cls = cls;
  assign_ids(index, t);
  const auto C = GalaxyClass(cls);

  // --- Odd-row flags (drawn first so the physics draws below do not depend on them) ---
  const double u_zw = r.uniform(), u_dis = r.uniform(), u_oh = r.uniform(), u_snr = r.uniform(), u_zr = r.uniform(),
               u_blue = r.uniform(), u_dup = r.uniform(), u_miss = r.uniform();

  // --- Redshift, mass, stars ---
  t.z = o.z_min + (o.z_max - o.z_min) * r.beta(2.0, 5.0);
  if (u_zr < o.z_out_of_range_fraction) t.z = (r.uniform() < 0.5) ? U(r, 0.0003, o.z_min * 0.9) : U(r, o.z_max * 1.02, o.z_max * 1.25);
  static constexpr std::array<double, 4> mass_mu = {10.85, 9.9, 10.5, 10.7}, mass_sd = {0.3, 0.5, 0.35, 0.35};
  t.log_mstar = clampd(r.normal(mass_mu[size_t(cls)], mass_sd[size_t(cls)]), 8.5, 11.8);
  t.mh = clampd(0.2 * (t.log_mstar - 10.5) + r.normal(0.0, 0.1), -1.0, 0.3);
  static constexpr std::array<double, 4> fy_lo = {0.0, 0.4, 0.2, 0.05}, fy_hi = {0.08, 0.85, 0.5, 0.35};
  t.f_young = U(r, fy_lo[size_t(cls)], fy_hi[size_t(cls)]);
  const double sigma_star = clampd(80.0 + 90.0 * (t.log_mstar - 9.5) + r.normal(0, 15), 40.0, 320.0);

  // --- Nebular emission: BPT position, strength, width, dust ---
  double log_o2hb = 0.3, log_s2ha = -0.4;
  switch (C) {
    case GalaxyClass::star_forming: {
      t.oh = clampd(tremonti04_mzr(t.log_mstar) + kMzrOffsetToPP04 + r.normal(0, 0.08), 7.9, 8.85);
      t.log_n2ha = pp04_n2_inverse(t.oh) + r.normal(0, 0.15);  // PP04 N2 scatter is ~0.18 dex in O/H
      t.log_o3hb = pp04_o3n2_inverse(t.oh) + t.log_n2ha + r.normal(0, 0.05);
      // At high O/H the two PP04 inversions place galaxies above the Kauffmann line (the calibrations
      // come from H II regions); cap at the star-forming ridge so SF stays SF on the BPT diagram.
      const double cap = std::min(kauffmann03(t.log_n2ha) - 0.08, 1.0) - std::abs(r.normal(0, 0.06));
      t.log_o3hb = std::min(t.log_o3hb, cap);
      t.weak_lines = r.uniform() < 0.15;
      t.ew_ha = t.weak_lines ? U(r, 3.0, 8.0) : std::pow(10.0, U(r, 1.0, 2.0));
      t.sigma_gas_kms = U(r, 40, 100);
      t.ebv_gas = clampd(0.08 + 0.18 * (t.log_mstar - 9.0) + r.normal(0, 0.08), 0.0, 0.9);
      log_o2hb = clampd(0.45 - 0.7 * (t.oh - 8.4), -0.3, 0.6) + r.normal(0, 0.05);
      log_s2ha = -0.45 + 0.35 * (t.log_n2ha + 0.5) + r.normal(0, 0.06);
      break;
    }
    case GalaxyClass::composite: {
      t.log_n2ha = U(r, -0.4, -0.02);
      const double lo = std::max(kauffmann03(t.log_n2ha), -0.9), hi = kewley01(t.log_n2ha);
      t.log_o3hb = lo + U(r, 0.15, 0.85) * (hi - lo);
      t.ew_ha = std::pow(10.0, U(r, 0.55, 1.5));
      t.sigma_gas_kms = U(r, 70, 160);
      t.ebv_gas = clampd(0.3 + r.normal(0, 0.12), 0.0, 0.9);
      log_o2hb = 0.3 + r.normal(0, 0.08);
      log_s2ha = -0.3 + r.normal(0, 0.08);
      break;
    }
    case GalaxyClass::agn: {
      t.liner = r.uniform() < 0.6;
      if (t.liner) {
        t.log_n2ha = U(r, -0.1, 0.35);
        const double lo = std::max(kewley01(t.log_n2ha) + 0.1, -0.5);
        const double hi = std::max(schawinski07(t.log_n2ha) - 0.05, lo + 0.1);
        t.log_o3hb = U(r, lo, hi);
        t.ew_ha = std::pow(10.0, U(r, 0.4, 1.0));
        t.weak_lines = t.ew_ha < 4.0;
        log_o2hb = 0.6 + r.normal(0, 0.1);
        log_s2ha = -0.05 + r.normal(0, 0.1);
      } else {
        t.log_n2ha = U(r, -0.25, 0.3);
        const double lo = std::max(kewley01(t.log_n2ha) + 0.1, schawinski07(t.log_n2ha) + 0.05);
        t.log_o3hb = U(r, lo, std::max(1.1, lo + 0.1));
        t.ew_ha = std::pow(10.0, U(r, 0.7, 1.5));
        log_o2hb = 0.4 + r.normal(0, 0.1);
        log_s2ha = -0.2 + r.normal(0, 0.1);
      }
      t.sigma_gas_kms = U(r, 120, 300);
      t.ebv_gas = clampd(0.25 + r.normal(0, 0.12), 0.0, 0.9);
      break;
    }
    case GalaxyClass::passive: {
      // Retired galaxies: weak, LINER-like lines from old stars, too faint for a BPT class.
      t.log_n2ha = U(r, -0.2, 0.4);
      t.log_o3hb = U(r, -0.5, 0.4);
      t.ew_ha = std::pow(10.0, U(r, -1.0, 0.15));
      t.sigma_gas_kms = U(r, 100, 250);
      t.ebv_gas = clampd(0.05 + r.normal(0, 0.05), 0.0, 0.5);
      log_o2hb = 0.5 + r.normal(0, 0.1);
      log_s2ha = 0.0 + r.normal(0, 0.1);
      break;
    }
  }
  const double s2_ratio = U(r, 1.25, 1.45);  // [S II] 6717/6731, low-density limit ~1.4

  // --- Observed grid (SDSS: loglam step 1e-4, start ~3.5796 = 3800 A; some start red-ward of 3840 A) ---
  t.loglam_start = (u_blue < o.short_blue_fraction) ? U(r, 3.5850, 3.5880) : U(r, 3.5790, 3.5815);
  const int npix = int(std::lround((std::log10(9210.0) - t.loglam_start) / 1e-4)) + int(r.below(21)) - 10;
  t.snr_target = (u_snr < o.low_snr_fraction) ? U(r, 2.0, 4.8) : U(r, o.snr_min, o.snr_max);
  const double amp = std::pow(10.0, U(r, 0.3, 1.6));  // continuum at 5500 A rest, 1e-17 erg/s/cm^2/A
  const double ebv_star = 0.44 * t.ebv_gas;            // Calzetti et al. 2000: stars see 0.44x the gas reddening

  Component old_c{4500.0 + 400.0 * (-t.mh), true, clampd(0.42 + 0.12 * t.mh, 0.25, 0.55), clampd(1.0 + 1.2 * t.mh, 0.1, 1.5), sigma_star};
  Component young_c{-2.0, false, 0.08, clampd(1.0 + 1.2 * t.mh, 0.1, 1.5), sigma_star};
  old_c.norm = old_c.shape(5500.0);
  young_c.norm = young_c.shape(5500.0);
  auto continuum = [&](double lam) {
    const double c = (1.0 - t.f_young) * old_c(lam) + t.f_young * young_c(lam);
    return amp * c * std::pow(10.0, -0.4 * ebv_star * calzetti_k(lam));
  };

  // Line fluxes relative to intrinsic H-beta = 1, attenuated by Cardelli with the gas E(B-V) (so the
  // observed Balmer decrement is 2.86 * 10^(0.4 E(B-V) (k_Hb - k_Ha))), then scaled to the H-alpha EW.
  struct Line { double lam, rel; };
  const double n2 = std::pow(10.0, t.log_n2ha) * kCaseBHaHb, o3 = std::pow(10.0, t.log_o3hb);
  const double s2 = std::pow(10.0, log_s2ha) * kCaseBHaHb;
  std::vector<Line> em = {
      {lines::Halpha, kCaseBHaHb},          {lines::Hbeta, 1.0},
      {lines::Hgamma, 0.468},               {lines::Hdelta, 0.259},
      {lines::NII_6584, n2},                {lines::NII_6548, n2 / 3.05},
      {lines::OIII_5007, o3},               {lines::OIII_4959, o3 / 2.98},
      {lines::OII_3727, std::pow(10.0, log_o2hb)},
      {lines::SII_6717, s2 * s2_ratio / (1 + s2_ratio)}, {lines::SII_6731, s2 / (1 + s2_ratio)},
  };
  for (auto& l : em) l.rel *= std::pow(10.0, -0.4 * t.ebv_gas * cardelli_k(l.lam));
  const double ha_obs_rel = em[0].rel;
  const double ha_flux = t.ew_ha * continuum(lines::Halpha);
  const double sig_v = std::sqrt(t.sigma_gas_kms * t.sigma_gas_kms + kSigmaInstKms * kSigmaInstKms);

  // --- Sample, add noise ---
  io::Spectrum& s = g.spectrum;
  s.wavelength.resize(size_t(npix));
  s.flux.resize(size_t(npix));
  s.ivar.resize(size_t(npix));
  const size_t npx = static_cast<size_t>(npix);
  std::vector<double> model(npx), shape(npx);
  for (int i = 0; i < npix; ++i) {
    const double lo = std::pow(10.0, t.loglam_start + 1e-4 * i);
    s.wavelength[size_t(i)] = lo;
    const double lr = lo / (1.0 + t.z);
    double f = continuum(lr);
    for (const auto& l : em) {
      const double sg = l.lam * sig_v / kC_kms, d = lr - l.lam;
      if (std::abs(d) > 6 * sg) continue;
      f += ha_flux * (l.rel / ha_obs_rel) * std::exp(-0.5 * d * d / (sg * sg)) / (2.5066282746310002 * sg);
    }
    model[size_t(i)] = f / (1.0 + t.z);  // f_lambda dims by (1+z) on stretching (amplitude only)
    // Noise shape: worse at the blue and red ends (throughput, sky) and at bright sky lines.
    double sh = 1.0 + 1.2 * std::exp(-(lo - 3800.0) / 250.0) + 0.6 * std::exp((lo - 9200.0) / 400.0);
    for (double sky : {5578.9, 5891.6, 6301.7, 6365.5, 7246.0, 7913.7, 8344.6, 8827.1})
      sh += 2.0 * std::exp(-0.5 * (lo - sky) * (lo - sky) / 4.0);
    shape[size_t(i)] = sh;
  }
  // Noise level so that the median model S/N over the r band (5600-6900 A observed) is the target.
  std::vector<double> ratio;
  for (int i = 0; i < npix; ++i)
    if (s.wavelength[size_t(i)] >= 5600 && s.wavelength[size_t(i)] <= 6900) ratio.push_back(model[size_t(i)] / shape[size_t(i)]);
  std::nth_element(ratio.begin(), ratio.begin() + long(ratio.size() / 2), ratio.end());
  const double sigma0 = ratio[ratio.size() / 2] / t.snr_target;
  std::vector<double> sn_all, sn_r;
  for (int i = 0; i < npix; ++i) {
    const double sg = sigma0 * shape[size_t(i)];
    const float f = float(model[size_t(i)] + sg * r.normal());
    s.flux[size_t(i)] = f;
    s.ivar[size_t(i)] = float(1.0 / (sg * sg));
    const double sn = double(f) / sg;
    sn_all.push_back(sn);
    if (s.wavelength[size_t(i)] >= 5600 && s.wavelength[size_t(i)] <= 6900) sn_r.push_back(sn);
  }
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
    return v[v.size() / 2];
  };

  // --- Catalogue values ---
  switch (C) {
    case GalaxyClass::passive: t.bptclass = -1; t.port_bpt = "BLANK"; break;
    case GalaxyClass::star_forming: t.bptclass = t.weak_lines ? 2 : 1; t.port_bpt = "Star Forming"; break;
    case GalaxyClass::composite: t.bptclass = 3; t.port_bpt = "Composite"; break;
    case GalaxyClass::agn:
      t.bptclass = (t.liner && t.weak_lines) ? 5 : 4;
      t.port_bpt = t.liner ? "LINER" : "Seyfert";
      break;
  }
  if (u_dis < o.disagree_fraction) {
    // Disagreements happen next to a boundary: the Portsmouth fit puts the galaxy in a neighbouring class.
    static const std::array<const char*, 4> neighbour = {"LINER", "Composite", "Star Forming", "Composite"};
    t.port_bpt = neighbour[size_t(cls)];
  }
  if (C == GalaxyClass::star_forming && u_oh >= o.missing_oh_fraction)
    t.oh_p50 = std::round((t.oh + r.normal(0, 0.05)) * 1e4) / 1e4;  // Bayesian fit noise
  t.lgm_tot_p50 = std::round((t.log_mstar + r.normal(0, 0.08)) * 1e4) / 1e4;
  if (u_zw < o.zwarning_fraction) {
    static constexpr std::array<int, 3> bits = {4, 16, 128};  // SMALL_DELTA_CHI2, MANY_OUTLIERS, UNPLUGGED-like
    t.zwarning = bits[r.below(3)];
  }
  t.duplicate_row = u_dup < o.duplicate_row_fraction;
  t.write_file = !(u_miss < o.missing_file_fraction);

  s.z = t.z;
  s.zwarning = t.zwarning;
  s.cls = "GALAXY";
  s.subclass = C == GalaxyClass::star_forming ? "STARFORMING" : C == GalaxyClass::agn ? "AGN" : "";
  s.sn_median_all = std::round(median(sn_all) * 1e4) / 1e4;
  s.sn_median_r = std::round(median(sn_r) * 1e4) / 1e4;
  s.plate = t.plate;
  s.mjd = t.mjd;
  s.fiberid = t.fiberid;
  s.ra = std::round(U(r, 110.0, 260.0) * 1e6) / 1e6;
  s.dec = std::round(U(r, -5.0, 65.0) * 1e6) / 1e6;
  s.targetid = std::to_string(t.specobjid);
  return g;
}

}  // namespace galml::mock
