// CSV catalogue reader/writer, joins, and the MTLforGalSpecZ Table 1 class map.
#include <catch2/catch.hpp>

#include <cmath>

#include "galml/io/class_map.hpp"
#include "galml/io/csv.hpp"
#include "io/io_test_util.hpp"

using namespace galml::io;
using galml_io_test::tmp_path;

TEST_CASE("CSV: header, comments, quoting, typed access", "[io][csv]") {
  const char* text =
      "# CasJobs export\n"
      "specObjID,plate,mjd,fiberid,z,oh_p50,bpt,file\r\n"
      "299489676975171584,266,51602,1,0.02127545,-9999,\"Star Forming\",spectra/spec-0266-51602-0001.fits\r\n"
      "\n"
      "# a comment in the middle\n"
      "299492975510054912, 266 ,51602,13,,8.9,\"LINER, \"\"weak\"\"\",spec-0266-51602-0013.fits\n"
      "1,280,51612,117,nan,9.1,\"multi\nline\",spec-0280-51612-0117.fits";  // no final newline
  auto t = CsvTable::parse(text, "cat.csv");
  REQUIRE(t.rows() == 3);
  CHECK(t.columns().size() == 8);
  CHECK(t.has_column("SPECOBJID"));  // case-insensitive
  CHECK(t.get_int(0, "plate") == 266);
  CHECK(t.get_int(1, "PLATE") == 266);  // spaces around unquoted fields are trimmed
  CHECK(t.get_string(0, "specobjid") == "299489676975171584");
  CHECK(t.get_int(0, "specobjid") == 299489676975171584LL);  // exact 64-bit
  CHECK(t.get_double(0, "z") == 0.02127545);
  CHECK(std::isnan(t.get_double(0, "oh_p50")));  // -9999 sentinel
  CHECK(std::isnan(t.get_double(1, "z")));       // missing
  CHECK(std::isnan(t.get_double(2, "z")));       // "nan"
  CHECK(t.get_double(1, "oh_p50") == 8.9);
  CHECK(t.get_string(0, "bpt") == "Star Forming");
  CHECK(t.get_string(1, "bpt") == "LINER, \"weak\"");
  CHECK(t.get_string(2, "bpt") == "multi\nline");
  CHECK(t.line_of(0) == 3);
  CHECK(t.line_of(1) == 6);
  CHECK(t.line_of(2) == 7);
  auto oh = t.column_double("oh_p50");
  CHECK(std::isnan(oh[0]));
  CHECK(oh[2] == 9.1);

  CsvOptions keep;
  keep.sentinel_to_nan = false;
  auto k = CsvTable::parse(text, "cat.csv", keep);
  CHECK(k.get_double(0, "oh_p50") == -9999.0);

  REQUIRE_THROWS_WITH(t.get_double(0, "bpt"), Catch::Contains("cat.csv") && Catch::Contains("line 3") &&
                                                  Catch::Contains("column 'bpt'") && Catch::Contains("not a number"));
  REQUIRE_THROWS_WITH(t.get_int(1, "z"), Catch::Contains("line 6") && Catch::Contains("not an integer"));
  REQUIRE_THROWS_WITH(t.get_int(0, "z"), Catch::Contains("not an integer"));  // 0.021 is not an int
  REQUIRE_THROWS_WITH(t.get_double(0, "ra"), Catch::Contains("cat.csv") && Catch::Contains("missing column 'ra'") &&
                                                 Catch::Contains("specObjID"));
}

TEST_CASE("CSV: joins by file name and by (plate, mjd, fiberid)", "[io][csv]") {
  auto t = CsvTable::parse(
      "file,plate,mjd,fiberid\n"
      "data/spectra/spec-0266-51602-0001.fits,266,51602,1\n"
      "spec-0266-51630-0174.fits,266,51630,174\n",
      "join.csv");
  auto byname = t.index_by_filename("file");
  CHECK(byname.at("spec-0266-51602-0001.fits") == 0);
  CHECK(byname.at("spec-0266-51630-0174.fits") == 1);
  auto bykey = t.index_by_plate_mjd_fiber();
  CHECK(bykey.at({266, 51630, 174}) == 1);
  CHECK(bykey.count({266, 51602, 2}) == 0);
  REQUIRE_THROWS_WITH(t.index_by("plate"), Catch::Contains("join.csv") && Catch::Contains("duplicate key '266'"));
  CHECK(t.index_by("fiberid").at("174") == 1);
}

TEST_CASE("CSV: errors for ragged rows, duplicates, empty files, bad quoting", "[io][csv]") {
  REQUIRE_THROWS_WITH(CsvTable::parse("a,b,c\n1,2,3\n4,5\n", "ragged.csv"),
                      Catch::Contains("ragged.csv") && Catch::Contains("line 3") && Catch::Contains("2 fields") &&
                          Catch::Contains("header has 3"));
  REQUIRE_THROWS_WITH(CsvTable::parse("", "empty.csv"), Catch::Contains("empty.csv") && Catch::Contains("empty file"));
  REQUIRE_THROWS_WITH(CsvTable::parse("# only a comment\n\n", "empty2.csv"), Catch::Contains("empty file"));
  REQUIRE_THROWS_WITH(CsvTable::parse("a,B,b\n1,2,3\n", "dupcol.csv"),
                      Catch::Contains("dupcol.csv") && Catch::Contains("duplicate column name 'b'"));
  REQUIRE_THROWS_WITH(CsvTable::parse("a,b\n\"1,2\n", "quote.csv"),
                      Catch::Contains("quote.csv") && Catch::Contains("line 2") && Catch::Contains("unterminated"));
  auto dup = CsvTable::parse("file,plate,mjd,fiberid\nx/spec-1.fits,1,2,3\nspec-1.fits,1,2,3\n", "dupkey.csv");
  REQUIRE_THROWS_WITH(dup.index_by_filename("file"), Catch::Contains("dupkey.csv") && Catch::Contains("line 3") &&
                                                         Catch::Contains("duplicate file name 'spec-1.fits'") &&
                                                         Catch::Contains("first on line 2"));
  REQUIRE_THROWS_WITH(dup.index_by_plate_mjd_fiber(), Catch::Contains("duplicate (plate, mjd, fiberid) = (1, 2, 3)"));
  REQUIRE_THROWS_WITH(dup.index_by("plate"), Catch::Contains("duplicate key '1'"));
  REQUIRE_THROWS_WITH(CsvTable::read(tmp_path("no-such.csv")), Catch::Contains("no-such.csv"));
}

TEST_CASE("CSV writer round-trips awkward fields atomically", "[io][csv]") {
  auto path = tmp_path("out.csv");
  std::vector<std::string> header = {"name", "value", "note"};
  std::vector<std::vector<std::string>> rows = {
      {"a", "1.5", "plain"}, {"b,c", "-9999", "say \"hi\""}, {"#notcomment", "", "two\nlines"}, {" padded ", "3", ""}};
  write_csv(path, header, rows);
  CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  auto t = CsvTable::read(path);
  REQUIRE(t.rows() == rows.size());
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t c = 0; c < header.size(); ++c) CHECK(t.get_string(r, header[c]) == rows[r][c]);
  CHECK(std::isnan(t.get_double(1, "value")));
  REQUIRE_THROWS_WITH(write_csv(path, header, {{"only", "two"}}), Catch::Contains("out.csv") && Catch::Contains("row 0"));
  CHECK(CsvTable::read(path).rows() == rows.size());  // failed write left the old file
}

TEST_CASE("class map follows MTLforGalSpecZ Table 1 and keeps only agreeing classes", "[io][class_map]") {
  CHECK(class_from_bptclass(-1) == 0);
  CHECK(class_from_bptclass(1) == 1);
  CHECK(class_from_bptclass(2) == 1);
  CHECK(class_from_bptclass(3) == 2);
  CHECK(class_from_bptclass(4) == 3);
  CHECK(class_from_bptclass(5) == 3);
  CHECK(class_from_bptclass(0) == kClassDisagreeOrUnknown);
  CHECK(class_from_bptclass(6) == kClassDisagreeOrUnknown);
  CHECK(class_from_portsmouth_bpt("BLANK") == 0);
  CHECK(class_from_portsmouth_bpt("Star Forming") == 1);
  CHECK(class_from_portsmouth_bpt("  star  forming ") == 1);
  CHECK(class_from_portsmouth_bpt("STARFORMING") == 1);
  CHECK(class_from_portsmouth_bpt("Composite") == 2);
  CHECK(class_from_portsmouth_bpt("LINER") == 3);
  CHECK(class_from_portsmouth_bpt("Seyfert") == 3);
  CHECK(class_from_portsmouth_bpt("LINER/Seyfert") == 3);
  CHECK(class_from_portsmouth_bpt("liner / seyfert") == 3);
  CHECK(class_from_portsmouth_bpt("") == kClassDisagreeOrUnknown);
  CHECK(class_from_portsmouth_bpt("Quasar") == kClassDisagreeOrUnknown);
  CHECK(agreed_galaxy_class(-1, "BLANK") == 0);
  CHECK(agreed_galaxy_class(2, "Star Forming") == 1);
  CHECK(agreed_galaxy_class(3, "composite") == 2);
  CHECK(agreed_galaxy_class(5, "LINER") == 3);
  CHECK(agreed_galaxy_class(4, "Seyfert") == 3);
  CHECK(agreed_galaxy_class(1, "Composite") == kClassDisagreeOrUnknown);
  CHECK(agreed_galaxy_class(-1, "Star Forming") == kClassDisagreeOrUnknown);
  CHECK(agreed_galaxy_class(0, "") == kClassDisagreeOrUnknown);
  CHECK(std::string(kGalaxyClassNames[3]) == "AGN");
}
