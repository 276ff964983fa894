// The mock galaxies carry their labels only in their physics: a classical method (line fluxes from
// Gaussian fits on a linear continuum, Kauffmann/Kewley BPT lines, PP04 N2 metallicity) must recover
// them well above chance but not perfectly, with realistic metallicity scatter.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <vector>

#include <Eigen/Dense>

#include "galml/data/preprocess.hpp"
#include "galml/io/class_map.hpp"
#include "galml/mock/galaxies.hpp"

using namespace galml;
using namespace galml::mock;

namespace {
struct LineFit { double flux = 0, err = 1e30; };

// Fits a linear continuum plus Gaussians at fixed rest wavelengths (common width, scanned on a grid)
// within [lo, hi] rest-frame A, weighted by ivar. Returns one flux per line.
std::vector<LineFit> fit_lines(const io::Spectrum& s, double z, std::vector<double> centres, double lo, double hi) {
  std::vector<double> x, y, w;
  for (size_t i = 0; i < s.flux.size(); ++i) {
    const double lr = s.wavelength[i] / (1 + z);
    if (lr < lo || lr > hi || !(s.ivar[i] > 0)) continue;
    x.push_back(lr); y.push_back(s.flux[i]); w.push_back(std::sqrt(double(s.ivar[i])));
  }
  const int nl = int(centres.size()), np = nl + 2;
  std::vector<LineFit> best(static_cast<size_t>(nl));
  if (int(x.size()) < np + 5) return best;
  double best_chi = 1e300;
  for (double sig = 1.0; sig <= 9.0; sig += 0.25) {
    Eigen::MatrixXd A(x.size(), np);
    Eigen::VectorXd b(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      A(long(i), 0) = w[i];
      A(long(i), 1) = w[i] * (x[i] - 0.5 * (lo + hi)) / 100.0;
      for (int k = 0; k < nl; ++k) {
        const double d = x[i] - centres[size_t(k)];
        A(long(i), 2 + k) = w[i] * std::exp(-0.5 * d * d / (sig * sig)) / (2.5066 * sig);
      }
      b(long(i)) = w[i] * y[i];
    }
    const Eigen::MatrixXd AtA = A.transpose() * A;
    const Eigen::VectorXd c = AtA.ldlt().solve(A.transpose() * b);
    const double chi = (A * c - b).squaredNorm();
    if (chi < best_chi) {
      best_chi = chi;
      const Eigen::MatrixXd cov = AtA.inverse();
      for (int k = 0; k < nl; ++k) best[size_t(k)] = {c(2 + k) / (1 + z), std::sqrt(cov(2 + k, 2 + k)) / (1 + z)};
    }
  }
  return best;
}

struct Measured { double hb, o3, ha, n2; double sn_hb, sn_o3, sn_ha, sn_n2; };
Measured measure(const io::Spectrum& s, double z) {
  namespace L = lines;
  auto b = fit_lines(s, z, {L::Hbeta, L::OIII_4959, L::OIII_5007}, L::Hbeta - 50, L::OIII_5007 + 40);
  auto r = fit_lines(s, z, {L::NII_6548, L::Halpha, L::NII_6584}, L::NII_6548 - 45, L::NII_6584 + 45);
  return {b[0].flux, b[2].flux, r[1].flux, r[2].flux, b[0].flux / b[0].err, b[2].flux / b[2].err, r[1].flux / r[1].err,
          r[2].flux / r[2].err};
}
// MPA-JHU style: all four BPT lines at S/N >= 3, else unclassifiable (our "passive").
int classify(const Measured& m) {
  if (m.sn_hb < 3 || m.sn_o3 < 3 || m.sn_ha < 3 || m.sn_n2 < 3) return 0;
  return bpt_class(std::log10(m.n2 / m.ha), std::log10(m.o3 / m.hb));
}
}  // namespace

TEST_CASE("mock: published relations", "[mock]") {
  CHECK(kauffmann03(-0.5) == Approx(0.61 / -0.55 + 1.3));
  CHECK(kewley01(0.0) == Approx(0.61 / -0.47 + 1.19));
  CHECK(pp04_n2_oh(pp04_n2_inverse(8.4)) == Approx(8.4));
  CHECK(pp04_o3n2_oh(pp04_o3n2_inverse(8.4)) == Approx(8.4));
  CHECK(tremonti04_mzr(10.0) == Approx(-1.492 + 18.47 - 8.026));
  CHECK(cardelli_k(5500.0) == Approx(3.1).margin(0.05));          // A_V/E(B-V) = R_V
  CHECK(calzetti_k(5500.0) == Approx(4.05).margin(0.05));
  CHECK(cardelli_k(4861.0) - cardelli_k(6563.0) == Approx(1.08).margin(0.03));  // CCM: 3.61 - 2.53
}

TEST_CASE("mock: galaxies are deterministic per (seed, index) and physically tagged", "[mock]") {
  MockOptions o;
  o.seed = 7;
  auto a = make_galaxy(3, 1, o), b = make_galaxy(3, 1, o), c = make_galaxy(4, 1, o);
  CHECK(a.spectrum.flux == b.spectrum.flux);
  CHECK(a.spectrum.flux != c.spectrum.flux);
  CHECK(a.truth.specobjid != c.truth.specobjid);
  CHECK(a.spectrum.wavelength.front() < 3840.0);
  CHECK(a.spectrum.wavelength.back() > 9000.0);
  CHECK(std::abs(std::log10(a.spectrum.wavelength[1]) - std::log10(a.spectrum.wavelength[0]) - 1e-4) < 1e-9);
  auto cls = survey_classes(o);
  std::array<int, 4> n{};
  for (int k : cls) ++n[size_t(k)];
  CHECK(n == std::array<int, 4>{100, 100, 100, 100});
}

TEST_CASE("mock: classical BPT + N2 recover the labels with realistic scatter", "[mock][physics]") {
  MockOptions o;
  o.seed = 2024;
  o.n_per_class = 150;
  auto cls = survey_classes(o);
  std::array<std::array<int, 4>, 4> conf{};
  int correct = 0, total = 0;
  std::vector<double> doh;
  std::array<std::vector<double>, 4> d4000;
  for (size_t k = 0; k < cls.size(); ++k) {
    auto g = make_galaxy(int64_t(k), cls[k], o);
    const auto& t = g.truth;
    const int label = io::agreed_galaxy_class(t.bptclass, t.port_bpt);
    if (label < 0 || t.z < o.z_min || t.z > o.z_max || t.snr_target < 5) continue;  // the selection's cuts
    // 4000 A break (Balogh 1999 narrow definition) from the rest-frame spectrum.
    {
      double blue = 0, red = 0; int nb = 0, nr = 0;
      for (size_t i = 0; i < g.spectrum.flux.size(); ++i) {
        const double lr = g.spectrum.wavelength[i] / (1 + t.z);
        if (lr >= 3850 && lr <= 3950) { blue += g.spectrum.flux[i]; ++nb; }
        if (lr >= 4000 && lr <= 4100) { red += g.spectrum.flux[i]; ++nr; }
      }
      if (nb && nr) d4000[size_t(label)].push_back((red / nr) / (blue / nb));
    }
    const Measured m = measure(g.spectrum, t.z);
    const int pred = classify(m);
    ++conf[size_t(label)][size_t(pred)];
    correct += pred == label;
    ++total;
    if (label == 1 && t.oh_p50 > 0 && pred == 1 && m.sn_n2 >= 3 && m.sn_ha >= 3)
      doh.push_back(pp04_n2_oh(std::log10(m.n2 / m.ha)) - t.oh_p50);
  }
  const double acc = double(correct) / total;
  double mean = 0, rms = 0;
  for (double d : doh) mean += d;
  mean /= double(doh.size());
  for (double d : doh) rms += (d - mean) * (d - mean);
  rms = std::sqrt(rms / double(doh.size()));
  std::vector<double> ad;
  for (double d : doh) ad.push_back(std::abs(d));
  std::sort(ad.begin(), ad.end());
  std::printf("mock recovery: %d galaxies, BPT accuracy %.3f\n", total, acc);
  std::printf("confusion (rows true P/SF/C/AGN, cols predicted):\n");
  for (int i = 0; i < 4; ++i) std::printf("  %4d %4d %4d %4d\n", conf[size_t(i)][0], conf[size_t(i)][1], conf[size_t(i)][2], conf[size_t(i)][3]);
  std::printf("N2 metallicity vs oh_p50: n=%zu bias %.3f dex, scatter %.3f dex, median |d| %.3f dex\n", doh.size(), mean, rms,
              ad[ad.size() / 2]);
  auto med = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
  std::printf("median D4000n: passive %.2f SF %.2f composite %.2f AGN %.2f\n", med(d4000[0]), med(d4000[1]), med(d4000[2]), med(d4000[3]));
  CHECK(acc > 0.6);   // well above chance (0.25)
  CHECK(acc < 0.98);  // but noise and weak lines make it imperfect
  CHECK(doh.size() > 50);
  CHECK(std::abs(mean) < 0.1);
  CHECK(rms > 0.03);
  CHECK(rms < 0.2);
  CHECK(med(d4000[0]) > med(d4000[1]) + 0.2);  // old stars: stronger 4000 A break
}
