// Plain HTTP request/response values and the Huawei error shape, free of
// Asio and Beast so that every layer can include them cheaply.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hssjw {

struct http_request {
  std::string method = "GET";
  std::string target;  // path and query exactly as sent ("/v5/p/kubernetes/jobs?limit=200")
  std::vector<std::pair<std::string, std::string>> headers;  // added by auth etc.
  std::string body;
};

// Header texts are upstream text made safe by upstream_text (valid UTF-8,
// no control characters, bounded) when the response is read; the body is
// as received, for the decoders.
struct http_response {
  unsigned status = 0;
  std::string body;
  std::string request_id;   // X-Request-Id
  std::string retry_after;  // Retry-After, "" if absent
  std::string date;         // Date, "" if absent
  std::string content_type;
  std::string subject_token;  // X-Subject-Token (IAM login answers); a secret: never log it
  std::chrono::milliseconds latency{0};
};

// A non-2xx answer, in the shapes Huawei's SDKs accept (HUAWEI-API.md §2.1):
// error_code/error_msg, errorCode/errorMsg, code/message (also nested, e.g.
// under "error"); otherwise the status as the code and the raw body as the
// message. Every string is upstream text made safe (upstream_text.hpp).
struct api_error {
  unsigned http_status = 0;
  std::string error_code;
  std::string error_msg;
  std::string request_id;
  std::string to_string() const;  // "HTTP 401 APIGW.0301: msg (request id ...)"
};

api_error parse_api_error(unsigned status, std::string_view body, std::string request_id);

// An HTTP-date in IMF-fixdate form ("Sun, 06 Nov 1994 08:49:37 GMT", what
// every current server sends, RFC 9110 §5.6.7); nullopt if it is not one.
std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text);

// How long a throttling answer asks us to wait (RFC 9110 §10.2.3): its
// Retry-After as delay-seconds, or as an HTTP-date taken relative to the
// answer's own Date header (so our clock's skew does not matter; `now`
// when it has none); a date in the past is no wait. nullopt when absent,
// unparseable, or over an hour (the caller then waits one budget window).
std::optional<std::chrono::milliseconds> retry_after_delay(
    const http_response& r, std::chrono::system_clock::time_point now);

// APIGW.0308 / APIG.0308 or HTTP 429: the gateway's throttling answer.
bool is_throttled(const api_error& e);
// APIGW.0301/0303/0305/0307 (or APIG.): credentials rejected or expired.
bool is_auth_rejected(const api_error& e);

}  // namespace hssjw
