// The fake gateway's side of AK/SK ("SDK-HMAC-SHA256", HUAWEI-API.md §4):
// recompute the signature of a received request over the headers the
// client says it signed, and compare. Written from the document, not from
// lib/auth, so a mistake shared by the daemon's signer and this verifier is
// unlikely; both are checked against shared/aksk_vectors.json. Pure
// functions, no clock: the caller compares X-Sdk-Date with its own time.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fake_hss::aksk {

// "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex"
struct authorization {
  std::string access_key;
  std::vector<std::string> signed_headers;  // as listed (lower-case names)
  std::string signature;
};
std::optional<authorization> parse_authorization(std::string_view header);

// Every byte outside A-Z a-z 0-9 - _ . ~ as %XY, upper-case hex.
std::string encode(std::string_view s);
// "%XY" -> byte only ('+' stays '+': the SDK never sends a '+' for a space).
std::string decode(std::string_view s);
// The path as received -> decoded segments, each encoded, trailing '/'.
std::string canonical_uri(std::string_view raw_path);
// The raw query as received -> decoded pairs, sorted by key then value
// (bytes), each re-encoded, joined by '&'.
std::string canonical_query(std::string_view raw_query);

// What the verifier needs from a request. Header names lower-case; a
// signed header missing from the map makes the request unverifiable.
struct request {
  std::string method;
  std::string target;  // path + "?" + raw query, exactly as received
  std::map<std::string, std::string> headers;
  std::string body;
};

// The canonical request over `signed_headers`, or nothing when one of them
// is absent.
std::optional<std::string> canonical_request(const request& r,
                                             const std::vector<std::string>& signed_headers);
std::string string_to_sign(std::string_view sdk_date, std::string_view canonical_request);
std::string signature(std::string_view sk, std::string_view string_to_sign);

// "20191115T033655Z" -> the time it names; nothing if malformed.
std::optional<std::chrono::system_clock::time_point> parse_sdk_date(std::string_view s);
std::string format_sdk_date(std::chrono::system_clock::time_point t);

// True when `auth` is a correct signature of `r` with `sk` (X-Sdk-Date must
// be present and signed-over as the string-to-sign date).
bool verify(const request& r, const authorization& auth, std::string_view sk);

}  // namespace fake_hss::aksk
