#pragma once
// A progress line on stderr (done/total, items/s, ETA) and a work-stealing parallel loop over items
// with its own thread count. The dataset builder and the mock survey use their own threads rather than
// the global pool: per-item work is file I/O plus a little arithmetic, and callers want to choose the
// thread count without resizing the pool used by training.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace galml::data {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled = true)
      : label_(std::move(label)), total_(total), enabled_(enabled), t0_(clock::now()), last_(t0_) {}

  // Thread-safe; prints at most ~4 times a second (and always the final line).
  void add(int64_t k = 1) {
    const int64_t d = done_.fetch_add(k) + k;
    if (!enabled_) return;
    const auto now = clock::now();
    std::lock_guard<std::mutex> lk(m_);
    if (d < total_ && now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    print(d, now, d >= total_);
  }
  int64_t done() const { return done_.load(); }
  double seconds() const { return std::chrono::duration<double>(clock::now() - t0_).count(); }
  double rate() const { const double s = seconds(); return s > 0 ? double(done()) / s : 0.0; }

 private:
  using clock = std::chrono::steady_clock;
  void print(int64_t d, clock::time_point now, bool final_line) {
    const double s = std::chrono::duration<double>(now - t0_).count();
    const double r = s > 0 ? double(d) / s : 0.0;
    const double eta = r > 0 ? double(total_ - d) / r : 0.0;
    std::fprintf(stderr, "\r%s: %lld/%lld (%.1f%%) %.1f items/s ETA %.1f s   %s", label_.c_str(), (long long)d,
                 (long long)total_, total_ ? 100.0 * double(d) / double(total_) : 100.0, r, eta, final_line ? "\n" : "");
    std::fflush(stderr);
  }
  std::string label_;
  int64_t total_;
  bool enabled_;
  clock::time_point t0_, last_;
  std::atomic<int64_t> done_{0};
  std::mutex m_;
};

// fn(i) for i in [0, n) on n_threads threads (0 = hardware concurrency). Items are claimed one at a
// time, so results must be written to per-item slots (then order never depends on scheduling). The
// first exception thrown by fn stops further items and is rethrown here.
template <class F>
void parallel_items(int64_t n, int n_threads, F&& fn) {
  if (n <= 0) return;
  if (n_threads <= 0) n_threads = int(std::max(1u, std::thread::hardware_concurrency()));
  n_threads = int(std::min<int64_t>(n_threads, n));
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr err;
  std::mutex em;
  auto work = [&] {
    for (;;) {
      const int64_t i = next.fetch_add(1);
      if (i >= n || failed.load()) return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lk(em);
        if (!err) err = std::current_exception();
        failed = true;
        return;
      }
    }
  };
  std::vector<std::thread> ts;
  for (int t = 1; t < n_threads; ++t) ts.emplace_back(work);
  work();
  for (auto& t : ts) t.join();
  if (err) std::rethrow_exception(err);
}

}  // namespace galml::data
