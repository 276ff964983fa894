#pragma once
// `mtlforgalspecz predict`: one CSV row per spectrum (class probabilities, 12+log(O/H), optional
// MC-dropout sigma) or the reason it was rejected. Defined in predict_files.cpp.
#include <filesystem>
#include <string>
#include <vector>

namespace mtl {
int predict_files(const std::vector<std::string>& inputs, const std::filesystem::path& weights, const std::filesystem::path& out, int mc);
}  // namespace mtl
