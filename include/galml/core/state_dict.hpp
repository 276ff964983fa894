#pragma once
// StateDict: an ordered map name -> typed array. The single currency for saving and loading
// everything (network parameters and buffers, optimizer moments, scheduler and task-weighting state,
// RNG counters). The on-disk format is versioned and written atomically (temporary file + rename), so a
// crash mid-write never destroys the previous checkpoint.
//
// File layout (little endian):
//   magic "GALMLSD\0" (8 bytes), u32 format version, u64 entry count, then per entry:
//   u32 name length, name bytes, u8 dtype, u32 rank, i64 dims[rank], u64 byte count, raw bytes.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "galml/core/error.hpp"

namespace galml {

enum class DType : uint8_t { f32 = 0, f64 = 1, i64 = 2, u8 = 3 };

template <class T> constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::f32;
  else if constexpr (std::is_same_v<T, double>) return DType::f64;
  else if constexpr (std::is_same_v<T, int64_t>) return DType::i64;
  else { static_assert(std::is_same_v<T, uint8_t>, "StateDict supports float, double, int64_t, uint8_t"); return DType::u8; }
}
inline size_t dtype_size(DType d) { return d == DType::f32 ? 4 : d == DType::u8 ? 1 : 8; }
inline const char* dtype_name(DType d) {
  switch (d) { case DType::f32: return "float32"; case DType::f64: return "float64"; case DType::i64: return "int64"; default: return "uint8"; }
}

struct NamedArray {
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;

  int64_t numel() const { int64_t n = 1; for (auto d : shape) n *= d; return n; }

  template <class T> static NamedArray from(const T* data, std::vector<int64_t> shape) {
    NamedArray a; a.dtype = dtype_of<T>(); a.shape = std::move(shape);
    a.bytes.resize(size_t(a.numel()) * sizeof(T));
    if (!a.bytes.empty()) std::memcpy(a.bytes.data(), data, a.bytes.size());
    return a;
  }
  template <class T> static NamedArray scalar(T v) { return from<T>(&v, {}); }

  // Copy out, converting float<->double when needed (so a float model loads a double checkpoint).
  template <class T> void copy_to(T* out, int64_t n, const std::string& name = "") const {
    GALML_CHECK(n == numel(), "state dict entry '", name, "': expected ", n, " elements, file has ", numel());
    auto conv = [&](auto* src) { for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(src[i]); };
    switch (dtype) {
      case DType::f32: conv(reinterpret_cast<const float*>(bytes.data())); break;
      case DType::f64: conv(reinterpret_cast<const double*>(bytes.data())); break;
      case DType::i64: conv(reinterpret_cast<const int64_t*>(bytes.data())); break;
      case DType::u8: conv(reinterpret_cast<const uint8_t*>(bytes.data())); break;
    }
  }
  template <class T> std::vector<T> to_vector() const { std::vector<T> v(static_cast<size_t>(numel())); copy_to(v.data(), numel()); return v; }
  template <class T> T item() const { T v{}; copy_to(&v, 1); return v; }
};

class StateDict {
 public:
  static constexpr uint32_t kFormatVersion = 1;

  void set(const std::string& name, NamedArray a) { entries_[name] = std::move(a); }
  template <class T> void set(const std::string& name, const T* data, std::vector<int64_t> shape) {
    entries_[name] = NamedArray::from(data, std::move(shape));
  }
  template <class T> void set_vector(const std::string& name, const std::vector<T>& v) {
    set(name, v.data(), {int64_t(v.size())});
  }
  template <class T> void set_scalar(const std::string& name, T v) { entries_[name] = NamedArray::scalar(v); }

  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  const NamedArray& at(const std::string& name) const {
    auto it = entries_.find(name);
    GALML_CHECK(it != entries_.end(), "state dict has no entry '", name, "'");
    return it->second;
  }
  template <class T> T scalar(const std::string& name) const { return at(name).template item<T>(); }
  template <class T> std::vector<T> vector(const std::string& name) const { return at(name).template to_vector<T>(); }

  const std::map<std::string, NamedArray>& entries() const { return entries_; }
  std::map<std::string, NamedArray>& entries() { return entries_; }
  size_t size() const { return entries_.size(); }

  // Merge `other` under a prefix ("optim." + name ...).
  void merge(const StateDict& other, const std::string& prefix) {
    for (auto& [k, v] : other.entries_) entries_[prefix + k] = v;
  }
  StateDict sub(const std::string& prefix) const {
    StateDict s;
    for (auto& [k, v] : entries_) if (k.rfind(prefix, 0) == 0) s.entries_[k.substr(prefix.size())] = v;
    return s;
  }

  void save(const std::filesystem::path& path) const {
    auto tmp = path; tmp += ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      GALML_CHECK(f.good(), "cannot open '", tmp.string(), "' for writing");
      f.write("GALMLSD", 8);
      put<uint32_t>(f, kFormatVersion);
      put<uint64_t>(f, entries_.size());
      for (auto& [k, v] : entries_) {
        put<uint32_t>(f, uint32_t(k.size())); f.write(k.data(), std::streamsize(k.size()));
        put<uint8_t>(f, uint8_t(v.dtype)); put<uint32_t>(f, uint32_t(v.shape.size()));
        for (auto d : v.shape) put<int64_t>(f, d);
        put<uint64_t>(f, v.bytes.size());
        f.write(reinterpret_cast<const char*>(v.bytes.data()), std::streamsize(v.bytes.size()));
      }
      f.flush();
      GALML_CHECK(f.good(), "write to '", tmp.string(), "' failed (disk full?)");
    }
    std::filesystem::rename(tmp, path);
  }

  static StateDict load(const std::filesystem::path& path) {
    std::ifstream f(path, std::ios::binary);
    GALML_CHECK(f.good(), "cannot open state dict '", path.string(), "'");
    const auto fsize = std::filesystem::file_size(path);
    char magic[8] = {};
    f.read(magic, 8);
    GALML_CHECK(f.good() && std::memcmp(magic, "GALMLSD", 8) == 0, "'", path.string(), "' is not a galml state dict (bad magic)");
    const auto ver = get<uint32_t>(f, path);
    GALML_CHECK(ver >= 1 && ver <= kFormatVersion, "'", path.string(), "': state dict format version ", ver,
                " is not supported (this galml reads up to ", kFormatVersion, ")");
    const auto n = get<uint64_t>(f, path);
    GALML_CHECK(n < (1u << 24), "'", path.string(), "': implausible entry count ", n, " (corrupt file?)");
    StateDict sd;
    for (uint64_t i = 0; i < n; ++i) {
      const auto len = get<uint32_t>(f, path);
      GALML_CHECK(len < 4096, "'", path.string(), "': entry ", i, " has an implausible name length (corrupt file?)");
      std::string name(len, '\0'); f.read(name.data(), len);
      NamedArray a;
      const auto dt = get<uint8_t>(f, path);
      GALML_CHECK(dt <= 3, "'", path.string(), "': entry '", name, "' has unknown dtype ", int(dt));
      a.dtype = DType(dt);
      const auto rank = get<uint32_t>(f, path);
      GALML_CHECK(rank <= 8, "'", path.string(), "': entry '", name, "' has rank ", rank, " (corrupt file?)");
      a.shape.resize(rank);
      for (auto& d : a.shape) { d = get<int64_t>(f, path); GALML_CHECK(d >= 0, "'", path.string(), "': negative dimension in '", name, "'"); }
      const auto nb = get<uint64_t>(f, path);
      GALML_CHECK(nb <= fsize && nb == uint64_t(a.numel()) * dtype_size(a.dtype),
                  "'", path.string(), "': entry '", name, "' byte count does not match its shape (corrupt file?)");
      a.bytes.resize(nb);
      f.read(reinterpret_cast<char*>(a.bytes.data()), std::streamsize(nb));
      GALML_CHECK(f.good(), "'", path.string(), "' is truncated inside entry '", name, "'");
      sd.entries_[name] = std::move(a);
    }
    return sd;
  }

 private:
  template <class T> static void put(std::ofstream& f, T v) { f.write(reinterpret_cast<const char*>(&v), sizeof(T)); }
  template <class T> static T get(std::ifstream& f, const std::filesystem::path& p) {
    T v{}; f.read(reinterpret_cast<char*>(&v), sizeof(T));
    GALML_CHECK(f.good(), "'", p.string(), "' is truncated (unexpected end of file)");
    return v;
  }
  std::map<std::string, NamedArray> entries_;
};

}  // namespace galml
