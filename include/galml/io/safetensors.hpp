#pragma once
// safetensors (https://github.com/huggingface/safetensors) reading and writing, and import/export of
// a galml Model's parameters and buffers under PyTorch module names.
//
// File layout: u64 little-endian header length n; n bytes of JSON
//   {"<name>": {"dtype": "F32", "shape": [16, 1, 3], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value"}}
// (offsets relative to the end of the header, padded here with spaces to a multiple of 8); then the
// raw little-endian data. Supported dtypes: F32, F64 (weights), I64 and U8 (e.g. BatchNorm's
// num_batches_tracked). Writes are atomic: temporary file in the same folder, then rename.
//
// Names. A galml Model names entries "trunk.<i>.<param>" and "heads.<head>.<i>.<param>" (see
// Model::visit). A NameMap turns a galml name into the name used in the file:
//   NameMap{}                      identity (files written by galml itself)
//   NameMap(std::map<...>)         exact table galml -> PyTorch; a model entry missing from it is an error
//   NameMap(callable)              any std::string(const std::string&); returning "" skips the entry
//   prefix_name_map({...})         longest-prefix rewriting, e.g. {"trunk.", "features."}
//   order_name_map(model, names)   pairs entries BY ORDER (the rule is documented at the function)
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "galml/core/error.hpp"
#include "galml/core/state_dict.hpp"

namespace galml {

static_assert(std::endian::native == std::endian::little, "galml safetensors I/O assumes a little-endian host");

// ---- raw file I/O ----

struct SafetensorsFile {
  std::map<std::string, NamedArray> tensors;
  std::map<std::string, std::string> metadata;
  std::vector<std::string> order;  // tensor names sorted by data offset (= the writer's order)
};

namespace detail {
inline const char* st_dtype_name(DType d) {
  switch (d) { case DType::f32: return "F32"; case DType::f64: return "F64"; case DType::i64: return "I64"; default: return "U8"; }
}
inline DType st_dtype(const std::string& s, const std::string& name, const std::filesystem::path& path) {
  if (s == "F32") return DType::f32;
  if (s == "F64") return DType::f64;
  if (s == "I64") return DType::i64;
  if (s == "U8") return DType::u8;
  throw Error(detail::cat("safetensors file ", path.string(), ": tensor '", name, "' has dtype ", s,
                  " (galml reads F32, F64, I64 and U8; convert half precision weights to float32 first)"));
}
}  // namespace detail

inline SafetensorsFile read_safetensors(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  GALML_CHECK(f.good(), "cannot open safetensors file ", path.string());
  const uint64_t fsize = std::filesystem::file_size(path);
  GALML_CHECK(fsize >= 8, "safetensors file ", path.string(), " is too short (", fsize, " bytes)");
  uint64_t hlen = 0;
  f.read(reinterpret_cast<char*>(&hlen), 8);
  GALML_CHECK(hlen >= 2 && hlen <= fsize - 8 && hlen <= (uint64_t(100) << 20), "safetensors file ", path.string(),
              ": header length ", hlen, " does not fit a file of ", fsize, " bytes (truncated or not safetensors)");
  std::string header(size_t(hlen), '\0');
  f.read(header.data(), std::streamsize(hlen));
  GALML_CHECK(f.good(), "safetensors file ", path.string(), ": cannot read the header");
  nlohmann::json j;
  try { j = nlohmann::json::parse(header); }
  catch (const std::exception& e) { throw Error(detail::cat("safetensors file ", path.string(), ": header is not valid JSON: ", e.what())); }
  GALML_CHECK(j.is_object(), "safetensors file ", path.string(), ": header is not a JSON object");
  const uint64_t data_size = fsize - 8 - hlen;
  std::vector<unsigned char> data(static_cast<size_t>(data_size));
  if (data_size) f.read(reinterpret_cast<char*>(data.data()), std::streamsize(data_size));
  GALML_CHECK(f.good(), "safetensors file ", path.string(), ": cannot read the data section");

  SafetensorsFile out;
  std::vector<std::pair<uint64_t, std::string>> by_offset;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const auto& e = it.value();
    if (name == "__metadata__") {
      GALML_CHECK(e.is_object(), "safetensors file ", path.string(), ": __metadata__ must be an object");
      for (auto m = e.begin(); m != e.end(); ++m)
        out.metadata[m.key()] = m.value().is_string() ? m.value().get<std::string>() : m.value().dump();
      continue;
    }
    try {
      NamedArray a;
      a.dtype = detail::st_dtype(e.at("dtype").get<std::string>(), name, path);
      a.shape = e.at("shape").get<std::vector<int64_t>>();
      for (auto d : a.shape) GALML_CHECK(d >= 0, "negative dimension");
      const auto off = e.at("data_offsets").get<std::vector<uint64_t>>();
      GALML_CHECK(off.size() == 2 && off[0] <= off[1] && off[1] <= data_size, "data_offsets [", off.size() ? off[0] : 0, ", ",
                  off.size() > 1 ? off[1] : 0, "] outside the ", data_size, "-byte data section");
      GALML_CHECK(off[1] - off[0] == uint64_t(a.numel()) * dtype_size(a.dtype), "data_offsets span ", off[1] - off[0],
                  " bytes, shape and dtype need ", uint64_t(a.numel()) * dtype_size(a.dtype));
      a.bytes.assign(data.begin() + std::ptrdiff_t(off[0]), data.begin() + std::ptrdiff_t(off[1]));
      out.tensors.emplace(name, std::move(a));
      by_offset.emplace_back(off[0], name);
    } catch (const Error& err) {
      throw Error(detail::cat("safetensors file ", path.string(), ": tensor '", name, "': ", err.what()));
    } catch (const nlohmann::json::exception& err) {
      throw Error(detail::cat("safetensors file ", path.string(), ": tensor '", name, "' has a malformed entry: ", err.what()));
    }
  }
  std::stable_sort(by_offset.begin(), by_offset.end());
  for (auto& [o, n] : by_offset) out.order.push_back(n);
  return out;
}

// Writes tensors in the given order (data offsets follow it), atomically.
inline void write_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, NamedArray>>& tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
  nlohmann::ordered_json h;
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t off = 0;
  std::set<std::string> seen;
  for (auto& [name, a] : tensors) {
    GALML_CHECK(!name.empty() && name != "__metadata__", "safetensors: invalid tensor name '", name, "'");
    GALML_CHECK(seen.insert(name).second, "safetensors: tensor name '", name, "' appears twice");
    GALML_CHECK(a.bytes.size() == size_t(a.numel()) * dtype_size(a.dtype), "safetensors: tensor '", name, "' has inconsistent size");
    h[name] = {{"dtype", detail::st_dtype_name(a.dtype)}, {"shape", a.shape}, {"data_offsets", {off, off + a.bytes.size()}}};
    off += a.bytes.size();
  }
  std::string header = h.dump();
  header.append((8 - header.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned
  // Temporary file next to the target, then rename: a crash never leaves a half-written file.
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const auto tmp = dir / (path.filename().string() + ".tmp" + std::to_string(std::random_device{}()));
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    GALML_CHECK(f.good(), "cannot create ", tmp.string());
    const uint64_t hlen = header.size();
    f.write(reinterpret_cast<const char*>(&hlen), 8);
    f.write(header.data(), std::streamsize(header.size()));
    for (auto& t : tensors) f.write(reinterpret_cast<const char*>(t.second.bytes.data()), std::streamsize(t.second.bytes.size()));
    f.flush();
    if (!f.good()) { f.close(); std::filesystem::remove(tmp); throw Error(detail::cat("writing ", tmp.string(), " failed (disk full?)")); }
  }
  std::filesystem::rename(tmp, path);
}

// ---- galml name <-> file name ----

class NameMap {
 public:
  NameMap() = default;  // identity
  NameMap(std::map<std::string, std::string> table)
      : fn_([t = std::move(table)](const std::string& n) {
          auto it = t.find(n);
          if (it == t.end()) throw Error(detail::cat("name map: no file name for model entry '", n, "' (map it, or use a function that returns \"\" to skip it)"));
          return it->second;
        }) {}
  template <class F>
    requires std::is_invocable_r_v<std::string, F, const std::string&> && (!std::is_same_v<std::decay_t<F>, NameMap>)
  NameMap(F f) : fn_(std::move(f)) {}
  // File name of a model entry; "" means skip it.
  std::string operator()(const std::string& galml_name) const { return fn_ ? fn_(galml_name) : galml_name; }

 private:
  std::function<std::string(const std::string&)> fn_;
};

// Longest matching galml prefix is replaced; names without a matching prefix are unchanged. E.g. for
// a PyTorch module with self.features = nn.Sequential(...) (same layer list, parameterless layers
// included, as the galml trunk), self.se, self.cls_head, self.reg_head:
//   prefix_name_map({{"trunk.", "features."}, {"trunk.25.", "se."}, {"heads.cls.", "cls_head."}, {"heads.z.", "reg_head."}})
inline NameMap prefix_name_map(std::vector<std::pair<std::string, std::string>> rules) {
  std::sort(rules.begin(), rules.end(), [](auto& a, auto& b) { return a.first.size() > b.first.size(); });
  return NameMap([rules = std::move(rules)](const std::string& n) -> std::string {
    for (auto& [from, to] : rules) if (n.rfind(from, 0) == 0) return to + n.substr(from.size());
    return n;
  });
}

// Names of a model's entries (parameters and buffers) in visit order.
template <class M> std::vector<std::string> model_entry_names(M& model, bool include_buffers = true) {
  struct V {
    std::vector<std::string>* out; bool buffers;
    void param(const std::string& n, typename M::scalar*, typename M::scalar*, std::vector<int64_t>) { out->push_back(n); }
    void buffer(const std::string& n, typename M::scalar*, std::vector<int64_t>) { if (buffers) out->push_back(n); }
  };
  std::vector<std::string> names;
  V v{&names, include_buffers};
  model.visit(v);
  return names;
}

// Map by order, for a PyTorch model whose parameters are registered in data-flow order (an
// nn.Sequential trunk, or modules assigned in __init__ in the order forward() uses them):
//   the k-th galml entry in Model::visit order (trunk layers in order, then the heads in Heads<...>
//   order; inside a layer weight, bias, then running_mean, running_var) is paired with the k-th name
//   of `file_names`, which must list the PyTorch state_dict() keys in order WITHOUT
//   "num_batches_tracked" (list(m.state_dict().keys())), or only named_parameters() keys with
//   include_buffers = false. The counts must agree; shapes are checked on import.
// SafetensorsFile::order gives the names in data-offset order, which is state_dict order for files
// written tensor by tensor from a state dict (as galml and plain writers do; the `safetensors`
// package sorts by dtype and name, so pass the key list explicitly for those files).
template <class M> NameMap order_name_map(M& model, std::vector<std::string> file_names, bool include_buffers = true) {
  std::erase_if(file_names, [](const std::string& n) { return n.ends_with("num_batches_tracked"); });
  const auto names = model_entry_names(model, include_buffers);
  GALML_CHECK(names.size() == file_names.size(), "order_name_map: the model has ", names.size(), " entries, the name list has ",
              file_names.size(), " (different architecture, or buffers included on one side only?)");
  std::map<std::string, std::string> t;
  for (size_t i = 0; i < names.size(); ++i) t[names[i]] = file_names[i];
  if (!include_buffers) return NameMap([t](const std::string& n) { auto it = t.find(n); return it == t.end() ? std::string() : it->second; });
  return NameMap(std::move(t));
}

// ---- model import / export ----

struct SafetensorsImportOptions {
  bool strict = true;  // every model entry must be in the file, and every file tensor must be used
                       // (except *num_batches_tracked, which galml does not keep)
};

namespace detail {
inline std::string shape_to_string(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ", ";
    r += std::to_string(s[i]);
  }
  return r + "]";
}
inline std::vector<int64_t> squeeze_ones(std::vector<int64_t> s) { std::erase(s, int64_t(1)); return s; }
}  // namespace detail

// Loads every parameter and buffer of `model` from a safetensors file, converting F32/F64 as needed.
// Shapes must agree, up to size-1 dimensions (a Conv1d k=1 weight [H, C, 1] loads into a [H, C] one).
template <class M>
void import_safetensors(M& model, const std::filesystem::path& path, const NameMap& name_map = {}, SafetensorsImportOptions opt = {}) {
  using T = typename M::scalar;
  using B = typename M::backend;
  const SafetensorsFile file = read_safetensors(path);
  std::vector<std::string> missing;
  std::set<std::string> used;
  auto load = [&](const std::string& n, T* d, const std::vector<int64_t>& shape) {
    const std::string fname = name_map(n);
    if (fname.empty()) return;
    auto it = file.tensors.find(fname);
    if (it == file.tensors.end()) { missing.push_back(n + " (as '" + fname + "')"); return; }
    const NamedArray& a = it->second;
    GALML_CHECK(a.shape == shape || detail::squeeze_ones(a.shape) == detail::squeeze_ones(shape), "safetensors import from ",
                path.string(), ": '", fname, "' has shape ", detail::shape_to_string(a.shape), ", model entry '", n, "' needs ", detail::shape_to_string(shape));
    GALML_CHECK(a.dtype == DType::f32 || a.dtype == DType::f64, "safetensors import: '", fname, "' is ", dtype_name(a.dtype),
                ", a model entry needs F32 or F64");
    std::vector<T> host(static_cast<size_t>(a.numel()));
    a.copy_to(host.data(), a.numel(), fname);
    allocator<B>::copy_from_host(d, host.data(), host.size() * sizeof(T));
    used.insert(fname);
  };
  struct V {
    decltype(load)* f;
    void param(const std::string& n, T* d, T*, std::vector<int64_t> s) { (*f)(n, d, s); }
    void buffer(const std::string& n, T* d, std::vector<int64_t> s) { (*f)(n, d, s); }
  } v{&load};
  model.visit(v);
  if (opt.strict) {
    GALML_CHECK(missing.empty(), "safetensors import from ", path.string(), ": ", missing.size(), " model entries not in the file, first: ",
                missing.empty() ? "" : missing[0]);
    for (auto& [k, a] : file.tensors)
      GALML_CHECK(used.count(k) || k.ends_with("num_batches_tracked"), "safetensors import from ", path.string(), ": file tensor '", k,
                  "' matches no model entry (different architecture or name map?)");
  }
}

// Writes every parameter and buffer (in the model's scalar type: F32 for float models), named by
// name_map, in visit order. Entries mapped to "" are left out.
template <class M>
void export_safetensors(M& model, const std::filesystem::path& path, const NameMap& name_map = {},
                        const std::map<std::string, std::string>& metadata = {{"format", "pt"}}) {
  using T = typename M::scalar;
  using B = typename M::backend;
  std::vector<std::pair<std::string, NamedArray>> out;
  auto put = [&](const std::string& n, const T* d, const std::vector<int64_t>& shape) {
    const std::string fname = name_map(n);
    if (fname.empty()) return;
    int64_t k = 1; for (auto x : shape) k *= x;
    std::vector<T> host(static_cast<size_t>(k));
    allocator<B>::copy_to_host(host.data(), d, size_t(k) * sizeof(T));
    out.emplace_back(fname, NamedArray::from(host.data(), shape));
  };
  struct V {
    decltype(put)* f;
    void param(const std::string& n, T* d, T*, std::vector<int64_t> s) { (*f)(n, d, s); }
    void buffer(const std::string& n, T* d, std::vector<int64_t> s) { (*f)(n, d, s); }
  } v{&put};
  model.visit(v);
  write_safetensors(path, out, metadata);
}

}  // namespace galml
