// One watched scope as the daemon keeps it between and during walks: its
// snapshot, its status as the health, STATUS= and the socket report it,
// and the handles its coroutine is cancelled and re-armed through. The
// scheduler owns them (lib/runtime/scope_scheduler.hpp); a walk refers to
// one for as long as it runs.
#pragma once

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "state/scope_state.hpp"
#include "walk/walker.hpp"

namespace hssjw {

struct scope_runtime {
  walk_target target;
  scope_state state;
  bool failing = false;
  bool completed = false;  // completed a walk in this run (--once exit code)
  bool removed = false;    // by a reload: cancelled, freed when its coroutine ends
  std::string last_error;
  std::int64_t last_attempt_ms = 0;   // when the last walk ended, whatever its outcome
  std::int64_t last_complete_ms = 0;  // when the last complete walk ended
  std::int64_t watched_since_ms = 0;  // start or reload that added it (/healthz grace)
  boost::asio::cancellation_signal cancel;
  // The timer of the sleep between walks, while sleeping: a reload that
  // changes poll.interval re-arms it from `walk_started`.
  boost::asio::steady_timer* sleep = nullptr;
  std::chrono::steady_clock::time_point walk_started;
};

}  // namespace hssjw
