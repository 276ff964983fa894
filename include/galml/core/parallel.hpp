#pragma once
// Thread control for the CPU backend: galml::set_num_threads(n) sizes one persistent pool used by
// parallel_for. Matrix products run single-threaded inside each task (Eigen without OpenMP), so the
// total number of threads is exactly n. Work is split in fixed contiguous chunks, so results do not
// depend on scheduling (reductions are done per chunk in a fixed order by the callers).
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace galml {

class ThreadPool {
 public:
  explicit ThreadPool(int n) { resize(n); }
  ~ThreadPool() { stop(); }
  int size() const { return int(workers_.size()) + 1; }

  void resize(int n) {
    stop();
    n = std::max(1, n);
    quit_ = false;
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i] { loop(i); });
  }

  // Calls fn(task) for task in [0, ntasks), spread over the pool; the caller thread works too.
  void run(int64_t ntasks, const std::function<void(int64_t)>& fn) {
    if (ntasks <= 0) return;
    // Nested parallel regions (a task that itself calls parallel_for) run serially in that task.
    if (workers_.empty() || ntasks == 1 || in_pool()) { for (int64_t t = 0; t < ntasks; ++t) fn(t); return; }
    std::lock_guard<std::mutex> one_job(run_m_);  // one parallel region at a time from outside threads
    struct Flag { Flag() { in_pool() = true; } ~Flag() { in_pool() = false; } } flag;
    {
      std::lock_guard<std::mutex> lk(m_);
      job_ = &fn; ntasks_ = ntasks; next_ = 0; done_ = 0; ++generation_;
    }
    cv_.notify_all();
    work();
    std::unique_lock<std::mutex> lk(m_);
    done_cv_.wait(lk, [&] { return done_ == ntasks_; });
    job_ = nullptr;
  }

 private:
  static bool& in_pool() { thread_local bool f = false; return f; }
  void work() {
    for (;;) {
      const int64_t t = next_.fetch_add(1);
      if (t >= ntasks_) break;
      (*job_)(t);
      std::lock_guard<std::mutex> lk(m_);
      if (++done_ == ntasks_) done_cv_.notify_all();
    }
  }
  void loop(int) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return quit_ || (generation_ != seen && job_ != nullptr); });
        if (quit_) return;
        seen = generation_;
      }
      in_pool() = true;
      work();
      in_pool() = false;
    }
  }
  void stop() {
    { std::lock_guard<std::mutex> lk(m_); quit_ = true; }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }
  std::vector<std::thread> workers_;
  std::mutex m_, run_m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t ntasks_ = 0;
  std::atomic<int64_t> next_{0};
  int64_t done_ = 0;
  uint64_t generation_ = 0;
  bool quit_ = false;
};

namespace detail {
inline int default_threads() {
  if (const char* e = std::getenv("GALML_NUM_THREADS")) { const int n = std::atoi(e); if (n > 0) return n; }
  return std::max(1u, std::thread::hardware_concurrency());
}
inline ThreadPool& pool() { static ThreadPool p(default_threads()); return p; }
}  // namespace detail

inline void set_num_threads(int n) { detail::pool().resize(n); }
inline int get_num_threads() { return detail::pool().size(); }

// fn(begin, end) over [0, n) split into at most get_num_threads() contiguous chunks of >= grain items.
template <class F>
void parallel_for(int64_t n, F&& fn, int64_t grain = 1) {
  if (n <= 0) return;
  const int64_t nt = std::min<int64_t>(get_num_threads(), std::max<int64_t>(1, n / std::max<int64_t>(1, grain)));
  if (nt <= 1) { fn(int64_t(0), n); return; }
  const std::function<void(int64_t)> task = [&](int64_t t) {
    const int64_t b = n * t / nt, e = n * (t + 1) / nt;
    if (b < e) fn(b, e);
  };
  detail::pool().run(nt, task);
}
// Fixed number of chunks (for deterministic per-chunk partial reductions): fn(chunk, begin, end).
template <class F>
void parallel_chunks(int64_t n, int64_t nchunks, F&& fn) {
  if (n <= 0) return;
  const std::function<void(int64_t)> task = [&](int64_t t) {
    const int64_t b = n * t / nchunks, e = n * (t + 1) / nchunks;
    fn(t, b, e);
  };
  detail::pool().run(nchunks, task);
}

}  // namespace galml
