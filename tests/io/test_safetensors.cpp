// safetensors I/O: the MTLforGalSpecZ network built in PyTorch (tests/golden/make_safetensors_golden.py,
// short 1x1500 input) is imported into the same galml Net and must give PyTorch's eval-mode outputs
// for both heads within 1e-5 (float32). Also: the two name maps agree, export writes PyTorch names
// and bytes back unchanged, round trips, BatchNorm buffers, and malformed files are refused.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "galml/galml.hpp"
#include "galml/io/safetensors.hpp"

using namespace galml;

namespace {

// Flat trunk (as PyTorch's nn.Sequential `features`): 25 layers, SE at 25, GAP at 26.
using MTL = Net<Input<"spectrum", 1, 1500>,
                Conv1D<16, 3>, ReLU, Conv1D<16, 3>, ReLU, MaxPool1D<3>,
                Conv1D<32, 3>, ReLU, Conv1D<32, 3>, ReLU, MaxPool1D<3>,
                Conv1D<64, 3>, ReLU, Conv1D<64, 3>, ReLU, MaxPool1D<3>,
                Conv1D<128, 3>, ReLU, Conv1D<128, 3>, ReLU, MaxPool1D<3>,
                Conv1D<256, 3>, ReLU, Conv1D<256, 3>, ReLU, MaxPool1D<3>,
                SEAttention<16>, GlobalAvgPool1D,
                Heads<Head<"cls", Dropout<0.5>, Dense<128>, ReLU, Dense<64>, ReLU, Dense<4>>,
                      Head<"z", Dropout<0.5>, Dense<128>, ReLU, Dense<64>, ReLU, Dense<1>>>>;

std::string golden(const std::string& f) { return std::string(GALML_TEST_DATA_DIR) + "/golden/safetensors/" + f; }
std::string tmp(const std::string& f) { return std::string(GALML_TEST_TMP_DIR) + "/" + f; }

NameMap mtl_prefix_map() {
  return prefix_name_map({{"trunk.", "features."}, {"trunk.25.", "se."}, {"heads.cls.", "cls_head."}, {"heads.z.", "reg_head."}});
}

// Max |galml - torch| / max(1, |torch|) over both heads.
double output_error(Model<MTL>& m, const SafetensorsFile& io) {
  const auto x = io.tensors.at("input").to_vector<float>();
  Tensor<float> in = Tensor<float>::from(x, {4, 1, 1500});
  m.eval();
  m.forward(in);
  double err = 0;
  for (const char* h : {"cls", "z"}) {
    const auto want = io.tensors.at(h).to_vector<double>();
    const auto& got = m.output(h);
    REQUIRE(got.numel() == int64_t(want.size()));
    for (size_t i = 0; i < want.size(); ++i) err = std::max(err, std::abs(double(got[int64_t(i)]) - want[i]) / std::max(1.0, std::abs(want[i])));
  }
  return err;
}
}  // namespace

TEST_CASE("MTLforGalSpecZ weights from PyTorch give PyTorch's outputs", "[io][safetensors]") {
  STATIC_REQUIRE(Model<MTL>::num_params == 484581);  // spec section 1.2
  const auto io = read_safetensors(golden("mtl_io.safetensors"));
  Model<MTL> a;
  const double before = output_error(a, io);
  import_safetensors(a, golden("mtl_weights.safetensors"), mtl_prefix_map());
  const double err = output_error(a, io);
  std::cout << "  safetensors MTLforGalSpecZ: max output error " << err << " (before import " << before << ")\n";
  CHECK(before > 1e-2);
  CHECK(err < 1e-5);

  // The by-order map (PyTorch state_dict order = data-offset order of this file) gives the same model.
  const auto wf = read_safetensors(golden("mtl_weights.safetensors"));
  CHECK(wf.order.front() == "features.0.weight");
  Model<MTL> b;
  import_safetensors(b, golden("mtl_weights.safetensors"), order_name_map(b, wf.order));
  CHECK(std::equal(a.params(), a.params() + Model<MTL>::num_params, b.params()));

  // Export under PyTorch names: same names, same order, same bytes as the PyTorch file.
  export_safetensors(a, tmp("mtl_export.safetensors"), mtl_prefix_map());
  const auto ex = read_safetensors(tmp("mtl_export.safetensors"));
  REQUIRE(ex.order == wf.order);
  for (auto& [k, v] : wf.tensors) {
    INFO(k);
    CHECK(ex.tensors.at(k).shape == v.shape);
    CHECK(ex.tensors.at(k).bytes == v.bytes);
  }
  CHECK(ex.metadata.at("format") == "pt");

  // galml-named round trip (identity map), and a double model loads the float file.
  export_safetensors(a, tmp("mtl_galml.safetensors"));
  Model<MTL> c;
  import_safetensors(c, tmp("mtl_galml.safetensors"));
  CHECK(output_error(c, io) < 1e-5);
  Model<MTL, double> d;
  import_safetensors(d, golden("mtl_weights.safetensors"), mtl_prefix_map());
  CHECK(d.params()[100] == double(a.params()[100]));
}

TEST_CASE("safetensors name maps: table, function, strictness", "[io][safetensors]") {
  using N = Net<Input<"x", 2, 8>, Conv1D<3, 3>, BatchNorm1D<>, ReLU, GlobalAvgPool1D, Dense<2>>;
  manual_seed(3);
  Model<N> a;
  a.train();
  Tensor<float> x({4, 2, 8});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = float(std::sin(double(i)));
  a.forward(x);  // moves the BatchNorm running statistics away from 0 / 1
  const std::map<std::string, std::string> table{
      {"trunk.0.weight", "net.0.weight"}, {"trunk.0.bias", "net.0.bias"}, {"trunk.1.weight", "net.1.weight"},
      {"trunk.1.bias", "net.1.bias"}, {"trunk.1.running_mean", "net.1.running_mean"}, {"trunk.1.running_var", "net.1.running_var"},
      {"trunk.4.weight", "fc.weight"}, {"trunk.4.bias", "fc.bias"}};
  export_safetensors(a, tmp("bn.safetensors"), NameMap(table));
  auto f = read_safetensors(tmp("bn.safetensors"));
  REQUIRE(f.tensors.size() == 8);
  CHECK(f.tensors.at("net.1.running_mean").to_vector<float>() != std::vector<float>(3, 0.0f));
  manual_seed(4);
  Model<N> b;
  import_safetensors(b, tmp("bn.safetensors"), NameMap(table));
  CHECK(b.state_dict().vector<float>("trunk.1.running_var") == a.state_dict().vector<float>("trunk.1.running_var"));
  CHECK(std::equal(a.params(), a.params() + Model<N>::num_params, b.params()));

  // A function that skips the buffers: strict import then misses nothing it was asked for, but the
  // file's running statistics are unused -> refused unless non-strict.
  NameMap params_only([&](const std::string& n) { return n.find("running") != std::string::npos ? std::string() : table.at(n); });
  REQUIRE_THROWS_WITH(import_safetensors(b, tmp("bn.safetensors"), params_only), Catch::Contains("net.1.running_mean"));
  import_safetensors(b, tmp("bn.safetensors"), params_only, {.strict = false});

  // A table without an entry, and an identity import of PyTorch-named data, are refused by name.
  auto partial = table; partial.erase("trunk.4.bias");
  REQUIRE_THROWS_WITH(export_safetensors(a, tmp("bn2.safetensors"), NameMap(partial)), Catch::Contains("trunk.4.bias"));
  REQUIRE_THROWS_WITH(import_safetensors(b, tmp("bn.safetensors")), Catch::Contains("trunk.0.weight"));
  // Wrong shapes are refused with both shapes.
  using N2 = Net<Input<"x", 2, 8>, Conv1D<4, 3>, BatchNorm1D<>, ReLU, GlobalAvgPool1D, Dense<2>>;
  Model<N2> c;
  REQUIRE_THROWS_WITH(import_safetensors(c, tmp("bn.safetensors"), NameMap(table)), Catch::Contains("[3, 2, 3]"));
  // num_batches_tracked (PyTorch BatchNorm) is ignored; the by-order map skips it too.
  auto entries = std::vector<std::pair<std::string, NamedArray>>();
  for (auto& n : f.order) {
    entries.emplace_back(n, f.tensors.at(n));
    if (n == "net.1.running_var") entries.emplace_back("net.1.num_batches_tracked", NamedArray::scalar<int64_t>(1));
  }
  write_safetensors(tmp("bn_nbt.safetensors"), entries);
  const auto g = read_safetensors(tmp("bn_nbt.safetensors"));
  Model<N> e;
  import_safetensors(e, tmp("bn_nbt.safetensors"), order_name_map(e, g.order));
  CHECK(std::equal(a.params(), a.params() + Model<N>::num_params, e.params()));
}

TEST_CASE("malformed safetensors files are refused with a message", "[io][safetensors]") {
  const std::string good = golden("mtl_io.safetensors"), bad = tmp("bad.safetensors");
  std::string bytes;
  { std::ifstream f(good, std::ios::binary); bytes.assign(std::istreambuf_iterator<char>(f), {}); }
  auto write = [&](const std::string& s) { std::ofstream f(bad, std::ios::binary | std::ios::trunc); f.write(s.data(), std::streamsize(s.size())); };
  write(bytes.substr(0, bytes.size() - 100));  // truncated data
  REQUIRE_THROWS_WITH(read_safetensors(bad), Catch::Contains("data_offsets"));
  write(bytes.substr(0, 5));
  REQUIRE_THROWS_WITH(read_safetensors(bad), Catch::Contains("too short"));
  std::string huge = bytes; huge[6] = '\x7f';  // header length far beyond the file
  write(huge);
  REQUIRE_THROWS_WITH(read_safetensors(bad), Catch::Contains("header length"));
  std::string notjson = bytes; notjson[8] = '#';
  write(notjson);
  REQUIRE_THROWS_WITH(read_safetensors(bad), Catch::Contains("JSON"));
  std::string half = bytes; const auto pos = half.find("\"F32\""); half.replace(pos, 5, "\"F16\"");
  write(half);
  REQUIRE_THROWS_WITH(read_safetensors(bad), Catch::Contains("F16"));
  // The atomic writer leaves no temporary files behind.
  write_safetensors(tmp("atomic.safetensors"), {{"a", NamedArray::from(std::vector<double>{1, 2, 3}.data(), {3})}});
  int leftovers = 0;
  for (auto& e : std::filesystem::directory_iterator(GALML_TEST_TMP_DIR)) leftovers += e.path().filename().string().find(".tmp") != std::string::npos;
  CHECK(leftovers == 0);
  CHECK(read_safetensors(tmp("atomic.safetensors")).tensors.at("a").to_vector<double>() == std::vector<double>{1, 2, 3});
}
