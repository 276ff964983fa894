// Downstream use of galml's FITS component: write a tiny image + header key with
// galml::io::FitsFile, read it back, compare. Exits non-zero on any mismatch.
#include <galml/io/fits.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const fs::path path = (argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path()) / "galml_downstream.fits";
  fs::remove(path);
  const std::vector<float> pixels = {1.0f, 2.5f, -3.0f, 4.25f, 0.0f, 6.0f};
  {
    auto f = galml::io::FitsFile::create(path);
    f.write_image<float>("", pixels, {3, 2});
    f.write_key("OBJECT", std::string("downstream"));
    f.commit();
  }
  auto f = galml::io::FitsFile::open(path);
  const auto img = f.read_image<float>();
  const auto obj = f.key<std::string>("OBJECT");
  const bool ok = img.data == pixels && img.dims == std::vector<long long>{3, 2} && obj && *obj == "downstream";
  f.close();
  fs::remove(path);
  std::printf("galml downstream FITS round trip: %s (%zu pixels)\n", ok ? "ok" : "FAIL", img.data.size());
  return ok ? 0 : 1;
}
