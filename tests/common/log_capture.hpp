// The one log capture of the test suite: a logger for the unit under test
// whose lines the test reads back ("level message"), and a quiet logger
// for tests that must pass one but do not look at it.
#pragma once

#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>

#include <memory>
#include <sstream>
#include <string>

namespace hssjw::test {

struct captured_log {
  std::shared_ptr<std::ostringstream> out = std::make_shared<std::ostringstream>();
  std::shared_ptr<spdlog::logger> logger;

  captured_log() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(*out);
    sink->set_pattern("%l %v");
    logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_level(spdlog::level::trace);
  }
  std::string text() const { return out->str(); }
  // How many lines at `level` ("warning", "error", ...) contain `needle`.
  int count(const std::string& level, const std::string& needle) const {
    std::istringstream in(out->str());
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with(level + " ") && line.find(needle) != std::string::npos) ++n;
    }
    return n;
  }
};

// Drops everything; thread-safe, for units that log from their own thread.
inline std::shared_ptr<spdlog::logger> quiet_logger() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

}  // namespace hssjw::test
