// Chooses and builds the authenticator that auth.method names (SPEC §6),
// after checking that its settings are complete and its secret file can be
// read now: a bad secret file is a startup error, not a failure per poll.
#pragma once

#include <spdlog/logger.h>

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "auth/authenticator.hpp"
#include "config/config.hpp"
#include "core/error.hpp"

namespace hssjw {

// The authenticator, or an error saying what to fix (never a secret).
result<std::unique_ptr<authenticator>> make_authenticator(const config::config& cfg,
                                                          boost::asio::any_io_executor ex,
                                                          std::shared_ptr<spdlog::logger> log);

// The secret file auth.method uses ("" if none) and a check that it can be
// read (used by make_authenticator and --check-config).
std::string secret_spec(const config::auth_config& auth);
result<void> check_secret(const config::auth_config& auth);

}  // namespace hssjw
