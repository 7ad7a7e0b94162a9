// The daemon's wiring: config -> scheduler -> walker -> differ -> state
// commit -> sinks, on one io_context thread. daemon/ mains only parse
// arguments and call into here.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "config/config.hpp"

namespace spdlog {
class logger;
}

namespace hssjw {

class event_sink;

// TEST ONLY: hooks the integration tests set through HSSJW_TEST_*
// environment variables, which hss-jobwatchd's main reads (lib/ reads no
// test variable). The defaults are production.
struct test_options {
  // How long a stop waits for cancelled walks to end
  // (HSSJW_TEST_STOP_GUARD_MS may only shorten it).
  std::chrono::milliseconds stop_guard = std::chrono::seconds(10);
  // Leave the walks uncancelled at a stop, as walks stuck in an operation
  // that ignores cancellation would be: the loop then stops with their
  // frames still suspended (HSSJW_TEST_STOP_IGNORED=1).
  bool stop_ignored = false;
  // Each SIGUSR2 blocks the loop thread this long, as a deadlock would,
  // so the watchdog test sees the service killed
  // (HSSJW_TEST_STALL_ON_SIGUSR2=1, HSSJW_TEST_STALL_SECONDS).
  std::optional<std::chrono::seconds> stall_on_sigusr2;
  // Sleeps inside and right after each state commit, so the crash tests
  // can aim a kill (HSSJW_TEST_COMMIT_DELAY_MS,
  // HSSJW_TEST_AFTER_COMMIT_DELAY_MS; docs/STATE.md).
  std::chrono::milliseconds commit_delay{0};
  std::chrono::milliseconds after_commit_delay{0};
};

struct run_options {
  bool once = false;       // one walk of every scope, then exit
  bool persistent = true;  // SQLite state in state_dir (false: memory only)
  test_options test;
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
