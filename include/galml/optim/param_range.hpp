#pragma once
// A slice [offset, offset + size) of the single contiguous parameter buffer a galml network owns.
// Used to freeze parts of a network in an optimizer and to restrict penalties to kernels.
#include <cstdint>

namespace galml::optim {

struct ParamRange {
  int64_t offset = 0;
  int64_t size = 0;
};

}  // namespace galml::optim
