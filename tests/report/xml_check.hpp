#pragma once
// A minimal XML 1.0 well-formedness checker and DOM for the SVG tests, so they need no Python or
// XML library: one root element, properly nested and closed tags, quoted unique attributes, no raw
// '<' or stray '&' in text or attributes, only the five predefined or numeric entity references.
#include <cctype>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace xmlcheck {

struct Node {
  std::string name;
  std::map<std::string, std::string> attrs;  // entity-decoded values
  std::vector<std::unique_ptr<Node>> children;
  std::string text;  // decoded character data directly inside this element

  std::string attr(const std::string& k) const {
    auto it = attrs.find(k);
    return it == attrs.end() ? std::string() : it->second;
  }
  bool has_class(const std::string& c) const {
    const std::string v = " " + attr("class") + " ";
    return v.find(" " + c + " ") != std::string::npos;
  }
  void walk(const std::function<void(const Node&)>& f) const {
    f(*this);
    for (const auto& c : children) c->walk(f);
  }
  std::vector<const Node*> find_all(const std::function<bool(const Node&)>& pred) const {
    std::vector<const Node*> out;
    walk([&](const Node& n) { if (pred(n)) out.push_back(&n); });
    return out;
  }
  // All text below this element, concatenated.
  std::string all_text() const {
    std::string s = text;
    for (const auto& c : children) s += c->all_text();
    return s;
  }
};

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  std::unique_ptr<Node> parse() {
    skip_misc(true);
    if (!peek('<')) fail("expected the root element");
    auto root = element();
    skip_misc(false);
    if (i_ != s_.size()) fail("content after the root element");
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("XML error at offset " + std::to_string(i_) + ": " + what);
  }
  bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  bool starts(const char* p) const { return s_.compare(i_, std::char_traits<char>::length(p), p) == 0; }
  void ws() { while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_; }
  void skip_to(const char* end) {
    const auto e = s_.find(end, i_);
    if (e == std::string::npos) fail(std::string("unterminated construct, missing ") + end);
    i_ = e + std::char_traits<char>::length(end);
  }
  void skip_misc(bool allow_decl) {
    for (;;) {
      ws();
      if (starts("<?xml")) {
        if (!allow_decl || i_ != 0) fail("XML declaration not at the start");
        skip_to("?>");
      } else if (starts("<!--")) {
        skip_to("-->");
      } else if (starts("<?")) {
        skip_to("?>");
      } else {
        return;
      }
      allow_decl = false;
    }
  }
  static bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
  static bool name_char(char c) {
    return name_start(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  }
  std::string name() {
    if (i_ >= s_.size() || !name_start(s_[i_])) fail("expected a name");
    const auto b = i_;
    while (i_ < s_.size() && name_char(s_[i_])) ++i_;
    return s_.substr(b, i_ - b);
  }
  // Decodes one entity reference starting at '&'.
  std::string entity() {
    const auto e = s_.find(';', i_);
    if (e == std::string::npos || e - i_ > 10) fail("'&' that does not start an entity reference");
    const std::string ent = s_.substr(i_ + 1, e - i_ - 1);
    i_ = e + 1;
    if (ent == "amp") return "&";
    if (ent == "lt") return "<";
    if (ent == "gt") return ">";
    if (ent == "quot") return "\"";
    if (ent == "apos") return "'";
    if (ent.size() > 1 && ent[0] == '#') {
      const bool hex = ent[1] == 'x';
      const auto digits = ent.substr(hex ? 2 : 1);
      if (digits.empty()) fail("empty character reference");
      for (char c : digits)
        if (!(hex ? std::isxdigit(static_cast<unsigned char>(c)) : std::isdigit(static_cast<unsigned char>(c))))
          fail("bad character reference &" + ent + ";");
      return "?";
    }
    fail("unknown entity &" + ent + ";");
  }
  void check_char(char c) const {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') fail("control character in document");
  }
  std::unique_ptr<Node> element() {
    ++i_;  // '<'
    auto n = std::make_unique<Node>();
    n->name = name();
    for (;;) {
      const auto before = i_;
      ws();
      if (starts("/>")) { i_ += 2; return n; }
      if (peek('>')) { ++i_; break; }
      if (i_ == before) fail("expected whitespace before an attribute in <" + n->name + ">");
      const auto k = name();
      ws();
      if (!peek('=')) fail("attribute '" + k + "' without '='");
      ++i_;
      ws();
      if (!peek('"') && !peek('\'')) fail("unquoted value of attribute '" + k + "'");
      const char q = s_[i_++];
      std::string v;
      while (i_ < s_.size() && s_[i_] != q) {
        if (s_[i_] == '<') fail("'<' inside attribute '" + k + "'");
        if (s_[i_] == '&') { v += entity(); continue; }
        check_char(s_[i_]);
        v += s_[i_++];
      }
      if (i_ >= s_.size()) fail("unterminated attribute '" + k + "'");
      ++i_;
      if (!n->attrs.emplace(k, v).second) fail("duplicate attribute '" + k + "' in <" + n->name + ">");
    }
    for (;;) {
      if (i_ >= s_.size()) fail("unclosed element <" + n->name + ">");
      if (starts("</")) {
        i_ += 2;
        const auto nm = name();
        if (nm != n->name) fail("</" + nm + "> closes <" + n->name + ">");
        ws();
        if (!peek('>')) fail("malformed end tag");
        ++i_;
        return n;
      }
      if (starts("<!--")) { skip_to("-->"); continue; }
      if (starts("<![CDATA[")) {
        const auto b = i_ + 9;
        skip_to("]]>");
        n->text += s_.substr(b, i_ - 3 - b);
        continue;
      }
      if (peek('<')) { n->children.push_back(element()); continue; }
      if (peek('&')) { n->text += entity(); continue; }
      check_char(s_[i_]);
      n->text += s_[i_++];
    }
  }

  const std::string& s_;
  std::size_t i_ = 0;
};

inline std::unique_ptr<Node> parse(const std::string& s) { return Parser(s).parse(); }

}  // namespace xmlcheck
