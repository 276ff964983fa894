// EXPECT: shape_mismatch<1, galml::MaxPool1D<5>, galml::Shape<2, 3>
// A pooling window longer than its input must not compile.
#include "galml/galml.hpp"
using namespace galml;
using N = Net<Input<"x", 1, 5>, Conv1D<2, 3>, MaxPool1D<5>, Flatten, Dense<1>>;
int main() { Model<N> m; return int(m.num_params); }
