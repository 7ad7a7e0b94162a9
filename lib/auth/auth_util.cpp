// Shared helpers of the authenticators (see auth_util.hpp).
#include "auth/auth_util.hpp"

#include <algorithm>
#include <cctype>

namespace hssjw::auth_detail {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void remove_header(http_request& req, std::string_view name) {
  std::erase_if(req.headers, [&](const auto& h) { return iequals(h.first, name); });
}

void set_header(http_request& req, std::string_view name, std::string value) {
  remove_header(req, name);
  req.headers.emplace_back(std::string(name), std::move(value));
}

const std::string* find_header(const http_request& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

std::string describe(const api_error& err) {
  std::string out = "HTTP " + std::to_string(err.http_status);
  if (!err.error_code.empty()) out += " " + err.error_code;
  // A non-JSON answer carries its raw body as the message: keep lines short.
  constexpr std::size_t max_msg = 300;
  if (!err.error_msg.empty()) {
    out += ": " + err.error_msg.substr(0, max_msg);
    if (err.error_msg.size() > max_msg) out += "...";
  }
  if (!err.request_id.empty()) out += " (request id " + err.request_id + ")";
  return out;
}

std::string_view gateway_code(const api_error& err) {
  std::string_view code = err.error_code;
  for (std::string_view prefix : {"APIGW.", "APIG."}) {
    if (code.starts_with(prefix)) return code.substr(prefix.size());
  }
  return {};
}

}  // namespace hssjw::auth_detail
