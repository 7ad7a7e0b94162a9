// What a SIGHUP reload must change, decided in plain code from the old
// and the new config (no I/O): the daemon then applies it. Scopes that
// stay keep their coroutine and state; added ones start (and baseline if
// they have no stored state); removed ones stop without removal events.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "walk/walker.hpp"

namespace hssjw {

struct reload_plan {
  std::vector<walk_target> added;
  std::vector<scope_id> removed;
  bool rebuild_clients = false;  // endpoint, TLS, proxy, timeout or auth changed
  bool budget = false;           // poll.rate or poll.max_in_flight changed
  bool timing = false;           // poll.interval or jitter changed: re-arm sleeps
  bool fingerprints = false;     // poll.ignore_fields changed
  bool log_level = false;
  // Keys that only take effect after a restart (state_dir, socket,
  // metrics.listen, log target/format, journal): the daemon says so.
  std::vector<std::string> restart_needed;
};

reload_plan plan_reload(const config::config& old_cfg, const config::config& new_cfg);

// Copies the restart-only keys of `running` into `next`, so that the
// running config stays what the daemon actually uses.
void keep_restart_only(const config::config& running, config::config& next);

}  // namespace hssjw
