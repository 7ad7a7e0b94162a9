// HTTPS client options from the config and the environment (HTTPS_PROXY /
// NO_PROXY are honoured when `proxy:` is not set, as curl does; the one
// decision is hss/proxy_choice.hpp, shared with the IAM client).
#pragma once

#include <string>

#include "config/config.hpp"
#include "hss/client.hpp"

namespace hssjw {

client_options client_options_for(const config::config& cfg, const std::string& endpoint);

}  // namespace hssjw
