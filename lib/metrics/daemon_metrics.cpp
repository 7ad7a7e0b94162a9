// The daemon's metric families and the hooks that move them.
#include "metrics/daemon_metrics.hpp"

#include "core/version.hpp"

namespace hssjw::metrics {

namespace {

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

labels scope_labels(const scope_id& s) { return {{"scope", s.str()}}; }

}  // namespace

// Buckets: walks take from a fraction of a second (one page) to many
// minutes (thousands of pages under a 5/min budget); requests from
// milliseconds to the 30 s timeout.
daemon_metrics::daemon_metrics() {
  reg_.describe("hss_jobwatch_build_info", kind::gauge,
                "Version of the running daemon (always 1).");
  reg_.describe("hss_jobwatch_walks_total", kind::counter,
                "Walks ended, by scope and outcome (complete, unchanged, incomplete, failed).");
  reg_.describe("hss_jobwatch_walk_duration_seconds", kind::histogram,
                "Time one walk of a scope took.", {0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600});
  reg_.describe("hss_jobwatch_pages_total", kind::counter, "Pages fetched and accepted, by scope.");
  reg_.describe("hss_jobwatch_requests_total", kind::counter,
                "Upstream requests by HTTP status (0: no answer: connection error or timeout).");
  reg_.describe("hss_jobwatch_request_duration_seconds", kind::histogram,
                "Time from sending an upstream request to its whole answer.",
                {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  reg_.describe("hss_jobwatch_retries_total", kind::counter,
                "Page requests sent again after a failure, by scope.");
  reg_.describe("hss_jobwatch_events_total", kind::counter,
                "Change events committed and released, by type.");
  reg_.describe(jobs, kind::gauge, "Jobs in the current snapshot of each scope.");
  reg_.describe(
      last_complete, kind::gauge,
      "When the last complete walk of each scope ended (Unix time; 0: none in this run).");
  reg_.describe(scope_failing, kind::gauge, "1 while the scope's walks fail, else 0.");
  reg_.describe(subscribers, kind::gauge, "Clients watching the events socket.");
  reg_.describe("hss_jobwatch_subscribers_dropped_total", kind::counter,
                "Socket clients cut off by the daemon, by reason.");
  reg_.describe(journal_events, kind::gauge, "Events held in the journal.");
  reg_.describe(last_seq, kind::gauge, "The last committed event seq.");
  reg_.describe(state_bytes, kind::gauge, "Size of the state database with its WAL, in bytes.");
  reg_.describe("hss_jobwatch_reloads_total", kind::counter,
                "Config reloads (SIGHUP), by result (ok, rejected).");
  reg_.set("hss_jobwatch_build_info", {{"version", version}}, 1);
  for (auto type : {"added", "removed", "modified", "replaced"})
    reg_.add("hss_jobwatch_events_total", {{"type", type}}, 0);
}

void daemon_metrics::on_walk(const scope_id& scope, std::string_view outcome,
                             std::chrono::steady_clock::duration took) {
  reg_.add("hss_jobwatch_walks_total", {{"scope", scope.str()}, {"outcome", std::string(outcome)}});
  reg_.observe("hss_jobwatch_walk_duration_seconds", scope_labels(scope), seconds(took));
}

void daemon_metrics::on_reload(bool ok) {
  reg_.add("hss_jobwatch_reloads_total", {{"result", ok ? "ok" : "rejected"}});
}

void daemon_metrics::on_subscriber_dropped(std::string_view reason) {
  reg_.add("hss_jobwatch_subscribers_dropped_total", {{"reason", std::string(reason)}});
}

void daemon_metrics::on_request(const scope_id&, unsigned status,
                                std::chrono::steady_clock::duration latency) {
  reg_.add("hss_jobwatch_requests_total", {{"status", std::to_string(status)}});
  reg_.observe("hss_jobwatch_request_duration_seconds", {}, seconds(latency));
}

void daemon_metrics::on_page(const scope_id& scope) {
  reg_.add("hss_jobwatch_pages_total", scope_labels(scope));
}

void daemon_metrics::on_retry(const scope_id& scope) {
  reg_.add("hss_jobwatch_retries_total", scope_labels(scope));
}

void daemon_metrics::on_events(const scope_id&, const std::vector<change_event>& events, bool) {
  for (const auto& e : events)
    reg_.add("hss_jobwatch_events_total", {{"type", std::string(to_string(e.type))}});
}

}  // namespace hssjw::metrics
