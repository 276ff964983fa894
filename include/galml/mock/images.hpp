#pragma once
// Mock gri (or ugriz) images of the mock galaxies (docs/mock-survey.md, "Images"). Deterministic
// from (seed, galaxy index) through a Philox stream of its own, like the spectra.
//
// Per galaxy:
//   bulge (Sersic n = 4) + disc (Sersic n = 1), bulge-to-total from class and young-light fraction;
//   effective radii from stellar mass (Shen et al. 2003 size-mass relations) and the angular-diameter
//   distance in flat LambdaCDM (H0 = 70, Omega_m = 0.3);
//   r-band flux from mass, a mass-to-light ratio and the luminosity distance;
//   colours: bulge = old population, disc = old/young mix by f_young, each a rest-frame SED sampled at
//   lambda_obs / (1 + z) (so redshift reddens, a crude K-correction), Calzetti-attenuated with the
//   stellar E(B-V) = 0.44 E(B-V)_gas of the spectrum;
//   convolved with a Gaussian or Moffat PSF, plus Gaussian sky noise at SDSS-like depth and, now and
//   then, a neighbouring galaxy or star.
// Units: nanomaggies per pixel (m_AB = 22.5 - 2.5 log10 f). The RGB composite is i -> R, r -> G,
// g -> B with the Lupton et al. (2004) asinh stretch, as the SDSS ImgCutout JPEGs.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <numbers>
#include <string>
#include <vector>

#include "galml/core/error.hpp"
#include "galml/core/rng.hpp"
#include "galml/data/progress.hpp"
#include "galml/io/csv.hpp"
#include "galml/io/image.hpp"
#include "galml/mock/galaxies.hpp"

namespace galml::mock {

enum class PsfKind { gaussian, moffat };

struct MockImageOptions {
  int size = 64;                   // stamp is size x size pixels
  double pixel_arcsec = 0.396;     // SDSS camera
  bool ugriz = false;              // false: g, r, i only
  PsfKind psf = PsfKind::gaussian;
  double moffat_beta = 4.765;      // Trujillo et al. 2001 fit to seeing-limited PSFs
  double seeing_min_arcsec = 1.0, seeing_max_arcsec = 1.8;  // FWHM drawn per galaxy (SDSS median 1.4")
  double noise_scale = 1.0;        // multiplies the SDSS-depth sky noise
  double neighbour_fraction = 0.2; // galaxies with at least one neighbour (galaxy or star) in the stamp
  // RGB composite (Lupton et al. 2004): channel = scale_b * flux * asinh(Q I / stretch) / (Q I),
  // I = mean of the scaled g, r, i.
  double rgb_q = 8.0, rgb_stretch = 2.0;         // stretch in nanomaggies
  std::array<double, 3> rgb_scale = {1.0, 1.15, 1.6};  // i, r, g: balances the red SDSS throughput
  uint64_t seed = 42;   // combined with the galaxy index; use the survey seed
  int n_threads = 0;    // write_images: 0 = hardware concurrency
  bool progress = true;
  bool write_fits = true;  // one HDU per band (needs GALML_WITH_FITS)
  bool write_png = true;   // 8-bit RGB composite (needs GALML_HAVE_STB)
};

struct GalaxyImage {
  io::Image bands;                 // C x size x size, nanomaggies per pixel, sky-subtracted, with noise
  std::vector<std::string> names;  // "g","r","i" or "u","g","r","i","z"
  io::Image rgb;                   // 3 x size x size in [0, 1]: i -> R, r -> G, g -> B
  // What was used.
  double re_bulge_arcsec = 0, re_disc_arcsec = 0, bulge_fraction = 0, axis_ratio = 1, position_angle = 0;
  double seeing_arcsec = 0, mag_r = 0;
  std::array<double, 5> mag = {};  // model ugriz AB magnitudes of the galaxy (no neighbours, no noise)
  int neighbours = 0;
};

// ---------------------------------------------------------------------------------------------
// Cosmology and published relations

inline constexpr double kH0 = 70.0, kOmegaM = 0.3;

// Comoving distance (Mpc) in flat LambdaCDM: D_C = c/H0 * int_0^z dz' / E(z'), Simpson with 200 steps.
inline double comoving_distance_mpc(double z) {
  if (z <= 0) return 0;
  const int n = 200;
  const double h = z / n;
  auto inv_e = [](double x) { return 1.0 / std::sqrt(kOmegaM * (1 + x) * (1 + x) * (1 + x) + (1 - kOmegaM)); };
  double s = inv_e(0) + inv_e(z);
  for (int i = 1; i < n; ++i) s += (i % 2 ? 4.0 : 2.0) * inv_e(i * h);
  return detail::kC_kms / kH0 * s * h / 3.0;
}
inline double angular_diameter_distance_mpc(double z) { return comoving_distance_mpc(z) / (1 + z); }
inline double luminosity_distance_mpc(double z) { return comoving_distance_mpc(z) * (1 + z); }
// Angle (arcsec) subtended by a physical size in kpc at redshift z.
inline double kpc_to_arcsec(double kpc, double z) {
  return kpc / (angular_diameter_distance_mpc(z) * 1e3) * 206264.80624709636;
}

// Shen et al. 2003 (MNRAS 343, 978) r-band Sersic half-light radii (kpc), M in solar masses:
// early types R = 2.88e-6 M^0.56; late types R = 0.1 M^0.14 (1 + M/3.98e10)^(0.39 - 0.14).
inline double shen03_early_re_kpc(double log_mstar) { return 2.88e-6 * std::pow(10.0, 0.56 * log_mstar); }
inline double shen03_late_re_kpc(double log_mstar) {
  const double m = std::pow(10.0, log_mstar);
  return 0.1 * std::pow(m, 0.14) * std::pow(1 + m / 3.98e10, 0.39 - 0.14);
}

// Sersic b_n so that R_e encloses half the light (Ciotti & Bertin 1999 asymptotic expansion).
inline double sersic_bn(double n) {
  return 2 * n - 1.0 / 3 + 4.0 / (405 * n) + 46.0 / (25515 * n * n) + 131.0 / (1148175 * n * n * n);
}

// SDSS band effective wavelengths (A) and names.
inline constexpr std::array<double, 5> kUgrizLambda = {3551.0, 4686.0, 6166.0, 7480.0, 8932.0};
inline constexpr std::array<const char*, 5> kUgrizNames = {"u", "g", "r", "i", "z"};
// 1-sigma sky noise per 0.396" pixel in nanomaggies, from the SDSS 95% point-source depths
// (u 22.0, g 22.2, r 22.2, i 21.3, z 20.5) taken as 5 sigma in a 1.4" Gaussian PSF (~28 pixels).
inline constexpr std::array<double, 5> kSkySigmaNmgy = {0.060, 0.050, 0.050, 0.108, 0.237};

namespace detail {
// Rest-frame AB magnitudes relative to r at the ugriz effective wavelengths (approximate galaxy
// colours: old = red sequence, u-r 2.6 / g-r 0.78; young = blue cloud, u-r 1.0 / g-r 0.25), plus the
// UV/IR ends so the observed-frame lookup can extrapolate. Interpolated linearly in log lambda.
inline constexpr std::array<double, 7> kSedLambda = {2500.0, 3551.0, 4686.0, 6166.0, 7480.0, 8932.0, 11000.0};
inline constexpr std::array<double, 7> kSedOld = {4.3, 1.82, 0.78, 0.0, -0.40, -0.70, -0.95};
inline constexpr std::array<double, 7> kSedYoung = {1.0, 0.75, 0.25, 0.0, -0.10, -0.15, -0.20};
inline double sed_mag(const std::array<double, 7>& sed, double lam) {
  const double l = std::log(lam);
  if (lam <= kSedLambda[0]) return sed[0];
  for (size_t k = 1; k < kSedLambda.size(); ++k)
    if (lam <= kSedLambda[k]) {
      const double a = std::log(kSedLambda[k - 1]), b = std::log(kSedLambda[k]);
      return sed[k - 1] + (sed[k] - sed[k - 1]) * (l - a) / (b - a);
    }
  return sed.back();
}
// Flux (relative to r in the rest frame) of a young/old mix in the observed band at lam_obs.
inline double mix_flux(double f_young_r, double lam_obs, double z, double ebv_star) {
  const double lr = lam_obs / (1 + z);
  const double f = (1 - f_young_r) * std::pow(10.0, -0.4 * sed_mag(kSedOld, lr)) +
                   f_young_r * std::pow(10.0, -0.4 * sed_mag(kSedYoung, lr));
  return f * std::pow(10.0, -0.4 * ebv_star * calzetti_k(lr));
}

// Unit-flux elliptical Sersic profile, integrated over pixels by sub-sampling (finer near the
// centre, where the n = 4 cusp varies within a pixel). Light outside the stamp is lost, as in a cutout.
inline void add_sersic(std::vector<double>& img, int size, double cx, double cy, double re_pix, double n, double q,
                       double pa, double total) {
  re_pix = std::max(re_pix, 0.05);
  q = std::clamp(q, 0.05, 1.0);
  const double bn = sersic_bn(n);
  // I_e from the total: L = 2 pi n q Re^2 I_e e^bn bn^-2n Gamma(2n).
  const double ie = total / (2 * std::numbers::pi * n * q * re_pix * re_pix * std::exp(bn) * std::pow(bn, -2 * n) * std::tgamma(2 * n));
  const double c = std::cos(pa), s = std::sin(pa);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double dx0 = x - cx, dy0 = y - cy;
      const double r0 = std::sqrt(dx0 * dx0 + dy0 * dy0);
      const int sub = r0 < 2 ? 9 : r0 < 6 ? 5 : r0 < 3 * re_pix ? 3 : 1;
      double acc = 0;
      for (int j = 0; j < sub; ++j)
        for (int i = 0; i < sub; ++i) {
          const double dx = dx0 + (i + 0.5) / sub - 0.5, dy = dy0 + (j + 0.5) / sub - 0.5;
          const double u = dx * c + dy * s, v = (-dx * s + dy * c) / q;
          const double rr = std::sqrt(u * u + v * v) / re_pix;
          acc += std::exp(-bn * (std::pow(rr, 1.0 / n) - 1));
        }
      img[size_t(y) * size_t(size) + size_t(x)] += total > 0 ? ie * acc / (sub * sub) : 0;
    }
}

inline std::vector<double> psf_kernel(PsfKind kind, double fwhm_pix, double beta, int& half) {
  half = std::max(2, int(std::ceil(2.0 * fwhm_pix)));
  const int k = 2 * half + 1;
  std::vector<double> w(size_t(k) * size_t(k));
  const double sg = fwhm_pix / 2.3548200450309493;
  const double alpha = fwhm_pix / (2 * std::sqrt(std::pow(2.0, 1.0 / beta) - 1));
  double sum = 0;
  for (int y = -half; y <= half; ++y)
    for (int x = -half; x <= half; ++x) {
      const double r2 = double(x * x + y * y);
      const double v = kind == PsfKind::gaussian ? std::exp(-0.5 * r2 / (sg * sg)) : std::pow(1 + r2 / (alpha * alpha), -beta);
      w[size_t(y + half) * size_t(k) + size_t(x + half)] = v;
      sum += v;
    }
  for (double& v : w) v /= sum;  // flux-conserving; truncation at 2 FWHM loses < 1% (Moffat wings)
  return w;
}

// Zero-padded 2-D convolution (flux near the edge leaks out, as it would off a real cutout).
inline std::vector<double> convolve(const std::vector<double>& img, int size, const std::vector<double>& ker, int half) {
  std::vector<double> o(img.size(), 0.0);
  const int k = 2 * half + 1;
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double v = img[size_t(y) * size_t(size) + size_t(x)];
      if (v == 0) continue;
      for (int j = -half; j <= half; ++j) {
        const int yy = y + j;
        if (yy < 0 || yy >= size) continue;
        for (int i = -half; i <= half; ++i) {
          const int xx = x + i;
          if (xx < 0 || xx >= size) continue;
          o[size_t(yy) * size_t(size) + size_t(xx)] += v * ker[size_t(j + half) * size_t(k) + size_t(i + half)];
        }
      }
    }
  return o;
}
}  // namespace detail

// Lupton et al. (2004) asinh composite of three bands given as (R, G, B) = (i, r, g) flux images.
inline io::Image lupton_rgb(const io::Image& i_band, const io::Image& r_band, const io::Image& g_band,
                            const MockImageOptions& o = {}) {
  const int h = i_band.height, w = i_band.width;
  io::Image rgb;
  rgb.channels = 3;
  rgb.height = h;
  rgb.width = w;
  rgb.data.assign(size_t(3) * size_t(h) * size_t(w), 0.0f);
  const size_t hw = size_t(h) * size_t(w);
  for (size_t p = 0; p < hw; ++p) {
    std::array<double, 3> c = {o.rgb_scale[0] * i_band.data[p], o.rgb_scale[1] * r_band.data[p], o.rgb_scale[2] * g_band.data[p]};
    const double I = (c[0] + c[1] + c[2]) / 3;
    const double f = I > 0 ? std::asinh(o.rgb_q * I / o.rgb_stretch) / (o.rgb_q * I) : 0.0;
    double mx = 0;
    for (double& v : c) { v = std::max(0.0, v * f); mx = std::max(mx, v); }
    const double norm = mx > 1 ? 1 / mx : 1;  // saturate to white-ish while keeping the hue
    for (size_t k = 0; k < 3; ++k) rgb.data[k * hw + p] = float(c[k] * norm);
  }
  return rgb;
}

// Renders one galaxy. Same (truth, options) -> same pixels; independent of thread and call order.
inline GalaxyImage render_galaxy(const GalaxyTruth& t, const MockImageOptions& o) {
  GALML_CHECK(o.size >= 8 && o.pixel_arcsec > 0, "mock::render_galaxy: size must be >= 8 and pixel_arcsec > 0");
  Rng r(o.seed, 0x696d6700000000ull + uint64_t(t.index));  // "img" + index: separate from the spectra
  auto U = [&](double a, double b) { return r.uniform(a, b); };
  GalaxyImage g;
  const int S = o.size;
  const double zz = std::max(t.z, 1e-4);

  // Bulge fraction: passive bulge-dominated, star-forming disc-dominated; fewer young stars -> more bulge.
  static constexpr std::array<double, 4> bt_lo = {0.55, 0.0, 0.25, 0.3}, bt_hi = {0.9, 0.25, 0.55, 0.65};
  const size_t cls = size_t(std::clamp(t.cls, 0, 3));
  g.bulge_fraction = std::clamp(U(bt_lo[cls], bt_hi[cls]) + 0.2 * (0.3 - t.f_young), 0.0, 0.95);
  const double re_disc_kpc = shen03_late_re_kpc(t.log_mstar) * std::pow(10.0, r.normal(0, 0.12));
  const double re_bulge_kpc = std::min(shen03_early_re_kpc(t.log_mstar), 0.8 * re_disc_kpc) * std::pow(10.0, r.normal(0, 0.1));
  g.re_disc_arcsec = kpc_to_arcsec(re_disc_kpc, zz);
  g.re_bulge_arcsec = kpc_to_arcsec(re_bulge_kpc, zz);
  // Random inclination: q = sqrt(cos^2 i (1 - q0^2) + q0^2), intrinsic thickness q0 = 0.2.
  const double cosi = r.uniform();
  g.axis_ratio = std::sqrt(cosi * cosi * (1 - 0.04) + 0.04);
  const double q_bulge = U(0.7, 1.0);
  g.position_angle = U(0, std::numbers::pi);
  g.seeing_arcsec = U(o.seeing_min_arcsec, o.seeing_max_arcsec);
  const double cx = (S - 1) / 2.0 + U(-0.5, 0.5), cy = (S - 1) / 2.0 + U(-0.5, 0.5);

  // Brightness: M/L_r from 3 (old) to 0.8 (young) in solar units, M_r,sun = 4.65 (Willmer 2018).
  const double ml = std::pow(10.0, std::log10(3.0) * (1 - t.f_young) + std::log10(0.8) * t.f_young);
  const double abs_r = 4.65 - 2.5 * (t.log_mstar - std::log10(ml));
  const double dm = 5 * std::log10(luminosity_distance_mpc(zz) * 1e5);  // d in 10 pc units
  const double ebv_star = 0.44 * t.ebv_gas;
  // Normalise so the bulge+disc r-band flux gives m_r (dust included through the r-band factor).
  const double lam_r = kUgrizLambda[2];
  const double f_r_bulge = detail::mix_flux(0.0, lam_r, zz, ebv_star), f_r_disc = detail::mix_flux(t.f_young, lam_r, zz, ebv_star);
  const double unred_r = detail::mix_flux(0.0, lam_r, zz, 0.0) * g.bulge_fraction + detail::mix_flux(t.f_young, lam_r, zz, 0.0) * (1 - g.bulge_fraction);
  g.mag_r = abs_r + dm - 2.5 * std::log10((g.bulge_fraction * f_r_bulge + (1 - g.bulge_fraction) * f_r_disc) / unred_r);
  const double flux_r = std::pow(10.0, -0.4 * (g.mag_r - 22.5));
  const double bulge_amp = flux_r * g.bulge_fraction / (g.bulge_fraction * f_r_bulge + (1 - g.bulge_fraction) * f_r_disc);
  const double disc_amp = flux_r * (1 - g.bulge_fraction) / (g.bulge_fraction * f_r_bulge + (1 - g.bulge_fraction) * f_r_disc);

  // Unit-flux component maps (shape is the same in every band; only the amplitudes differ).
  const double pix = o.pixel_arcsec;
  std::vector<double> bulge(size_t(S) * size_t(S), 0.0), disc(bulge.size(), 0.0);
  detail::add_sersic(bulge, S, cx, cy, g.re_bulge_arcsec / pix, 4.0, q_bulge, g.position_angle, 1.0);
  detail::add_sersic(disc, S, cx, cy, g.re_disc_arcsec / pix, 1.0, g.axis_ratio, g.position_angle, 1.0);

  // Neighbours: another galaxy (random colour, fainter, smaller) or a star, away from the centre.
  struct Extra { std::vector<double> map; double amp_r, fy, z, red; bool star; };
  std::vector<Extra> extras;
  if (r.uniform() < o.neighbour_fraction) {
    const int n_extra = 1 + int(r.below(2));
    for (int k = 0; k < n_extra; ++k) {
      Extra e;
      e.map.assign(bulge.size(), 0.0);
      const double ang = U(0, 2 * std::numbers::pi), dist = U(0.2, 0.48) * S;
      const double ex = cx + dist * std::cos(ang), ey = cy + dist * std::sin(ang);
      e.star = r.uniform() < 0.4;
      e.amp_r = flux_r * std::pow(10.0, -0.4 * U(0.3, 3.5));
      e.fy = U(0.0, 0.9);
      e.z = zz * U(0.5, 2.0);  // a neighbour need not be at the same redshift
      e.red = U(0.0, 1.2);     // star colour: 0 = flat (hot), 1.2 = redder than an old population
      if (e.star) {
        const int ix = int(std::lround(ex)), iy = int(std::lround(ey));
        if (ix >= 0 && ix < S && iy >= 0 && iy < S) e.map[size_t(iy) * size_t(S) + size_t(ix)] = 1.0;
      } else {
        detail::add_sersic(e.map, S, ex, ey, U(0.5, 2.5) / pix, U(0.8, 4.0), U(0.3, 1.0), U(0, std::numbers::pi), 1.0);
      }
      extras.push_back(std::move(e));
    }
  }
  g.neighbours = int(extras.size());

  int half = 0;
  const auto ker = detail::psf_kernel(o.psf, g.seeing_arcsec / pix, o.moffat_beta, half);
  bulge = detail::convolve(bulge, S, ker, half);
  disc = detail::convolve(disc, S, ker, half);
  for (auto& e : extras) e.map = detail::convolve(e.map, S, ker, half);

  const std::vector<int> bands = o.ugriz ? std::vector<int>{0, 1, 2, 3, 4} : std::vector<int>{1, 2, 3};
  g.bands.channels = int(bands.size());
  g.bands.height = S;
  g.bands.width = S;
  g.bands.data.assign(bands.size() * size_t(S) * size_t(S), 0.0f);
  const double sky_scale = o.noise_scale * U(0.8, 1.3) * (0.396 / pix);  // per-field sky; per-pixel noise ~ 1/area
  for (size_t b = 0; b < 5; ++b) {
    const double lam = kUgrizLambda[b];
    const double fb = bulge_amp * detail::mix_flux(0.0, lam, zz, ebv_star) + disc_amp * detail::mix_flux(t.f_young, lam, zz, ebv_star);
    g.mag[b] = 22.5 - 2.5 * std::log10(fb);
  }
  for (size_t k = 0; k < bands.size(); ++k) {
    const size_t b = size_t(bands[k]);
    const double lam = kUgrizLambda[b];
    const double ab = bulge_amp * detail::mix_flux(0.0, lam, zz, ebv_star);
    const double ad = disc_amp * detail::mix_flux(t.f_young, lam, zz, ebv_star);
    std::vector<double> ae;
    for (const auto& e : extras)
      ae.push_back(e.star ? e.amp_r * std::pow(10.0, -0.4 * e.red * detail::sed_mag(detail::kSedOld, lam))
                          : e.amp_r * detail::mix_flux(e.fy, lam, e.z, 0.0) / detail::mix_flux(e.fy, lam_r, e.z, 0.0));
    const double sigma = kSkySigmaNmgy[b] * sky_scale;
    for (size_t p = 0; p < bulge.size(); ++p) {
      double v = ab * bulge[p] + ad * disc[p];
      for (size_t e = 0; e < extras.size(); ++e) v += ae[e] * extras[e].map[p];
      g.bands.data[k * bulge.size() + p] = float(v + sigma * r.normal());
    }
    g.names.push_back(kUgrizNames[b]);
  }
  const size_t hw = size_t(S) * size_t(S);
  auto plane = [&](const char* name) {
    io::Image im;
    im.channels = 1;
    im.height = S;
    im.width = S;
    for (size_t k = 0; k < g.names.size(); ++k)
      if (g.names[k] == name) im.data.assign(g.bands.data.begin() + std::ptrdiff_t(k * hw), g.bands.data.begin() + std::ptrdiff_t((k + 1) * hw));
    return im;
  };
  g.rgb = lupton_rgb(plane("i"), plane("r"), plane("g"), o);
  return g;
}

// Columns GCSNet's tabular branch (spec §3.1: z, snMedian, E(B-V), EW(H-alpha)) needs that
// catalog.csv (write_survey) lacks: z and snMedian_r are there; snMedian (all bands), E(B-V) and
// EW(H-alpha) are not. Named after the SpecObj / Portsmouth emissionLinesPort columns. Keyed by
// specobjid so the caller can join them onto catalog.csv (which may repeat rows).
inline const std::vector<std::string>& tabular_extra_columns() {
  static const std::vector<std::string> c = {"specobjid", "snMedian", "EBV", "EW_Ha_6562"};
  return c;
}
inline std::vector<std::string> tabular_extra_row(const MockGalaxy& g) {
  char b[3][48];
  std::snprintf(b[0], sizeof b[0], "%.4f", g.spectrum.sn_median_all);
  std::snprintf(b[1], sizeof b[1], "%.4f", g.truth.ebv_gas);  // Balmer-decrement E(B-V) of the gas
  std::snprintf(b[2], sizeof b[2], "%.3f", g.truth.ew_ha);    // emission positive
  return {std::to_string(g.truth.specobjid), b[0], b[1], b[2]};
}

struct ImageSurveySummary {
  int64_t galaxies = 0, fits_files = 0, png_files = 0;
  std::filesystem::path images_dir, index;
  std::vector<std::string> image;  // per galaxy: relative path (to out_dir) of its PNG, or FITS if no PNG
};

// Renders every galaxy and writes <out_dir>/images/<specobjid>.fits (one image HDU per band, EXTNAME =
// band, BUNIT nanomaggy) and <out_dir>/images/<specobjid>.png (RGB composite), then
// <out_dir>/images.csv with columns specobjid, image, image_fits. Galaxies render in parallel; output
// bytes do not depend on the thread count.
inline ImageSurveySummary write_images(const std::filesystem::path& out_dir, const std::vector<GalaxyTruth>& galaxies,
                                       const MockImageOptions& o) {
  namespace fs = std::filesystem;
  const fs::path dir = out_dir / "images";
  std::error_code ec;
  fs::create_directories(dir, ec);
  GALML_CHECK(!ec, "mock::write_images: cannot create '", dir.string(), "': ", ec.message());
#if !defined(GALML_WITH_FITS)
  [[maybe_unused]] const bool do_fits = false;
#else
  [[maybe_unused]] const bool do_fits = o.write_fits;
#endif
#if !defined(GALML_HAVE_STB)
  const bool do_png = false;
#else
  const bool do_png = o.write_png;
#endif
  const int64_t n = int64_t(galaxies.size());
  ImageSurveySummary sum;
  sum.galaxies = n;
  sum.images_dir = dir;
  sum.index = out_dir / "images.csv";
  sum.image.resize(galaxies.size());
  std::vector<std::string> fits_rel(galaxies.size());
  data::Progress prog("mock images", n, o.progress);
  data::parallel_items(n, o.n_threads, [&](int64_t k) {
    const GalaxyTruth& t = galaxies[size_t(k)];
    const GalaxyImage g = render_galaxy(t, o);
    const std::string stem = std::to_string(t.specobjid);
#if defined(GALML_WITH_FITS)
    if (do_fits) {
      const fs::path f = dir / (stem + ".fits");
      fs::remove(f);  // cfitsio refuses to overwrite
      io::FitsFile ff = io::FitsFile::create(f);
      ff.write_empty_primary();
      ff.write_key("ORIGIN", std::string("galml"), "galml::mock::write_images");
      ff.write_key("Z", t.z, "redshift of the mock galaxy");
      ff.write_key("PIXSCALE", o.pixel_arcsec, "arcsec per pixel");
      ff.write_key("SEEING", g.seeing_arcsec, "PSF FWHM, arcsec");
      const size_t hw = size_t(o.size) * size_t(o.size);
      for (size_t b = 0; b < g.names.size(); ++b) {
        std::vector<float> px(g.bands.data.begin() + std::ptrdiff_t(b * hw), g.bands.data.begin() + std::ptrdiff_t((b + 1) * hw));
        ff.write_image<float>(g.names[b], px, {o.size, o.size});
        ff.write_key("BUNIT", std::string("nanomaggy"), "m_AB = 22.5 - 2.5 log10(flux)");
        ff.write_key("FILTER", g.names[b]);
      }
      ff.commit();
      fits_rel[size_t(k)] = "images/" + stem + ".fits";
    }
#endif
#if defined(GALML_HAVE_STB)
    if (do_png) io::write_png(dir / (stem + ".png"), g.rgb, true);
#endif
    sum.image[size_t(k)] = do_png ? "images/" + stem + ".png" : fits_rel[size_t(k)];
    prog.add();
  });
  std::vector<std::vector<std::string>> rows;
  for (size_t k = 0; k < galaxies.size(); ++k) {
    rows.push_back({std::to_string(galaxies[k].specobjid), sum.image[k], fits_rel[k]});
    sum.fits_files += !fits_rel[k].empty();
    sum.png_files += do_png;
  }
  io::write_csv(sum.index, {"specobjid", "image", "image_fits"}, rows);
  return sum;
}

// Regenerates the galaxies of write_survey(out_dir, survey) (same seed -> same galaxies), renders their
// images with write_images, and writes <out_dir>/tabular_extra.csv (tabular_extra_columns()). Join both
// CSVs onto catalog.csv by specobjid for a multimodal (spectrum + image + tabular) dataset.
inline ImageSurveySummary write_survey_images(const std::filesystem::path& out_dir, const MockOptions& survey,
                                              MockImageOptions o) {
  o.seed = survey.seed;
  const std::vector<int> cls = survey_classes(survey);
  std::vector<GalaxyTruth> truth(cls.size());
  std::vector<std::vector<std::string>> extra(cls.size());
  data::parallel_items(int64_t(cls.size()), survey.n_threads, [&](int64_t k) {
    MockGalaxy g = make_galaxy(k, cls[size_t(k)], survey);
    extra[size_t(k)] = tabular_extra_row(g);
    truth[size_t(k)] = std::move(g.truth);
  });
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  GALML_CHECK(!ec, "mock::write_survey_images: cannot create '", out_dir.string(), "': ", ec.message());
  io::write_csv(out_dir / "tabular_extra.csv", tabular_extra_columns(), extra);
  return write_images(out_dir, truth, o);
}

}  // namespace galml::mock
