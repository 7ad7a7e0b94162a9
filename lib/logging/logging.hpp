// The daemon's logger: spdlog to journald natively (under systemd, or with
// log.target: journal), else to stderr as text or JSON lines (log.format).
// Structured fields come from logging/log_fields.hpp. lib/ never sets
// global sinks; mains build the logger here and pass it down.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "logging/log_fields.hpp"

namespace spdlog {
class logger;
}

namespace hssjw {

// A logger before the config is known (errors about the config itself).
std::shared_ptr<spdlog::logger> make_bootstrap_logger(const std::string& name);

// The logger the config asks for.
std::shared_ptr<spdlog::logger> make_logger(const std::string& name, const config::log_config& cfg);

// journal: always; stderr_: never; auto: when $JOURNAL_STREAM names the
// device:inode of our stderr (systemd connected it to journald).
bool journal_wanted(config::log_target target);

// One JSON log line (with '\n'): time, level, logger, message, then the
// fields, every string escaped.
std::string json_log_line(std::chrono::system_clock::time_point time, std::string_view level,
                          std::string_view logger, std::string_view message,
                          const log_field_list& fields);

}  // namespace hssjw
