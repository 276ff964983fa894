// Explicit instantiations (instances.hpp): the single-task networks on the CPU backend.
#include "instances.hpp"
namespace mtl {
MTL_INSTANCES(, NetCls, galml::cpu)
MTL_INSTANCES(, NetReg, galml::cpu)
}  // namespace mtl
