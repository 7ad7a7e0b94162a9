// What the walker reports about each upstream request as it happens, for
// metrics: the walker stays free of any metrics types, and a daemon
// without metrics passes no observer.
#pragma once

#include <chrono>

#include "model/job.hpp"
#include "model/scope.hpp"

namespace hssjw {

class walk_observer {
 public:
  virtual ~walk_observer() = default;
  // One request answered (`status`) or failed in transport (`status` 0:
  // connection error, timeout), with the time from sending to the answer.
  virtual void on_request(const scope_id& scope, unsigned status,
                          std::chrono::steady_clock::duration latency) = 0;
  // A page decoded and accepted.
  virtual void on_page(const scope_id& scope) = 0;
  // A failed page is about to be fetched again (backoff, throttling, auth).
  virtual void on_retry(const scope_id& scope) = 0;
};

}  // namespace hssjw
