#pragma once
// Mean absolute error over all N×D entries (PyTorch L1Loss 'mean'). The gradient at an exact tie is 0,
// as torch.sign gives. With a row mask the mean is over the kept rows' entries; see Masked<MAE> for the
// ÷N masked MAE of MTLforGalSpecZ Eq. 7.
#include "galml/loss/common.hpp"

namespace galml::loss {

struct MAE : detail::ElementwiseMean<MAE> {
  static constexpr const char* kName = "MAE";
  static std::pair<double, double> value_grad(double r, double scale) { return {std::abs(r), r > 0 ? scale : r < 0 ? -scale : 0.0}; }
};

}  // namespace galml::loss
