#pragma once
// galml's version. Kept equal to project(galml VERSION ...) in the top-level CMakeLists.txt: CMake
// stops at configure time when they differ, and the CTest test install_version_header compares them
// too. Bump both together (and CHANGELOG.md).
#define GALML_VERSION_MAJOR 0
#define GALML_VERSION_MINOR 1
#define GALML_VERSION_PATCH 0
#define GALML_VERSION_STRING "0.1.0"
// One comparable number: major * 10000 + minor * 100 + patch.
#define GALML_VERSION (GALML_VERSION_MAJOR * 10000 + GALML_VERSION_MINOR * 100 + GALML_VERSION_PATCH)

namespace galml {
inline constexpr int version_major = GALML_VERSION_MAJOR;
inline constexpr int version_minor = GALML_VERSION_MINOR;
inline constexpr int version_patch = GALML_VERSION_PATCH;
inline constexpr const char* version_string = GALML_VERSION_STRING;
}  // namespace galml
