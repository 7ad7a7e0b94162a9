// choose_proxy and no_proxy_matches (see proxy_choice.hpp).
#include "hss/proxy_choice.hpp"

#include <algorithm>
#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <cstdlib>

namespace hssjw {
namespace {

std::string env(const char* upper, const char* lower) {
  if (const char* v = std::getenv(upper); v && *v) return v;
  if (const char* v = std::getenv(lower); v && *v) return v;
  return {};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Lower case, without a trailing dot ("Example.COM." -> "example.com").
std::string normal_name(std::string_view s) {
  if (s.ends_with('.')) s.remove_suffix(1);
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

struct entry {
  std::string host;
  std::string port;  // "" = any
};

// "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 literal (more
// than one colon: no port can be told apart).
entry parse_entry(std::string_view item) {
  if (item.starts_with('[')) {
    const auto close = item.find(']');
    if (close == std::string_view::npos) return {normal_name(item), {}};
    std::string_view rest = item.substr(close + 1);
    return {normal_name(item.substr(1, close - 1)),
            std::string(rest.starts_with(':') ? rest.substr(1) : std::string_view{})};
  }
  const auto colon = item.find(':');
  if (colon != std::string_view::npos && item.find(':', colon + 1) == std::string_view::npos)
    return {normal_name(item.substr(0, colon)), std::string(item.substr(colon + 1))};
  return {normal_name(item), {}};
}

bool is_ip_literal(std::string_view host) {
  return boost::urls::parse_ipv4_address(host).has_value() ||
         boost::urls::parse_ipv6_address(host).has_value();
}

// Names match by whole labels from the right; IP literals only exactly
// ("0.0.1" is no suffix of 127.0.0.1).
bool host_matches(const std::string& pattern, const std::string& host) {
  std::string_view p = pattern;
  if (p.starts_with('.')) p.remove_prefix(1);
  if (p.empty()) return false;
  if (host == p) return true;
  if (is_ip_literal(host)) return false;
  return host.size() > p.size() && host.ends_with(p) && host[host.size() - p.size() - 1] == '.';
}

}  // namespace

proxy_environment proxy_environment::from_process() {
  return {env("HTTPS_PROXY", "https_proxy"), env("NO_PROXY", "no_proxy")};
}

bool no_proxy_matches(std::string_view no_proxy, std::string_view host, std::string_view port) {
  const std::string target = normal_name(host);
  while (!no_proxy.empty()) {
    const auto comma = no_proxy.find(',');
    const std::string_view item = trim(no_proxy.substr(0, comma));
    no_proxy = comma == std::string_view::npos ? std::string_view{} : no_proxy.substr(comma + 1);
    if (item.empty()) continue;
    if (item == "*") return true;
    const entry e = parse_entry(item);
    if (!e.port.empty() && e.port != port) continue;
    if (host_matches(e.host, target)) return true;
  }
  return false;
}

std::string choose_proxy(std::string_view configured, std::string_view target_url,
                         const proxy_environment& env) {
  if (!configured.empty()) return std::string(configured);
  if (env.https_proxy.empty()) return {};
  auto u = boost::urls::parse_uri(target_url);
  // An unparsable target fails in the client anyway; no proxy to blame.
  if (!u) return {};
  std::string port = u->has_port() && !u->port().empty()           ? std::string(u->port())
                     : u->scheme_id() == boost::urls::scheme::http ? "80"
                                                                   : "443";
  if (no_proxy_matches(env.no_proxy, u->host_address(), port)) return {};
  return env.https_proxy;
}

}  // namespace hssjw
