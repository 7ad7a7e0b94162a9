// The daemon's logger: spdlog to stderr (text, or JSON lines with
// log.format: json). lib/ never sets global sinks; mains build the logger
// here and pass it down.
#pragma once

#include "config/config.hpp"

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace hssjw {

// A logger before the config is known (errors about the config itself).
std::shared_ptr<spdlog::logger> make_bootstrap_logger(const std::string& name);

// The logger the config asks for.
std::shared_ptr<spdlog::logger> make_logger(const std::string& name, const config::log_config& cfg);

}  // namespace hssjw
