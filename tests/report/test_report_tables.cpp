#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "galml/report/csv.hpp"
#include "galml/report/json.hpp"
#include "galml/report/markdown.hpp"

namespace fs = std::filesystem;
using namespace galml;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
const fs::path dir = fs::path(GALML_TEST_TMP_DIR) / "report_tables";

metrics::ClassificationReport small_report() {
  const std::vector<int> t{0, 0, 1, 1, 2}, p{0, 1, 1, 1, 2};
  const std::vector<double> pr{.8, .2, 0, .4, .6, 0, .1, .9, 0, .3, .7, 0, 0, .1, .9};
  return metrics::classification_report(t, p, 3, pr, {"passive", "SF, star-forming", "AGN"});
}
}  // namespace

TEST_CASE("JSON round trip of metric reports", "[report][json]") {
  const std::vector<double> t{1, 2, 3, 4}, p{1.1, 1.9, 3.2, 3.9};
  const auto rep = metrics::regression_summary(p, t);
  const auto cls = small_report();
  nlohmann::json j{{"regression", report::to_json(rep)}, {"classification", report::to_json(cls)}};
  const auto path = dir / "metrics.json";
  report::write_json(path, j);
  const auto back = report::read_json(path);
  CHECK(back["regression"]["raw"]["mse"].get<double>() == rep.raw.mse);  // exact: nlohmann round-trips doubles
  CHECK(back["classification"]["per_class"][1]["class"] == "SF, star-forming");
  CHECK(back["classification"]["weighted"]["recall"].get<double>() == Approx(cls.accuracy));
  CHECK(back["classification"]["confusion_matrix"][0][1] == 1);
  CHECK(back["classification"]["per_class"][2]["auc"].get<double>() == 1.0);
  std::ofstream(dir / "bad.json") << "{not json";
  CHECK_THROWS_AS(report::read_json(dir / "bad.json"), Error);
}

TEST_CASE("CSV quoting, NaN cells and converters", "[report][csv]") {
  const auto cls = small_report();
  const auto t = report::to_csv(cls);
  const auto s = t.str();
  CHECK(s.rfind("class,precision,recall,f1,support,auc\n", 0) == 0);
  CHECK(s.find("\"SF, star-forming\",") != std::string::npos);  // comma quoted
  CHECK(t.n_rows() == 3 + 3);
  CHECK(report::CsvTable::quote("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(report::CsvTable::cell_text(std::nan("")) == "");
  CHECK(report::CsvTable::cell_text(0.1) == "0.10000000000000001");  // 17 digits: exact round trip
  const auto path = dir / "classes.csv";
  t.save(path);
  CHECK(slurp(path) == s);
  CHECK_THROWS_AS(report::CsvTable({"a", "b"}).row({1.0}), Error);

  const auto cm = report::to_csv(cls.confusion, cls.class_names).str();
  CHECK(cm.find("passive,1,1,0\n") != std::string::npos);
  const auto h = report::history_csv({"epoch", "loss"}, {{1, 2}, {0.5, 0.25}}).str();
  CHECK(h == "epoch,loss\n1,0.5\n2,0.25\n");
  const std::vector<double> e{0, 1, 2}, x{0.5, 1.5, 1.7}, tt{1, 2, 3}, pp{1, 2, 4};
  const auto bins = report::to_csv(metrics::binned_regression(pp, tt, x, e)).str();
  CHECK(bins.rfind("lo,hi,n,mse", 0) == 0);
  CHECK(bins.find("\n1,2,2,0.5,") != std::string::npos);
}

TEST_CASE("Markdown report: aligned tables, escaped cells, relative images", "[report][markdown]") {
  report::MarkdownReport md;
  md.heading(1, "MTLforGalSpecZ evaluation")
      .paragraph("Regression on test SF galaxies.")
      .table({"metric", "value"}, {{"MSE", "0.0014"}, {"SD | dex", "0.0374"}, {"σ", "1"}},
             {report::Align::Left, report::Align::Right})
      .bullets({"one", "two"})
      .code("x = 1", "python")
      .image("predicted vs true", fs::absolute(dir / "figs" / "pred true.svg"));
  const auto path = dir / "report.md";
  md.save(path);
  const auto s = slurp(path);
  CHECK(s.rfind("# MTLforGalSpecZ evaluation\n", 0) == 0);
  CHECK(s.find("| metric    |  value |\n| --------- | -----: |\n| MSE       | 0.0014 |\n| SD \\| dex | 0.0374 |\n| σ         |      1 |") !=
        std::string::npos);
  CHECK(s.find("![predicted vs true](figs/pred%20true.svg)") != std::string::npos);
  CHECK(s.find("- one\n- two") != std::string::npos);
  CHECK(s.find("```python\nx = 1\n```") != std::string::npos);
  CHECK_THROWS_AS(md.heading(7, "x"), Error);
  CHECK_THROWS_AS(md.table({"a"}, {{"1", "2"}}), Error);
  for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path().string().find(".tmp") == std::string::npos);
}

TEST_CASE("copy_file_atomic: replaces the target whole, leaves no temporary, names both files on failure", "[report][atomic]") {
  const fs::path d = dir / "atomic_copy";
  fs::remove_all(d);
  fs::create_directories(d);
  report::write_file_atomic(d / "last.ckpt", std::string(100000, 'a'));
  report::write_file_atomic(d / "best.ckpt", "old");
  report::copy_file_atomic(d / "last.ckpt", d / "best.ckpt");
  CHECK(slurp(d / "best.ckpt") == std::string(100000, 'a'));
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d)) ++files;
  CHECK(files == 2);  // no .tmp.* left behind
  CHECK_THROWS_WITH(report::copy_file_atomic(d / "missing.ckpt", d / "best.ckpt"),
                    Catch::Matchers::Contains("missing.ckpt") && Catch::Matchers::Contains("best.ckpt"));
  CHECK(slurp(d / "best.ckpt") == std::string(100000, 'a'));  // a failed copy keeps the old file
}
