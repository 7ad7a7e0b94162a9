// Chooses the authenticator for the configured auth.method.
#pragma once

#include "auth/authenticator.hpp"
#include "config/config.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace hssjw {

// nullptr with `error` set when the method cannot be set up.
std::unique_ptr<authenticator> create_authenticator(const config::config& cfg,
                                                    boost::asio::any_io_executor ex,
                                                    std::shared_ptr<spdlog::logger> log,
                                                    std::string& error);

}  // namespace hssjw
