#pragma once
// DataLoader: mini-batches of one split of a PreparedDataset as Tensor<float> [B, 1, n_pix] plus label
// arrays. Each epoch is shuffled from one seeded Rng; its state (epoch, batches consumed, Rng offset at
// the start of the epoch) goes into a StateDict so a resumed run sees exactly the batches it would have
// seen. A background thread assembles the next `prefetch` batches while the caller trains.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "galml/core/error.hpp"
#include "galml/core/rng.hpp"
#include "galml/core/state_dict.hpp"
#include "galml/core/tensor.hpp"
#include "galml/data/prepared.hpp"

namespace galml::data {

struct Batch {
  Tensor<float> x;               // [B, 1, n_pix]
  std::vector<int32_t> label;    // [B]
  std::vector<float> oh;         // [B], NaN when absent
  std::vector<uint8_t> oh_mask;  // [B]
  std::vector<int64_t> index;    // [B] sample indices into the dataset
  int64_t size() const { return int64_t(label.size()); }
};

struct DataLoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;
  uint64_t seed = 42;
  int prefetch = 2;  // batches assembled ahead by the background thread; 0 = synchronous
};

class DataLoader {
 public:
  // `ds` must outlive the loader. `indices` are the samples to iterate (normally ds.train etc.).
  DataLoader(const PreparedDataset& ds, std::vector<int64_t> indices, DataLoaderOptions o = {})
      : ds_(ds), idx_(std::move(indices)), o_(o), rng_(o.seed, 0x6c6f61646572ull /* "loader" */) {
    GALML_CHECK(o_.batch_size > 0, "DataLoader: batch_size must be > 0 (got ", o_.batch_size, ")");
    for (int64_t i : idx_) GALML_CHECK(i >= 0 && i < ds_.size(), "DataLoader: index ", i, " outside the dataset (", ds_.size(), " samples)");
    order_ = idx_;
  }
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;
  ~DataLoader() { stop(); }

  int64_t num_batches() const {
    const int64_t n = int64_t(idx_.size()), b = o_.batch_size;
    return o_.drop_last ? n / b : (n + b - 1) / b;
  }
  int64_t epoch() const { return epoch_; }        // epochs started so far
  int64_t position() const { return position_; }  // batches consumed in the current epoch

  // Starts the next epoch: a fresh permutation (if shuffle) and the prefetch thread.
  void begin_epoch() {
    stop();
    epoch_start_offset_ = rng_.offset();
    ++epoch_;
    make_order();
    position_ = 0;
    start();
  }

  // The next batch of the current epoch, or nullopt when the epoch is finished (call begin_epoch).
  // The first call on a fresh loader begins epoch 1.
  std::optional<Batch> next() {
    if (epoch_ == 0) begin_epoch();
    if (position_ >= num_batches()) return std::nullopt;
    Batch b;
    if (o_.prefetch <= 0) {
      b = make_batch(position_);
    } else {
      std::unique_lock<std::mutex> lk(m_);
      cv_.wait(lk, [&] { return !queue_.empty() || error_; });
      if (error_) std::rethrow_exception(error_);
      b = std::move(queue_.front());
      queue_.pop_front();
      cv_.notify_all();
    }
    ++position_;
    return b;
  }

  StateDict state_dict() const {
    StateDict sd;
    sd.set_scalar<int64_t>("epoch", epoch_);
    sd.set_scalar<int64_t>("position", position_);
    sd.set_scalar<int64_t>("rng_offset_epoch_start", int64_t(epoch_start_offset_));
    sd.set_scalar<int64_t>("rng_offset", int64_t(rng_.offset()));
    sd.set_scalar<int64_t>("seed", int64_t(o_.seed));
    sd.set_scalar<int64_t>("num_samples", int64_t(idx_.size()));
    return sd;
  }
  // Restores the loader to where state_dict() was taken: the same permutation and position, so the
  // following next() calls return the same batches as the uninterrupted run.
  void load_state_dict(const StateDict& sd) {
    GALML_CHECK(sd.scalar<int64_t>("seed") == int64_t(o_.seed) && sd.scalar<int64_t>("num_samples") == int64_t(idx_.size()),
                "DataLoader::load_state_dict: state is for seed ", sd.scalar<int64_t>("seed"), " / ", sd.scalar<int64_t>("num_samples"),
                " samples, this loader has seed ", o_.seed, " / ", idx_.size(), " samples");
    stop();
    epoch_ = sd.scalar<int64_t>("epoch");
    position_ = sd.scalar<int64_t>("position");
    epoch_start_offset_ = uint64_t(sd.scalar<int64_t>("rng_offset_epoch_start"));
    if (epoch_ > 0) {
      rng_.set_offset(epoch_start_offset_);
      make_order();  // replays the epoch's shuffle; leaves the Rng where the original run left it
      GALML_CHECK(rng_.offset() == uint64_t(sd.scalar<int64_t>("rng_offset")), "DataLoader::load_state_dict: inconsistent Rng offset");
      start();
    } else {
      rng_.set_offset(uint64_t(sd.scalar<int64_t>("rng_offset")));
    }
  }

 private:
  void make_order() {
    order_ = idx_;
    if (o_.shuffle) rng_.shuffle(order_.begin(), order_.end());
  }

  Batch make_batch(int64_t bi) const {
    const int64_t b0 = bi * o_.batch_size, b1 = std::min<int64_t>(b0 + o_.batch_size, int64_t(order_.size()));
    const int64_t B = b1 - b0, L = ds_.n_pix;
    Batch b;
    b.x = Tensor<float>({B, 1, L});
    b.label.resize(size_t(B)); b.oh.resize(size_t(B)); b.oh_mask.resize(size_t(B)); b.index.resize(size_t(B));
    for (int64_t k = 0; k < B; ++k) {
      const int64_t i = order_[size_t(b0 + k)];
      std::copy_n(ds_.flux.data() + i * L, L, b.x.data() + k * L);
      b.label[size_t(k)] = ds_.label[size_t(i)];
      b.oh[size_t(k)] = ds_.oh[size_t(i)];
      b.oh_mask[size_t(k)] = ds_.oh_mask[size_t(i)];
      b.index[size_t(k)] = i;
    }
    return b;
  }

  void start() {
    if (o_.prefetch <= 0) return;
    quit_ = false;
    error_ = nullptr;
    queue_.clear();
    const int64_t from = position_, nb = num_batches();
    worker_ = std::thread([this, from, nb] {
      try {
        for (int64_t bi = from; bi < nb; ++bi) {
          Batch b = make_batch(bi);
          std::unique_lock<std::mutex> lk(m_);
          cv_.wait(lk, [&] { return quit_ || int64_t(queue_.size()) < o_.prefetch; });
          if (quit_) return;
          queue_.push_back(std::move(b));
          cv_.notify_all();
        }
      } catch (...) {
        std::lock_guard<std::mutex> lk(m_);
        error_ = std::current_exception();
        cv_.notify_all();
      }
    });
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lk(m_);
      quit_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
    queue_.clear();
  }

  const PreparedDataset& ds_;
  std::vector<int64_t> idx_, order_;
  DataLoaderOptions o_;
  Rng rng_;
  uint64_t epoch_start_offset_ = 0;
  int64_t epoch_ = 0, position_ = 0;
  std::thread worker_;
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  bool quit_ = false;
  std::exception_ptr error_;
};

}  // namespace galml::data
