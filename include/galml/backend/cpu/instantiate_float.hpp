#pragma once
// The other half of extern_float.hpp: include this in exactly one translation unit of a program (and
// compile that unit with full optimisation); it compiles every CPU backend op for float once.
#include "galml/backend/cpu/extern_float.hpp"

namespace galml::backend_ops {
#define GALML_CPU_OP(...) template __VA_ARGS__;
#include "galml/backend/cpu/float_ops.inc"
#undef GALML_CPU_OP
}  // namespace galml::backend_ops
