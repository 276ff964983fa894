#pragma once
// A Markdown report builder: headings, paragraphs, lists, code blocks, tables with aligned (padded)
// columns, and images. Images given by absolute path are written relative to the report's folder
// on save, so the report folder can be moved or published as a whole.
#include <algorithm>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "galml/core/error.hpp"
#include "galml/report/atomic_write.hpp"

namespace galml::report {

enum class Align { Left, Right, Center };

class MarkdownReport {
 public:
  MarkdownReport& heading(int level, const std::string& text) {
    GALML_CHECK(level >= 1 && level <= 6, "MarkdownReport::heading: level ", level, " outside 1..6");
    blocks_.push_back(Text{std::string(std::size_t(level), '#') + " " + one_line(text)});
    return *this;
  }
  MarkdownReport& paragraph(const std::string& text) { blocks_.push_back(Text{text}); return *this; }
  MarkdownReport& bullets(const std::vector<std::string>& items) {
    std::string s;
    for (const auto& it : items) {
      if (!s.empty()) s += '\n';
      s += "- ";
      s += one_line(it);
    }
    blocks_.push_back(Text{s});
    return *this;
  }
  MarkdownReport& code(const std::string& text, const std::string& lang = "") {
    blocks_.push_back(Text{"```" + lang + "\n" + text + (text.empty() || text.back() != '\n' ? "\n" : "") + "```"});
    return *this;
  }
  // Columns are padded to equal width so the source reads as a table too. `align` may be empty
  // (all left) or give one entry per column.
  MarkdownReport& table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                        std::vector<Align> align = {}) {
    GALML_CHECK(!header.empty(), "MarkdownReport::table: empty header");
    if (align.empty()) align.assign(header.size(), Align::Left);
    GALML_CHECK(align.size() == header.size(), "MarkdownReport::table: ", align.size(), " alignments for ",
                header.size(), " columns");
    std::vector<std::size_t> w(header.size(), 3);
    auto cells = [&](const std::vector<std::string>& r) {
      std::vector<std::string> c;
      for (const auto& s : r) c.push_back(cell(s));
      return c;
    };
    std::vector<std::vector<std::string>> all{cells(header)};
    for (std::size_t i = 0; i < rows.size(); ++i) {
      GALML_CHECK(rows[i].size() == header.size(), "MarkdownReport::table: row ", i, " has ", rows[i].size(),
                  " cells, expected ", header.size());
      all.push_back(cells(rows[i]));
    }
    for (const auto& r : all)
      for (std::size_t c = 0; c < r.size(); ++c) w[c] = std::max(w[c], display_width(r[c]));
    auto pad = [&](const std::string& s, std::size_t c) {
      const std::size_t n = w[c] - display_width(s);
      if (align[c] == Align::Right) return std::string(n, ' ') + s;
      if (align[c] == Align::Center) return std::string(n / 2, ' ') + s + std::string(n - n / 2, ' ');
      return s + std::string(n, ' ');
    };
    std::string out;
    for (std::size_t r = 0; r < all.size(); ++r) {
      out += "|";
      for (std::size_t c = 0; c < all[r].size(); ++c) {
        out += ' ';
        out += pad(all[r][c], c);
        out += " |";
      }
      out += "\n";
      if (r == 0) {
        out += "|";
        for (std::size_t c = 0; c < w.size(); ++c) {
          std::string d(w[c], '-');
          if (align[c] == Align::Right) d.back() = ':';
          if (align[c] == Align::Center) { d.front() = ':'; d.back() = ':'; }
          out += " " + d + " |";
        }
        out += "\n";
      }
    }
    out.pop_back();
    blocks_.push_back(Text{out});
    return *this;
  }
  MarkdownReport& image(const std::string& alt, const std::filesystem::path& path) {
    blocks_.push_back(Image{one_line(alt), path});
    return *this;
  }

  // Markdown text; absolute image paths are made relative to base_dir when it is given.
  std::string str(const std::filesystem::path& base_dir = {}) const {
    std::string o;
    for (const auto& b : blocks_) {
      if (!o.empty()) o += "\n";
      if (auto* t = std::get_if<Text>(&b)) {
        o += t->s + "\n";
      } else {
        const auto& im = std::get<Image>(b);
        auto p = im.path;
        if (!base_dir.empty() && p.is_absolute()) p = p.lexically_relative(std::filesystem::absolute(base_dir));
        o += "![" + im.alt + "](" + url(p.generic_string()) + ")\n";
      }
    }
    return o;
  }
  void save(const std::filesystem::path& path) const {
    const auto base = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    write_file_atomic(path, str(base));
  }

  // Pipes would end a table cell and newlines the row.
  static std::string cell(const std::string& s) {
    std::string o;
    for (char c : s) {
      if (c == '|') o += "\\|";
      else if (c == '\n' || c == '\r') o += ' ';
      else o += c;
    }
    return o;
  }

 private:
  struct Text { std::string s; };
  struct Image { std::string alt; std::filesystem::path path; };
  static std::string one_line(const std::string& s) {
    std::string o = s;
    std::replace(o.begin(), o.end(), '\n', ' ');
    return o;
  }
  // Spaces and parentheses would break the link target.
  static std::string url(const std::string& s) {
    std::string o;
    for (char c : s) {
      if (c == ' ') o += "%20";
      else if (c == '(') o += "%28";
      else if (c == ')') o += "%29";
      else o += c;
    }
    return o;
  }
  // Code points, not bytes, so "σ" or "–" in a cell does not misalign the padding.
  static std::size_t display_width(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  }
  std::vector<std::variant<Text, Image>> blocks_;
};

}  // namespace galml::report
