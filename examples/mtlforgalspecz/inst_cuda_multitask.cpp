// Explicit instantiations (instances.hpp): the two multi-task networks on the CUDA backend.
#include "instances.hpp"
namespace mtl {
MTL_INSTANCES(, NetMT, galml::cuda)
MTL_INSTANCES(, NetNoSE, galml::cuda)
}  // namespace mtl
