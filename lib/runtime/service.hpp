// The daemon as a service: systemd notifications (READY, RELOADING,
// STOPPING, STATUS, the watchdog), SIGHUP, and the metrics/health HTTP
// endpoint. The daemon's wiring owns one `service` and tells it what
// happens; the service asks back for the facts it reports through one
// callback, so that it never reaches into the scheduler.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "metrics/daemon_metrics.hpp"
#include "model/job.hpp"
#include "model/scope.hpp"

namespace boost::asio {
class io_context;
}
namespace spdlog {
class logger;
}

namespace hssjw {

struct scope_fact {
  scope_id scope;
  bool failing = false;
  std::size_t jobs = 0;
  std::int64_t last_complete_ms = 0;  // 0: no complete walk in this run
  std::int64_t watched_since_ms = 0;  // when this run (or a reload) began watching it
  std::string last_error;
};

struct service_facts {
  std::vector<scope_fact> scopes;
  std::chrono::milliseconds interval{0};  // the effective poll interval
  std::uint64_t last_seq = 0;
  std::uint64_t oldest_seq = 0;
  std::size_t subscribers = 0;
  std::string state_dir;     // "" when state is in memory
  std::string config_error;  // the last rejected reload's error, until a good one
};

// /healthz (SPEC §10): a scope is healthy when its last complete walk (or,
// before its first one, the moment it was first watched: a grace period
// for start-up and for scopes added by a reload) is at most 3 x interval
// old. Returns the unhealthy scopes with the reason.
std::vector<std::string> unhealthy_scopes(const service_facts& f, std::int64_t now_ms);

class service {
 public:
  // `stall_on_sigusr2`: TEST ONLY (run_options::test), how long each
  // SIGUSR2 blocks the loop; none in production.
  explicit service(std::shared_ptr<spdlog::logger> log,
                   std::optional<std::chrono::seconds> stall_on_sigusr2 = std::nullopt);
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  metrics::daemon_metrics& metrics() { return *metrics_; }

  // Binds metrics.listen when set; the error names the address and the cause.
  result<void> open_metrics(boost::asio::io_context& ioc, const std::string& listen);
  std::uint16_t metrics_port() const;

  // Everything is set up: spawns the watchdog, SIGHUP and (test-only)
  // stall coroutines, then READY=1 and the first STATUS=. `reload` runs
  // on the loop for each SIGHUP.
  void start(boost::asio::io_context& ioc, std::function<service_facts()> facts,
             std::function<void()> reload);
  void update_status();
  void reloading();
  void reloaded(bool ok);
  // STOPPING=1; the HTTP server and the service's coroutines stop.
  void stopping();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::unique_ptr<metrics::daemon_metrics> metrics_;
};

}  // namespace hssjw
