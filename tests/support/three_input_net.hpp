#pragma once
// The small three-input network (spectrum, image, table -> joined trunk -> classification and regression
// heads) that the multi-input tests share, and random inputs for it.
#include <cstdint>
#include <vector>

#include "galml/galml.hpp"
#include "galml/train/trainer.hpp"

namespace galml_test {
using ThreeInputNet = galml::Net<galml::Inputs<galml::JoinConcat<0>,
                                               galml::Branch<"spectrum", galml::Shape<1, 24>, galml::Conv1D<3, 5, 2>, galml::ReLU, galml::GlobalAvgPool1D>,
                                               galml::Branch<"image", galml::Shape<2, 4, 4>, galml::Flatten, galml::Dense<5>, galml::Tanh>,
                                               galml::Branch<"table", galml::Shape<4>>>,
                                 galml::Dense<6>, galml::Tanh,
                                 galml::Heads<galml::Head<"cls", galml::Dropout<0.2>, galml::Dense<3>>, galml::Head<"z", galml::Dense<1>>>>;

// Standard-normal inputs of N samples: b.x (spectrum), b.extra (image, table); targets untouched.
inline void fill_three_inputs(galml::train::Batch<float>& b, int64_t N, galml::Rng& r) {
  auto fill = [&](std::vector<int64_t> shape) {
    galml::Tensor<float> t(shape);
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = float(r.normal());
    return t;
  };
  b.x = fill({N, 1, 24});
  b.extra = {fill({N, 2, 4, 4}), fill({N, 4})};
}
}  // namespace galml_test
