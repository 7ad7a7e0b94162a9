// make_authenticator (see factory.hpp).
#include "auth/factory.hpp"

#include <algorithm>
#include <chrono>

#include "auth/aksk_authenticator.hpp"
#include "auth/iam_authenticator.hpp"
#include "auth/secret_file.hpp"
#include "auth/token_authenticator.hpp"
#include "hss/client.hpp"
#include "hss/proxy_choice.hpp"

namespace hssjw {
namespace {

using config::auth_method;

std::string iam_endpoint(const config::config& cfg) {
  if (!cfg.auth.iam_endpoint.empty()) return cfg.auth.iam_endpoint;
  return "https://iam." + cfg.region + ".myhuaweicloud.com";
}

std::unique_ptr<authenticator> make_iam(const config::config& cfg, boost::asio::any_io_executor ex,
                                        std::shared_ptr<spdlog::logger> log) {
  client_options co;
  co.endpoint = iam_endpoint(cfg);
  co.ca_file = cfg.tls_ca_file;
  // The same decision as for HSS requests: HTTPS_PROXY/NO_PROXY apply to
  // logins too.
  co.proxy = choose_proxy(cfg.proxy, co.endpoint, proxy_environment::from_process());
  co.timeout = cfg.poll.timeout;
  co.max_idle_connections = 1;  // a login a day per project
  co.allow_insecure_http = cfg.allow_insecure_http;
  auto client = std::make_shared<https_client>(ex, std::move(co));
  iam_authenticator::settings s;
  s.domain = cfg.auth.domain;
  s.user = cfg.auth.user;
  s.password_file = cfg.auth.password_file;
  // A request sent with a rejected token is answered within poll.timeout.
  s.stale_rejection_grace = std::max(
      std::chrono::duration_cast<std::chrono::seconds>(cfg.poll.timeout), std::chrono::seconds(1));
  return std::make_unique<iam_authenticator>(ex, iam::https_transport(std::move(client)),
                                             std::move(s), std::move(log));
}

// The settings each method needs, named as in the config file.
std::string missing_setting(const config::auth_config& a) {
  switch (a.method) {
    case auth_method::token:
      if (a.token_file.empty()) return "auth.token_file";
      break;
    case auth_method::password:
      if (a.domain.empty()) return "auth.domain";
      if (a.user.empty()) return "auth.user";
      if (a.password_file.empty()) return "auth.password_file";
      break;
    case auth_method::aksk:
      if (a.access_key.empty()) return "auth.access_key";
      if (a.secret_key_file.empty()) return "auth.secret_key_file";
      break;
  }
  return {};
}

const char* method_name(auth_method m) {
  switch (m) {
    case auth_method::token:
      return "token";
    case auth_method::password:
      return "password";
    case auth_method::aksk:
      return "aksk";
  }
  return "?";
}

}  // namespace

std::string secret_spec(const config::auth_config& auth) {
  switch (auth.method) {
    case auth_method::token:
      return auth.token_file;
    case auth_method::password:
      return auth.password_file;
    case auth_method::aksk:
      return auth.secret_key_file;
  }
  return {};
}

result<void> check_secret(const config::auth_config& auth) {
  if (auto missing = missing_setting(auth); !missing.empty())
    return error(errc::config_invalid,
                 std::string("auth.method ") + method_name(auth.method) + " needs " + missing);
  auto read = read_secret(secret_spec(auth));
  if (!read) return read.error();
  return {};
}

result<std::unique_ptr<authenticator>> make_authenticator(const config::config& cfg,
                                                          boost::asio::any_io_executor ex,
                                                          std::shared_ptr<spdlog::logger> log) {
  const auto& a = cfg.auth;
  if (auto checked = check_secret(a); !checked) return checked.error();
  switch (a.method) {
    case auth_method::token: {
      // A request sent with a replaced token is answered within poll.timeout.
      token_authenticator::options o;
      o.stale_rejection_grace =
          std::max(std::chrono::duration_cast<std::chrono::seconds>(cfg.poll.timeout),
                   std::chrono::seconds(1));
      return std::make_unique<token_authenticator>(a.token_file, std::move(log), o);
    }
    case auth_method::aksk:
      return std::make_unique<aksk_authenticator>(a.access_key, a.secret_key_file, std::move(log));
    case auth_method::password:
      if (cfg.region.empty() && a.iam_endpoint.empty())
        return error(errc::config_invalid,
                     "auth.method password needs auth.iam_endpoint (or region)");
      return make_iam(cfg, std::move(ex), std::move(log));
  }
  return error(errc::config_invalid, "unknown auth.method");
}

}  // namespace hssjw
