// spdlog setup for the daemon.
#include "runtime/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace hssjw {

std::shared_ptr<spdlog::logger> make_bootstrap_logger(const std::string& name) {
  auto log = std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  return log;
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, const config::log_config& cfg) {
  auto log = make_bootstrap_logger(name);
  log->set_level(spdlog::level::from_str(cfg.level));
  if (cfg.format == config::log_format::json) {
    // One JSON object per line; %v is escaped by the caller's message text
    // being plain (no quotes are added by the daemon's own messages).
    log->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","message":"%v"})");
  }
  log->flush_on(spdlog::level::trace);
  return log;
}

}  // namespace hssjw
