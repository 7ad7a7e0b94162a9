// Which proxy, if any, a request to a URL goes through: the one decision
// for every outgoing request (HSS pages, IAM logins, the probe), so that
// HTTPS_PROXY and NO_PROXY mean the same thing for all of them. Pure: the
// environment comes in as values (proxy_environment::from_process reads it).
#pragma once

#include <string>
#include <string_view>

namespace hssjw {

struct proxy_environment {
  std::string https_proxy;  // HTTPS_PROXY, else https_proxy
  std::string no_proxy;     // NO_PROXY, else no_proxy

  static proxy_environment from_process();
};

// The configured proxy (`proxy:`) when there is one, whatever NO_PROXY says:
// it was asked for by name. Else HTTPS_PROXY unless NO_PROXY exempts the
// target's host, as curl does. Every target, http:// (tests, the demo) or
// https://, is reached through a CONNECT tunnel. "" = connect directly.
std::string choose_proxy(std::string_view configured, std::string_view target_url,
                         const proxy_environment& env);

// Whether a NO_PROXY list exempts host:port. Comma-separated entries,
// blanks ignored, names compared without case and without a trailing dot:
//   *             every host
//   example.com   example.com and every name under it (not badexample.com)
//   .example.com  the same (the leading dot is optional, as in curl)
//   host:8443     that host on that port only
//   10.0.0.1, ::1, [::1]:443   IP literals, matched exactly
// CIDR ranges are not supported (an entry "10.0.0.0/8" matches nothing).
bool no_proxy_matches(std::string_view no_proxy, std::string_view host, std::string_view port);

}  // namespace hssjw
