// AK/SK request signing ("SDK-HMAC-SHA256"), exactly as Huawei's python-v3
// SDK does it (HUAWEI-API.md §4): pure functions, no clock and no I/O, so
// every intermediate can be checked against the SDK's vectors.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hssjw::aksk {

using string_pairs = std::vector<std::pair<std::string, std::string>>;

struct sign_input {
  std::string method;    // "GET"; upper-cased for signing
  std::string path;      // as sent, percent-encoded, without the query
  string_pairs query;    // decoded (key, value) pairs, any order
  string_pairs headers;  // before signing; names in any case
  std::string body;      // exact bytes sent
  std::string host;      // Host value ("host" or "host:port") added when no Host header
  std::string ak;
  std::string_view sk;   // a view: the SK stays in its wiped buffer
  std::string sdk_date;  // "YYYYMMDDTHHMMSSZ"; an X-Sdk-Date header wins
};

struct sign_output {
  std::string canonical_uri;
  std::string canonical_query;  // also the query to send, byte for byte
  std::string canonical_headers;
  std::string signed_headers;
  std::string payload_hash;
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
  std::string authorization;
  string_pairs headers_to_send;  // the input headers + X-Sdk-Date, Host, Authorization
};

inline constexpr std::string_view algorithm = "SDK-HMAC-SHA256";
inline constexpr std::string_view empty_body_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Every byte outside A-Z a-z 0-9 - _ . ~ as %XY (upper-case hex).
std::string sdk_encode(std::string_view s);
// %XY -> byte; malformed escapes stay as written. '+' is not a space.
std::string percent_decode(std::string_view s);
// Decode, split on '/', encode each segment, end with '/'.
std::string canonical_uri(std::string_view path);
// Sorted by raw key then raw value (byte order), Encode(k)=Encode(v), '&'.
std::string canonical_query(string_pairs query);
// "a=1&b=%20" -> {("a","1"), ("b"," ")}; a piece without '=' has value "".
string_pairs parse_query(std::string_view query);

sign_output sign(const sign_input& in);

// X-Sdk-Date for a wall-clock time.
std::string format_sdk_date(std::chrono::system_clock::time_point t);

// Server time minus `now` from an HTTP Date header (IMF-fixdate,
// "Sun, 06 Nov 1994 08:49:37 GMT"); nullopt if it does not parse.
// Signatures expire after 15 minutes of skew; warn well before.
std::optional<std::chrono::seconds> clock_skew(std::string_view http_date,
                                               std::chrono::system_clock::time_point now);

}  // namespace hssjw::aksk
