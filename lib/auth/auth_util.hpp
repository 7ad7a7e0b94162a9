// Small helpers the authenticators share: header edits on http_request and
// how an upstream rejection is described in a log line.
#pragma once

#include <string>
#include <string_view>

#include "hss/http.hpp"

namespace hssjw::auth_detail {

bool iequals(std::string_view a, std::string_view b);

// Sets `name` to `value`, replacing every header of that name (any case).
void set_header(http_request& req, std::string_view name, std::string value);
void remove_header(http_request& req, std::string_view name);
const std::string* find_header(const http_request& req, std::string_view name);

// "HTTP 401 APIGW.0301: msg (request id X)"; api_error carries no
// credentials, so this is safe to log.
std::string describe(const api_error& err);

// The gateway code without its "APIGW." / "APIG." prefix ("0301"), or "".
std::string_view gateway_code(const api_error& err);

}  // namespace hssjw::auth_detail
