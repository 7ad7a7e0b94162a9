// Config errors in tests: a config error is a code and one sentence,
// "file:line:col: message" (config::config_error); tests that check the
// position read the parts back from it.
#pragma once

#include <cctype>
#include <charconv>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace hssjw::config {

struct error_parts {
  std::string file;  // "" when the message does not start with the file expected
  int line = 0;      // 0 = no position
  int column = 0;
  std::string message;  // what is wrong, after the position
};

// `e`'s message split, given the file it should name (a path may hold ':').
inline error_parts parts_of(const error& e, std::string_view file) {
  const std::string text = e.message();
  std::string_view rest = text;
  error_parts p;
  if (!rest.starts_with(file)) {
    p.message = text;
    return p;
  }
  p.file = file;
  rest.remove_prefix(file.size());
  auto number = [&rest](int& out) {
    if (rest.size() < 2 || rest[0] != ':' || !std::isdigit(static_cast<unsigned char>(rest[1])))
      return false;
    auto [end, ec] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), out);
    rest.remove_prefix(end - rest.data());
    return ec == std::errc();
  };
  if (number(p.line)) number(p.column);
  if (rest.starts_with(": ")) rest.remove_prefix(2);
  p.message = rest;
  return p;
}

}  // namespace hssjw::config
