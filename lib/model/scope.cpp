// Scope identities.
#include "model/scope.hpp"

namespace hssjw {

std::string scope_id::str() const {
  std::string out = project_id;
  out += '/';
  out += enterprise_project_id.empty() ? "-" : enterprise_project_id;
  if (!filters.empty()) {
    out += '?';
    out += filters;
  }
  return out;
}

std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string canonical_filters(const std::map<std::string, std::string>& filters) {
  std::string out;
  for (const auto& [k, v] : filters) {
    if (!out.empty()) out += '&';
    out += percent_encode(k) + '=' + percent_encode(v);
  }
  return out;
}

}  // namespace hssjw
