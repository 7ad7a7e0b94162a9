// The scalar forms a config file uses (durations, rates, percentages, octal
// modes, endpoints, listen addresses): parsing and canonical rendering, as
// pure functions. A failure is an errc::config_invalid error whose message
// says only what is wrong with the text ("needs a unit: 30s, 5m, ..."); the
// loader adds the file position and the key name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/error.hpp"

namespace hssjw::config::detail {

// `<int><unit>`, unit ms|s|m|h|d: "500ms", "30s", "5m", "1h", "7d".
result<duration> parse_duration(std::string_view text);
// The largest unit that represents `d` exactly: 90000ms -> "90s", 0 -> "0s".
std::string format_duration(duration d);

// "N/s", "N/min" (N >= 1) or "unlimited" (count 0).
result<rate> parse_rate(std::string_view text);
std::string format_rate(const rate& r);

// "N%" or "N.M%", 0..100 -> fraction 0..1.
result<double> parse_percent(std::string_view text);
// The shortest "N%" text that parses back to exactly `fraction`.
std::string format_percent(double fraction);

// Octal digits only ("0660", "660"), value <= 0777.
result<std::uint32_t> parse_mode(std::string_view text);
std::string format_mode(std::uint32_t mode);  // "0660"

// A decimal integer with optional sign; nothing else (no "1e3", no "0x10").
result<std::int64_t> parse_integer(std::string_view text);

// An HSS or IAM endpoint: absolute https:// (or http:// when
// `allow_http`) URL with a host, no user info, no path beyond "/", no
// query or fragment. Returns it without a trailing "/".
result<std::string> parse_endpoint(std::string_view text, bool allow_http);

// An HTTP proxy: http://[user[:password]@]host:port[/]. Returns it without
// a trailing "/".
result<std::string> parse_proxy(std::string_view text);
// A URL with the secret part of its user info replaced by "***"
// ("http://user:***@host:3128", "http://***@host:3128" for a lone token),
// found by position so that it works on text that is not a valid URL.
// The one way a proxy (or a rejected endpoint) is shown anywhere.
std::string redact_url(std::string_view url);

// "host:port": IPv4, [IPv6] or a DNS name; port 1..65535.
result<std::string> parse_listen(std::string_view text);

// A `*_file` value: "credential:NAME" (NAME non-empty, no '/', not "." or
// "..") or a path. Returns true for a credential name.
result<bool> parse_file_ref(std::string_view text);

// The default endpoints for a region (HUAWEI-API.md §1.3).
std::string default_hss_endpoint(std::string_view region);
std::string default_iam_endpoint(std::string_view region);

}  // namespace hssjw::config::detail
