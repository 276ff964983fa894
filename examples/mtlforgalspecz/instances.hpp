#pragma once
// The example's heavy template instantiations (training and prediction for each network on each
// backend) are compiled in their own translation units, inst_*.cpp, so a 2-core build compiles them in
// parallel. main.cpp sees these explicit-instantiation declarations and instantiates none of them.
#include "run.hpp"

// X: `extern` (declaration) or nothing (definition, in an inst_*.cpp).
#define MTL_INSTANCES(X, NET, B)                                                                                  \
  X template TrainSummary train_net<NET, B>(const Dataset&, const TrainConfig&, const fs::path&);                 \
  X template Predictions predict_net<NET, B>(const Dataset&, const std::vector<int64_t>&, const fs::path&, bool, bool, \
                                             int, bool);

namespace mtl {
MTL_INSTANCES(extern, NetMT, galml::cpu)
MTL_INSTANCES(extern, NetNoSE, galml::cpu)
MTL_INSTANCES(extern, NetCls, galml::cpu)
MTL_INSTANCES(extern, NetReg, galml::cpu)
#if defined(GALML_HAVE_CUDA_BACKEND)
MTL_INSTANCES(extern, NetMT, galml::cuda)
MTL_INSTANCES(extern, NetNoSE, galml::cuda)
MTL_INSTANCES(extern, NetCls, galml::cuda)
MTL_INSTANCES(extern, NetReg, galml::cuda)
#endif
}  // namespace mtl
