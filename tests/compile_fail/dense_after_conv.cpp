// EXPECT: shape_mismatch<2, galml::Dense<4>, galml::Shape<8, 28>
// Dense needs a feature vector; forgetting Flatten after a convolution must not compile, and the
// error must name the layer position, the layer and the input shape.
#include "galml/galml.hpp"
using namespace galml;
using N = Net<Input<"x", 1, 30>, Conv1D<8, 3>, ReLU, Dense<4>>;
int main() { Model<N> m; return int(m.num_params); }
