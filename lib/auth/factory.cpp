// make_authenticator (see factory.hpp).
#include "auth/factory.hpp"

#include "auth/aksk_authenticator.hpp"
#include "auth/secret_file.hpp"
#include "auth/token_authenticator.hpp"

namespace hssjw {
namespace {

using config::auth_method;

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
    case auth_method::token: return "token";
    case auth_method::password: return "password";
    case auth_method::aksk: return "aksk";
  }
  return "?";
}

}  // namespace

std::string secret_spec(const config::auth_config& auth) {
  switch (auth.method) {
    case auth_method::token: return auth.token_file;
    case auth_method::password: return auth.password_file;
    case auth_method::aksk: return auth.secret_key_file;
  }
  return {};
}

bool check_secret(const config::auth_config& auth, std::string& error_message) {
  if (auto missing = missing_setting(auth); !missing.empty()) {
    error_message = std::string("auth.method ") + method_name(auth.method) + " needs " + missing;
    return false;
  }
  auto read = read_secret(secret_spec(auth));
  if (!read) {
    error_message = read.error();
    return false;
  }
  return true;
}

std::unique_ptr<authenticator> make_authenticator(const config::config& cfg,
                                                  boost::asio::any_io_executor /*ex*/,
                                                  std::shared_ptr<spdlog::logger> log,
                                                  std::string& error_message) {
  const auto& a = cfg.auth;
  if (!check_secret(a, error_message)) return nullptr;
  switch (a.method) {
    case auth_method::token:
      return std::make_unique<token_authenticator>(a.token_file, std::move(log));
    case auth_method::aksk:
      return std::make_unique<aksk_authenticator>(a.access_key, a.secret_key_file, std::move(log));
    case auth_method::password:
      break;
  }
  error_message = "auth.method password is not implemented yet";
  return nullptr;
}

}  // namespace hssjw
