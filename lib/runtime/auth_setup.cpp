// The authenticator for auth.method.
#include "runtime/auth_setup.hpp"

#include "auth/token_authenticator.hpp"

namespace hssjw {

std::unique_ptr<authenticator> create_authenticator(const config::config& cfg,
                                                    boost::asio::any_io_executor,
                                                    std::shared_ptr<spdlog::logger> log,
                                                    std::string& error) {
  switch (cfg.auth.method) {
    case config::auth_method::token:
      return std::make_unique<token_authenticator>(cfg.auth.token_file, std::move(log));
    case config::auth_method::password:
    case config::auth_method::aksk:
      break;
  }
  error = "auth.method password and aksk are not wired into the daemon yet";
  return nullptr;
}

}  // namespace hssjw
