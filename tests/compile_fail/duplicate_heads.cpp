// EXPECT: two heads of a network have the same name
#include "galml/galml.hpp"
using namespace galml;
using N = Net<Input<"x", 4>, Dense<3>, Heads<Head<"z", Dense<1>>, Head<"z", Dense<2>>>>;
int main() { Model<N> m; return int(m.num_params); }
