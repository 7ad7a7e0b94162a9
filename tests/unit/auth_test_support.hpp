// What the auth unit tests share beyond tests/common/ (the scratch
// directory, the log capture and the environment guard, included here for
// them): reading the headers an authenticator put on a request.
#pragma once

#include <algorithm>
#include <string>

#include "common/env_guard.hpp"
#include "common/log_capture.hpp"
#include "common/temp_dir.hpp"
#include "hss/http.hpp"

namespace hssjw::test {

// The value of header `name`, or "<absent>".
inline std::string header(const http_request& req, const std::string& name) {
  for (const auto& [k, v] : req.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

// How many times header `name` is on the request (a re-signed or
// re-authorised request must carry it once).
inline int count_header(const http_request& req, const std::string& name) {
  return static_cast<int>(std::count_if(req.headers.begin(), req.headers.end(),
                                        [&](const auto& h) { return h.first == name; }));
}

}  // namespace hssjw::test
