#pragma once
// One exception type for every runtime error galml reports. Messages name the file, HDU, column,
// parameter or layer involved and what was expected, so a user can act on them.
#include <sstream>
#include <stdexcept>
#include <string>

namespace galml {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... A>
std::string cat(const A&... a) {
  std::ostringstream os;
  (os << ... << a);
  return os.str();
}
}  // namespace detail

// GALML_CHECK(cond, "text", value, ...) throws galml::Error with the concatenated message.
#define GALML_CHECK(cond, ...) \
  do { if (!(cond)) throw ::galml::Error(::galml::detail::cat(__VA_ARGS__)); } while (0)

}  // namespace galml
