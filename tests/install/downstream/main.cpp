// Downstream use of an installed galml: build a tiny network, run a forward pass, check the
// parameter count. Exits non-zero on any mismatch.
#include <galml/galml.hpp>
#include <galml/version.hpp>

#include <cmath>
#include <cstdio>

using Net = galml::Net<galml::Input<"spectrum", 1, 16>,
                       galml::Conv1D<4, 3>, galml::ReLU, galml::GlobalAvgPool1D, galml::Dense<2>>;

int main() {
  // Conv1D: 4 * 1 * 3 weights + 4 biases; Dense: 2 * 4 weights + 2 biases.
  constexpr long long expected = 4 * 1 * 3 + 4 + 2 * 4 + 2;
  static_assert(galml::Model<Net>::num_params == expected);

  galml::manual_seed(7);
  galml::Model<Net> model;
  galml::Tensor<float> x({3, 1, 16});
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = std::sin(0.37f * float(i));
  const auto& y = model.forward(x);
  if (y.shape() != std::vector<int64_t>{3, 2}) {
    std::printf("FAIL: output shape %s\n", y.shape_str().c_str());
    return 1;
  }
  for (int64_t i = 0; i < y.numel(); ++i)
    if (!std::isfinite(y[i])) { std::printf("FAIL: non-finite output\n"); return 1; }

  std::printf("galml %s downstream: parameters = %lld (expected %lld)\n", GALML_VERSION_STRING,
              static_cast<long long>(galml::Model<Net>::num_params), expected);
  return galml::Model<Net>::num_params == expected ? 0 : 1;
}
