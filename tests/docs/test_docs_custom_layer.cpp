// The custom layer of docs/writing-a-layer.md compiles, is gradient-checked, and works in a network.
// The test also checks that the page still contains the snippet verbatim.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "../../docs/snippets/scale_layer.hpp"
#include "galml/testing/gradcheck.hpp"

TEST_CASE("docs: custom layer snippet is in the page", "[docs]") {
  auto read = [](const char* p) { std::ifstream f(p); std::stringstream s; s << f.rdbuf(); return s.str(); };
  const std::string page = read(GALML_TEST_DATA_DIR "/../../docs/writing-a-layer.md");
  std::string snip = read(GALML_TEST_DATA_DIR "/../../docs/snippets/scale_layer.hpp");
  snip = snip.substr(snip.find('\n', snip.find("drift") == std::string::npos ? snip.find("docs/writing") : 0) + 1);
  snip = snip.substr(snip.find("// A learnable"));
  CHECK(page.find(snip) != std::string::npos);
}

TEST_CASE("docs: custom layer gradient check and use in a network", "[docs]") {
  auto r = galml::testing::check_layer<Scale, galml::Shape<3, 8>>();
  CHECK(r.max_rel_error < 1e-6);
  using Net = galml::Net<galml::Input<"x", 2, 16>, galml::Conv1D<3, 3>, Scale, galml::GlobalAvgPool1D, galml::Dense<1>>;
  galml::Model<Net> model;
  auto names = model.parameter_info();
  REQUIRE(names.size() == 5);
  CHECK(names[2].name == "trunk.1.weight");
  CHECK(galml::testing::check_model<Net>().max_rel_error < 1e-6);
}
