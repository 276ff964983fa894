#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "galml/metrics/binned.hpp"
#include "galml/metrics/classification.hpp"
#include "galml/report/svg.hpp"
#include "report/xml_check.hpp"

namespace fs = std::filesystem;
namespace svg = galml::report::svg;
using xmlcheck::Node;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Saves into the test tmp folder (and GALML_SVG_PREVIEW_DIR when set, for looking at the plots),
// re-reads the file and parses it: every test goes through the real file.
std::unique_ptr<Node> save_and_parse(const svg::Figure& f, const std::string& name) {
  const fs::path dir = fs::path(GALML_TEST_TMP_DIR) / "svg";
  const auto p = dir / (name + ".svg");
  f.save(p);
  if (const char* prev = std::getenv("GALML_SVG_PREVIEW_DIR")) f.save(fs::path(prev) / (name + ".svg"));
  for (const auto& e : fs::directory_iterator(dir))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);  // atomic write left nothing
  const auto text = slurp(p);
  REQUIRE(text == f.str());
  std::unique_ptr<Node> root;
  REQUIRE_NOTHROW(root = xmlcheck::parse(text));
  CHECK(root->name == "svg");
  CHECK(root->attr("xmlns") == "http://www.w3.org/2000/svg");
  return root;
}

const Node* series(const Node& root, const std::string& name) {
  auto v = root.find_all([&](const Node& n) { return n.has_class("series") && n.attr("data-name") == name; });
  return v.empty() ? nullptr : v.front();
}

std::size_t count_points(const std::string& pts) {
  std::istringstream ss(pts);
  std::size_t n = 0;
  for (std::string tok; ss >> tok;) {
    const auto c = tok.find(',');
    REQUIRE(c != std::string::npos);
    std::stod(tok.substr(0, c));
    std::stod(tok.substr(c + 1));
    ++n;
  }
  return n;
}

std::size_t polyline_points(const Node& s) {
  std::size_t n = 0;
  for (const auto& c : s.children)
    if (c->name == "polyline") n += count_points(c->attr("points"));
  return n;
}

std::vector<const Node*> texts(const Node& root, const std::string& cls) {
  return root.find_all([&](const Node& n) { return n.name == "text" && n.has_class(cls); });
}

}  // namespace

TEST_CASE("XML checker rejects malformed documents", "[report][svg]") {
  CHECK_NOTHROW(xmlcheck::parse("<?xml version=\"1.0\"?><a x=\"1 &amp; 2\"><b/>t &lt; u</a>"));
  for (const char* bad : {"<a><b></a></b>", "<a x=1/>", "<a x=\"1\" x=\"2\"/>", "<a>x & y</a>", "<a>1 < 2</a>",
                          "<a/><b/>", "<a>", "<a x=\"<\"/>", "<a>&foo;</a>"}) {
    INFO(bad);
    CHECK_THROWS(xmlcheck::parse(bad));
  }
}

TEST_CASE("nice ticks and number formatting", "[report][svg]") {
  auto t = svg::nice_ticks(0, 1, 5);
  CHECK(t.step == Approx(0.2));
  CHECK(t.values.size() == 6);
  t = svg::nice_ticks(8.13, 9.41, 5);
  CHECK(t.step == Approx(0.25));
  CHECK(t.values.front() == Approx(8.25));
  CHECK(svg::tick_decimals(0.25) == 2);
  CHECK(svg::tick_decimals(0.2) == 1);
  CHECK(svg::tick_decimals(50) == 0);
  CHECK(svg::num(0.5000) == "0.5");
  CHECK(svg::num(-0.0001, 2) == "0");
  CHECK(svg::short_num(1e-5) == "1e-05");
  CHECK(svg::escape("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
  CHECK(svg::viridis(0) == "#440154");
  CHECK(svg::viridis(1).size() == 7);
}

TEST_CASE("line plot: loss curves on log-y with escaped names", "[report][svg]") {
  std::vector<double> ep, tr, va, lr;
  for (int e = 1; e <= 60; ++e) {
    ep.push_back(e);
    tr.push_back(2.0 * std::exp(-e / 12.0) + 0.02);
    va.push_back(2.1 * std::exp(-e / 14.0) + 0.05 + 0.01 * std::sin(e));
    lr.push_back(e < 30 ? 1e-3 : (e < 45 ? 1e-4 : 1e-5));
  }
  va[20] = std::nan("");  // a missing validation epoch breaks the line
  svg::LinePlotOptions o;
  o.title = "Loss <train & val>";
  o.ylabel = "loss";
  o.log_y = true;
  auto f = svg::line_plot({{"train loss", ep, tr}, {"val loss \"focal\"", ep, va}, {"learning rate", ep, lr, {"#999999", 1.2, true}}}, o);
  auto root = save_and_parse(f, "line_loss");
  const auto* s = series(*root, "train loss");
  REQUIRE(s);
  CHECK(s->attr("data-n") == "60");
  CHECK(polyline_points(*s) == 60);
  const auto* v = series(*root, "val loss \"focal\"");
  REQUIRE(v);
  CHECK(polyline_points(*v) == 59);
  CHECK(v->children.size() == 2);  // two segments around the NaN
  REQUIRE(series(*root, "learning rate"));
  CHECK(texts(*root, "axes-title").at(0)->all_text() == "Loss <train & val>");
  // log axis: decade labels present
  bool has_decade = false;
  for (auto* t : texts(*root, "tick-label")) has_decade |= t->all_text() == "0.001" || t->all_text() == "1e-05";
  CHECK(has_decade);
  // the legend lists every series
  CHECK(texts(*root, "legend-label").size() == 3);

  // linear task-weight plot, two panels
  svg::Figure g(800, 360);
  g.title("DWA task weights and learning rate");
  std::vector<double> w1, w2;
  for (int e = 1; e <= 60; ++e) { w1.push_back(1 + 0.05 * std::sin(e / 5.0)); w2.push_back(2 - w1.back()); }
  g.subplot(1, 2, 0).title("task weights").xlabel("epoch").ylabel("\xCE\xBB").line("\xCE\xBB regression", ep, w1).line("\xCE\xBB classification", ep, w2);
  g.subplot(1, 2, 1).title("learning rate").xlabel("epoch").ylabel("lr").log_y().line("lr", ep, lr).legend(svg::LegendPos::None);
  auto r2 = save_and_parse(g, "line_weights_lr");
  CHECK(r2->find_all([](const Node& n) { return n.has_class("axes"); }).size() == 2);
  CHECK(polyline_points(*series(*r2, "lr")) == 60);
}

TEST_CASE("pred vs true density plot with 20k points stays small", "[report][svg]") {
  std::mt19937 gen(7);
  std::normal_distribution<double> zt(8.9, 0.22), noise(0.0, 0.04);
  const std::size_t n = 20000;
  std::vector<double> t(n), p(n);
  for (std::size_t i = 0; i < n; ++i) {
    t[i] = zt(gen);
    p[i] = t[i] + noise(gen) * (1 + 2 * std::max(0.0, 8.7 - t[i])) + 0.0026;
  }
  svg::PredTrueOptions o;
  o.title = "12+log(O/H): predicted vs true";
  o.quantity = "12+log(O/H)";
  o.unit = "dex";
  auto f = svg::pred_vs_true(p, t, o);
  auto root = save_and_parse(f, "pred_vs_true");
  CHECK(f.str().size() < 400000);
  const auto* h = series(*root, "density");
  REQUIRE(h);
  long long sum = 0, cells = 0;
  for (const auto& c : h->children) if (c->has_class("cell")) { sum += std::stoll(c->attr("data-count")); ++cells; }
  CHECK(sum == std::stoll(h->attr("data-n")));
  CHECK(sum > 0.995 * n);  // the 0.1–99.9 % range loses only a few points
  CHECK(sum <= (long long)n);
  CHECK(cells <= 60 * 60);
  REQUIRE(series(*root, "1:1"));
  CHECK(polyline_points(*series(*root, "1:1")) == 2);
  REQUIRE(series(*root, "running median"));
  CHECK(polyline_points(*series(*root, "running median")) >= 10);
  REQUIRE(series(*root, "residual density"));
  CHECK(root->find_all([](const Node& n) { return n.has_class("axes"); }).size() == 2);
  CHECK(!root->find_all([](const Node& n) { return n.has_class("colorbar"); }).empty());
  // statistics box
  auto notes = root->find_all([](const Node& n) { return n.has_class("note"); });
  REQUIRE(notes.size() == 1);
  CHECK(notes[0]->all_text().find("N = 20000") != std::string::npos);
}

TEST_CASE("confusion-matrix heatmap cells carry counts and row percentages", "[report][svg]") {
  const std::vector<int> yt{0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3};
  const std::vector<int> yp{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 2, 0};
  const auto cm = galml::metrics::confusion_matrix(yt, yp, 4);
  auto f = svg::confusion_heatmap(cm, {"passive", "star-forming", "composite", "AGN <&>"});
  auto root = save_and_parse(f, "confusion");
  auto cells = root->find_all([](const Node& n) { return n.name == "rect" && n.has_class("cell"); });
  REQUIRE(cells.size() == 16);
  for (auto* c : cells) {
    const auto r = std::stoul(c->attr("data-row")), k = std::stoul(c->attr("data-col"));
    CHECK(std::stoll(c->attr("data-count")) == cm.at(r, k));
    CHECK(std::stod(c->attr("data-fraction")) == Approx(cm.row_fraction(r, k)).margin(1e-6));
  }
  const auto pcts = texts(*root, "cell-pct");
  REQUIRE(pcts.size() == 16);
  CHECK(pcts[0]->all_text() == "75%");
  bool found = false;
  for (auto* t : texts(*root, "tick-label")) found |= t->all_text() == "AGN <&>";
  CHECK(found);
}

TEST_CASE("binned metric plots: bars, points with error bars, class fractions", "[report][svg]") {
  const std::vector<double> edges{0, 0.04, 0.08, 0.12, 0.15, 0.2, 0.3};
  svg::BinnedPlotOptions o;
  o.title = "Accuracy per redshift bin";
  o.xlabel = "redshift z";
  o.ylabel = "accuracy";
  o.ylim = std::pair{0.9, 1.0};
  auto f = svg::binned_plot(edges, {{"MT", {0.962, 0.971, 0.972, 0.969, 0.970, 0.965}, {0.004, 0.003, 0.003, 0.004, 0.004, 0.006}},
                                    {"ST", {0.960, 0.966, 0.970, 0.968, 0.967, 0.961}, {}}}, o);
  auto root = save_and_parse(f, "binned_bars");
  const auto* mt = series(*root, "MT");
  REQUIRE(mt);
  auto bars = mt->find_all([](const Node& n) { return n.has_class("bar"); });
  REQUIRE(bars.size() == 6);
  CHECK(std::stod(bars[0]->attr("data-value")) == Approx(0.962));
  CHECK(mt->find_all([](const Node& n) { return n.has_class("errorbar"); }).size() == 6);

  const std::vector<double> sn{5, 10, 15, 20, 25, 30, INFINITY};
  svg::BinnedPlotOptions p;
  p.title = "Scatter per S/N bin";
  p.xlabel = "S/N (r band)";
  p.ylabel = "SD [dex]";
  p.bars = false;
  auto g = svg::binned_plot(sn, {{"SD", {0.06, 0.045, 0.04, 0.035, 0.03, 0.02}, {0.005, 0.004, 0.003, 0.003, 0.003, 0.002}}}, p);
  auto r2 = save_and_parse(g, "binned_points");
  const auto* sd = series(*r2, "SD");
  REQUIRE(sd);
  CHECK(sd->find_all([](const Node& n) { return n.name == "circle"; }).size() == 6);
  bool open_bin = false;
  for (auto* t : texts(*r2, "tick-label")) open_bin |= t->all_text() == "\xE2\x89\xA5" "30";
  CHECK(open_bin);

  std::vector<galml::metrics::ClassificationBin> bins(6);
  for (std::size_t k = 0; k < 6; ++k) {
    const double a = 0.1 * double(k);
    bins[k].class_fractions = {0.3 - a / 3, 0.4 - a / 2, 0.2 + a / 3, 0.1 + a / 2};
  }
  bins[5].class_fractions = {0.092, 0.067, 0.307, 0.534};
  svg::BinnedPlotOptions q;
  q.title = "Class composition per S/N bin";
  q.xlabel = "S/N";
  auto h = svg::class_fraction_plot(sn, bins, {"passive", "SF", "composite", "AGN"}, q);
  auto r3 = save_and_parse(h, "class_fractions");
  const auto* agn = series(*r3, "AGN");
  REQUIRE(agn);
  CHECK(std::stod(agn->find_all([](const Node& n) { return n.has_class("bar"); }).back()->attr("data-value")) == Approx(0.534));
}

TEST_CASE("ROC curves from probabilities", "[report][svg]") {
  std::mt19937 gen(3);
  std::normal_distribution<double> nd(0, 1);
  const std::size_t n = 600, K = 4;
  std::vector<int> y(n);
  std::vector<double> probs(n * K);
  for (std::size_t i = 0; i < n; ++i) {
    y[i] = int(i % K);
    double s = 0;
    for (std::size_t c = 0; c < K; ++c) {
      const double v = std::exp(nd(gen) + (int(c) == y[i] ? 1.0 + 0.4 * double(c) : 0.0));
      probs[i * K + c] = v;
      s += v;
    }
    for (std::size_t c = 0; c < K; ++c) probs[i * K + c] /= s;
  }
  auto f = svg::roc_plot(y, probs, K, {"passive", "SF", "composite", "AGN"});
  auto root = save_and_parse(f, "roc");
  auto all = root->find_all([](const Node& n) { return n.has_class("series"); });
  CHECK(all.size() == 5);  // 4 classes + chance line
  const double auc0 = galml::metrics::roc_auc_ovr(y, probs, K, 0);
  const auto* s0 = series(*root, "passive (AUC " + svg::num(auc0, 3) + ")");
  REQUIRE(s0);
  CHECK(polyline_points(*s0) == n + 1);  // continuous scores: one point per sample + origin
}

TEST_CASE("scatter with overlaid curves (mass-metallicity relation)", "[report][svg]") {
  std::mt19937 gen(11);
  std::uniform_real_distribution<double> um(8.5, 11.5);
  std::normal_distribution<double> nd(0, 0.1);
  auto mzr = [](double x) { return 0.217 + 1.613 * x - 0.07307 * x * x; };
  auto tremonti = [](double x) { return -1.492 + 1.847 * x - 0.08026 * x * x; };
  std::vector<double> x, y, cx, cy, ty;
  for (int i = 0; i < 1500; ++i) { x.push_back(um(gen)); y.push_back(mzr(x.back()) + nd(gen)); }
  for (int i = 0; i <= 60; ++i) { cx.push_back(8.5 + 3.0 * i / 60); cy.push_back(mzr(cx.back())); ty.push_back(tremonti(cx.back())); }
  svg::ScatterOptions o;
  o.title = "Mass\xE2\x80\x93metallicity relation";
  o.xlabel = "log M* [M\xE2\x8A\x99]";
  o.ylabel = "12 + log(O/H)";
  o.points_name = "test SF galaxies";
  auto f = svg::scatter_with_curves(x, y, {{"fit: 0.217 + 1.613x \xE2\x88\x92 0.0731x\xC2\xB2", cx, cy, {"#d62728", 2.2}},
                                           {"Tremonti+2004", cx, ty, {"#1f77b4", 2.0, true}}}, o);
  auto root = save_and_parse(f, "mzr_scatter");
  const auto* pts = series(*root, "test SF galaxies");
  REQUIRE(pts);
  CHECK(pts->find_all([](const Node& n) { return n.name == "circle"; }).size() == 1500);
  CHECK(polyline_points(*series(*root, "Tremonti+2004")) == 61);

  // above max_points the points become a density layer
  o.max_points = 1000;
  auto g = svg::scatter_with_curves(x, y, {}, o);
  auto r2 = save_and_parse(g, "mzr_density");
  const auto* h = series(*r2, "test SF galaxies");
  REQUIRE(h);
  CHECK(h->attr("data-kind") == "hist2d");
}

TEST_CASE("figure rejects bad input and overwrites atomically", "[report][svg]") {
  svg::Figure f(300, 200);
  std::vector<double> a{1, 2, 3}, b{1, 2};
  CHECK_THROWS_AS(f.add_axes(0, 0, 1, 1).line("x", a, b), galml::Error);
  CHECK_THROWS_AS(f.subplot(1, 2, 2), galml::Error);
  CHECK_THROWS_AS(svg::Figure(0, 10), galml::Error);
  // an empty figure is still a valid document
  svg::Figure e(200, 100);
  e.add_axes(0, 0, 1, 1).title("empty");
  auto r = save_and_parse(e, "empty");
  auto r2 = save_and_parse(e, "empty");  // overwrite in place
  CHECK(r2->name == "svg");
  // constant data does not divide by zero
  svg::Figure c(300, 200);
  std::vector<double> k{5, 5, 5};
  c.add_axes(0, 0, 1, 1).line("flat", a, k);
  auto r3 = save_and_parse(c, "flat");
  CHECK(polyline_points(*series(*r3, "flat")) == 3);
  CHECK(c.str().find("nan") == std::string::npos);
  CHECK(c.str().find("inf") == std::string::npos);
}
