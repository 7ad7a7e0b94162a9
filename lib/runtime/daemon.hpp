// The daemon's wiring: config -> scheduler -> walker -> differ -> state
// commit -> sinks, on one io_context thread. daemon/ mains only parse
// arguments and call into here.
#pragma once

#include "config/config.hpp"

#include <memory>

namespace spdlog {
class logger;
}

namespace hssjw {

class event_sink;

struct run_options {
  bool once = false;         // one walk of every scope, then exit
  bool persistent = true;    // SQLite state in state_dir (false: memory only)
};

// Runs until SIGINT/SIGTERM (or, with `once`, until every scope walked
// once). Returns the process exit code: 0 ok (with `once`: every scope
// completed), 1 runtime failure, 78 when the secret files the config
// names cannot be used (missing, unreadable, open to other users) or when
// state.db is damaged, foreign or newer (it needs an operator).
int run_daemon(const config::config& cfg, const run_options& opts,
               std::shared_ptr<spdlog::logger> log, event_sink* extra_sink = nullptr);

// hss-jobwatchd --prune: deletes the stored state of scopes no longer in
// the config and prints what it deleted. Returns the exit code (78 for a
// state.db it refuses, as above).
int prune_state(const config::config& cfg, std::shared_ptr<spdlog::logger> log);

}  // namespace hssjw
