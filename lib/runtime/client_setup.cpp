// Client options: endpoint, CA, timeout, proxy (config or environment).
#include "runtime/client_setup.hpp"

#include <boost/url/parse.hpp>

#include <cstdlib>

namespace hssjw {

namespace {

std::string env(const char* upper, const char* lower) {
  if (const char* v = std::getenv(upper); v && *v) return v;
  if (const char* v = std::getenv(lower); v && *v) return v;
  return {};
}

std::string host_of(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  return u ? std::string(u->host()) : std::string();
}

}  // namespace

bool no_proxy_matches(std::string_view no_proxy, std::string_view host) {
  while (!no_proxy.empty()) {
    auto comma = no_proxy.find(',');
    auto item = no_proxy.substr(0, comma);
    no_proxy = comma == std::string_view::npos ? std::string_view() : no_proxy.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    if (item == "*") return true;
    if (item.front() == '.') item.remove_prefix(1);
    if (host == item) return true;
    if (host.size() > item.size() && host.ends_with(item) && host[host.size() - item.size() - 1] == '.')
      return true;
  }
  return false;
}

client_options client_options_for(const config::config& cfg, const std::string& endpoint) {
  client_options co;
  co.endpoint = endpoint;
  co.ca_file = cfg.tls_ca_file;
  co.timeout = cfg.poll.timeout;
  co.allow_insecure_http = cfg.allow_insecure_http;
  co.max_idle_connections = cfg.poll.max_in_flight;
  co.proxy = cfg.proxy;
  if (co.proxy.empty()) {
    auto from_env = env("HTTPS_PROXY", "https_proxy");
    if (!from_env.empty() && !no_proxy_matches(env("NO_PROXY", "no_proxy"), host_of(endpoint)))
      co.proxy = from_env;
  }
  return co;
}

}  // namespace hssjw
