// JPEG/PNG decoding into C x H x W float tensors (stb_image).
#include <catch2/catch.hpp>

#include "galml/io/image.hpp"
#include "io/io_test_util.hpp"

using namespace galml::io;
using galml_io_test::have_shared;
using galml_io_test::shared_dir;
using galml_io_test::tmp_path;

#if defined(GALML_HAVE_STB)
TEST_CASE("the four SDSS JPEG cutouts decode to 3 x 128 x 128", "[io][image]") {
  if (!have_shared("data/sdss-real/images")) { SUCCEED(); return; }
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(shared_dir() / "data/sdss-real/images")) {
    if (e.path().extension() != ".jpg") continue;
    ++n;
    INFO(e.path().string());
    Image img = read_image_file(e.path());
    CHECK(img.channels == 3);
    CHECK(img.height == 128);
    CHECK(img.width == 128);
    REQUIRE(img.data.size() == 3u * 128 * 128);
    float lo = 1e9f, hi = -1e9f;
    for (float v : img.data) { lo = std::min(lo, v); hi = std::max(hi, v); }
    CHECK(lo >= 0.0f);
    CHECK(hi <= 255.0f);
    CHECK(hi > 100.0f);  // a galaxy is in the middle: not a blank frame
    Image u = read_image_file(e.path(), ImageOptions{true, 0});
    CHECK(u.at(1, 64, 64) == Approx(img.at(1, 64, 64) / 255.0f));
    Image g = read_image_file(e.path(), ImageOptions{false, 1});
    CHECK(g.channels == 1);
  }
  CHECK(n == 4);
}

TEST_CASE("PNG write -> read round trip is exact and channels-first", "[io][image]") {
  Image img;
  img.channels = 3;
  img.height = 5;
  img.width = 7;
  img.data.resize(3 * 5 * 7);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 7; ++x) img.at(c, y, x) = static_cast<float>((c * 80 + y * 20 + x * 3) % 256);
  auto path = tmp_path("roundtrip.png");
  write_png(path, img);
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  Image r = read_image_file(path);
  CHECK(r.channels == 3);
  CHECK(r.height == 5);
  CHECK(r.width == 7);
  CHECK(r.data == img.data);
  CHECK(r.at(2, 4, 6) == static_cast<float>((160 + 80 + 18) % 256));
}

TEST_CASE("undecodable, empty and missing image files are clear errors", "[io][image]") {
  auto bad = tmp_path("garbage.jpg");
  galml_io_test::spit(bad, std::vector<char>(500, 'z'));
  REQUIRE_THROWS_WITH(read_image_file(bad), Catch::Contains("garbage.jpg") && Catch::Contains("cannot decode"));
  auto empty = tmp_path("empty.png");
  galml_io_test::spit(empty, {});
  REQUIRE_THROWS_WITH(read_image_file(empty), Catch::Contains("empty.png") && Catch::Contains("empty file"));
  REQUIRE_THROWS_WITH(read_image_file(tmp_path("nope.jpg")), Catch::Contains("nope.jpg") && Catch::Contains("cannot open"));
  if (have_shared("data/sdss-real/images/3.468576_-0.3967.jpg")) {
    auto bytes = galml_io_test::slurp(shared_dir() / "data/sdss-real/images/3.468576_-0.3967.jpg");
    bytes.resize(bytes.size() / 3);  // truncated JPEG: stb may decode partially or fail, never crash
    auto t = tmp_path("truncated.jpg");
    galml_io_test::spit(t, bytes);
    try {
      Image img = read_image_file(t);
      CHECK(img.data.size() == static_cast<size_t>(img.channels) * img.height * img.width);
    } catch (const galml::Error& e) {
      CHECK(std::string(e.what()).find("truncated.jpg") != std::string::npos);
    }
  }
}
#else
TEST_CASE("image decoding needs stb_image", "[io][image]") { WARN("skipping: built without GALML_HAVE_STB"); SUCCEED(); }
#endif
