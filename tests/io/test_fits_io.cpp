// FitsFile: typed table/image/keyword round trips, HDU navigation, atomic writes, error messages,
// and FITS images as C x H x W tensors.
#include <catch2/catch.hpp>

#include <cmath>

#include "galml/io/fits.hpp"
#include "galml/io/image.hpp"
#include "io/io_test_util.hpp"

using namespace galml::io;
using galml_io_test::have_shared;
using galml_io_test::shared_dir;
using galml_io_test::tmp_path;

TEST_CASE("binary table round trip: scalar and vector columns of every type", "[io][fits]") {
  auto path = tmp_path("table.fits");
  std::vector<float> f32 = {1.5f, -2.25f, 3.0e-7f};
  std::vector<double> f64 = {0.1, 1e300, -3.14159265358979};
  std::vector<int32_t> i32 = {-2147483647, 0, 2147483647};
  std::vector<int64_t> i64 = {-1695072, 39633297352951412LL, 616088619186127404LL};
  std::vector<std::string> str = {"GALAXY", "", "QSO with, comma"};
  std::vector<float> vec5(15);
  for (size_t i = 0; i < vec5.size(); ++i) vec5[i] = static_cast<float>(i) * 0.5f;
  {
    FitsFile f = FitsFile::create(path);
    f.write_empty_primary();
    f.write_key("TELESCOP", std::string("SDSS 2.5-M"), "telescope");
    f.write_table("DATA", {{"f32", f32, 1, "Angstrom"}, {"F64", f64, 1, ""}, {"i32", i32, 1, ""},
                           {"i64", i64, 1, ""}, {"name", str, 1, ""}, {"SN_MEDIAN", vec5, 5, ""}});
    f.write_key("NPIX", int32_t{3838});
    f.write_key("ZMAX", 0.3);
    f.write_key("GOOD", true);
    f.commit();
  }
  FitsFile f = FitsFile::open(path);
  CHECK(f.hdu_names() == std::vector<std::string>{"PRIMARY", "DATA"});
  CHECK(f.num_hdus() == 2);
  CHECK(f.key<std::string>("TELESCOP") == std::string("SDSS 2.5-M"));
  CHECK_FALSE(f.key<double>("NOSUCHKY").has_value());
  f.move_to("data");  // EXTNAME lookup is case-insensitive
  CHECK(f.current_index() == 1);
  CHECK(f.current_name() == "DATA");
  CHECK(f.current_type() == HduType::binary_table);
  CHECK(f.num_rows() == 3);
  CHECK(f.key<int32_t>("NPIX") == 3838);
  CHECK(f.key<double>("ZMAX") == 0.3);
  CHECK(f.key<bool>("GOOD") == true);
  CHECK(f.read_column<float>("F32").values == f32);  // column names case-insensitive
  CHECK(f.read_column<double>("f64").values == f64);
  CHECK(f.read_column<int32_t>("i32").values == i32);
  CHECK(f.read_column<int64_t>("i64").values == i64);
  CHECK(f.read_column<std::string>("i64").values ==
        std::vector<std::string>{"-1695072", "39633297352951412", "616088619186127404"});  // exact, no double rounding
  CHECK(f.read_column<std::string>("name").values == str);
  auto v = f.read_column<float>("sn_median");
  CHECK(v.repeat == 5);
  CHECK(v.nrows == 3);
  CHECK(v.values == vec5);
  CHECK(v.at(1, 2) == 3.5f);
  CHECK(f.read_column<double>("f32").values[0] == 1.5);  // type conversion by cfitsio
  REQUIRE_THROWS_WITH(f.read_column<float>("nope"),
                      Catch::Contains("table.fits") && Catch::Contains("DATA") && Catch::Contains("missing column 'nope'"));
  REQUIRE_THROWS_WITH(f.read_column<float>("name"), Catch::Contains("column 'name'") && Catch::Contains("string column"));
  REQUIRE_THROWS_WITH(f.move_to("SPECOBJ"), Catch::Contains("table.fits") && Catch::Contains("missing HDU 'SPECOBJ'") &&
                                               Catch::Contains("PRIMARY, DATA"));
  REQUIRE_THROWS_WITH(f.move_to(7), Catch::Contains("table.fits") && Catch::Contains("move to HDU 7") &&
                                        Catch::Contains("cfitsio status"));
  // Writing to a read-only file is refused.
  REQUIRE_THROWS_WITH(f.write_key("X", 1.0), Catch::Contains("read-only"));
}

TEST_CASE("image round trip for every BITPIX, with BSCALE/BZERO applied on read", "[io][fits]") {
  auto path = tmp_path("images.fits");
  std::vector<float> fl(4 * 3);
  for (size_t i = 0; i < fl.size(); ++i) fl[i] = static_cast<float>(i) * 0.25f - 1.0f;
  std::vector<int16_t> i16 = {0, 1, 2, 3, 4, 5};
  {
    FitsFile f = FitsFile::create(path);
    f.write_image<float>("", fl, {4, 3});  // primary
    f.write_image<double>("DBL", {1.0, 2.0, 3.0}, {3});
    f.write_image<int32_t>("I32", {-7, 8}, {2});
    f.write_image<int64_t>("I64", {1LL << 40, -(1LL << 40)}, {2});
    f.write_image<uint8_t>("U8", {0, 128, 255}, {3});
    f.write_image<int16_t>("SCALED", i16, {3, 2});
    f.write_key("BSCALE", 0.5);
    f.write_key("BZERO", 10.0);
    f.commit();
  }
  FitsFile f = FitsFile::open(path);
  CHECK(f.hdu_names() == std::vector<std::string>{"PRIMARY", "DBL", "I32", "I64", "U8", "SCALED"});
  f.move_to(0);
  auto p = f.read_image<float>();
  CHECK(p.dims == std::vector<long long>{4, 3});
  CHECK(p.data == fl);
  CHECK(f.read_image<double>("dbl").data == std::vector<double>{1, 2, 3});
  CHECK(f.read_image<int32_t>("I32").data == std::vector<int32_t>{-7, 8});
  CHECK(f.read_image<int64_t>("I64").data == std::vector<int64_t>{1LL << 40, -(1LL << 40)});
  CHECK(f.read_image<float>("U8").data == std::vector<float>{0, 128, 255});
  auto s = f.read_image<double>("SCALED");
  CHECK(s.dims == std::vector<long long>{3, 2});
  CHECK(s.data == std::vector<double>{10, 10.5, 11, 11.5, 12, 12.5});
  REQUIRE_THROWS_WITH(f.num_rows(), Catch::Contains("image, not a table"));
}

TEST_CASE("writes are atomic: an abandoned writer leaves the old file intact and no .tmp", "[io][fits]") {
  auto path = tmp_path("atomic.fits");
  {
    FitsFile f = FitsFile::create(path);
    f.write_image<double>("", {42.0}, {1});
    f.commit();
  }
  {
    FitsFile f = FitsFile::create(path);
    f.write_image<double>("", {7.0}, {1});
    // destroyed without commit(), as when an exception unwinds a writer
  }
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  {
    FitsFile f = FitsFile::open(path);
    CHECK(f.read_image<double>().data == std::vector<double>{42.0});
  }
  // readwrite edits a copy and publishes it on commit.
  {
    FitsFile f = FitsFile::open(path, FitsMode::readwrite);
    f.write_key("EDITED", true);
    f.write_table("EXTRA", {{"A", std::vector<int32_t>{1, 2}, 1, ""}});
    f.commit();
  }
  FitsFile f = FitsFile::open(path);
  CHECK(f.key<bool>("EDITED") == true);
  CHECK(f.hdu_names() == std::vector<std::string>{"PRIMARY", "EXTRA"});
  f.move_to("EXTRA");
  CHECK(f.read_column<int32_t>("A").values == std::vector<int32_t>{1, 2});
  // Moved-from objects are inert; moved-to objects own the file.
  FitsFile g = std::move(f);
  CHECK(g.is_open());
  CHECK_FALSE(f.is_open());  // NOLINT(bugprone-use-after-move): checking the moved-from state on purpose
}

TEST_CASE("writer input validation names the file and column", "[io][fits]") {
  auto path = tmp_path("invalid.fits");
  FitsFile f = FitsFile::create(path);
  REQUIRE_THROWS_WITH(f.write_table("T", {{"a", std::vector<float>{1, 2}, 1, ""}, {"b", std::vector<float>{1}, 1, ""}}),
                      Catch::Contains("invalid.fits") && Catch::Contains("column 'b'") && Catch::Contains("rows"));
  REQUIRE_THROWS_WITH(f.write_table("T", {{"v", std::vector<float>{1, 2, 3}, 2, ""}}),
                      Catch::Contains("column 'v'") && Catch::Contains("multiple of repeat"));
  REQUIRE_THROWS_WITH(f.write_image<float>("I", {1, 2, 3}, {2, 2}), Catch::Contains("invalid.fits") && Catch::Contains("dims"));
}

TEST_CASE("DESI real file: image HDUs by name, uint32 mask via BZERO, 3-D resolution", "[io][fits]") {
  if (!have_shared("data/desi-real/coadd-5-169-thru20210419.fits")) { SUCCEED(); return; }
  FitsFile f = FitsFile::open(shared_dir() / "data/desi-real/coadd-5-169-thru20210419.fits");
  auto w = f.read_image<double>("B_WAVELENGTH");
  REQUIRE(w.dims == std::vector<long long>{2751});
  CHECK(w.data.front() == Approx(3600.0));
  CHECK(w.data.back() == Approx(5800.0));
  auto m = f.read_image<int64_t>("B_MASK");
  CHECK(m.dims == std::vector<long long>{2751, 5});
  for (auto x : m.data) REQUIRE((x >= 0 && x <= 4294967295LL));
  auto r = f.read_image<float>("B_RESOLUTION");
  CHECK(r.dims == std::vector<long long>{2751, 11, 5});
  CHECK(f.current_name() == "B_RESOLUTION");
  f.move_to("FIBERMAP");
  CHECK(f.read_column<int64_t>("targetid").nrows == 5);
}

TEST_CASE("FITS image as a C x H x W image, and write_fits_image round trip", "[io][fits][image]") {
  Image img;
  img.channels = 3;
  img.height = 4;
  img.width = 5;
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 5; ++x) img.data.push_back(static_cast<float>(100 * c + 10 * y + x));
  auto path = tmp_path("image-cube.fits");
  write_fits_image(path, img);
  Image r = read_fits_image(path);
  CHECK(r.channels == 3);
  CHECK(r.height == 4);
  CHECK(r.width == 5);
  CHECK(r.at(2, 3, 4) == 234.0f);
  CHECK(r.at(1, 0, 2) == 102.0f);
  CHECK(r.data == img.data);
  Image u = read_fits_image(path, 0, ImageOptions{true, 0});
  CHECK(u.at(2, 3, 4) == Approx(234.0f / 255.0f));

  Image gray;
  gray.channels = 1;
  gray.height = 2;
  gray.width = 3;
  gray.data = {1, 2, 3, 4, 5, 6};
  write_fits_image(path, gray);
  Image g = read_fits_image(path, std::string_view("PRIMARY"));
  CHECK(g.channels == 1);
  CHECK(g.at(0, 1, 2) == 6.0f);

  auto tpath = tmp_path("image-table.fits");
  {
    FitsFile f = FitsFile::create(tpath);
    f.write_table("T", {{"a", std::vector<float>{1}, 1, ""}});
    f.commit();
  }
  REQUIRE_THROWS_WITH(read_fits_image(tpath, 1), Catch::Contains("image-table.fits") && Catch::Contains("not an image"));
  REQUIRE_THROWS_WITH(read_fits_image(tpath, 0), Catch::Contains("image-table.fits") && Catch::Contains("NAXIS = 0"));
  REQUIRE_THROWS_WITH(read_fits_image(tpath, std::string_view("SCI")), Catch::Contains("missing HDU 'SCI'"));
}
