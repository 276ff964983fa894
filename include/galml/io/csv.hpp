#pragma once
// CSV catalogues as exported by SDSS CasJobs (and the reference tables in shared/data): one header
// row, comma-separated, RFC 4180 quoting ("a,b", "say ""hi""", newlines inside quotes), lines
// starting with '#' are comments, blank lines are skipped, CRLF and a UTF-8 BOM are tolerated.
// Column names are matched case-insensitively. Every error names the file, the line and the column.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "galml/core/error.hpp"

namespace galml::io {

struct CsvOptions {
  char delimiter = ',';
  char comment = '#';             // a record whose first character is this is skipped
  bool sentinel_to_nan = true;    // get_double: values equal to a sentinel become NaN
  std::vector<double> sentinels = {-9999.0};
  bool trim = true;               // strip spaces around unquoted fields
};

namespace detail {
inline std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}
inline std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace detail

class CsvTable {
 public:
  static CsvTable read(const std::filesystem::path& path, const CsvOptions& opt = {}) {
    std::ifstream in(path, std::ios::binary);
    GALML_CHECK(in, "CSV: cannot open '", path.string(), "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse(ss.str(), path.string(), opt);
  }

  // `source` names the text in error messages (normally the file path).
  static CsvTable parse(std::string_view text, std::string source, const CsvOptions& opt = {}) {
    CsvTable t;
    t.source_ = std::move(source);
    t.opt_ = opt;
    if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    size_t pos = 0, line = 1;
    bool have_header = false;
    while (pos < text.size()) {
      size_t start_line = line;
      // Comment and blank lines are recognised only at the start of a record.
      size_t e = text.find('\n', pos);
      std::string_view l = text.substr(pos, e == std::string_view::npos ? std::string_view::npos : e - pos);
      if (text[pos] == opt.comment || l.find_first_not_of(" \t\r") == std::string_view::npos) {
        pos = e == std::string_view::npos ? text.size() : e + 1;
        ++line;
        continue;
      }
      std::vector<std::string> fields = t.parse_record(text, pos, line);
      if (!have_header) {
        for (size_t i = 0; i < fields.size(); ++i) {
          std::string key = detail::lower(detail::trim_ws(fields[i]));
          GALML_CHECK(!key.empty(), "CSV: '", t.source_, "' line ", start_line, ": empty column name in header (column ",
                      i + 1, ")");
          GALML_CHECK(!t.index_.count(key), "CSV: '", t.source_, "' line ", start_line, ": duplicate column name '",
                      fields[i], "' in header");
          t.index_[key] = i;
          t.columns_.emplace_back(detail::trim_ws(fields[i]));
        }
        have_header = true;
        continue;
      }
      GALML_CHECK(fields.size() == t.columns_.size(), "CSV: '", t.source_, "' line ", start_line, ": ragged row with ",
                  fields.size(), " fields, header has ", t.columns_.size());
      t.rows_.push_back(std::move(fields));
      t.lines_.push_back(start_line);
    }
    GALML_CHECK(have_header, "CSV: '", t.source_, "': empty file (no header row)");
    return t;
  }

  const std::string& source() const { return source_; }
  size_t rows() const { return rows_.size(); }
  const std::vector<std::string>& columns() const { return columns_; }
  bool has_column(std::string_view name) const { return index_.count(detail::lower(name)) > 0; }
  size_t line_of(size_t row) const { return lines_.at(row); }

  size_t column_index(std::string_view name) const {
    auto it = index_.find(detail::lower(name));
    if (it == index_.end()) {
      std::string list;
      for (auto& c : columns_) list += (list.empty() ? "" : ", ") + c;
      throw Error(galml::detail::cat("CSV: '", source_, "': missing column '", name, "' (has: ", list, ")"));
    }
    return it->second;
  }

  const std::string& cell(size_t row, std::string_view col) const {
    GALML_CHECK(row < rows_.size(), "CSV: '", source_, "': row ", row, " out of range (", rows_.size(), " rows)");
    return rows_[row][column_index(col)];
  }

  std::string get_string(size_t row, std::string_view col) const { return cell(row, col); }

  // Empty / NA / NaN / null cells and (with sentinel_to_nan) sentinel values give NaN.
  double get_double(size_t row, std::string_view col) const {
    std::string_view s = detail::trim_ws(cell(row, col));
    std::string l = detail::lower(s);
    if (s.empty() || l == "na" || l == "nan" || l == "null" || l == "none") return std::numeric_limits<double>::quiet_NaN();
    std::string buf(s);
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(buf.c_str(), &end);
    GALML_CHECK(end && *end == '\0' && end != buf.c_str(), "CSV: '", source_, "' line ", line_of(row), " column '", col,
                "': '", s, "' is not a number");
    if (opt_.sentinel_to_nan)
      for (double x : opt_.sentinels)
        if (v == x) return std::numeric_limits<double>::quiet_NaN();
    return v;
  }

  int64_t get_int(size_t row, std::string_view col) const {
    std::string_view s = detail::trim_ws(cell(row, col));
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    GALML_CHECK(!s.empty() && ec == std::errc() && p == s.data() + s.size(), "CSV: '", source_, "' line ",
                line_of(row), " column '", col, "': '", s, "' is not an integer");
    return v;
  }

  std::vector<double> column_double(std::string_view col) const {
    std::vector<double> o;
    for (size_t r = 0; r < rows_.size(); ++r) o.push_back(get_double(r, col));
    return o;
  }
  std::vector<int64_t> column_int(std::string_view col) const {
    std::vector<int64_t> o;
    for (size_t r = 0; r < rows_.size(); ++r) o.push_back(get_int(r, col));
    return o;
  }
  std::vector<std::string> column_string(std::string_view col) const {
    std::vector<std::string> o;
    for (size_t r = 0; r < rows_.size(); ++r) o.push_back(get_string(r, col));
    return o;
  }

  // Row index by the value of one column; duplicate keys are an error naming both lines.
  std::unordered_map<std::string, size_t> index_by(std::string_view col) const {
    std::unordered_map<std::string, size_t> m;
    for (size_t r = 0; r < rows_.size(); ++r) {
      auto [it, fresh] = m.emplace(std::string(detail::trim_ws(cell(r, col))), r);
      GALML_CHECK(fresh, "CSV: '", source_, "' line ", line_of(r), " column '", col, "': duplicate key '", it->first,
                  "' (first on line ", line_of(it->second), ")");
    }
    return m;
  }

  // Index by file name: the last path component of `col`, so "spectra/spec-0266-51602-0001.fits"
  // and "spec-0266-51602-0001.fits" join.
  std::unordered_map<std::string, size_t> index_by_filename(std::string_view col) const {
    std::unordered_map<std::string, size_t> m;
    for (size_t r = 0; r < rows_.size(); ++r) {
      std::string key = std::filesystem::path(std::string(detail::trim_ws(cell(r, col)))).filename().string();
      auto [it, fresh] = m.emplace(key, r);
      GALML_CHECK(fresh, "CSV: '", source_, "' line ", line_of(r), " column '", col, "': duplicate file name '", key,
                  "' (first on line ", line_of(it->second), ")");
    }
    return m;
  }

  using PlateMjdFiber = std::tuple<int64_t, int64_t, int64_t>;
  std::map<PlateMjdFiber, size_t> index_by_plate_mjd_fiber(std::string_view plate = "plate", std::string_view mjd = "mjd",
                                                            std::string_view fiber = "fiberid") const {
    std::map<PlateMjdFiber, size_t> m;
    for (size_t r = 0; r < rows_.size(); ++r) {
      PlateMjdFiber k{get_int(r, plate), get_int(r, mjd), get_int(r, fiber)};
      auto [it, fresh] = m.emplace(k, r);
      GALML_CHECK(fresh, "CSV: '", source_, "' line ", line_of(r), ": duplicate (plate, mjd, fiberid) = (",
                  std::get<0>(k), ", ", std::get<1>(k), ", ", std::get<2>(k), ") (first on line ", line_of(it->second), ")");
    }
    return m;
  }

 private:
  // Parses one record starting at `pos`; advances pos past its line end and counts lines.
  std::vector<std::string> parse_record(std::string_view text, size_t& pos, size_t& line) const {
    std::vector<std::string> fields;
    std::string cur;
    bool quoted_field = false;
    const size_t start_line = line;
    while (true) {
      if (pos >= text.size()) break;
      char c = text[pos];
      if (c == '"' && detail::trim_ws(cur).empty() && !quoted_field) {
        quoted_field = true;
        cur.clear();
        ++pos;
        bool closed = false;
        while (pos < text.size()) {
          char q = text[pos++];
          if (q == '"') {
            if (pos < text.size() && text[pos] == '"') { cur += '"'; ++pos; continue; }
            closed = true;
            break;
          }
          if (q == '\n') ++line;
          cur += q;
        }
        GALML_CHECK(closed, "CSV: '", source_, "' line ", start_line, ": unterminated quoted field (column ",
                    fields.size() + 1, ")");
        continue;
      }
      if (c == opt_.delimiter) {
        fields.push_back(finish(cur, quoted_field));
        cur.clear();
        quoted_field = false;
        ++pos;
        continue;
      }
      if (c == '\n' || c == '\r') {
        if (c == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') ++pos;
        ++pos;
        ++line;
        break;
      }
      GALML_CHECK(!quoted_field || c == ' ' || c == '\t', "CSV: '", source_, "' line ", start_line,
                  ": text after closing quote in column ", fields.size() + 1);
      if (!quoted_field) cur += c;
      ++pos;
    }
    fields.push_back(finish(cur, quoted_field));
    return fields;
  }

  std::string finish(const std::string& f, bool quoted) const {
    if (quoted || !opt_.trim) return f;
    return std::string(detail::trim_ws(f));
  }

  std::string source_;
  CsvOptions opt_;
  std::vector<std::string> columns_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<size_t> lines_;
};

namespace detail {
inline std::string csv_quote(const std::string& s, char delim) {
  if (s.find_first_of(std::string("\"\n\r") + delim) == std::string::npos && (s.empty() || (s.front() != ' ' && s.back() != ' ') ) && (s.empty() || s.front() != '#'))
    return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}
}  // namespace detail

// Writes header + rows atomically ("<path>.tmp" then rename); fields are quoted where needed.
inline void write_csv(const std::filesystem::path& path, const std::vector<std::string>& header,
                      const std::vector<std::vector<std::string>>& rows, char delimiter = ',') {
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    GALML_CHECK(out, "CSV: cannot write '", tmp.string(), "'");
    auto put = [&](const std::vector<std::string>& r) {
      for (size_t i = 0; i < r.size(); ++i) out << (i ? std::string(1, delimiter) : "") << detail::csv_quote(r[i], delimiter);
      out << '\n';
    };
    put(header);
    for (size_t i = 0; i < rows.size(); ++i) {
      GALML_CHECK(rows[i].size() == header.size(), "CSV: writing '", path.string(), "': row ", i, " has ",
                  rows[i].size(), " fields, header has ", header.size());
      put(rows[i]);
    }
    out.flush();
    GALML_CHECK(out, "CSV: write to '", tmp.string(), "' failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  GALML_CHECK(!ec, "CSV: cannot rename '", tmp.string(), "' to '", path.string(), "': ", ec.message());
}

// SDSS spec file name for (plate, mjd, fiberid): spec-PPPP-MMMMM-FFFF.fits.
inline std::string sdss_spec_filename(int64_t plate, int64_t mjd, int64_t fiberid) {
  char b[64];
  std::snprintf(b, sizeof b, "spec-%04lld-%05lld-%04lld.fits", static_cast<long long>(plate),
                static_cast<long long>(mjd), static_cast<long long>(fiberid));
  return b;
}

// Inverse of sdss_spec_filename; nullopt when the name does not follow the pattern.
inline std::optional<std::tuple<int64_t, int64_t, int64_t>> parse_sdss_spec_filename(std::string_view name) {
  std::string n = std::filesystem::path(std::string(name)).filename().string();
  long long p = 0, m = 0, f = 0;
  int used = 0;
  if (std::sscanf(n.c_str(), "spec-%lld-%lld-%lld.fits%n", &p, &m, &f, &used) == 3 && used == static_cast<int>(n.size()))
    return std::tuple<int64_t, int64_t, int64_t>{p, m, f};
  return std::nullopt;
}

}  // namespace galml::io
