#pragma once
// RAII layer over cfitsio. The rest of galml never sees a raw fitsfile*: every call goes through
// FitsFile, which turns every cfitsio status into a galml::Error that names the file, the HDU, the
// column and cfitsio's own status text, and which bounds every allocation by the file's size so a
// corrupt header (NAXIS2 = 2^40, TFORM = 2000000000A) is reported instead of exhausting memory.
//
// Writes are atomic: FitsFile::create / open(readwrite) work on "<path>.tmp" and commit() renames
// it over <path>; a writer destroyed without commit() removes the temporary and leaves <path> as
// it was.
#include <fitsio.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "galml/core/error.hpp"

namespace galml::io {

enum class FitsMode { read, readwrite };
enum class HduType { image, ascii_table, binary_table };

// One table column read back: values row-major (row r occupies [r*repeat, (r+1)*repeat)).
// For string columns `repeat` is the number of strings per row (almost always 1).
template <class T>
struct ColumnData {
  std::vector<T> values;
  long long nrows = 0;
  long long repeat = 1;
  const T& at(long long row, long long k = 0) const { return values.at(static_cast<size_t>(row * repeat + k)); }
};

// An image HDU: dims in FITS order (dims[0] = NAXIS1, the fastest-varying axis).
template <class T>
struct ImageData {
  std::vector<T> data;
  std::vector<long long> dims;
};

// One column to write. Numeric columns hold nrows*repeat values; string columns one string per row.
struct TableColumn {
  std::string name;
  std::variant<std::vector<float>, std::vector<double>, std::vector<int32_t>, std::vector<int64_t>,
               std::vector<std::string>>
      values;
  long long repeat = 1;
  std::string unit;
};

// Description of a table column as stored in the file.
struct ColumnInfo {
  int number = 0;          // 1-based cfitsio column number
  std::string name;        // TTYPEn as written
  int typecode = 0;        // cfitsio type code (TSTRING, TFLOAT, ...); negative = variable length
  long long repeat = 0;    // elements per row (characters for strings)
  long long width = 0;     // bytes per element (characters per string for strings)
};

namespace detail {

inline std::string upper_trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  std::string out(s.substr(b, e - b));
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

inline bool iequals(std::string_view a, std::string_view b) { return upper_trim(a) == upper_trim(b); }

// a*b with overflow reported as nullopt (sizes come from untrusted headers).
inline std::optional<unsigned long long> mul_checked(unsigned long long a, unsigned long long b) {
  if (a != 0 && b > std::numeric_limits<unsigned long long>::max() / a) return std::nullopt;
  return a * b;
}

template <class T> struct fits_type;
template <> struct fits_type<float>   { static constexpr int dtype = TFLOAT;    static constexpr int bitpix = FLOAT_IMG;    static constexpr const char* tform = "E"; };
template <> struct fits_type<double>  { static constexpr int dtype = TDOUBLE;   static constexpr int bitpix = DOUBLE_IMG;   static constexpr const char* tform = "D"; };
template <> struct fits_type<int32_t> { static constexpr int dtype = TINT;      static constexpr int bitpix = LONG_IMG;     static constexpr const char* tform = "J"; };
template <> struct fits_type<int64_t> { static constexpr int dtype = TLONGLONG; static constexpr int bitpix = LONGLONG_IMG; static constexpr const char* tform = "K"; };
template <> struct fits_type<int16_t> { static constexpr int dtype = TSHORT;    static constexpr int bitpix = SHORT_IMG;    static constexpr const char* tform = "I"; };
template <> struct fits_type<uint8_t> { static constexpr int dtype = TBYTE;     static constexpr int bitpix = BYTE_IMG;     static constexpr const char* tform = "B"; };

static_assert(sizeof(int) == 4, "cfitsio TINT must be 32-bit for int32_t columns");


// Walks the HDU headers ourselves before cfitsio sees the file. cfitsio trusts structural keywords
// (a NAXIS2 card with a stray non-ASCII byte made it calloc() an uninitialised size under ASan), so
// we require BITPIX/NAXIS/NAXISn/PCOUNT/GCOUNT/TFIELDS/TFORMn cards to be printable ASCII with
// well-formed values, and every HDU's data to lie inside the file. Trailing bytes that do not start
// a new XTENSION are left to cfitsio (it ignores them), as are missing final padding bytes.
inline void validate_fits_structure(const std::filesystem::path& path, unsigned long long size) {
  std::ifstream in(path, std::ios::binary);
  GALML_CHECK(in, "FITS: cannot open '", path.string(), "'");
  const std::string file = path.string();
  unsigned long long offset = 0;
  for (int hdu = 0; offset < size; ++hdu) {
    std::vector<std::pair<std::string, std::string>> cards;  // structural keyword -> value text
    std::string extname;
    bool end = false;
    unsigned long long pos = offset;
    char block[2880];
    while (!end) {
      in.seekg(static_cast<std::streamoff>(pos));
      in.read(block, sizeof block);
      if (in.gcount() != static_cast<std::streamsize>(sizeof block)) {
        if (hdu == 0 && pos == 0)
          throw Error(galml::detail::cat("FITS: '", file, "': not a FITS file (shorter than one 2880-byte header block)"));
        throw Error(galml::detail::cat("FITS: '", file, "' HDU ", hdu, ": header truncated (file ends at byte ", size, ")"));
      }
      in.clear();
      if (pos == offset) {
        std::string first(block, 9);
        if (hdu == 0 && first.rfind("SIMPLE  =", 0) != 0)
          throw Error(galml::detail::cat("FITS: '", file, "': not a FITS file (does not start with SIMPLE =)"));
        if (hdu > 0 && first.rfind("XTENSION=", 0) != 0) return;  // trailing bytes: not an HDU
      }
      for (int c = 0; c < 36 && !end; ++c) {
        std::string_view card(block + 80 * c, 80);
        std::string key = upper_trim(card.substr(0, 8));
        if (key == "END") { end = true; break; }
        bool structural = key == "BITPIX" || key.rfind("NAXIS", 0) == 0 || key == "PCOUNT" || key == "GCOUNT" ||
                          key == "TFIELDS" || key.rfind("TFORM", 0) == 0 || key == "EXTNAME";
        if (!structural) continue;
        for (char ch : card)
          if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e)
            throw Error(galml::detail::cat("FITS: '", file, "' HDU ", hdu, extname.empty() ? "" : " '" + extname + "'",
                                           ": header card ", key, " contains non-ASCII bytes (corrupt file)"));
        std::string value(card.substr(10));
        if (key == "EXTNAME") {
          auto q1 = value.find('\''), q2 = value.find('\'', q1 == std::string::npos ? 0 : q1 + 1);
          if (q1 != std::string::npos && q2 != std::string::npos) extname = upper_trim(value.substr(q1 + 1, q2 - q1 - 1));
          continue;
        }
        if (key.rfind("TFORM", 0) == 0) continue;  // printable is all we need; cfitsio parses it
        auto slash = value.find('/');
        cards.emplace_back(key, upper_trim(value.substr(0, slash)));
      }
      pos += sizeof block;
      if (!end && pos >= size)
        throw Error(galml::detail::cat("FITS: '", file, "' HDU ", hdu, ": no END card before end of file (truncated)"));
    }
    auto get = [&](const std::string& k, long long dflt, bool required) -> long long {
      for (auto& [key, v] : cards) {
        if (key != k) continue;
        long long x = 0;
        auto [p, ec] = std::from_chars(v.data() + (v.size() && v[0] == '+' ? 1 : 0), v.data() + v.size(), x);
        if (v.empty() || ec != std::errc() || p != v.data() + v.size())
          throw Error(galml::detail::cat("FITS: '", file, "' HDU ", hdu, extname.empty() ? "" : " '" + extname + "'",
                                         ": keyword ", k, " = '", v, "' is not an integer (corrupt header)"));
        return x;
      }
      if (required)
        throw Error(galml::detail::cat("FITS: '", file, "' HDU ", hdu, extname.empty() ? "" : " '" + extname + "'",
                                       ": missing mandatory keyword ", k, " (corrupt header)"));
      return dflt;
    };
    const std::string where = extname.empty() ? "" : " '" + extname + "'";
    long long bitpix = get("BITPIX", 0, true), naxis = get("NAXIS", 0, true);
    if (!(bitpix == 8 || bitpix == 16 || bitpix == 32 || bitpix == 64 || bitpix == -32 || bitpix == -64) || naxis < 0 ||
        naxis > 999)
      throw Error(galml::detail::cat("FITS: '", file, "' HDU ", hdu, where, ": invalid BITPIX ", bitpix, " / NAXIS ", naxis,
                                     " (corrupt header)"));
    long long pcount = get("PCOUNT", 0, false), gcount = get("GCOUNT", 1, false);
    if (pcount < 0 || gcount < 0)
      throw Error(galml::detail::cat("FITS: '", file, "' HDU ", hdu, where, ": negative PCOUNT/GCOUNT (corrupt header)"));
    unsigned long long elems = naxis > 0 ? 1 : 0;
    bool overflow = false;
    for (long long i = 1; i <= naxis; ++i) {
      long long d = get("NAXIS" + std::to_string(i), 0, true);
      if (d < 0) throw Error(galml::detail::cat("FITS: '", file, "' HDU ", hdu, where, ": negative NAXIS", i));
      auto m = mul_checked(elems, static_cast<unsigned long long>(d));
      overflow = overflow || !m;
      elems = m.value_or(0);
    }
    if (naxis > 0) elems += static_cast<unsigned long long>(pcount);
    auto bytes = mul_checked(elems, static_cast<unsigned long long>(std::abs(bitpix) / 8));
    if (bytes) bytes = mul_checked(*bytes, static_cast<unsigned long long>(gcount));
    if (overflow || !bytes || pos + *bytes > size)
      throw Error(galml::detail::cat("FITS: '", file, "' HDU ", hdu, where,
                                     ": data extends past the end of the file (truncated file or corrupt NAXISn)"));
    offset = pos + (*bytes + 2879) / 2880 * 2880;
  }
}
}  // namespace detail

class FitsFile {
 public:
  // Opens an existing file. readwrite works on a copy "<path>.tmp" that commit() renames back.
  static FitsFile open(const std::filesystem::path& path, FitsMode mode = FitsMode::read) {
    FitsFile f;
    f.path_ = path;
    std::error_code ec;
    GALML_CHECK(std::filesystem::exists(path, ec), "FITS: cannot open '", path.string(), "': file not found");
    GALML_CHECK(std::filesystem::is_regular_file(path, ec), "FITS: cannot open '", path.string(),
                "': not a regular file");
    auto size = std::filesystem::file_size(path, ec);
    GALML_CHECK(!ec, "FITS: cannot stat '", path.string(), "': ", ec.message());
    GALML_CHECK(size > 0, "FITS: cannot open '", path.string(), "': empty file (0 bytes)");
    f.file_size_ = size;
    detail::validate_fits_structure(path, size);
    int status = 0;
    if (mode == FitsMode::read) {
      // diskfile variants skip cfitsio's extended file-name syntax, so '[', '!' or '+' in a path
      // are taken literally.
      fits_open_diskfile(&f.fptr_, path.c_str(), READONLY, &status);
    } else {
      f.tmp_ = tmp_path(path);
      std::filesystem::copy_file(path, f.tmp_, std::filesystem::copy_options::overwrite_existing, ec);
      GALML_CHECK(!ec, "FITS: cannot copy '", path.string(), "' to '", f.tmp_.string(), "': ", ec.message());
      fits_open_diskfile(&f.fptr_, f.tmp_.c_str(), READWRITE, &status);
      f.writable_ = true;
    }
    if (status) {
      f.fptr_ = nullptr;
      f.fail(status, "open (not a readable FITS file?)");
    }
    f.refresh_position();
    return f;
  }

  // Creates a new, empty file; nothing appears at `path` until commit().
  static FitsFile create(const std::filesystem::path& path) {
    FitsFile f;
    f.path_ = path;
    f.tmp_ = tmp_path(path);
    f.writable_ = true;
    std::error_code ec;
    std::filesystem::remove(f.tmp_, ec);
    int status = 0;
    fits_create_diskfile(&f.fptr_, f.tmp_.c_str(), &status);
    if (status) {
      f.fptr_ = nullptr;
      f.fail(status, "create '" + f.tmp_.string() + "'");
    }
    f.file_size_ = std::numeric_limits<unsigned long long>::max() / 4;  // our own data: no guard
    return f;
  }

  FitsFile(FitsFile&& o) noexcept { swap(o); }
  FitsFile& operator=(FitsFile&& o) noexcept {
    if (this != &o) {
      FitsFile tmp(std::move(o));
      swap(tmp);
    }
    return *this;
  }
  FitsFile(const FitsFile&) = delete;
  FitsFile& operator=(const FitsFile&) = delete;

  ~FitsFile() { abandon(); }

  // Finishes a write: closes the file and atomically renames "<path>.tmp" to <path>.
  void commit() {
    GALML_CHECK(fptr_ && writable_, "FITS: commit() on '", path_.string(), "' which is not open for writing");
    int status = 0;
    fits_close_file(fptr_, &status);
    fptr_ = nullptr;
    if (status) {
      std::error_code ec;
      std::filesystem::remove(tmp_, ec);
      fail(status, "close");
    }
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    GALML_CHECK(!ec, "FITS: cannot rename '", tmp_.string(), "' to '", path_.string(), "': ", ec.message());
    tmp_.clear();
  }

  // Closes a read-only file early (also done by the destructor).
  void close() {
    if (writable_) {
      abandon();
      return;
    }
    if (fptr_) {
      int status = 0;
      fits_close_file(fptr_, &status);
      fptr_ = nullptr;
    }
  }

  const std::filesystem::path& path() const { return path_; }
  bool is_open() const { return fptr_ != nullptr; }

  // ---------------------------------------------------------------- HDU navigation (0-based)
  int num_hdus() const {
    int n = 0, status = 0;
    fits_get_num_hdus(ptr(), &n, &status);
    if (status) fail(status, "count HDUs");
    return n;
  }

  // EXTNAME of every HDU ("PRIMARY" for HDU 0 without EXTNAME, "" for unnamed extensions).
  std::vector<std::string> hdu_names() {
    if (names_valid_) return names_;
    int keep = current_;
    std::vector<std::string> out;
    int n = num_hdus();
    for (int i = 0; i < n; ++i) {
      move_to(i);
      out.push_back(current_name_);
    }
    if (keep >= 0 && keep < n) move_to(keep);
    names_ = out;
    names_valid_ = true;
    return out;
  }

  // Index of the HDU whose EXTNAME matches (case-insensitive), if any.
  std::optional<int> find_hdu(std::string_view name) {
    auto names = hdu_names();
    for (size_t i = 0; i < names.size(); ++i)
      if (detail::iequals(names[i], name)) return static_cast<int>(i);
    return std::nullopt;
  }
  bool has_hdu(std::string_view name) { return find_hdu(name).has_value(); }

  void move_to(int index) {
    int type = 0, status = 0;
    GALML_CHECK(index >= 0, "FITS: '", path_.string(), "': negative HDU index ", index);
    fits_movabs_hdu(ptr(), index + 1, &type, &status);
    if (status) {
      current_name_ = "#" + std::to_string(index);
      current_ = index;
      fail(status, "move to HDU " + std::to_string(index));
    }
    refresh_position();
  }

  void move_to(std::string_view name) {
    auto idx = find_hdu(name);
    if (!idx) {
      std::string list;
      for (auto& n : names_) list += (list.empty() ? "" : ", ") + n;
      throw Error(galml::detail::cat("FITS: '", path_.string(), "': missing HDU '", name, "' (file has: ", list, ")"));
    }
    move_to(*idx);
  }

  int current_index() const { return current_; }
  const std::string& current_name() const { return current_name_; }

  HduType current_type() const {
    int t = 0, status = 0;
    fits_get_hdu_type(ptr(), &t, &status);
    if (status) fail(status, "get HDU type");
    return t == IMAGE_HDU ? HduType::image : t == ASCII_TBL ? HduType::ascii_table : HduType::binary_table;
  }

  // ---------------------------------------------------------------- header keywords
  // T: std::string, double, float, int32_t, int64_t, bool. nullopt when the keyword is absent.
  template <class T>
  std::optional<T> key(std::string_view name) const {
    int status = 0;
    std::string k(name);
    if constexpr (std::is_same_v<T, std::string>) {
      char buf[FLEN_VALUE] = {0};
      fits_read_key(ptr(), TSTRING, k.c_str(), buf, nullptr, &status);
      if (status == KEY_NO_EXIST) return std::nullopt;
      if (status) fail(status, "read keyword " + k);
      return std::string(buf);
    } else if constexpr (std::is_same_v<T, bool>) {
      int v = 0;
      fits_read_key(ptr(), TLOGICAL, k.c_str(), &v, nullptr, &status);
      if (status == KEY_NO_EXIST) return std::nullopt;
      if (status) fail(status, "read keyword " + k);
      return v != 0;
    } else {
      T v{};
      fits_read_key(ptr(), detail::fits_type<T>::dtype, k.c_str(), &v, nullptr, &status);
      if (status == KEY_NO_EXIST) return std::nullopt;
      if (status) fail(status, "read keyword " + k);
      return v;
    }
  }

  // Writes or updates a keyword in the current HDU.
  template <class T>
  void write_key(std::string_view name, const T& value, std::string_view comment = "") {
    require_writable("write keyword");
    int status = 0;
    std::string k(name), c(comment);
    const char* cc = c.empty() ? nullptr : c.c_str();
    if constexpr (std::is_convertible_v<T, std::string_view>) {
      std::string v{std::string_view(value)};
      fits_update_key(ptr(), TSTRING, k.c_str(), v.data(), cc, &status);
    } else if constexpr (std::is_same_v<T, bool>) {
      int v = value ? 1 : 0;
      fits_update_key(ptr(), TLOGICAL, k.c_str(), &v, cc, &status);
    } else {
      T v = value;
      fits_update_key(ptr(), detail::fits_type<T>::dtype, k.c_str(), &v, cc, &status);
    }
    if (status) fail(status, "write keyword " + k);
  }

  // ---------------------------------------------------------------- tables
  long long num_rows() const {
    require_table("count rows");
    LONGLONG n = 0;
    int status = 0;
    fits_get_num_rowsll(ptr(), &n, &status);
    if (status) fail(status, "count rows");
    return n;
  }

  std::vector<std::string> column_names() const {
    require_table("list columns");
    int ncols = 0, status = 0;
    fits_get_num_cols(ptr(), &ncols, &status);
    if (status) fail(status, "count columns");
    std::vector<std::string> out;
    for (int i = 1; i <= ncols; ++i) {
      auto v = key<std::string>("TTYPE" + std::to_string(i));
      out.push_back(v ? *v : std::string());
    }
    return out;
  }

  // Column lookup by name, case-insensitive (our own match: cfitsio's treats '*', '?', '#' as
  // wildcards and can return a different column).
  std::optional<ColumnInfo> find_column(std::string_view name) const {
    auto names = column_names();
    for (size_t i = 0; i < names.size(); ++i) {
      if (!detail::iequals(names[i], name)) continue;
      ColumnInfo ci;
      ci.number = static_cast<int>(i + 1);
      ci.name = names[i];
      int status = 0;
      LONGLONG rep = 0, wid = 0;
      fits_get_coltypell(ptr(), ci.number, &ci.typecode, &rep, &wid, &status);
      if (status) fail(status, "get type", std::string(name));
      ci.repeat = rep;
      ci.width = wid;
      return ci;
    }
    return std::nullopt;
  }
  bool has_column(std::string_view name) const { return find_column(name).has_value(); }

  ColumnInfo column_info(std::string_view name) const {
    auto ci = find_column(name);
    if (!ci) {
      std::string list;
      for (auto& n : column_names()) list += (list.empty() ? "" : ", ") + n;
      throw Error(galml::detail::cat("FITS: '", path_.string(), "' HDU ", current_, " '", current_name_,
                              "': missing column '", name, "' (table has: ", list, ")"));
    }
    return *ci;
  }

  // Reads a whole column. T: float, double, int32_t, int64_t, int16_t, uint8_t or std::string
  // (numeric columns read as strings are formatted exactly, integers via int64).
  template <class T>
  ColumnData<T> read_column(std::string_view name) const {
    ColumnInfo ci = column_info(name);
    std::string col(ci.name);
    if (ci.typecode < 0) fail_msg("variable-length column is not supported", col);
    long long nrows = num_rows();
    // The table's data must fit in the file: NAXIS1*NAXIS2 bytes.
    auto naxis1 = key<int64_t>("NAXIS1").value_or(0);
    auto tbytes = detail::mul_checked(static_cast<unsigned long long>(std::max<long long>(nrows, 0)),
                                      static_cast<unsigned long long>(std::max<int64_t>(naxis1, 0)));
    if (nrows < 0 || !tbytes || *tbytes > file_size_)
      fail_msg("table size NAXIS1*NAXIS2 exceeds the file size (corrupt or truncated header)", col);
    ColumnData<T> out;
    out.nrows = nrows;
    if constexpr (std::is_same_v<T, std::string>) {
      if (ci.typecode == TSTRING) {
        long long width = std::max<long long>(ci.width, 1);
        long long per_row = std::max<long long>(ci.repeat / width, 1);
        if (width > naxis1 || ci.repeat > naxis1) fail_msg("string width exceeds the row length", col);
        out.repeat = per_row;
        auto n = static_cast<size_t>(nrows * per_row);
        std::vector<char> buf(n * static_cast<size_t>(width + 1), '\0');
        std::vector<char*> ptrs(n);
        for (size_t i = 0; i < n; ++i) ptrs[i] = buf.data() + i * static_cast<size_t>(width + 1);
        int status = 0, anynul = 0;
        if (n) fits_read_col(ptr(), TSTRING, ci.number, 1, 1, static_cast<LONGLONG>(n), nullptr, ptrs.data(), &anynul, &status);
        if (status) fail(status, "read string column", col);
        out.values.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          // Trailing blanks are not significant in FITS strings (cfitsio returns "" as " ").
          std::string v(ptrs[i]);
          while (!v.empty() && v.back() == ' ') v.pop_back();
          out.values.push_back(std::move(v));
        }
      } else {
        bool integral = ci.typecode == TBYTE || ci.typecode == TSBYTE || ci.typecode == TSHORT ||
                        ci.typecode == TUSHORT || ci.typecode == TINT || ci.typecode == TUINT ||
                        ci.typecode == TLONG || ci.typecode == TULONG || ci.typecode == TLONGLONG ||
                        ci.typecode == TLOGICAL;
        if (integral) {
          auto nums = read_column<int64_t>(name);
          out.repeat = nums.repeat;
          for (auto v : nums.values) out.values.push_back(std::to_string(v));
        } else {
          auto nums = read_column<double>(name);
          out.repeat = nums.repeat;
          char b[64];
          for (auto v : nums.values) {
            std::snprintf(b, sizeof b, "%.17g", v);
            out.values.emplace_back(b);
          }
        }
      }
    } else {
      if (ci.typecode == TSTRING) fail_msg("string column cannot be read as a number", col);
      out.repeat = ci.repeat;
      auto n = detail::mul_checked(static_cast<unsigned long long>(nrows), static_cast<unsigned long long>(std::max<long long>(ci.repeat, 0)));
      // Every element takes at least one bit of the row, so repeat <= 8*NAXIS1 for real columns.
      if (!n || ci.repeat < 0 || ci.repeat > 8 * std::max<int64_t>(naxis1, 0) || *n > 8 * file_size_)
        fail_msg("column repeat count exceeds the row length (corrupt header)", col);
      out.values.assign(static_cast<size_t>(*n), T{});
      int status = 0, anynul = 0;
      if (*n) {
        if constexpr (std::is_floating_point_v<T>) {
          T nul = std::numeric_limits<T>::quiet_NaN();  // TNULL-flagged integers become NaN
          fits_read_col(ptr(), detail::fits_type<T>::dtype, ci.number, 1, 1, static_cast<LONGLONG>(*n), &nul,
                        out.values.data(), &anynul, &status);
        } else {
          fits_read_col(ptr(), detail::fits_type<T>::dtype, ci.number, 1, 1, static_cast<LONGLONG>(*n), nullptr,
                        out.values.data(), &anynul, &status);
        }
      }
      if (status) fail(status, "read column", col);
    }
    return out;
  }

  // Appends a binary table HDU (an empty primary HDU is written first when the file has none).
  void write_table(std::string_view extname, const std::vector<TableColumn>& cols) {
    require_writable("write table");
    long long nrows = -1;
    std::vector<std::string> names, forms, units;
    for (const auto& c : cols) {
      GALML_CHECK(c.repeat >= 1, "FITS: '", path_.string(), "': column '", c.name, "' has repeat ", c.repeat);
      long long count = 0;
      std::string form;
      std::visit([&](const auto& v) {
        using V = typename std::decay_t<decltype(v)>::value_type;
        if constexpr (std::is_same_v<V, std::string>) {
          size_t w = 1;
          for (auto& s : v) w = std::max(w, s.size());
          count = static_cast<long long>(v.size());
          form = std::to_string(w) + "A";
        } else {
          GALML_CHECK(v.size() % static_cast<size_t>(c.repeat) == 0, "FITS: '", path_.string(), "': column '",
                      c.name, "' has ", v.size(), " values, not a multiple of repeat ", c.repeat);
          count = static_cast<long long>(v.size()) / c.repeat;
          form = std::to_string(c.repeat) + detail::fits_type<V>::tform;
        }
      }, c.values);
      GALML_CHECK(nrows < 0 || nrows == count, "FITS: '", path_.string(), "': table '", extname, "' column '",
                  c.name, "' has ", count, " rows, earlier columns have ", nrows);
      nrows = count;
      names.push_back(c.name);
      forms.push_back(form);
      units.push_back(c.unit);
    }
    if (nrows < 0) nrows = 0;
    std::vector<char*> n_p, f_p, u_p;
    for (size_t i = 0; i < cols.size(); ++i) {
      n_p.push_back(names[i].data());
      f_p.push_back(forms[i].data());
      u_p.push_back(units[i].data());
    }
    std::string ext(extname);
    int status = 0;
    file_size_ = std::numeric_limits<unsigned long long>::max() / 4;  // now holds our own data
    fits_create_tbl(ptr(), BINARY_TBL, static_cast<LONGLONG>(nrows), static_cast<int>(cols.size()), n_p.data(),
                    f_p.data(), u_p.data(), ext.empty() ? nullptr : ext.c_str(), &status);
    names_valid_ = false;
    if (status) fail(status, "create table " + ext);
    refresh_position();
    for (size_t i = 0; i < cols.size(); ++i) {
      const auto& c = cols[i];
      int colnum = static_cast<int>(i + 1);
      std::visit([&](const auto& v) {
        using V = typename std::decay_t<decltype(v)>::value_type;
        if (v.empty()) return;
        if constexpr (std::is_same_v<V, std::string>) {
          std::vector<std::string> copy(v.begin(), v.end());
          std::vector<char*> ptrs;
          for (auto& s : copy) ptrs.push_back(s.data());
          fits_write_col(ptr(), TSTRING, colnum, 1, 1, static_cast<LONGLONG>(ptrs.size()), ptrs.data(), &status);
        } else {
          std::vector<V> copy(v.begin(), v.end());  // cfitsio takes non-const pointers
          fits_write_col(ptr(), detail::fits_type<V>::dtype, colnum, 1, 1, static_cast<LONGLONG>(copy.size()),
                         copy.data(), &status);
        }
      }, c.values);
      if (status) fail(status, "write column", c.name);
    }
  }

  // ---------------------------------------------------------------- images
  // Dimensions of the current image HDU (FITS order); empty for NAXIS = 0.
  std::vector<long long> image_dims() const {
    GALML_CHECK(current_type() == HduType::image, "FITS: '", path_.string(), "' HDU ", current_, " '",
                current_name_, "' is a table, not an image");
    int naxis = 0, status = 0;
    fits_get_img_dim(ptr(), &naxis, &status);
    if (status) fail(status, "get image dimensions");
    if (naxis < 0 || naxis > 999) fail_msg("invalid NAXIS " + std::to_string(naxis));
    std::vector<LONGLONG> d(static_cast<size_t>(naxis) + 1, 0);
    if (naxis > 0) fits_get_img_sizell(ptr(), naxis, d.data(), &status);
    if (status) fail(status, "get image size");
    return std::vector<long long>(d.begin(), d.begin() + naxis);
  }

  // Reads the whole current image HDU; BSCALE/BZERO are applied by cfitsio, BLANK pixels become
  // NaN for floating-point T. T: float, double, int32_t, int64_t.
  template <class T>
  ImageData<T> read_image() const {
    ImageData<T> out;
    out.dims = image_dims();
    if (out.dims.empty()) return out;
    unsigned long long n = 1;
    for (auto d : out.dims) {
      if (d < 0) fail_msg("negative NAXISn");
      auto m = detail::mul_checked(n, static_cast<unsigned long long>(d));
      if (!m) fail_msg("image size overflows (corrupt NAXISn)");
      n = *m;
    }
    int bitpix = 0, status = 0, compressed = fits_is_compressed_image(ptr(), &status);
    fits_get_img_type(ptr(), &bitpix, &status);
    if (status) fail(status, "get image type");
    auto bytes = detail::mul_checked(n, static_cast<unsigned long long>(std::abs(bitpix) / 8));
    // Compressed images may legitimately expand; allow a generous but finite ratio.
    unsigned long long limit = compressed ? file_size_ * 256ull : file_size_;
    if (!bytes || *bytes > limit)
      fail_msg("image of " + std::to_string(n) + " pixels exceeds the file size (corrupt or truncated)");
    out.data.assign(static_cast<size_t>(n), T{});
    std::vector<LONGLONG> first(out.dims.size(), 1);
    int anynul = 0;
    if constexpr (std::is_floating_point_v<T>) {
      T nul = std::numeric_limits<T>::quiet_NaN();
      fits_read_pixll(ptr(), detail::fits_type<T>::dtype, first.data(), static_cast<LONGLONG>(n), &nul,
                      out.data.data(), &anynul, &status);
    } else {
      fits_read_pixll(ptr(), detail::fits_type<T>::dtype, first.data(), static_cast<LONGLONG>(n), nullptr,
                      out.data.data(), &anynul, &status);
    }
    if (status) fail(status, "read image");
    return out;
  }

  template <class T>
  ImageData<T> read_image(std::string_view hdu_name) {
    move_to(hdu_name);
    return read_image<T>();
  }

  // Appends an image HDU (the primary when the file is still empty). dims in FITS order;
  // empty dims writes a data-less HDU. extname "" writes no EXTNAME.
  template <class T>
  void write_image(std::string_view extname, const std::vector<T>& data, const std::vector<long long>& dims) {
    require_writable("write image");
    unsigned long long n = dims.empty() ? 0 : 1;
    for (auto d : dims) {
      GALML_CHECK(d >= 0, "FITS: '", path_.string(), "': negative image dimension");
      n *= static_cast<unsigned long long>(d);
    }
    GALML_CHECK(n == data.size(), "FITS: '", path_.string(), "': image '", extname, "' has ", data.size(),
                " values but dims give ", n);
    std::vector<LONGLONG> d(dims.begin(), dims.end());
    int status = 0;
    file_size_ = std::numeric_limits<unsigned long long>::max() / 4;  // now holds our own data
    fits_create_imgll(ptr(), detail::fits_type<T>::bitpix, static_cast<int>(d.size()), d.data(), &status);
    names_valid_ = false;
    if (status) fail(status, "create image " + std::string(extname));
    refresh_position();
    if (!extname.empty()) write_key("EXTNAME", extname);
    refresh_position();
    if (n) {
      std::vector<T> copy(data);
      std::vector<LONGLONG> first(d.size(), 1);
      fits_write_pixll(ptr(), detail::fits_type<T>::dtype, first.data(), static_cast<LONGLONG>(n), copy.data(), &status);
      if (status) fail(status, "write image " + std::string(extname));
    }
  }

  // Data-less primary HDU (what spec files and DESI coadds start with).
  void write_empty_primary() { write_image<uint8_t>("", {}, {}); }

  // Builds the error message used throughout: file, HDU, column, cfitsio status text and details.
  [[noreturn]] void fail(int status, const std::string& what, const std::string& column = "") const {
    char text[FLEN_STATUS] = {0};
    fits_get_errstatus(status, text);
    std::string detail_msgs;
    char msg[FLEN_ERRMSG];
    int kept = 0;
    while (fits_read_errmsg(msg)) {
      if (kept++ < 2) detail_msgs += std::string(detail_msgs.empty() ? "" : "; ") + msg;
    }
    fits_clear_errmsg();
    std::string m = "FITS: '" + path_.string() + "'";
    if (current_ >= 0) m += " HDU " + std::to_string(current_) + " '" + current_name_ + "'";
    if (!column.empty()) m += " column '" + column + "'";
    m += ": " + what + " failed: " + text + " (cfitsio status " + std::to_string(status) + ")";
    if (!detail_msgs.empty()) m += " [" + detail_msgs + "]";
    throw Error(m);
  }

  [[noreturn]] void fail_msg(const std::string& what, const std::string& column = "") const {
    std::string m = "FITS: '" + path_.string() + "'";
    if (current_ >= 0) m += " HDU " + std::to_string(current_) + " '" + current_name_ + "'";
    if (!column.empty()) m += " column '" + column + "'";
    throw Error(m + ": " + what);
  }

 private:
  FitsFile() = default;

  static std::filesystem::path tmp_path(const std::filesystem::path& p) {
    auto t = p;
    t += ".tmp";
    return t;
  }

  fitsfile* ptr() const {
    GALML_CHECK(fptr_, "FITS: '", path_.string(), "' is closed");
    return fptr_;
  }

  void require_writable(const char* what) const {
    GALML_CHECK(writable_, "FITS: '", path_.string(), "': ", what, " on a file opened read-only");
  }
  void require_table(const char* what) const {
    if (current_type() == HduType::image) fail_msg(std::string(what) + ": HDU is an image, not a table");
  }

  void refresh_position() {
    int hdunum = 0;
    fits_get_hdu_num(ptr(), &hdunum);
    current_ = hdunum - 1;
    int status = 0;
    char buf[FLEN_VALUE] = {0};
    fits_read_key(fptr_, TSTRING, "EXTNAME", buf, nullptr, &status);
    if (status == 0) {
      current_name_ = buf;
    } else {
      fits_clear_errmsg();
      current_name_ = current_ == 0 ? "PRIMARY" : "";
    }
  }

  // Closes without committing: a pending write is discarded.
  void abandon() noexcept {
    if (fptr_) {
      int status = 0;
      fits_close_file(fptr_, &status);
      if (status) fits_clear_errmsg();
      fptr_ = nullptr;
    }
    if (!tmp_.empty()) {
      std::error_code ec;
      std::filesystem::remove(tmp_, ec);
      tmp_.clear();
    }
  }

  void swap(FitsFile& o) noexcept {
    std::swap(fptr_, o.fptr_);
    std::swap(path_, o.path_);
    std::swap(tmp_, o.tmp_);
    std::swap(writable_, o.writable_);
    std::swap(file_size_, o.file_size_);
    std::swap(current_, o.current_);
    std::swap(current_name_, o.current_name_);
    std::swap(names_, o.names_);
    std::swap(names_valid_, o.names_valid_);
  }

  fitsfile* fptr_ = nullptr;
  std::filesystem::path path_, tmp_;
  bool writable_ = false;
  unsigned long long file_size_ = 0;
  int current_ = -1;
  std::string current_name_;
  std::vector<std::string> names_;
  bool names_valid_ = false;
};

}  // namespace galml::io
