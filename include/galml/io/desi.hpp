#pragma once
// DESI coadd reader: one Spectrum per FIBERMAP row, with the B, R and Z arms merged onto the union
// of their wavelength grids. Where arms overlap (B/R 5760-5800 A, R/Z 7520-7620 A) the merged flux
// is the inverse-variance weighted mean and ivar the summed ivar; where the summed ivar is 0, the
// plain mean (so masked overlap pixels keep a value instead of 0/0). The merged and_mask is the AND
// of the contributing arm masks (bad only where every arm is bad), mirroring SDSS and_mask.
//
// Blanked targets (all flux 0 and all ivar 0, e.g. sky fibres or targets trimmed from the public
// example files) are still returned, with `flag` set, so callers can report why they reject them.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "galml/io/fits.hpp"
#include "galml/io/spectrum.hpp"

namespace galml::io {

inline std::vector<Spectrum> read_desi_coadd(const std::filesystem::path& path) {
  FitsFile f = FitsFile::open(path);
  f.move_to("FIBERMAP");
  auto tid = f.read_column<int64_t>("TARGETID");
  const size_t ntarget = static_cast<size_t>(tid.nrows);
  std::vector<double> ra(ntarget, std::numeric_limits<double>::quiet_NaN()), dec = ra;
  if (f.has_column("TARGET_RA") && f.has_column("TARGET_DEC")) {
    ra = f.read_column<double>("TARGET_RA").values;
    dec = f.read_column<double>("TARGET_DEC").values;
  }

  struct Arm {
    std::vector<double> wave;
    std::vector<float> flux, ivar;
    std::vector<int64_t> mask;
  };
  std::vector<Arm> arms;
  for (const char* a : {"B", "R", "Z"}) {
    std::string p(a);
    if (!f.has_hdu(p + "_WAVELENGTH")) continue;
    Arm arm;
    arm.wave = f.read_image<double>(p + "_WAVELENGTH").data;
    const size_t npix = arm.wave.size();
    auto check2d = [&](const std::vector<long long>& dims, const std::string& name) {
      if (dims.size() != 2 || static_cast<size_t>(dims[0]) != npix || static_cast<size_t>(dims[1]) != ntarget)
        f.fail_msg(name + " must be " + std::to_string(npix) + " x " + std::to_string(ntarget) +
                   " (wavelengths x FIBERMAP rows)");
    };
    auto fl = f.read_image<float>(p + "_FLUX");
    check2d(fl.dims, p + "_FLUX");
    arm.flux = std::move(fl.data);
    auto iv = f.read_image<float>(p + "_IVAR");
    check2d(iv.dims, p + "_IVAR");
    arm.ivar = std::move(iv.data);
    if (f.has_hdu(p + "_MASK")) {
      // Stored as uint32 (BZERO = 2^31): read through int64 so no value overflows.
      auto m = f.read_image<int64_t>(p + "_MASK");
      check2d(m.dims, p + "_MASK");
      arm.mask = std::move(m.data);
    }
    for (size_t i = 1; i < npix; ++i)
      if (!(arm.wave[i] > arm.wave[i - 1]))
        f.fail_msg(p + "_WAVELENGTH is not strictly increasing at pixel " + std::to_string(i));
    arms.push_back(std::move(arm));
  }
  if (arms.empty()) f.move_to("B_WAVELENGTH");  // throws, listing the HDUs the file has

  // Union grid: pixels of different arms closer than a tenth of the finest step are the same pixel.
  struct Ref { double lam; size_t arm, pix; };
  std::vector<Ref> refs;
  double min_step = std::numeric_limits<double>::infinity();
  for (size_t a = 0; a < arms.size(); ++a) {
    for (size_t i = 0; i < arms[a].wave.size(); ++i) {
      refs.push_back({arms[a].wave[i], a, i});
      if (i) min_step = std::min(min_step, arms[a].wave[i] - arms[a].wave[i - 1]);
    }
  }
  const double tol = std::isfinite(min_step) ? 0.1 * min_step : 1e-6;
  std::stable_sort(refs.begin(), refs.end(), [](const Ref& x, const Ref& y) { return x.lam < y.lam; });
  std::vector<std::vector<Ref>> groups;
  for (const auto& r : refs) {
    if (groups.empty() || r.lam - groups.back().front().lam > tol) groups.emplace_back();
    groups.back().push_back(r);
  }

  std::vector<Spectrum> out(ntarget);
  for (size_t t = 0; t < ntarget; ++t) {
    Spectrum& s = out[t];
    s.source = path.string();
    s.layout = "desi-coadd";
    s.targetid = std::to_string(tid.values[t]);
    s.ra = ra.at(t);
    s.dec = dec.at(t);
    s.wavelength.resize(groups.size());
    s.flux.resize(groups.size());
    s.ivar.resize(groups.size());
    s.and_mask.resize(groups.size());
    bool any_flux = false, any_ivar = false;
    for (size_t g = 0; g < groups.size(); ++g) {
      double wsum = 0, fw = 0, fsum = 0;
      int32_t mask = ~0;
      for (const auto& r : groups[g]) {
        const Arm& arm = arms[r.arm];
        size_t k = t * arm.wave.size() + r.pix;
        double fl = arm.flux[k], iv = arm.ivar[k];
        if (!(iv > 0)) iv = 0;  // negative / NaN ivar is "no information"
        wsum += iv;
        fw += iv * fl;
        fsum += fl;
        mask &= arm.mask.empty() ? 0 : static_cast<int32_t>(static_cast<uint32_t>(arm.mask[k]));
      }
      s.wavelength[g] = groups[g].front().lam;
      s.flux[g] = static_cast<float>(wsum > 0 ? fw / wsum : fsum / static_cast<double>(groups[g].size()));
      s.ivar[g] = static_cast<float>(wsum);
      s.and_mask[g] = mask;
      any_flux = any_flux || s.flux[g] != 0.0f;
      any_ivar = any_ivar || wsum > 0;
    }
    if (!any_flux) s.flag = "blank: flux is all zero";
    else if (!any_ivar) s.flag = "no valid pixels: ivar is all zero";
  }
  return out;
}

}  // namespace galml::io
