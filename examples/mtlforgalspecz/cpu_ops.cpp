// The CPU backend's kernels for float, compiled once for the whole program at full optimisation (the
// other files see them as `extern template` through run.hpp and compile only the network and training
// code; see galml/backend/cpu/extern_float.hpp).
#include "galml/backend/cpu/instantiate_float.hpp"
