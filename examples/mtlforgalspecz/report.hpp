#pragma once
// Metrics of spec §1.4 and the Markdown/SVG report with the paper's values beside ours.
#include "galml/report/csv.hpp"
#include "galml/report/json.hpp"
#include "galml/report/markdown.hpp"
#include "galml/report/svg.hpp"
#include "run.hpp"

namespace mtl {
namespace svg = galml::report::svg;

struct EvalResult { nlohmann::json metrics; Predictions pred; };

// Classification + regression metrics over the test split for one model's predictions.
inline nlohmann::json score(const Dataset& d, const Predictions& p) {
  nlohmann::json j;
  j["n_test"] = p.index.size();
  if (!p.cls_pred.empty()) {
    std::vector<int> yt; for (auto i : p.index) yt.push_back(int(d.label[size_t(i)]));
    auto rep = galml::metrics::classification_report(yt, p.cls_pred, kClasses, p.probs, kClassNames);
    j["classification"] = rep.to_json();
    std::vector<double> zs, sn; for (auto i : p.index) { zs.push_back(d.z[size_t(i)]); sn.push_back(d.snr[size_t(i)]); }
    const std::vector<double> ze{0, 0.04, 0.08, 0.12, 0.15, 0.20, 0.30}, se{5, 10, 15, 20, 25, 30, 100};
    j["classification_by_z"] = galml::metrics::to_json(galml::metrics::binned_classification(yt, p.cls_pred, kClasses, zs, ze));
    j["classification_by_snr"] = galml::metrics::to_json(galml::metrics::binned_classification(yt, p.cls_pred, kClasses, sn, se));
  }
  if (!p.oh_pred.empty()) {
    std::vector<double> pr, tr, zs, sn;
    for (size_t k = 0; k < p.index.size(); ++k) {
      const auto i = size_t(p.index[k]);
      if (!has_oh(d, int64_t(i))) continue;  // regression is scored on true SF galaxies only
      pr.push_back(p.oh_pred[k]); tr.push_back(d.oh[i]); zs.push_back(d.z[i]); sn.push_back(d.snr[i]);
    }
    j["regression"] = galml::metrics::regression_report(pr, tr).to_json();
    const std::vector<double> ze{0, 0.04, 0.08, 0.12, 0.15, 0.20, 0.30}, se{5, 10, 15, 20, 25, 30, 100};
    j["regression_by_z"] = galml::metrics::to_json(galml::metrics::binned_regression(pr, tr, zs, ze));
    j["regression_by_snr"] = galml::metrics::to_json(galml::metrics::binned_regression(pr, tr, sn, se));
  }
  j["ms_per_spectrum_batched"] = p.ms_per_spectrum_batched;
  j["ms_per_spectrum_batch1"] = p.ms_per_spectrum_b1;
  return j;
}

inline std::string f4(const nlohmann::json& v) {
  if (!v.is_number()) return "–";
  char b[32]; std::snprintf(b, sizeof b, "%.4f", v.get<double>()); return b;
}
inline double num_or_nan(const nlohmann::json& o, const char* k) {
  if (!o.is_object() || !o.contains(k) || !o[k].is_number()) return std::numeric_limits<double>::quiet_NaN();
  return o[k].get<double>();
}
inline std::string f2(double v) { char b[32]; std::snprintf(b, sizeof b, "%.2f", v); return b; }

struct ModelRun { std::string key, label; TrainSummary train; nlohmann::json metrics; Predictions pred; };

// Wall time of a reproduce run: in all, and the part before training (mock survey + prepare, or loading
// a prepared dataset). resumed: the models' training continued from checkpoints of an earlier process.
struct RunTiming { double wall_seconds = 0, data_seconds = 0; bool resumed = false; };

inline void write_report(const fs::path& out, const Dataset& d, const std::vector<ModelRun>& runs, const std::string& data_desc, const RunTiming& tm) {
  using galml::report::MarkdownReport;
  nlohmann::json all;
  double train_sum = 0;
  for (auto& r : runs) {
    all[r.key] = r.metrics; all[r.key]["train_seconds"] = r.train.seconds; all[r.key]["best_epoch"] = r.train.best_epoch;
    train_sum += r.train.seconds;
  }
  all["data"] = data_desc;
  all["wall_seconds"] = tm.wall_seconds;
  all["data_seconds"] = tm.data_seconds;
  all["train_eval_seconds"] = tm.wall_seconds - tm.data_seconds;
  all["resumed"] = tm.resumed;
  galml::report::write_json(out / "metrics.json", all);
  auto find = [&](const std::string& k) -> const ModelRun* { for (auto& r : runs) if (r.key == k) return &r; return nullptr; };
  const ModelRun* mt = find("multitask");
  MarkdownReport md;
  md.heading(1, "MTLforGalSpecZ reproduction report");
  md.paragraph("**Data: " + data_desc + ".** The paper's numbers come from 100,000 SDSS DR15 galaxies (25,000 per class). "
               "Numbers measured on the mock survey are **not** a reproduction of the paper's results: they show that the "
               "pipeline works end to end and how the variants compare on the same mock data.");
  md.paragraph("Test split: " + std::to_string(d.test.size()) + " spectra; train " + std::to_string(d.train.size()) + ", validation " +
               std::to_string(d.val.size()) + ". Wall time of the whole run: " + f2(tm.wall_seconds) + " s, of which " + f2(tm.data_seconds) +
               " s data preparation and " + f2(tm.wall_seconds - tm.data_seconds) + " s training, evaluation and this report (the four models' " +
               "training alone: " + f2(train_sum) + " s)." +
               (tm.resumed ? " This run resumed training from checkpoints of an earlier run (--resume): the wall times cover this process only, "
                             "the training times include the earlier process's epochs." : ""));
  auto cls_row = [&](const char* name, const ModelRun* r, const char* paper_acc) -> std::vector<std::string> {
    if (!r || !r->metrics.contains("classification")) return {name, "–", "–", "–", "–", paper_acc};
    auto& c = r->metrics["classification"];
    return {name, f4(c["accuracy"]), f4(c["weighted"]["precision"]), f4(c["weighted"]["recall"]), f4(c["weighted"]["f1"]), paper_acc};
  };
  auto reg_row = [&](const char* name, const ModelRun* r, const char* paper) -> std::vector<std::string> {
    if (!r || !r->metrics.contains("regression")) return {name, "–", "–", "–", "–", "–", paper};
    auto& g = r->metrics["regression"];
    return {name, f4(g["mse"]), f4(g["mae"]), f4(g["r2"]), f4(g["sd"]), f4(g["bias"]), paper};
  };
  md.heading(2, "Table 2 — channel attention (classification, weighted averages)");
  md.table({"model", "accuracy", "precision", "recall", "F1", "paper accuracy"},
           {cls_row("without attention", find("noattention"), "0.9561"), cls_row("with attention (full)", mt, "0.9701")});
  md.table({"model", "MSE", "MAE", "R²", "SD", "bias", "paper (MSE / MAE / R² / SD)"},
           {reg_row("without attention", find("noattention"), "0.0025 / 0.0334 / 0.9547 / 0.0468"),
            reg_row("with attention (full)", mt, "0.0014 / 0.0223 / 0.9730 / 0.0374")});
  md.heading(2, "Table 3 — multi-task vs single-task regression");
  md.table({"model", "MSE", "MAE", "R²", "SD", "bias", "paper (MSE / MAE / R² / SD)"},
           {reg_row("multi-task", mt, "0.0014 / 0.0223 / 0.9730 / 0.0374"), reg_row("single-task", find("single_reg"), "0.0028 / 0.0302 / 0.9447 / 0.0532")});
  if (mt && find("single_reg") && mt->metrics.contains("regression") && find("single_reg")->metrics.contains("regression")) {
    const double a = mt->metrics["regression"]["sd"], b = find("single_reg")->metrics["regression"]["sd"];
    md.paragraph(std::string("On this data the multi-task SD is ") + f4(a) + " dex against " + f4(b) + " dex single-task: multi-task " +
                 (a < b ? "**beats**" : "**does not beat**") + " the single-task regression (" + f2(100 * (b - a) / b) + " % change; the paper reports 29.7 %).");
  }
  if (mt && find("noattention") && mt->metrics.contains("classification") && find("noattention")->metrics.contains("classification")) {
    const double a = mt->metrics["classification"]["accuracy"], b = find("noattention")->metrics["classification"]["accuracy"];
    md.paragraph(std::string("SE attention ") + (a > b ? "**helps**" : "**does not help**") + " classification here: accuracy " + f4(a) + " with, " + f4(b) + " without.");
  }
  md.heading(2, "Table 4 — per-class classification, multi-task (MT) vs single-task (ST)");
  {
    std::vector<std::vector<std::string>> rows;
    const char* paper_p[] = {"0.9876 / 0.9827", "0.9890 / 0.9838", "0.9502 / 0.9529", "0.9532 / 0.9533"};
    const char* paper_r[] = {"0.9891 / 0.9869", "0.9833 / 0.9810", "0.9532 / 0.9493", "0.9542 / 0.9556"};
    const ModelRun* st = find("single_cls");
    for (int c = 0; c < kClasses; ++c) {
      auto get = [&](const ModelRun* r, const char* k) { return r && r->metrics.contains("classification") ? f4(r->metrics["classification"]["per_class"][size_t(c)][k]) : std::string("–"); };
      rows.push_back({kClassNames[size_t(c)], get(mt, "precision") + " / " + get(st, "precision"), get(mt, "recall") + " / " + get(st, "recall"),
                      get(mt, "f1") + " / " + get(st, "f1"), paper_p[c], paper_r[c]});
    }
    md.table({"class", "precision MT / ST", "recall MT / ST", "F1 MT / ST", "paper precision MT / ST", "paper recall MT / ST"}, rows);
  }
  md.heading(2, "Table 5 — training and inference time (this machine, CPU)");
  {
    std::vector<std::vector<std::string>> rows;
    for (auto& r : runs)
      rows.push_back({r.label, f2(r.train.seconds) + " s", f2(num_or_nan(r.metrics, "ms_per_spectrum_batched")) + " ms", f2(num_or_nan(r.metrics, "ms_per_spectrum_batch1")) + " ms"});
    md.table({"model", "training (all epochs)", "inference per spectrum, batch 256", "inference per spectrum, batch 1"}, rows);
    md.paragraph("Paper (RTX 3080 Ti, 80,000 spectra, 100 epochs): multi-task 703 s, single-task classification 649 s, regression 211 s; inference 1.55 / 1.45 / 1.38 ms per spectrum.");
  }
  // ---- figures ----
  auto hist_series = [&](const ModelRun& r, auto get) { svg::Series s; s.name = r.label; for (auto& e : r.train.history) { s.x.push_back(e.epoch); s.y.push_back(get(e)); } return s; };
  if (mt) {
    std::vector<svg::Series> ls;
    auto tr = hist_series(*mt, [](auto& e) { return e.train_total; }); tr.name = "train (λ-weighted)";
    auto va = hist_series(*mt, [](auto& e) { return e.val_total; }); va.name = "validation (λ-weighted)";
    ls = {tr, va};
    svg::line_plot(ls, {.title = "Fig. 4 equivalent: multi-task loss", .ylabel = "loss", .log_y = true}).save(out / "fig4_loss.svg");
    auto l1 = hist_series(*mt, [](auto& e) { return e.lambda[0]; }); l1.name = "λ classification";
    auto l2 = hist_series(*mt, [](auto& e) { return e.lambda[1]; }); l2.name = "λ regression";
    svg::line_plot({l1, l2}, {.title = "Fig. 5 equivalent: DWA task weights", .ylabel = "λ"}).save(out / "fig5_dwa.svg");
    std::vector<double> pr, tr2, sig, mass, massoh;
    for (size_t k = 0; k < mt->pred.index.size(); ++k) {
      const auto i = size_t(mt->pred.index[k]);
      if (!has_oh(d, int64_t(i))) continue;
      pr.push_back(mt->pred.oh_pred[k]); tr2.push_back(d.oh[i]);
      if (!mt->pred.oh_sigma.empty()) sig.push_back(mt->pred.oh_sigma[k]);
      if (std::isfinite(d.mass[i]) && d.mass[i] > 8.5 && d.mass[i] < 11.5) { mass.push_back(d.mass[i]); massoh.push_back(mt->pred.oh_pred[k]); }
    }
    if (!pr.empty()) {
      svg::pred_vs_true(pr, tr2, {.title = "Fig. 6 equivalent: predicted vs true metallicity", .quantity = "12 + log(O/H)", .unit = "dex"}).save(out / "fig6_pred_vs_true.svg");
      if (!sig.empty()) svg::scatter_with_curves(pr, sig, {}, {.title = "Fig. 7 equivalent: MC-dropout σ vs predicted Z", .xlabel = "predicted 12 + log(O/H)", .ylabel = "σ (dex)", .points_name = "SF test galaxies"}).save(out / "fig7_mc_sigma.svg");
      if (mass.size() >= 10) {
        svg::Series eq18{"paper Eq. 18"}, trem{"Tremonti et al. 2004"};
        for (double x = 8.5; x <= 11.5; x += 0.05) {
          eq18.x.push_back(x); eq18.y.push_back(0.217 + 1.613 * x - 0.07307 * x * x);
          trem.x.push_back(x); trem.y.push_back(-1.492 + 1.847 * x - 0.08026 * x * x);
        }
        svg::scatter_with_curves(mass, massoh, {eq18, trem}, {.title = "Fig. 10 equivalent: mass–metallicity relation", .xlabel = "log M* / M☉", .ylabel = "predicted 12 + log(O/H)", .points_name = "SF test galaxies"}).save(out / "fig10_mzr.svg");
      }
    }
    if (mt->metrics.contains("classification")) {
      std::vector<int> yt; for (auto i : mt->pred.index) yt.push_back(int(d.label[size_t(i)]));
      svg::confusion_heatmap(galml::metrics::confusion_matrix(yt, mt->pred.cls_pred, kClasses), kClassNames, "Fig. 8 equivalent: confusion matrix").save(out / "fig8_confusion.svg");
      std::vector<double> acc_z, acc_s, sd_z, sd_s;
      for (auto& b : mt->metrics["classification_by_z"]) acc_z.push_back(num_or_nan(b, "accuracy"));
      for (auto& b : mt->metrics["classification_by_snr"]) acc_s.push_back(num_or_nan(b, "accuracy"));
      for (auto& b : mt->metrics["regression_by_z"]) sd_z.push_back(num_or_nan(b, "sd"));
      for (auto& b : mt->metrics["regression_by_snr"]) sd_s.push_back(num_or_nan(b, "sd"));
      const std::vector<double> ze{0, 0.04, 0.08, 0.12, 0.15, 0.20, 0.30}, se{5, 10, 15, 20, 25, 30, 100};
      // Accuracy and SD have different scales: one figure each, as the paper's two panels.
      svg::binned_plot(ze, {{"accuracy", acc_z}}, {.title = "Fig. 9a equivalent: accuracy by redshift", .xlabel = "z", .ylabel = "accuracy", .ylim = std::pair{0.0, 1.0}}).save(out / "fig9a_accuracy_by_z.svg");
      svg::binned_plot(ze, {{"SD of 12 + log(O/H) residuals", sd_z}}, {.title = "Fig. 9a equivalent: metallicity SD by redshift", .xlabel = "z", .ylabel = "SD (dex)"}).save(out / "fig9a_sd_by_z.svg");
      svg::binned_plot(se, {{"accuracy", acc_s}}, {.title = "Fig. 9b equivalent: accuracy by S/N", .xlabel = "S/N (r)", .ylabel = "accuracy", .ylim = std::pair{0.0, 1.0}}).save(out / "fig9b_accuracy_by_snr.svg");
      svg::binned_plot(se, {{"SD of 12 + log(O/H) residuals", sd_s}}, {.title = "Fig. 9b equivalent: metallicity SD by S/N", .xlabel = "S/N (r)", .ylabel = "SD (dex)"}).save(out / "fig9b_sd_by_snr.svg");
    }
  }
  md.heading(2, "Figures");
  for (const char* f : {"fig4_loss.svg", "fig5_dwa.svg", "fig6_pred_vs_true.svg", "fig7_mc_sigma.svg", "fig8_confusion.svg", "fig9a_accuracy_by_z.svg",
                        "fig9a_sd_by_z.svg", "fig9b_accuracy_by_snr.svg", "fig9b_sd_by_snr.svg", "fig10_mzr.svg"})
    if (fs::exists(out / f)) md.image(f, fs::absolute(out / f));  // written relative to report.md
  md.save(fs::absolute(out / "report.md"));
}

}  // namespace mtl
