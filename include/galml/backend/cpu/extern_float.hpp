#pragma once
// Optional separate compilation of the CPU kernels (float). Including this header in a translation unit
// declares every CPU backend op for float as `extern template`: that unit then calls the ops without
// compiling them, and exactly one unit of the program must include instantiate_float.hpp, which
// compiles them once. Why: in a program of several translation units each one otherwise re-optimises
// the same kernels; with the kernels in one unit, the network/training code can even be compiled at a
// lower optimisation level (-O1) without slowing training, since its hot loops are all in the ops.
// Without this header nothing changes (the library stays header-only). The list, float_ops.inc, is
// generated from the headers of this folder by scripts/gen_cpu_extern.py (a test checks it is current).
#include "galml/backend/cpu/attention.hpp"
#include "galml/backend/cpu/conv2d.hpp"
#include "galml/backend/cpu/fused.hpp"
#include "galml/backend/cpu/layout.hpp"
#include "galml/backend/cpu/minmax.hpp"
#include "galml/backend/cpu/norm.hpp"
#include "galml/backend/cpu/ops.hpp"
#include "galml/backend/cpu/pool2d.hpp"
#include "galml/backend/cpu/softmax.hpp"

namespace galml::backend_ops {
#define GALML_CPU_OP(...) extern template __VA_ARGS__;
#include "galml/backend/cpu/float_ops.inc"
#undef GALML_CPU_OP
}  // namespace galml::backend_ops
