#pragma once
// InMemorySource: batches from arrays held in memory. The order of epoch e is a pure function of
// (seed, e) — shuffling does not consume a running RNG — so a resumed run sees exactly the same batches.
#include <algorithm>
#include <numeric>
#include <vector>

#include "galml/core/rng.hpp"
#include "galml/train/trainer.hpp"

namespace galml::train {

template <class T>
class InMemorySource {
 public:
  // x: [n, sample_size...] row-major; targets[k]: n*D_k values; masks[k]: n values or empty.
  InMemorySource(std::vector<int64_t> sample_shape, std::vector<T> x, std::vector<std::vector<T>> targets,
                 std::vector<std::vector<T>> masks, int64_t batch_size, bool shuffle, uint64_t seed, bool drop_last = false)
      : shape_(std::move(sample_shape)), x_(std::move(x)), targets_(std::move(targets)), masks_(std::move(masks)),
        bs_(batch_size), shuffle_(shuffle), seed_(seed), drop_last_(drop_last) {
    sample_ = 1;
    for (auto d : shape_) sample_ *= d;
    GALML_CHECK(sample_ > 0 && x_.size() % size_t(sample_) == 0, "InMemorySource: input size ", x_.size(), " is not a multiple of the sample size ", sample_);
    n_ = int64_t(x_.size()) / sample_;
    GALML_CHECK(batch_size > 0, "InMemorySource: batch_size must be positive");
    for (size_t k = 0; k < targets_.size(); ++k)
      GALML_CHECK(n_ > 0 && targets_[k].size() % size_t(n_) == 0, "InMemorySource: targets of task ", k, " have ", targets_[k].size(), " values for ", n_, " samples");
    masks_.resize(targets_.size());
    for (size_t k = 0; k < masks_.size(); ++k)
      GALML_CHECK(masks_[k].empty() || int64_t(masks_[k].size()) == n_, "InMemorySource: mask of task ", k, " has ", masks_[k].size(), " values for ", n_, " samples");
    order_.resize(size_t(n_));
  }
  int64_t num_samples() const { return drop_last_ ? n_ / bs_ * bs_ : n_; }
  int64_t size() const { return n_; }
  void start_epoch(int epoch) {
    std::iota(order_.begin(), order_.end(), int64_t(0));
    if (shuffle_ && epoch > 0) { Rng r(seed_, 0xDA7A0000ull + uint64_t(epoch)); r.shuffle(order_.begin(), order_.end()); }
    pos_ = 0;
  }
  bool next(Batch<T>& b) {
    const int64_t left = n_ - pos_;
    if (left <= 0 || (drop_last_ && left < bs_)) return false;
    const int64_t m = std::min(bs_, left);
    std::vector<int64_t> s{m};
    s.insert(s.end(), shape_.begin(), shape_.end());
    if (b.x.shape() != s) b.x = Tensor<T>(s);
    b.targets.resize(targets_.size());
    b.masks.resize(targets_.size());
    for (int64_t i = 0; i < m; ++i) {
      const int64_t j = order_[size_t(pos_ + i)];
      std::copy_n(x_.data() + j * sample_, sample_, b.x.data() + i * sample_);
    }
    for (size_t k = 0; k < targets_.size(); ++k) {
      const int64_t D = int64_t(targets_[k].size()) / n_;
      b.targets[k].resize(size_t(m * D));
      for (int64_t i = 0; i < m; ++i) std::copy_n(targets_[k].data() + order_[size_t(pos_ + i)] * D, D, b.targets[k].data() + i * D);
      if (masks_[k].empty()) b.masks[k].clear();
      else { b.masks[k].resize(size_t(m)); for (int64_t i = 0; i < m; ++i) b.masks[k][size_t(i)] = masks_[k][size_t(order_[size_t(pos_ + i)])]; }
    }
    pos_ += m;
    return true;
  }

 private:
  std::vector<int64_t> shape_;
  std::vector<T> x_;
  std::vector<std::vector<T>> targets_, masks_;
  int64_t bs_, sample_ = 1, n_ = 0, pos_ = 0;
  bool shuffle_;
  uint64_t seed_;
  bool drop_last_;
  std::vector<int64_t> order_;
};

}  // namespace galml::train
