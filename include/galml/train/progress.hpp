#pragma once
// A one-line terminal progress display: "epoch 3/100 [120/469] 25.6% 812 samples/s ETA 1m12s | cls 0.0123 z 0.0456".
// Redraws in place on a terminal (\r) and prints plain lines at most every `plain_every` seconds when
// stderr is not a terminal (logs stay readable).
#include <chrono>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace galml::train {

inline std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e7) return "--";
  char buf[32];
  const long t = long(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

class Progress {
 public:
  explicit Progress(std::string label, int64_t total, bool enabled = true, double plain_every = 10.0)
      : label_(std::move(label)), total_(total), enabled_(enabled), tty_(isatty(fileno(stderr)) != 0), plain_every_(plain_every),
        start_(clock::now()), last_(start_) {}
  // done: items so far; extra: text appended (per-task losses, weights, lr)
  void update(int64_t done, const std::string& extra = "", bool force = false) {
    if (!enabled_) return;
    const auto now = clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    if (!force && since < (tty_ ? 0.2 : plain_every_)) return;
    last_ = now;
    const double el = std::chrono::duration<double>(now - start_).count();
    const double rate = el > 0 ? double(done) / el : 0.0;
    const double eta = rate > 0 ? double(total_ - done) / rate : -1;
    std::fprintf(stderr, "%s%s [%lld/%lld] %5.1f%% %.0f items/s ETA %s%s%s%s", tty_ ? "\r\033[K" : "", label_.c_str(),
                 (long long)done, (long long)total_, total_ ? 100.0 * double(done) / double(total_) : 100.0, rate,
                 format_duration(eta).c_str(), extra.empty() ? "" : " | ", extra.c_str(), tty_ ? "" : "\n");
    std::fflush(stderr);
  }
  void finish(int64_t done, const std::string& extra = "") {
    if (!enabled_) return;
    update(done, extra, true);
    if (tty_) std::fputc('\n', stderr);
  }
  double elapsed() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

 private:
  using clock = std::chrono::steady_clock;
  std::string label_;
  int64_t total_;
  bool enabled_, tty_;
  double plain_every_;
  clock::time_point start_, last_;
};

}  // namespace galml::train
