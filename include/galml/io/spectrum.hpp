#pragma once
// Plain data types shared by the FITS readers/writers, the mock survey and the preprocessing code.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace galml::io {

// One 1-D spectrum as read from an SDSS spec/spec-lite file (COADD HDU + SPECOBJ/SPALL row) or a
// DESI coadd file (arms merged). Wavelengths in Angstrom (vacuum, observed frame), flux in
// 1e-17 erg/s/cm^2/A, ivar = 1/sigma^2 (0 = bad pixel), and_mask as in SDSS (0 when absent).
struct Spectrum {
  std::string source;                 // file path it came from ("" when synthetic)
  std::vector<double> wavelength;     // strictly increasing
  std::vector<float> flux;
  std::vector<float> ivar;
  std::vector<int32_t> and_mask;      // may be empty
  // Metadata (NaN / -1 / "" when the file does not have it).
  double z = std::numeric_limits<double>::quiet_NaN();
  int32_t zwarning = -1;
  std::string cls, subclass;          // CLASS, SUBCLASS
  double sn_median_all = std::numeric_limits<double>::quiet_NaN();
  double sn_median_r = std::numeric_limits<double>::quiet_NaN();   // SN_MEDIAN[2] (r band) when present
  int32_t plate = -1, mjd = -1, fiberid = -1;
  double ra = std::numeric_limits<double>::quiet_NaN(), dec = std::numeric_limits<double>::quiet_NaN();
  std::string targetid;               // DESI TARGETID or SDSS SPECOBJID as text, "" when absent
  // Added by the I/O layer. layout: which file layout the reader recognised ("sdss-coadd",
  // "sdss-wavelength-table", "desi-coadd"; "" when synthetic). flag: "" when usable, otherwise why
  // a reader thinks the spectrum is unusable (e.g. a blanked DESI target with all-zero flux).
  std::string layout;
  std::string flag;
};

}  // namespace galml::io
