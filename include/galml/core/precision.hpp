#pragma once
// Arithmetic precision of a training or inference run (backend-neutral, so options structs and
// command-line parsing need no CUDA headers). The CPU backend computes in FP32 only; on the CUDA
// backend (cuda_rt::set_precision, DeviceStepOptions::precision):
//   fp32    FP32 products (the default)
//   tf32    TF32 tensor-core operands, FP32 accumulation (convolutions and matrix products)
//   bf16    BF16 tensor-core operands, FP32 accumulation
//   tf32x3  FP32-level Conv1D on the tensor cores (each operand split into two TF32 parts, three MMAs per
//           product); matrix products stay FP32
// Storage, master weights, optimizer state and losses are FP32 in every mode (docs/gpu.md).
#include <string>

#include "galml/core/error.hpp"

namespace galml {

enum class Precision : int { fp32 = 0, tf32 = 1, bf16 = 2, tf32x3 = 3 };

inline const char* precision_name(Precision p) {
  return p == Precision::bf16 ? "bf16" : p == Precision::tf32 ? "tf32" : p == Precision::tf32x3 ? "tf32x3" : "fp32";
}
// The precision named "fp32", "tf32", "bf16" or "tf32x3"; anything else is refused with the names.
inline Precision precision_from_name(const std::string& s) {
  for (Precision p : {Precision::fp32, Precision::tf32, Precision::bf16, Precision::tf32x3})
    if (s == precision_name(p)) return p;
  GALML_CHECK(false, "precision: expected fp32, tf32, bf16 or tf32x3, got '", s, "'");
  return Precision::fp32;
}

}  // namespace galml
