// Unit tests of the spectrum transforms and scalers on analytic inputs.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>

#include "galml/data/preprocess.hpp"

using namespace galml;
using namespace galml::data;

namespace {
io::Spectrum linear_spectrum(double w0, double w1, double dw, double a, double b) {  // flux = a + b * lambda
  io::Spectrum s;
  for (double w = w0; w <= w1 + 1e-9; w += dw) {
    s.wavelength.push_back(w);
    s.flux.push_back(float(a + b * w));
    s.ivar.push_back(1.0f);
  }
  return s;
}
}  // namespace

TEST_CASE("LinearGrid sizes", "[data][preprocess]") {
  CHECK(kMtlGrid.size() == 5161);
  CHECK(kGcsRestGrid.size() == 1600);
  CHECK(kGcsRestGrid.last() == 6998.0);
}

TEST_CASE("InterpolateToGrid is exact on a linear function and checks coverage", "[data][preprocess]") {
  auto s = linear_spectrum(3800.3, 9100.0, 1.37, 2.0, 0.001);
  REQUIRE_FALSE(InterpolateToGrid{}(s).has_value());
  REQUIRE(s.flux.size() == 5161);
  for (size_t i = 0; i < s.flux.size(); i += 97) CHECK(s.flux[i] == Approx(2.0 + 0.001 * (3840.0 + double(i))).epsilon(1e-6));
  CHECK(s.wavelength.back() == 9000.0);

  auto t = linear_spectrum(3850.2, 9100.0, 1.0, 1, 0);
  auto r = InterpolateToGrid{}(t);
  REQUIRE(r.has_value());
  CHECK(*r == "grid not covered: spectrum starts at 3850.2 \xC3\x85 > 3840 \xC3\x85");
  auto u = linear_spectrum(3800, 8990.5, 1.0, 1, 0);
  CHECK(InterpolateToGrid{}(u)->find("spectrum ends at 8990 \xC3\x85 < 9000") != std::string::npos);
  // Without the coverage check the edges are held constant (numpy.interp).
  auto v = linear_spectrum(3850.0, 9100.0, 1.0, 0, 1);
  REQUIRE_FALSE(InterpolateToGrid{kMtlGrid, false}(v).has_value());
  CHECK(v.flux[0] == 3850.0f);
}

TEST_CASE("InterpolateToGrid does not let a bad pixel look good", "[data][preprocess]") {
  auto s = linear_spectrum(3800, 9100, 1.0, 1, 0);
  s.ivar[100] = 0;  // 3900 A
  s.and_mask.assign(s.flux.size(), 0);
  s.and_mask[100] = 4;
  REQUIRE_FALSE(InterpolateToGrid{LinearGrid{3899.5, 3901, 0.5}, true}(s).has_value());
  CHECK(s.ivar[0] == 0.0f);  // 3899.5 between 3899 and 3900 (bad)
  CHECK(s.ivar[1] == 0.0f);  // exactly 3900
  CHECK(s.and_mask[0] == 4);
}

TEST_CASE("ToRestFrame divides by 1+z", "[data][preprocess]") {
  auto s = linear_spectrum(4000, 4010, 5, 1, 0);
  s.z = 0.25;
  REQUIRE_FALSE(ToRestFrame{}(s).has_value());
  CHECK(s.wavelength[0] == Approx(3200.0));
  s.z = std::numeric_limits<double>::quiet_NaN();
  CHECK(ToRestFrame{}(s).has_value());
}

TEST_CASE("per-sample normalisations", "[data][preprocess]") {
  io::Spectrum s;
  s.flux = {1, 2, 3, 4, 10};
  s.ivar = {1, 1, 1, 1, 1};
  s.wavelength = {1, 2, 3, 4, 5};
  auto m = s;
  REQUIRE_FALSE(MeanNormalize{}(m).has_value());
  CHECK(m.flux[4] == Approx(10.0 / 4.0));
  CHECK(m.ivar[0] == Approx(16.0));  // S/N unchanged
  auto md = s;
  REQUIRE_FALSE(MedianNormalize{}(md).has_value());
  CHECK(md.flux[0] == Approx(1.0 / 3.0));
  auto mm = s;
  REQUIRE_FALSE(MinMaxNormalize{}(mm).has_value());
  CHECK(mm.flux[0] == 0.0f);
  CHECK(mm.flux[4] == 1.0f);
  CHECK(mm.flux[1] == Approx(1.0 / 9.0));
  auto rb = s;
  REQUIRE_FALSE(RobustNormalize{}(rb).has_value());  // median 3, Q1 2, Q3 4 (numpy linear)
  CHECK(rb.flux[0] == Approx(-1.0));
  CHECK(rb.flux[4] == Approx(3.5));

  io::Spectrum neg = s;
  for (auto& f : neg.flux) f = -f;
  auto r = MeanNormalize{}(neg);
  REQUIRE(r.has_value());
  CHECK(r->find("mean flux -4 <= 0") != std::string::npos);
  CHECK(MedianNormalize{}(neg).has_value());
  io::Spectrum flat = s;
  flat.flux.assign(5, 2.0f);
  CHECK(MinMaxNormalize{}(flat).has_value());
  auto rf = RejectFlat{}(flat);
  REQUIRE(rf.has_value());
  CHECK(rf->find("flat spectrum") == 0);
  CHECK_FALSE(RejectFlat{}(s).has_value());
  io::Spectrum zero = s;
  zero.flux.assign(5, 0.0f);
  CHECK(RejectFlat{}(zero).has_value());
  REQUIRE_FALSE(RobustNormalize{}(zero).has_value());  // IQR floored: no division by zero
  CHECK(zero.flux[0] == 0.0f);
}

TEST_CASE("HandleNonFinite: reject, interpolate, zero", "[data][preprocess]") {
  auto s = linear_spectrum(1000, 1009, 1, 0, 1);  // flux = lambda
  s.flux[3] = std::numeric_limits<float>::quiet_NaN();
  s.flux[4] = std::numeric_limits<float>::infinity();
  s.flux[9] = std::numeric_limits<float>::quiet_NaN();
  auto r = HandleNonFinite{}(s);
  REQUIRE(r.has_value());
  CHECK(*r == "3 non-finite flux value(s), first at 1003 \xC3\x85");
  auto a = s;
  REQUIRE_FALSE(HandleNonFinite{HandleNonFinite::Mode::interpolate}(a).has_value());
  CHECK(a.flux[3] == Approx(1003.0));
  CHECK(a.flux[4] == Approx(1004.0));
  CHECK(a.flux[9] == Approx(1008.0));  // edge: nearest finite value
  CHECK(a.ivar[3] == 0.0f);
  CHECK(a.ivar[2] == 1.0f);
  auto z = s;
  REQUIRE_FALSE(HandleNonFinite{HandleNonFinite::Mode::zero}(z).has_value());
  CHECK(z.flux[4] == 0.0f);
  auto all = s;
  all.flux.assign(all.flux.size(), std::numeric_limits<float>::quiet_NaN());
  CHECK(HandleNonFinite{HandleNonFinite::Mode::interpolate}(all).has_value());
}

TEST_CASE("Savitzky-Golay keeps polynomials up to its order and smooths noise", "[data][preprocess]") {
  io::Spectrum s;
  for (int i = 0; i < 60; ++i) {
    const double x = i * 0.1;
    s.wavelength.push_back(4000 + i);
    s.flux.push_back(float(1.0 + 0.5 * x - 0.3 * x * x + 0.05 * x * x * x));
  }
  auto orig = s.flux;
  REQUIRE_FALSE(SavitzkyGolay{11, 3}(s).has_value());
  for (size_t i = 0; i < s.flux.size(); ++i) CHECK(s.flux[i] == Approx(orig[i]).margin(2e-5));
  // Known scipy coefficients: savgol_coeffs(5, 2) = [-3, 12, 17, 12, -3] / 35.
  io::Spectrum d;
  d.flux = {0, 0, 0, 0, 1, 0, 0, 0, 0};
  d.wavelength = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  REQUIRE_FALSE(SavitzkyGolay{5, 2}(d).has_value());
  CHECK(d.flux[4] == Approx(17.0 / 35.0));
  CHECK(d.flux[3] == Approx(12.0 / 35.0));
  CHECK(d.flux[2] == Approx(-3.0 / 35.0));
  io::Spectrum shortspec;
  shortspec.flux = {1, 2, 3};
  CHECK(SavitzkyGolay{5, 2}(shortspec).has_value());
  CHECK_THROWS_AS((SavitzkyGolay{4, 2}(d)), Error);
}

TEST_CASE("LogLamAlign places pixels by wavelength, pads with zeros, NaN -> 0", "[data][preprocess]") {
  io::Spectrum s;
  for (int i = 0; i < 10; ++i) {
    s.wavelength.push_back(std::pow(10.0, 3.5798 + 1e-4 * (5 + i)));  // starts at pixel 5
    s.flux.push_back(float(i + 1));
  }
  s.flux[2] = std::numeric_limits<float>::quiet_NaN();
  auto v = LogLamAlign{3.5798, 1e-4, 12}(s);
  REQUIRE(v.size() == 12);
  CHECK(v[4] == 0.0f);
  CHECK(v[5] == 1.0f);
  CHECK(v[7] == 0.0f);   // NaN
  CHECK(v[11] == 7.0f);  // truncated after pixel 11
}

TEST_CASE("Pipeline reports the first rejection with its step", "[data][preprocess]") {
  auto s = linear_spectrum(3850.2, 9100, 1, 1, 0);
  auto r = mtl_pipeline()(s);
  REQUIRE(r.has_value());
  CHECK(*r == "interpolate: grid not covered: spectrum starts at 3850.2 \xC3\x85 > 3840 \xC3\x85");
  auto t = linear_spectrum(3800, 9100, 1, 2, 0);
  REQUIRE_FALSE(mtl_pipeline()(t).has_value());
  CHECK(t.flux.size() == 5161);
  CHECK(t.flux[100] == Approx(1.0));
}

TEST_CASE("scalers fit on train, transform, invert, save/load", "[data][preprocess]") {
  // 4 samples x 2 features
  std::vector<float> x = {1, 10, 2, 20, 3, 30, 4, 1000};
  StandardScaler z;
  z.fit(x, 2);
  CHECK(z.center()[0] == Approx(2.5));
  CHECK(z.scale()[0] == Approx(std::sqrt(1.25)));
  auto y = x;
  z.transform(y);
  CHECK(y[0] == Approx((1 - 2.5) / std::sqrt(1.25)));
  z.inverse_transform(y);
  for (size_t i = 0; i < x.size(); ++i) CHECK(y[i] == Approx(x[i]));
  RobustScaler rs;
  rs.fit(x, 2);
  CHECK(rs.center()[1] == Approx(25.0));               // median of 10, 20, 30, 1000
  CHECK(rs.scale()[1] == Approx(272.5 - 17.5));         // Q3 - Q1 (numpy linear)
  const auto path = std::filesystem::path(GALML_TEST_TMP_DIR) / "robust_scaler.sd";
  rs.state_dict().save(path);
  RobustScaler back;
  back.load_state_dict(StateDict::load(path));
  std::vector<float> a = {5, 50}, b = a;
  rs.transform(a);
  back.transform(b);
  CHECK(a == b);
  std::vector<float> bad = {1, 2, 3};
  CHECK_THROWS_AS(z.transform(bad), Error);
  StandardScaler unfit;
  CHECK_THROWS_AS(unfit.transform(b), Error);
}
