// A walk, its conclusion, and the release to the sinks.
#include "runtime/walk_runner.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>

#include "core/utc.hpp"
#include "logging/log_fields.hpp"
#include "metrics/daemon_metrics.hpp"
#include "runtime/scope_list.hpp"
#include "sinks/sink.hpp"
#include "state/store.hpp"

namespace hssjw {

namespace asio = boost::asio;

namespace {

spdlog::level::level_enum level_of(note_level l) {
  switch (l) {
    case note_level::debug:
      return spdlog::level::debug;
    case note_level::info:
      return spdlog::level::info;
    case note_level::warn:
      return spdlog::level::warn;
    case note_level::error:
      return spdlog::level::err;
  }
  return spdlog::level::err;
}

}  // namespace

diff_options diff_options_of(const config::config& cfg) {
  return {cfg.poll.ignore_fields, cfg.poll.removal_guard, cfg.poll.removal_confirmations,
          cfg.poll.baseline_events};
}

walk_runner::walk_runner(const config::config& cfg, std::shared_ptr<spdlog::logger> log,
                         state_store& store, metrics::daemon_metrics& metrics,
                         std::function<void()> on_baseline)
    : cfg_(cfg),
      log_(std::move(log)),
      store_(store),
      metrics_(metrics),
      on_baseline_(std::move(on_baseline)) {}

asio::awaitable<void> walk_runner::async_walk(scope_runtime& s) {
  try {
    // This walk's upstream stays alive until the walk ends, even if a
    // reload replaces it meanwhile.
    const std::shared_ptr<upstream> up = current_;
    auto outcome = co_await up->walk->async_walk(s.target, walk_settings_of(cfg_), s.state);
    s.last_attempt_ms = unix_now_ms();
    const auto& id = s.target.scope;
    auto c = conclude_walk(store_, id, s.state, std::move(outcome), diff_options_of(cfg_),
                           unix_now_ms(), s.failing, [&](const walk_note& n) { write(id, n); });
    record(s, std::move(c));
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) throw;
    log_->error("scope {}: unexpected error: {}", s.target.scope.str(), e.what());
    set_failing(s, true, e.what());
  } catch (const std::exception& e) {
    log_->error("scope {}: unexpected error: {}", s.target.scope.str(), e.what());
    set_failing(s, true, e.what());
  }
}

void walk_runner::write(const scope_id& scope, const walk_note& note) {
  if (!note.failure_fields) {
    log_->log(level_of(note.level), note.text);
    return;
  }
  // MESSAGE_ID, scope and request id as journald fields (SPEC §9)
  log_fields_scope fields(walk_failure_fields(scope, note.api ? &*note.api : nullptr));
  log_->log(level_of(note.level), note.text);
}

void walk_runner::record(scope_runtime& s, walk_conclusion c) {
  const auto& id = s.target.scope;
  metrics_.on_walk(id, c.status, std::chrono::steady_clock::now() - s.walk_started);
  if (c.complete) {
    s.last_complete_ms = s.last_attempt_ms;
    s.completed = true;
  }
  set_failing(s, c.failed(), c.error);
  if (!c.released) return;
  for (const auto& n : c.released->notes) write(id, n);
  if (!c.released->quiet())
    for (auto* sink : sinks_) sink->on_events(id, c.released->events, c.released->baseline);
  if (c.released->baseline && on_baseline_) on_baseline_();
}

void walk_runner::set_failing(scope_runtime& s, bool failing, const std::string& error) {
  s.last_error = error;
  if (s.failing == failing) return;
  s.failing = failing;
  for (auto* sink : sinks_) sink->on_scope_status(s.target.scope, failing, error);
}

}  // namespace hssjw
