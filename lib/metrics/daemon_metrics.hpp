// The daemon's metrics (SPEC §10) by name, on top of the registry: the
// walker reports requests through walk_observer, committed events arrive
// as an event_sink, the daemon reports walks, and gauges that mirror live
// state are filled in at scrape time by collectors it registers. All calls
// happen on the loop thread.
#pragma once

#include <chrono>
#include <string_view>

#include "metrics/registry.hpp"
#include "sinks/sink.hpp"
#include "walk/walk_observer.hpp"

namespace hssjw::metrics {

class daemon_metrics final : public walk_observer, public event_sink {
 public:
  daemon_metrics();

  registry& reg() { return reg_; }
  std::string render() { return reg_.render(); }

  // One walk ended; `outcome` is complete | unchanged | incomplete | failed.
  void on_walk(const scope_id& scope, std::string_view outcome,
               std::chrono::steady_clock::duration took);
  void on_reload(bool ok);

  // For the socket server: a subscriber cut off (`reason`: overflow,
  // busy, ...). The current count of subscribers is a collector's job.
  void on_subscriber_dropped(std::string_view reason);

  void on_request(const scope_id& scope, unsigned status,
                  std::chrono::steady_clock::duration latency) override;
  void on_page(const scope_id& scope) override;
  void on_retry(const scope_id& scope) override;
  void on_events(const scope_id& scope, const std::vector<change_event>& events,
                 bool baseline) override;

 private:
  registry reg_;
};

// Metric names, shared by the daemon's collectors and the tests.
inline constexpr const char* jobs = "hss_jobwatch_jobs";
inline constexpr const char* last_complete = "hss_jobwatch_last_complete_walk_timestamp_seconds";
inline constexpr const char* scope_failing = "hss_jobwatch_scope_failing";
inline constexpr const char* subscribers = "hss_jobwatch_subscribers";
inline constexpr const char* journal_events = "hss_jobwatch_journal_events";
inline constexpr const char* last_seq = "hss_jobwatch_last_seq";
inline constexpr const char* state_bytes = "hss_jobwatch_state_db_bytes";

}  // namespace hssjw::metrics
