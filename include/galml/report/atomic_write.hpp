#pragma once
// Atomic text-file writes for every report writer: write to a unique temporary file in the target
// folder, then rename over the target. A crash or a concurrent reader never sees a half-written
// report, and rename within one folder is atomic on POSIX.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "galml/core/error.hpp"

namespace galml::report {

namespace atomic_detail {
// A temporary name in the target's folder (rename is atomic only within one file system), unique per
// thread and call, so two writers of the same file never share a temporary.
inline std::filesystem::path temporary_beside(const std::filesystem::path& path) {
  static std::atomic<unsigned long> counter{0};
  auto tmp = path;
  tmp += ".tmp." + std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()) % 100000) + "." +
         std::to_string(counter++);
  return tmp;
}
}  // namespace atomic_detail

inline void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  namespace fs = std::filesystem;
  if (path.has_parent_path() && !fs::exists(path.parent_path())) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    GALML_CHECK(!ec, "cannot create folder '", path.parent_path().string(), "': ", ec.message());
  }
  const auto tmp = atomic_detail::temporary_beside(path);
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    GALML_CHECK(f.good(), "cannot open '", tmp.string(), "' for writing");
    f.write(content.data(), std::streamsize(content.size()));
    f.flush();
    if (!f.good()) {
      f.close();
      std::error_code ec;
      fs::remove(tmp, ec);
      GALML_CHECK(false, "write to '", tmp.string(), "' failed (disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ec2;
    fs::remove(tmp, ec2);
    GALML_CHECK(false, "cannot rename '", tmp.string(), "' to '", path.string(), "': ", ec.message());
  }
}

// Copy `from` over `to` so that a reader (or a later --resume after a kill) sees either the old or the new
// file whole: copy to a unique temporary beside `to`, then rename. Used for best.ckpt.
inline void copy_file_atomic(const std::filesystem::path& from, const std::filesystem::path& to) {
  namespace fs = std::filesystem;
  const auto tmp = atomic_detail::temporary_beside(to);
  std::error_code ec;
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(tmp, to, ec);
  if (ec) {
    std::error_code ec2;
    fs::remove(tmp, ec2);
    GALML_CHECK(false, "cannot copy '", from.string(), "' to '", to.string(), "': ", ec.message());
  }
}

}  // namespace galml::report
