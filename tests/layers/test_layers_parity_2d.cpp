// PyTorch parity for the 2-D layers: tests/golden/make_layer_golden_2d.py runs torch 1.13 in float64
// and stores input, parameters (PyTorch names and layout), output, a fixed upstream gradient, the input
// gradient and the parameter gradients (BatchNorm2D also the running statistics after one train step
// and an eval pass with them). Each case is loaded into the galml layer through its visit() order
// (names and shapes must match PyTorch's named_parameters()) and compared at 1e-10.
#include <catch2/catch.hpp>

#include "galml/galml.hpp"
#include "support/golden_parity.hpp"

using namespace galml;

namespace {
template <class Spec, class In> bool parity(const std::string& name) { return golden::parity<Spec, In>("layers2d", name); }
}  // namespace

TEST_CASE("Conv2D parity with torch.nn.Conv2d", "[layers][parity][conv2d]") {
  CHECK(parity<Conv2D<3, 3>, Shape<2, 7, 8>>("conv2d_valid"));
  CHECK(parity<Conv2D<4, 3, 1, Padding::same>, Shape<3, 6, 5>>("conv2d_same"));
  CHECK(parity<Conv2D<3, 5, 1, Padding::same>, Shape<2, 6, 7>>("conv2d_same_k5"));
  CHECK(parity<Conv2D<4, 3, 2, 1>, Shape<3, 9, 10>>("conv2d_strided"));
  CHECK(parity<Conv2D<3, 4, 3>, Shape<2, 11, 13>>("conv2d_strided_valid"));
  CHECK(parity<Conv2D<5, 1, 1, Padding::valid, false>, Shape<3, 4, 5>>("conv2d_k1_nobias"));
}

TEST_CASE("2-D pooling parity", "[layers][parity][pool2d]") {
  CHECK(parity<MaxPool2D<2>, Shape<2, 7, 9>>("maxpool2d_k2"));
  CHECK(parity<MaxPool2D<3, 2>, Shape<2, 9, 8>>("maxpool2d_k3_s2"));
  CHECK(parity<AvgPool2D<2>, Shape<2, 7, 9>>("avgpool2d_k2"));
  CHECK(parity<AvgPool2D<3, 2>, Shape<2, 9, 8>>("avgpool2d_k3_s2"));
  CHECK(parity<AdaptiveAvgPool2D<4>, Shape<1, 75, 75>>("adaptive2d_75_4"));
  CHECK(parity<AdaptiveAvgPool2D<4>, Shape<3, 10, 10>>("adaptive2d_10_4"));
  CHECK(parity<AdaptiveAvgPool2D<4, 3>, Shape<2, 10, 7>>("adaptive2d_10x7_4x3"));
  CHECK(parity<GlobalAvgPool2D, Shape<3, 5, 6>>("gap2d"));
}

TEST_CASE("BatchNorm2D parity: train step, running statistics, eval", "[layers][parity][batchnorm2d]") {
  CHECK(parity<BatchNorm2D<>, Shape<3, 5, 4>>("batchnorm2d"));
  CHECK(parity<BatchNorm2D<1e-3, 0.01>, Shape<2, 3, 3>>("batchnorm2d_eps1e-3_m0.01"));
}

TEST_CASE("FlattenChannelsLast parity with x.permute(0, 2, 3, 1).flatten(1)", "[layers][parity][flatten]") {
  CHECK(parity<FlattenChannelsLast, Shape<3, 4, 5>>("flatten_cl"));
  std::cout << "  parity 2-D: max error over all golden cases " << golden::max_error() << "\n";
}
