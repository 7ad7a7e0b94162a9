// Building an upstream bundle from a config.
#include "runtime/upstream.hpp"

#include <fstream>
#include <sstream>

#include "auth/factory.hpp"
#include "runtime/client_setup.hpp"
#include "walk/request_gate.hpp"

namespace hssjw {

file_identity identity_of(const std::string& path) {
  if (path.empty()) return {};
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return {text.str()};
}

upstream::upstream() = default;
upstream::~upstream() = default;

result<std::shared_ptr<upstream>> make_upstream(const config::config& c,
                                                boost::asio::any_io_executor ex, request_gate& gate,
                                                walk_observer* observer,
                                                std::shared_ptr<spdlog::logger> log) {
  auto up = std::make_shared<upstream>();
  // Read before the client loads it: a file swapped in between is then
  // seen as changed at the next reload, not missed.
  up->ca = identity_of(c.tls_ca_file);
  auto auth = make_authenticator(c, ex, log);
  if (!auth) return auth.error();
  up->auth = std::move(*auth);
  up->client = std::make_unique<https_client>(ex, client_options_for(c, c.endpoint));
  up->walk = std::make_unique<walker>(*up->client, *up->auth, gate, log);
  up->walk->set_observer(observer);
  return up;
}

}  // namespace hssjw
