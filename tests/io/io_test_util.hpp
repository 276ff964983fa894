#pragma once
// Helpers shared by the io tests: locating the shared real-data folder (tests skip, not fail,
// without it) and scratch files.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace galml_io_test {

inline std::filesystem::path shared_dir() { return std::filesystem::path(GALML_SHARED_DIR); }

// True when `sub` exists under the shared folder; otherwise WARNs so the caller can SUCCEED.
inline bool have_shared(const std::string& sub) {
  auto p = shared_dir() / sub;
  if (std::filesystem::exists(p)) return true;
  WARN("skipping: shared data not found at " << p.string());
  return false;
}

inline std::filesystem::path tmp_path(const std::string& name) {
  auto d = std::filesystem::path(GALML_TEST_TMP_DIR) / "io";
  std::filesystem::create_directories(d);
  return d / name;
}

inline std::vector<char> slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void spit(const std::filesystem::path& p, const std::vector<char>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace galml_io_test
