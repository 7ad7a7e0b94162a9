// AK/SK signature verification for the fake gateway (see aksk_verify.hpp).
// Each function is one step of HUAWEI-API.md §4.2, numbered as there.
#include "fake_hss/aksk_verify.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <utility>

namespace fake_hss::aksk {

namespace {

constexpr std::string_view algorithm = "SDK-HMAC-SHA256";

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 0xF]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  ::SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return hex(md, sizeof md);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view space = " \t\r\n";
  const auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s = s.substr(at + 1);
  }
}

// "Name=value" with the expected name, or nothing.
std::optional<std::string_view> part(std::string_view s, std::string_view name) {
  s = trim(s);
  if (s.size() <= name.size() || !s.starts_with(name) || s[name.size()] != '=') return std::nullopt;
  return s.substr(name.size() + 1);
}

// Step 7: the empty body hashes to sha256(""); a body with
// X-Sdk-Content-Sha256 uses that literal (UNSIGNED-PAYLOAD).
std::string payload_hash(const request& r) {
  if (r.body.empty()) return sha256_hex("");
  if (auto it = r.headers.find("x-sdk-content-sha256"); it != r.headers.end()) return it->second;
  return sha256_hex(r.body);
}

}  // namespace

std::optional<authorization> parse_authorization(std::string_view header) {
  header = trim(header);
  if (!header.starts_with(algorithm) || header.size() <= algorithm.size() ||
      header[algorithm.size()] != ' ')
    return std::nullopt;
  const auto parts = split(header.substr(algorithm.size() + 1), ',');
  if (parts.size() != 3) return std::nullopt;
  auto ak = part(parts[0], "Access");
  auto names = part(parts[1], "SignedHeaders");
  auto sig = part(parts[2], "Signature");
  if (!ak || !names || !sig) return std::nullopt;
  authorization a{std::string(*ak), {}, std::string(*sig)};
  for (auto n : split(*names, ';'))
    if (!n.empty()) a.signed_headers.emplace_back(n);
  if (a.signed_headers.empty()) return std::nullopt;
  return a;
}

// Step 2.
std::string encode(std::string_view s) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '.' || c == '~';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xF]);
    }
  }
  return out;
}

std::string decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Step 3.
std::string canonical_uri(std::string_view raw_path) {
  const std::string path = decode(raw_path);
  std::string out;
  bool first = true;
  for (auto segment : split(path, '/')) {
    if (!first) out.push_back('/');
    first = false;
    out += encode(segment);
  }
  if (out.empty() || out.back() != '/') out.push_back('/');
  return out;
}

// Step 4.
std::string canonical_query(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (!raw_query.empty()) {
    for (auto piece : split(raw_query, '&')) {
      if (piece.empty()) continue;
      const auto eq = piece.find('=');
      pairs.emplace_back(decode(piece.substr(0, eq)), eq == std::string_view::npos
                                                          ? std::string{}
                                                          : decode(piece.substr(eq + 1)));
    }
  }
  std::sort(pairs.begin(), pairs.end());  // std::string compares bytes as unsigned char
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out.push_back('&');
    out += encode(k) + "=" + encode(v);
  }
  return out;
}

// Steps 5, 6 and 8, over the names the client listed.
std::optional<std::string> canonical_request(const request& r,
                                             const std::vector<std::string>& signed_headers) {
  const auto q = r.target.find('?');
  const std::string_view target = r.target;
  std::string method = r.method;
  for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string out =
      method + "\n" + canonical_uri(target.substr(0, q)) + "\n" +
      canonical_query(q == std::string_view::npos ? std::string_view{} : target.substr(q + 1)) +
      "\n";
  std::string names;
  for (const auto& name : signed_headers) {
    auto it = r.headers.find(name);
    if (it == r.headers.end()) return std::nullopt;
    out += name + ":" + std::string(trim(it->second)) + "\n";
    names += (names.empty() ? "" : ";") + name;
  }
  out += "\n" + names + "\n" + payload_hash(r);
  return out;
}

// Step 9.
std::string string_to_sign(std::string_view sdk_date, std::string_view canonical_request) {
  return std::string(algorithm) + "\n" + std::string(sdk_date) + "\n" +
         sha256_hex(canonical_request);
}

// Step 10: the SK itself is the key, no derivation.
std::string signature(std::string_view sk, std::string_view string_to_sign) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  ::HMAC(EVP_sha256(), sk.data(), static_cast<int>(sk.size()),
         reinterpret_cast<const unsigned char*>(string_to_sign.data()), string_to_sign.size(), md,
         &n);
  return hex(md, n);
}

std::optional<std::chrono::system_clock::time_point> parse_sdk_date(std::string_view s) {
  using namespace std::chrono;
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const int y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(9, 2), mi = num(11, 2),
            sec = num(13, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
    return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec};
}

std::string format_sdk_date(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day_start = floor<days>(secs);
  const year_month_day ymd{day_start};
  const hh_mm_ss hms{secs - day_start};
  char buf[20];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

bool verify(const request& r, const authorization& auth, std::string_view sk) {
  auto date = r.headers.find("x-sdk-date");
  if (date == r.headers.end()) return false;
  auto canonical = canonical_request(r, auth.signed_headers);
  if (!canonical) return false;
  const std::string expected = signature(sk, string_to_sign(date->second, *canonical));
  // Constant-time, as a gateway would compare.
  if (expected.size() != auth.signature.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>(expected[i] ^ auth.signature[i]);
  return diff == 0;
}

}  // namespace fake_hss::aksk
