#pragma once
// Tensor<T, B>: a dense row-major array on backend B, 64-byte aligned, with a dynamic shape whose
// first dimension is the batch. Copies share storage (like torch.Tensor); clone() copies data.
// Views (batch slices, reshapes) share the same storage.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "galml/core/backend.hpp"
#include "galml/core/shape.hpp"

namespace galml {

template <class T, class B = cpu>
class Tensor {
 public:
  using value_type = T;
  using backend = B;

  Tensor() = default;
  explicit Tensor(std::vector<int64_t> shape) : shape_(std::move(shape)) {
    const int64_t n = numel();
    storage_ = std::shared_ptr<T>(static_cast<T*>(allocator<B>::allocate(size_t(std::max<int64_t>(n, 1)) * sizeof(T))),
                                  [](T* p) { allocator<B>::deallocate(p); });
    capacity_ = n;
  }
  // Per-sample compile-time shape S, batch N.
  template <ShapeType S> static Tensor batch(int64_t N) {
    std::vector<int64_t> s{N};
    for (int d : S::dims) s.push_back(d);
    return Tensor(std::move(s));
  }
  static Tensor zeros(std::vector<int64_t> shape) { Tensor t(std::move(shape)); t.zero(); return t; }
  static Tensor from(const std::vector<T>& v, std::vector<int64_t> shape) {
    static_assert(std::is_same_v<B, cpu>, "Tensor::from(vector) builds a CPU tensor; copy it to the device with to<cuda>()");
    Tensor t(std::move(shape));
    GALML_CHECK(int64_t(v.size()) == t.numel(), "Tensor::from: ", v.size(), " values for shape ", t.shape_str());
    std::copy(v.begin(), v.end(), t.data());
    return t;
  }

  T* data() { return storage_.get() + offset_; }
  const T* data() const { return storage_.get() + offset_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t shape(int i) const { return shape_.at(size_t(i)); }
  int rank() const { return int(shape_.size()); }
  int64_t numel() const { int64_t n = 1; for (auto d : shape_) n *= d; return shape_.empty() ? 0 : n; }
  int64_t batch_size() const { return shape_.empty() ? 0 : shape_[0]; }
  int64_t sample_size() const { return batch_size() ? numel() / batch_size() : 0; }
  bool empty() const { return numel() == 0; }
  std::string shape_str() const {
    std::string s = "[";
    for (size_t i = 0; i < shape_.size(); ++i) {
      if (i) s += ", ";
      s += std::to_string(shape_[i]);
    }
    return s + "]";
  }

  void zero() { if (storage_) allocator<B>::memset_zero(data(), size_t(numel()) * sizeof(T)); }
  void fill(T v) requires std::is_same_v<B, cpu> { std::fill(data(), data() + numel(), v); }
  T& operator[](int64_t i) requires std::is_same_v<B, cpu> { return data()[i]; }
  const T& operator[](int64_t i) const requires std::is_same_v<B, cpu> { return data()[i]; }

  // Rows [b, e) of the batch, sharing storage.
  Tensor slice(int64_t b, int64_t e) const {
    GALML_CHECK(0 <= b && b <= e && e <= batch_size(), "Tensor::slice(", b, ", ", e, ") out of range for batch ", batch_size());
    Tensor t = *this;
    t.offset_ = offset_ + b * sample_size();
    t.shape_[0] = e - b;
    return t;
  }
  Tensor reshape(std::vector<int64_t> shape) const {
    Tensor t = *this;
    t.shape_ = std::move(shape);
    GALML_CHECK(t.numel() == numel(), "Tensor::reshape from ", shape_str(), " to ", t.shape_str(), " changes the element count");
    return t;
  }
  Tensor clone() const {
    Tensor t(shape_);
    allocator<B>::copy(t.data(), data(), size_t(numel()) * sizeof(T));
    return t;
  }
  // Make sure this tensor can hold `shape` (reallocates only when it must grow: no allocation in the
  // steady state of a training loop).
  void ensure(std::vector<int64_t> shape) {
    int64_t n = 1; for (auto d : shape) n *= d;
    if (!storage_ || n > capacity_ || offset_ != 0) { *this = Tensor(std::move(shape)); return; }
    shape_ = std::move(shape);
  }

 private:
  std::shared_ptr<T> storage_;
  std::vector<int64_t> shape_;
  int64_t offset_ = 0;
  int64_t capacity_ = 0;
};

}  // namespace galml
