// Splits, samplers, mixup, DataLoader determinism/resume and the dataset cache (no FITS needed).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "galml/data/loader.hpp"
#include "galml/data/prepared.hpp"
#include "galml/data/sampling.hpp"

using namespace galml;
using namespace galml::data;
namespace fs = std::filesystem;

namespace {
PreparedDataset synthetic(int64_t n, int64_t L = 7) {
  PreparedDataset d;
  d.grid = LinearGrid{1, double(L), 1};
  d.n_pix = L;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < L; ++k) d.flux.push_back(float(i) + 0.01f * float(k));
    d.label.push_back(int32_t(i % 4));
    d.oh.push_back(i % 4 == 1 ? 8.5f + 0.001f * float(i) : NAN);
    d.oh_mask.push_back(i % 4 == 1);
    d.id.push_back("id" + std::to_string(i));
    d.z.push_back(0.1); d.snr.push_back(10); d.mass.push_back(10.5);
  }
  auto s = stratified_split(d.label, {0.6, 0.2, 0.2}, 1);
  d.train = s.train; d.val = s.val; d.test = s.test;
  return d;
}
std::vector<std::vector<int64_t>> epoch_indices(DataLoader& dl) {
  std::vector<std::vector<int64_t>> out;
  while (auto b = dl.next()) out.push_back(b->index);
  return out;
}
}  // namespace

TEST_CASE("stratified and random splits", "[data][split]") {
  std::vector<int32_t> y;
  for (int c = 0; c < 4; ++c) y.insert(y.end(), size_t(100 + 50 * c), c);
  auto s = stratified_split(y, {0.6, 0.2, 0.2}, 42);
  CHECK(s.train.size() + s.val.size() + s.test.size() == y.size());
  std::map<int, std::array<int, 3>> per;
  for (auto i : s.train) ++per[y[size_t(i)]][0];
  for (auto i : s.val) ++per[y[size_t(i)]][1];
  for (auto i : s.test) ++per[y[size_t(i)]][2];
  for (int c = 0; c < 4; ++c) {
    const int n = 100 + 50 * c;
    CHECK(per[c][0] == int(std::lround(0.6 * n)));
    CHECK(per[c][1] == int(std::lround(0.2 * n)));
    CHECK(per[c][2] == n - per[c][0] - per[c][1]);
  }
  std::set<int64_t> all(s.train.begin(), s.train.end());
  all.insert(s.val.begin(), s.val.end());
  all.insert(s.test.begin(), s.test.end());
  CHECK(all.size() == y.size());  // disjoint and complete
  auto s2 = stratified_split(y, {0.6, 0.2, 0.2}, 42), s3 = stratified_split(y, {0.6, 0.2, 0.2}, 43);
  CHECK(s2.train == s.train);
  CHECK(s3.train != s.train);
  auto r = random_split(1000, {0.8, 0.1, 0.1}, 3);
  CHECK(r.train.size() == 800);
  CHECK(r.val.size() == 100);
  CHECK(r.test.size() == 100);
  CHECK_THROWS_AS(random_split(10, {0.5, 0.2, 0.2}, 1), Error);
}

TEST_CASE("weighted sampler balances classes; undersampling equalises counts", "[data][sampler]") {
  std::vector<int32_t> y(900, 0);
  y.insert(y.end(), 100, 1);
  WeightedRandomSampler ws(y, 20000);
  CHECK(ws.weights()[0] == Approx(1.0 / 900));
  Rng r(5);
  auto s = ws.sample(r);
  int ones = 0;
  for (auto i : s) ones += y[size_t(i)] == 1;
  CHECK(double(ones) / double(s.size()) == Approx(0.5).margin(0.02));
  std::set<int64_t> distinct(s.begin(), s.end());
  CHECK(distinct.size() < s.size());  // with replacement
  Rng r2(6);
  auto u = class_balanced_undersample(y, r2);
  CHECK(u.size() == 200);
  int u1 = 0;
  for (auto i : u) u1 += y[size_t(i)] == 1;
  CHECK(u1 == 100);
}

TEST_CASE("mixup shares one lambda and permutation across modalities", "[data][mixup]") {
  Rng r(9);
  auto plan = make_mixup(4, 0.4, r);
  REQUIRE(plan.lambda >= 0.0);
  REQUIRE(plan.lambda <= 1.0);
  Tensor<float> spec({4, 1, 3}), img({4, 2, 2, 2});
  for (int64_t i = 0; i < spec.numel(); ++i) spec[i] = float(i / 3);
  for (int64_t i = 0; i < img.numel(); ++i) img[i] = float(10 * (i / 8));
  plan.apply(spec);
  plan.apply(img);
  for (int64_t b = 0; b < 4; ++b) {
    const double l = plan.lambda, o = double(plan.perm[size_t(b)]);
    CHECK(spec[b * 3] == Approx(l * double(b) + (1 - l) * o));
    CHECK(img[b * 8 + 5] == Approx(10 * (l * double(b) + (1 - l) * o)));
  }
  auto soft = plan.mix_labels({0, 1, 2, 3}, 4);
  for (int b = 0; b < 4; ++b) {
    double sum = 0;
    for (int c = 0; c < 4; ++c) sum += soft[size_t(b * 4 + c)];
    CHECK(sum == Approx(1.0));
  }
  CHECK_THROWS_AS(make_mixup(4, 0.0, r), Error);
}

TEST_CASE("DataLoader: batches, drop_last, determinism, reshuffle per epoch", "[data][loader]") {
  auto d = synthetic(103);
  DataLoader a(d, d.train, {16, true, false, 7, 2}), b(d, d.train, {16, true, false, 7, 0});
  CHECK(a.num_batches() == (int64_t(d.train.size()) + 15) / 16);
  auto ea = epoch_indices(a), eb = epoch_indices(b);
  CHECK(ea == eb);  // prefetch thread or not: same batches
  std::multiset<int64_t> seen;
  for (auto& v : ea) seen.insert(v.begin(), v.end());
  CHECK(seen == std::multiset<int64_t>(d.train.begin(), d.train.end()));
  a.begin_epoch();
  auto ea2 = epoch_indices(a);
  CHECK(ea2 != ea);  // a new permutation each epoch
  DataLoader c(d, d.train, {16, true, true, 7, 2});
  auto ec = epoch_indices(c);
  CHECK(int64_t(ec.size()) == int64_t(d.train.size()) / 16);
  for (auto& v : ec) CHECK(v.size() == 16);
  DataLoader s(d, d.val, {8, false, false, 7, 1});
  auto first = s.next();
  REQUIRE(first);
  CHECK(first->x.shape() == std::vector<int64_t>{8, 1, 7});
  CHECK(first->index[0] == d.val[0]);
  CHECK(first->x[0] == d.flux[size_t(d.val[0] * 7)]);
  CHECK(first->label[0] == d.label[size_t(d.val[0])]);
}

TEST_CASE("DataLoader resume from a StateDict gives the same batches", "[data][loader]") {
  auto d = synthetic(200);
  DataLoaderOptions o{10, true, false, 11, 2};
  DataLoader ref(d, d.train, o);
  std::vector<std::vector<int64_t>> want;
  for (int e = 0; e < 3; ++e) {
    ref.begin_epoch();
    while (auto b = ref.next()) want.push_back(b->index);
  }
  DataLoader run(d, d.train, o);
  std::vector<std::vector<int64_t>> got;
  run.begin_epoch();
  while (auto b = run.next()) got.push_back(b->index);
  run.begin_epoch();
  for (int k = 0; k < 5; ++k) got.push_back(run.next()->index);
  const auto path = fs::path(GALML_TEST_TMP_DIR) / "loader_state.sd";
  run.state_dict().save(path);
  DataLoader resumed(d, d.train, o);
  resumed.load_state_dict(StateDict::load(path));
  CHECK(resumed.epoch() == 2);
  CHECK(resumed.position() == 5);
  while (auto b = resumed.next()) got.push_back(b->index);
  resumed.begin_epoch();
  while (auto b = resumed.next()) got.push_back(b->index);
  CHECK(got == want);
  DataLoader other(d, d.train, DataLoaderOptions{10, true, false, 12, 2});
  CHECK_THROWS_AS(other.load_state_dict(StateDict::load(path)), Error);
}

TEST_CASE("dataset cache: round trip, corrupt, truncated, mismatched", "[data][cache]") {
  auto d = synthetic(37);
  const auto path = fs::path(GALML_TEST_TMP_DIR) / "ds.cache";
  save_dataset_cache(path, d, 1234);
  CHECK_FALSE(fs::exists(fs::path(path.string() + ".tmp")));
  auto back = load_dataset_cache(path, 1234, d.grid);
  CHECK(back.flux == d.flux);
  CHECK(back.label == d.label);
  CHECK(back.oh_mask == d.oh_mask);
  CHECK(back.id == d.id);
  CHECK(back.train == d.train);
  CHECK(back.test == d.test);
  CHECK(std::isnan(back.oh[0]));
  CHECK(back.oh[1] == d.oh[1]);
  auto msg = [&](auto f) {
    try { f(); } catch (const Error& e) { return std::string(e.what()); }
    return std::string("no error");
  };
  CHECK(msg([&] { load_dataset_cache(path, 999); }).find("built with different options") != std::string::npos);
  CHECK(msg([&] { load_dataset_cache(path, std::nullopt, LinearGrid{1, 8, 1}); }).find("has grid") != std::string::npos);
  // Bit flip in the flux block.
  const auto bad = fs::path(GALML_TEST_TMP_DIR) / "ds_bad.cache";
  fs::copy_file(path, bad, fs::copy_options::overwrite_existing);
  {
    std::fstream f(bad, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    char c = 0x5a;
    f.write(&c, 1);
  }
  CHECK(msg([&] { load_dataset_cache(bad); }).find("checksum mismatch") != std::string::npos);
  // Truncated.
  fs::resize_file(bad, fs::file_size(path) / 2);
  CHECK(msg([&] { load_dataset_cache(bad); }).find("truncated") != std::string::npos);
  // Not a cache.
  { std::ofstream f(bad, std::ios::trunc); f << "hello world, not a cache"; }
  CHECK(msg([&] { load_dataset_cache(bad); }).find("bad magic") != std::string::npos);
  CHECK(msg([&] { load_dataset_cache(fs::path(GALML_TEST_TMP_DIR) / "nope.cache"); }).find("cannot open") != std::string::npos);
}

TEST_CASE("file_checksum: the same bytes give the same value, one changed byte another; a missing file is named", "[data][cache]") {
  const auto dir = fs::path(GALML_TEST_TMP_DIR) / "checksum";
  fs::create_directories(dir);
  std::string bytes(200003, '\0');  // > one 64 KiB read, not a multiple of 8
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = char((i * 2654435761u) >> 13);
  auto write = [&](const fs::path& p, const std::string& b) { std::ofstream(p, std::ios::binary) << b; };
  write(dir / "a", bytes);
  write(dir / "b", bytes);
  CHECK(file_checksum(dir / "a") == file_checksum(dir / "b"));
  bytes[150000] ^= 1;
  write(dir / "b", bytes);
  CHECK(file_checksum(dir / "a") != file_checksum(dir / "b"));
  bytes[150000] ^= 1;
  write(dir / "b", bytes.substr(0, bytes.size() - 1));  // truncated
  CHECK(file_checksum(dir / "a") != file_checksum(dir / "b"));
  CHECK_THROWS_WITH(file_checksum(dir / "missing"), Catch::Matchers::Contains("missing"));
}
