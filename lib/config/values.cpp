// Parsing and rendering of the config's scalar forms (see values.hpp).
#include "config/values.hpp"

#include <array>
#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace hssjw::config::detail {
namespace {

error fail(std::string message) { return error(errc::config_invalid, std::move(message)); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

struct unit {
  std::string_view name;
  std::int64_t ms;
};
// Longest first, so that rendering picks the largest exact unit.
constexpr std::array<unit, 5> units{
    {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

constexpr std::string_view unit_hint = "units ms, s, m, h, d";

// Parses a run of decimal digits (the whole of `digits`) into a uint64.
bool parse_digits(std::string_view digits, std::uint64_t& out) {
  if (digits.empty()) return false;
  for (char c : digits)
    if (!is_digit(c)) return false;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  return ec == std::errc() && p == digits.data() + digits.size();
}

// A DNS name or IPv4 literal as it may appear in a URL or a listen address.
bool valid_host_name(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
              c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Checks shared by endpoints and proxies: scheme, host, no path beyond
// "/", no query or fragment. Returns the URL text without a trailing "/".
result<std::string> check_origin(std::string_view text, boost::urls::url_view u,
                                 bool require_port) {
  if (u.encoded_host().empty()) return fail("needs a host, e.g. https://hss.example.com");
  switch (u.host_type()) {
    case boost::urls::host_type::name:
      if (!valid_host_name(u.encoded_host())) return fail("invalid host name");
      break;
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      break;
    default:
      return fail("needs a host, e.g. https://hss.example.com");
  }
  if (u.has_port()) {
    // port_number() is not range-checked (1.81): read the digits ourselves.
    std::uint64_t port = 0;
    if (!parse_digits(u.port(), port) || port < 1 || port > 65535) return fail("invalid port");
  } else if (require_port) {
    return fail("needs a port, e.g. http://proxy.example:3128");
  }
  if (!(u.encoded_path().empty() || u.encoded_path() == "/"))
    return fail(std::string("must not have a path (got \"") + std::string(u.encoded_path()) +
                "\")");
  if (u.has_query()) return fail("must not have a query");
  if (u.has_fragment()) return fail("must not have a fragment");
  std::string out(text);
  if (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

result<duration> parse_duration(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && is_digit(text[i])) ++i;
  std::string_view digits = text.substr(0, i);
  std::string_view suffix = text.substr(i);
  if (digits.empty())
    return fail(std::string("expected a duration such as 30s (") + std::string(unit_hint) + ")");
  if (suffix.empty())
    return fail("a duration needs a unit, e.g. " + std::string(digits) + "s (" +
                std::string(unit_hint) + ")");
  std::uint64_t n = 0;
  if (!parse_digits(digits, n)) return fail("duration too large");
  for (const auto& u : units) {
    if (suffix != u.name) continue;
    if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / u.ms))
      return fail("duration too large");
    return duration(static_cast<std::int64_t>(n) * u.ms);
  }
  return fail(std::string("unknown duration unit \"") + std::string(suffix) + "\" (" +
              std::string(unit_hint) + ")");
}

std::string format_duration(duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  for (const auto& u : units)
    if (ms % u.ms == 0) return std::to_string(ms / u.ms) + std::string(u.name);
  return std::to_string(ms) + "ms";
}

result<rate> parse_rate(std::string_view text) {
  constexpr std::string_view hint = "expected N/s, N/min (N >= 1) or unlimited, e.g. 5/min";
  if (text == "unlimited") return rate{0, std::chrono::seconds(1)};
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return fail(std::string(hint));
  std::string_view count = text.substr(0, slash);
  std::string_view per = text.substr(slash + 1);
  rate r;
  if (per == "s")
    r.per = std::chrono::seconds(1);
  else if (per == "min")
    r.per = std::chrono::minutes(1);
  else
    return fail(std::string(hint));
  std::uint64_t n = 0;
  if (!parse_digits(count, n)) return fail(std::string(hint));
  if (n < 1) return fail("a rate needs N >= 1 (use unlimited for no limit)");
  if (n > std::numeric_limits<std::uint32_t>::max()) return fail("rate too large");
  r.count = static_cast<std::uint32_t>(n);
  return r;
}

std::string format_rate(const rate& r) {
  if (r.unlimited()) return "unlimited";
  return std::to_string(r.count) + (r.per == std::chrono::seconds(1) ? "/s" : "/min");
}

result<double> parse_percent(std::string_view text) {
  constexpr std::string_view hint = "expected a percentage such as 10% or 12.5%";
  if (text.empty() || text.back() != '%') return fail(std::string(hint));
  std::string_view num = text.substr(0, text.size() - 1);
  auto dot = num.find('.');
  std::string_view whole = num.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : num.substr(dot + 1);
  std::uint64_t ignored = 0;
  if (!parse_digits(whole, ignored)) return fail(std::string(hint));
  if (dot != std::string_view::npos && !parse_digits(frac, ignored)) return fail(std::string(hint));
  double v = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (ec != std::errc() || p != num.data() + num.size()) return fail(std::string(hint));
  if (v > 100) return fail("a percentage must be between 0% and 100%");
  return v / 100.0;
}

std::string format_percent(double fraction) {
  // The shortest decimal text that reads back as exactly this fraction.
  char buf[64];
  for (int decimals = 0; decimals <= 17; ++decimals) {
    std::snprintf(buf, sizeof buf, "%.*f", decimals, fraction * 100.0);
    if (std::strtod(buf, nullptr) / 100.0 == fraction) break;
  }
  return std::string(buf) + "%";
}

result<std::uint32_t> parse_mode(std::string_view text) {
  if (text.empty() || text.size() > 5) return fail("expected an octal mode such as \"0660\"");
  std::uint32_t mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return fail("expected an octal mode such as \"0660\"");
    mode = mode * 8 + static_cast<std::uint32_t>(c - '0');
  }
  if (mode > 0777) return fail("a mode must be at most 0777");
  return mode;
}

std::string format_mode(std::uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

result<std::int64_t> parse_integer(std::string_view text) {
  std::string_view t = text;
  if (!t.empty() && t.front() == '+') t.remove_prefix(1);
  std::string_view digits = (!t.empty() && t.front() == '-') ? t.substr(1) : t;
  if (digits.empty()) return fail("expected an integer");
  for (char c : digits)
    if (!is_digit(c)) return fail("expected an integer");
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size()) return fail("integer out of range");
  return v;
}

result<std::string> parse_endpoint(std::string_view text, bool allow_http) {
  auto u = boost::urls::parse_uri(text);
  if (!u) return fail("expected an absolute URL such as https://hss.example.com");
  if (u->scheme_id() == boost::urls::scheme::http) {
    if (!allow_http)
      return fail("http:// is refused (use https://, or allow_insecure_http: true for tests)");
  } else if (u->scheme_id() != boost::urls::scheme::https) {
    return fail("expected an https:// URL");
  }
  if (u->has_userinfo()) return fail("must not contain user info");
  return check_origin(text, *u, false);
}

result<std::string> parse_proxy(std::string_view text) {
  auto u = boost::urls::parse_uri(text);
  if (!u || u->scheme_id() != boost::urls::scheme::http)
    return fail("expected http://[user:password@]host:port");
  if (u->has_userinfo() && u->encoded_user().empty()) return fail("user info needs a user name");
  return check_origin(text, *u, true);
}

std::string redact_url(std::string_view url) {
  // By position, not by parsing: the URLs that most need it are the ones a
  // parser refuses (a space or an unescaped '/', '#' or '@' in the
  // password). The user info runs from "://" (or the start, when there is
  // no scheme) to the last '@': a password may contain '@', a host cannot.
  const auto scheme_end = url.find("://");
  const std::size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const auto at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  const auto userinfo = url.substr(start, at - start);
  const auto colon = userinfo.find(':');
  std::string out(url.substr(0, start));
  // "user:password" keeps the user; a lone token ("TOKEN@host") is all secret.
  out += colon == std::string_view::npos ? "***" : std::string(userinfo.substr(0, colon)) + ":***";
  out += url.substr(at);
  return out;
}

result<std::string> parse_listen(std::string_view text) {
  constexpr std::string_view hint = "expected host:port, e.g. 127.0.0.1:9464 or [::1]:9464";
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return fail(std::string(hint));
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (!boost::urls::parse_ipv6_address(host)) return fail("invalid IPv6 address");
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail(std::string(hint));
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return fail("an IPv6 address needs brackets: [addr]:port");
    if (!valid_host_name(host)) return fail(std::string(hint));
  }
  std::uint64_t p = 0;
  if (!parse_digits(port, p) || p < 1 || p > 65535) return fail("port must be between 1 and 65535");
  return std::string(text);
}

result<bool> parse_file_ref(std::string_view text) {
  // In place: an error converts to bool (explicitly) too.
  using boost::system::in_place_error;
  constexpr std::string_view prefix = "credential:";
  if (text.empty()) return {in_place_error, fail("must not be empty")};
  if (text.substr(0, prefix.size()) != prefix) return false;
  std::string_view name = text.substr(prefix.size());
  if (name.empty() || name.find('/') != std::string_view::npos || name == "." || name == "..")
    return {in_place_error, fail("credential:NAME needs a NAME without '/'")};
  return true;
}

std::string default_hss_endpoint(std::string_view region) {
  if (region == "eu-west-101") return "https://hss.eu-west-101.myhuaweicloud.eu";
  return "https://hss." + std::string(region) + ".myhuaweicloud.com";
}

std::string default_iam_endpoint(std::string_view region) {
  // Same exception as HSS: the eu-west-101 region lives under
  // myhuaweicloud.eu (not in the SDKs' IAM table; set iam_endpoint if not).
  if (region == "eu-west-101") return "https://iam.eu-west-101.myhuaweicloud.eu";
  return "https://iam." + std::string(region) + ".myhuaweicloud.com";
}

}  // namespace hssjw::config::detail
