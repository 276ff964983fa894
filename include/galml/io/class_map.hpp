#pragma once
// MTLforGalSpecZ Table 1 (spec §1.1): galaxy class from the MPA-JHU galSpecExtra `bptclass` and the
// Portsmouth emissionLinesPort BPT string. Only galaxies whose two classes agree are kept; the
// class indices follow the table order (an assumption recorded in the spec).
//
//   0 Passive       bptclass -1     Portsmouth "BLANK"
//   1 Star-forming  bptclass 1, 2   "Star Forming"
//   2 Composite     bptclass 3      "Composite"
//   3 AGN           bptclass 4, 5   "LINER", "Seyfert", "LINER/Seyfert"
#include <array>
#include <cctype>
#include <string>
#include <string_view>

namespace galml::io {

inline constexpr int kClassDisagreeOrUnknown = -1;
inline constexpr std::array<const char*, 4> kGalaxyClassNames = {"Passive", "Star-forming", "Composite", "AGN"};

// galSpecExtra bptclass -> class index, or kClassDisagreeOrUnknown for values outside the table.
inline int class_from_bptclass(int bptclass) {
  switch (bptclass) {
    case -1: return 0;
    case 1: case 2: return 1;
    case 3: return 2;
    case 4: case 5: return 3;
    default: return kClassDisagreeOrUnknown;
  }
}

// emissionLinesPort BPT string -> class index; case- and space-insensitive ("star forming",
// "StarForming", " LINER / Seyfert "). An empty string is unknown, not "BLANK": a missing value
// must not silently become Passive.
inline int class_from_portsmouth_bpt(std::string_view bpt) {
  std::string k;
  for (char c : bpt)
    if (!std::isspace(static_cast<unsigned char>(c))) k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (k == "blank") return 0;
  if (k == "starforming") return 1;
  if (k == "composite") return 2;
  if (k == "liner" || k == "seyfert" || k == "liner/seyfert" || k == "seyfert/liner") return 3;
  return kClassDisagreeOrUnknown;
}

// The label used for training: the class when both catalogues give the same one, else -1.
inline int agreed_galaxy_class(int bptclass, std::string_view portsmouth_bpt) {
  int a = class_from_bptclass(bptclass), b = class_from_portsmouth_bpt(portsmouth_bpt);
  return (a != kClassDisagreeOrUnknown && a == b) ? a : kClassDisagreeOrUnknown;
}

}  // namespace galml::io
