// SDK-HMAC-SHA256 signing (see aksk_signer.hpp). Step numbers refer to
// HUAWEI-API.md §4.2; where the official SDKs differ we follow python-v3.
#include "auth/aksk_signer.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include "core/utc.hpp"
#include "hss/http.hpp"

namespace hssjw::aksk {
namespace {

constexpr char hex_upper[] = "0123456789ABCDEF";
constexpr char hex_lower[] = "0123456789abcdef";
constexpr std::string_view whitespace = " \t\r\n\v\f";

std::string to_hex(const unsigned char* data, std::size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += hex_lower[data[i] >> 4];
    out += hex_lower[data[i] & 0xF];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  return to_hex(md.data(), len);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view msg) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), md.data(), &len);
  return to_hex(md.data(), len);
}

bool unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  auto first = s.find_first_not_of(whitespace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(whitespace) - first + 1);
}

// Headers by case-insensitive name; a later duplicate replaces the earlier
// value in place (python keeps one value per name too).
void put_header(string_pairs& headers, std::string_view name, std::string value) {
  auto lname = lower(name);
  for (auto& [k, v] : headers) {
    if (lower(k) == lname) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::string(name), std::move(value));
}

const std::string* get_header(const string_pairs& headers, std::string_view name) {
  auto lname = lower(name);
  for (const auto& [k, v] : headers) {
    if (lower(k) == lname) return &v;
  }
  return nullptr;
}

// Step 4.1: a body that is not JSON is not hashed by the SDK.
bool wants_unsigned_payload(const string_pairs& headers) {
  const auto* type = get_header(headers, "content-type");
  if (type == nullptr || get_header(headers, "x-sdk-content-sha256") != nullptr) return false;
  auto t = lower(trim(*type));
  return !t.starts_with("application/json") && !t.starts_with("application/bson");
}

// Steps 5 and 6: every name without '_', lower-cased, sorted.
void canonical_headers(const string_pairs& headers, sign_output& out) {
  std::vector<std::pair<std::string, std::string_view>> signed_;
  for (const auto& [k, v] : headers) {
    if (k.find('_') == std::string::npos) signed_.emplace_back(lower(k), trim(v));
  }
  std::sort(signed_.begin(), signed_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [k, v] : signed_) {
    out.canonical_headers.append(k).append(":").append(v).append("\n");
    if (!out.signed_headers.empty()) out.signed_headers += ';';
    out.signed_headers += k;
  }
}

// Step 7.
std::string payload_hash(const std::string& body, const string_pairs& headers) {
  if (body.empty()) return std::string(empty_body_sha256);
  if (const auto* h = get_header(headers, "x-sdk-content-sha256")) return std::string(trim(*h));
  return sha256_hex(body);
}

}  // namespace

std::string sdk_encode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex_upper[c >> 4];
      out += hex_upper[c & 0xF];
    }
  }
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string canonical_uri(std::string_view path) {
  auto decoded = percent_decode(path);
  std::string out;
  std::string_view rest = decoded;
  for (;;) {
    auto slash = rest.find('/');
    out += sdk_encode(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    out += '/';
    rest.remove_prefix(slash + 1);
  }
  if (out.empty() || out.back() != '/') out += '/';
  return out;
}

std::string canonical_query(string_pairs query) {
  std::sort(query.begin(), query.end());
  std::string out;
  for (const auto& [k, v] : query) {
    if (!out.empty()) out += '&';
    out.append(sdk_encode(k)).append("=").append(sdk_encode(v));
  }
  return out;
}

string_pairs parse_query(std::string_view query) {
  string_pairs out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (piece.empty()) continue;
    auto eq = piece.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(percent_decode(piece), "");
    } else {
      out.emplace_back(percent_decode(piece.substr(0, eq)), percent_decode(piece.substr(eq + 1)));
    }
  }
  return out;
}

sign_output sign(const sign_input& in) {
  sign_output out;
  string_pairs headers;
  for (const auto& [k, v] : in.headers) put_header(headers, k, v);

  // Step 1: a date already on the request is reused.
  std::string date;
  if (const auto* d = get_header(headers, "x-sdk-date")) {
    date = std::string(trim(*d));
  } else {
    date = in.sdk_date;
    headers.emplace_back("X-Sdk-Date", date);
  }
  if (get_header(headers, "host") == nullptr && !in.host.empty()) {
    headers.emplace_back("Host", in.host);
  }
  if (wants_unsigned_payload(headers))
    headers.emplace_back("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD");

  out.canonical_uri = canonical_uri(in.path);
  out.canonical_query = canonical_query(in.query);
  canonical_headers(headers, out);
  out.payload_hash = payload_hash(in.body, headers);

  // Step 8: canonical_headers ends in '\n', hence the empty line.
  std::string method = in.method;
  for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out.canonical_request = method + "\n" + out.canonical_uri + "\n" + out.canonical_query + "\n" +
                          out.canonical_headers + "\n" + out.signed_headers + "\n" +
                          out.payload_hash;
  out.string_to_sign =
      std::string(algorithm) + "\n" + date + "\n" + sha256_hex(out.canonical_request);
  out.signature = hmac_sha256_hex(in.sk, out.string_to_sign);
  out.authorization = std::string(algorithm) + " Access=" + in.ak +
                      ", SignedHeaders=" + out.signed_headers + ", Signature=" + out.signature;
  headers.emplace_back("Authorization", out.authorization);
  out.headers_to_send = std::move(headers);
  return out;
}

std::string format_sdk_date(std::chrono::system_clock::time_point t) {
  const auto u = to_utc_parts(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", u.year, u.month, u.day, u.hour,
                u.minute, u.second);
  return buf;
}

std::optional<std::chrono::seconds> clock_skew(std::string_view http_date,
                                               std::chrono::system_clock::time_point now) {
  const auto server = parse_http_date(http_date);
  if (!server) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(
      *server - std::chrono::floor<std::chrono::seconds>(now));
}

}  // namespace hssjw::aksk
