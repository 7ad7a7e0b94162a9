// HTTPS client options from the config and the environment (HTTPS_PROXY /
// NO_PROXY are honoured when `proxy:` is not set, as curl does).
#pragma once

#include "config/config.hpp"
#include "hss/client.hpp"

#include <string>
#include <string_view>

namespace hssjw {

client_options client_options_for(const config::config& cfg, const std::string& endpoint);

// Whether NO_PROXY (comma-separated hosts, ".domain" suffixes, "*") exempts `host`.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host);

}  // namespace hssjw
