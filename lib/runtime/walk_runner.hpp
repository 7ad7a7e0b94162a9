// One walk of one scope, end to end: the upstream walk, its conclusion
// (diff, commit: lib/walk/conclude.hpp), and what follows it, in this
// order: the log lines, the walk metric, the scope's status (its sinks
// hear of a change), then the release of the committed events to the
// sinks. The walk's outcome is decided only after its commit (SPEC §10):
// a walk whose commit failed is a failed walk for the status, the
// metrics, /healthz, scope_status and the log, exactly like one the API
// failed.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "runtime/scope_runtime.hpp"
#include "runtime/upstream.hpp"
#include "walk/conclude.hpp"

namespace spdlog {
class logger;
}

namespace hssjw {

class event_sink;
class state_store;
namespace metrics {
class daemon_metrics;
}

class walk_runner {
 public:
  // `cfg` is the running config (a reload changes it in place);
  // `on_baseline` runs after a baseline was released (its scope's size
  // changes what the budget must sustain).
  walk_runner(const config::config& cfg, std::shared_ptr<spdlog::logger> log, state_store& store,
              metrics::daemon_metrics& metrics, std::function<void()> on_baseline);

  // Sinks hear of committed events and status changes in the order added.
  void add_sink(event_sink* sink) { sinks_.push_back(sink); }

  // The upstream new walks use; walks in flight keep theirs.
  void use(std::shared_ptr<upstream> up) { current_ = std::move(up); }
  const upstream& current() const { return *current_; }

  // One walk of `s`, concluded and recorded. An unexpected error is
  // logged and fails the scope; only cancellation (operation_aborted)
  // leaves.
  boost::asio::awaitable<void> async_walk(scope_runtime& s);

  // Records a concluded walk of `s`: the walk metric, the scope's status,
  // then the release. `s.walk_started` and `s.last_attempt_ms` are set.
  void record(scope_runtime& s, walk_conclusion c);

  // Writes a line conclude_walk asked for.
  void write(const scope_id& scope, const walk_note& note);

  void set_failing(scope_runtime& s, bool failing, const std::string& error);

 private:
  const config::config& cfg_;
  std::shared_ptr<spdlog::logger> log_;
  state_store& store_;
  metrics::daemon_metrics& metrics_;
  std::function<void()> on_baseline_;
  std::vector<event_sink*> sinks_;
  std::shared_ptr<upstream> current_;
};

diff_options diff_options_of(const config::config& cfg);

}  // namespace hssjw
