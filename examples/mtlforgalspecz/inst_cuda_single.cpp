// Explicit instantiations (instances.hpp): the single-task networks on the CUDA backend.
#include "instances.hpp"
namespace mtl {
MTL_INSTANCES(, NetCls, galml::cuda)
MTL_INSTANCES(, NetReg, galml::cuda)
}  // namespace mtl
