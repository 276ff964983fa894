// Explicit instantiations (instances.hpp): the two multi-task networks on the CPU backend.
#include "instances.hpp"
namespace mtl {
MTL_INSTANCES(, NetMT, galml::cpu)
MTL_INSTANCES(, NetNoSE, galml::cpu)
}  // namespace mtl
