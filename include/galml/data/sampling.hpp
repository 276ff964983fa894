#pragma once
// Splits, samplers and mixup (spec §5.5). All take an explicit seed or Rng so a run is reproducible.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

#include "galml/core/error.hpp"
#include "galml/core/rng.hpp"
#include "galml/core/tensor.hpp"

namespace galml::data {

struct Split {
  std::vector<int64_t> train, val, test;  // sorted ascending
};

namespace detail {
inline void check_ratios(const std::array<double, 3>& r) {
  GALML_CHECK(r[0] >= 0 && r[1] >= 0 && r[2] >= 0 && std::abs(r[0] + r[1] + r[2] - 1.0) < 1e-6,
              "split ratios must be >= 0 and sum to 1 (got ", r[0], ", ", r[1], ", ", r[2], ")");
}
// Cuts an already shuffled list into train/val/test by ratio (rounded; test takes the remainder).
inline void cut(const std::vector<int64_t>& idx, const std::array<double, 3>& r, Split& s) {
  const int64_t n = int64_t(idx.size());
  const int64_t ntr = std::llround(double(n) * r[0]);
  const int64_t nva = std::min<int64_t>(n - ntr, std::llround(double(n) * r[1]));
  s.train.insert(s.train.end(), idx.begin(), idx.begin() + ntr);
  s.val.insert(s.val.end(), idx.begin() + ntr, idx.begin() + ntr + nva);
  s.test.insert(s.test.end(), idx.begin() + ntr + nva, idx.end());
}
inline void sort_split(Split& s) {
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.val.begin(), s.val.end());
  std::sort(s.test.begin(), s.test.end());
}
}  // namespace detail

// Random split of 0..n-1 by ratio.
inline Split random_split(int64_t n, std::array<double, 3> ratios, uint64_t seed) {
  detail::check_ratios(ratios);
  std::vector<int64_t> idx(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) idx[size_t(i)] = i;
  Rng r(seed, 0x73706c6974ull);  // "split"
  r.shuffle(idx.begin(), idx.end());
  Split s;
  detail::cut(idx, ratios, s);
  detail::sort_split(s);
  return s;
}

// Stratified split: each class is cut by the same ratios, so class proportions are kept in every part
// (MTLforGalSpecZ: "with the class proportions maintained"). Each class draws from its own stream, so
// adding samples of one class does not reshuffle the others.
inline Split stratified_split(const std::vector<int32_t>& labels, std::array<double, 3> ratios, uint64_t seed) {
  detail::check_ratios(ratios);
  std::map<int32_t, std::vector<int64_t>> by;
  for (size_t i = 0; i < labels.size(); ++i) by[labels[i]].push_back(int64_t(i));
  Split s;
  for (auto& [c, idx] : by) {
    Rng r(seed, 0x7374726174000000ull + uint64_t(uint32_t(c)));  // "strat" + class
    r.shuffle(idx.begin(), idx.end());
    detail::cut(idx, ratios, s);
  }
  detail::sort_split(s);
  return s;
}

// Weighted random sampler (torch.utils.data.WeightedRandomSampler with weights 1/n_c): every class is
// drawn equally often on average, with replacement. Returns positions into `labels`.
class WeightedRandomSampler {
 public:
  WeightedRandomSampler(const std::vector<int32_t>& labels, int64_t num_samples) : n_(num_samples) {
    GALML_CHECK(!labels.empty(), "WeightedRandomSampler: no labels");
    std::map<int32_t, int64_t> count;
    for (int32_t c : labels) ++count[c];
    w_.resize(labels.size());
    cum_.resize(labels.size());
    double acc = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
      w_[i] = 1.0 / double(count[labels[i]]);
      acc += w_[i];
      cum_[i] = acc;
    }
  }
  const std::vector<double>& weights() const { return w_; }
  std::vector<int64_t> sample(Rng& r) const {
    std::vector<int64_t> out(size_t(std::max<int64_t>(n_, 0)));
    const double total = cum_.back();
    for (auto& o : out) {
      const double u = r.uniform() * total;
      o = std::min<int64_t>(int64_t(std::upper_bound(cum_.begin(), cum_.end(), u) - cum_.begin()), int64_t(cum_.size()) - 1);
    }
    return out;
  }

 private:
  int64_t n_;
  std::vector<double> w_, cum_;
};

// Class-balanced undersampling: keep min_c n_c random samples of every class. Returns sorted positions.
inline std::vector<int64_t> class_balanced_undersample(const std::vector<int32_t>& labels, Rng& r) {
  std::map<int32_t, std::vector<int64_t>> by;
  for (size_t i = 0; i < labels.size(); ++i) by[labels[i]].push_back(int64_t(i));
  if (by.empty()) return {};
  size_t m = SIZE_MAX;
  for (auto& [c, v] : by) m = std::min(m, v.size());
  std::vector<int64_t> out;
  for (auto& [c, v] : by) {
    r.shuffle(v.begin(), v.end());
    out.insert(out.end(), v.begin(), v.begin() + long(m));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Mixup (Zhang et al. 2018): x' = lambda x + (1 - lambda) x[perm]. One lambda ~ Beta(alpha, alpha) and
// one permutation per batch, applied to every modality (spectrum, image, table) and to the labels, so
// the mixed inputs stay consistent with each other.
struct MixupPlan {
  double lambda = 1.0;
  std::vector<int64_t> perm;

  void apply(Tensor<float>& x) const {
    GALML_CHECK(!x.shape().empty() && x.shape()[0] == int64_t(perm.size()), "MixupPlan::apply: batch ", (x.shape().empty() ? 0 : x.shape()[0]),
                " != plan batch ", perm.size());
    const int64_t b = int64_t(perm.size()), per = b ? x.numel() / b : 0;
    Tensor<float> src = x.clone();
    const float l = float(lambda);
    for (int64_t i = 0; i < b; ++i) {
      const float* a = src.data() + i * per;
      const float* o = src.data() + perm[size_t(i)] * per;
      float* d = x.data() + i * per;
      for (int64_t k = 0; k < per; ++k) d[k] = l * a[k] + (1.0f - l) * o[k];
    }
  }
  // Soft one-hot targets [B, n_classes].
  std::vector<float> mix_labels(const std::vector<int32_t>& y, int n_classes) const {
    GALML_CHECK(y.size() == perm.size(), "MixupPlan::mix_labels: ", y.size(), " labels for batch ", perm.size());
    std::vector<float> out(y.size() * size_t(n_classes), 0.0f);
    for (size_t i = 0; i < y.size(); ++i) {
      GALML_CHECK(y[i] >= 0 && y[i] < n_classes, "MixupPlan::mix_labels: label ", y[i], " outside 0..", n_classes - 1);
      out[i * size_t(n_classes) + size_t(y[i])] += float(lambda);
      out[i * size_t(n_classes) + size_t(y[size_t(perm[i])])] += float(1.0 - lambda);
    }
    return out;
  }
};

inline MixupPlan make_mixup(int64_t batch, double alpha, Rng& r) {
  GALML_CHECK(alpha > 0, "mixup alpha must be > 0 (got ", alpha, ")");
  MixupPlan p;
  p.lambda = r.beta(alpha, alpha);
  p.perm.resize(size_t(batch));
  for (int64_t i = 0; i < batch; ++i) p.perm[size_t(i)] = i;
  r.shuffle(p.perm.begin(), p.perm.end());
  return p;
}

}  // namespace galml::data
