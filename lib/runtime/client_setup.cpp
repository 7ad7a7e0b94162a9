// Client options: endpoint, CA, timeout, proxy (config or environment).
#include "runtime/client_setup.hpp"

#include "hss/proxy_choice.hpp"

namespace hssjw {

client_options client_options_for(const config::config& cfg, const std::string& endpoint) {
  client_options co;
  co.endpoint = endpoint;
  co.ca_file = cfg.tls_ca_file;
  co.timeout = cfg.poll.timeout;
  co.allow_insecure_http = cfg.allow_insecure_http;
  co.max_idle_connections = cfg.poll.max_in_flight;
  co.proxy = choose_proxy(cfg.proxy, endpoint, proxy_environment::from_process());
  return co;
}

}  // namespace hssjw
