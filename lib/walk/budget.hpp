// The request budget as plain logic: at most N requests in any sliding
// window (poll.rate, e.g. 5 per minute as HSS documents), slowed down by
// throttling answers. Time is an input, so it is tested without sleeping.
#pragma once

#include "config/config.hpp"

#include <chrono>
#include <deque>
#include <optional>

namespace hssjw {

class request_budget {
 public:
  using clock = std::chrono::steady_clock;

  explicit request_budget(config::rate r) : rate_(r) {}

  // The earliest moment a request may start (now, if it may start now).
  clock::time_point earliest(clock::time_point now) const;

  // A request started at `at` (call only when at >= earliest(at)).
  void record(clock::time_point at);

  // A 429 / APIGW.0308 answer: nothing starts before `retry_after` (when
  // given) or before one full window has passed since now.
  void on_throttled(clock::time_point now, std::optional<std::chrono::milliseconds> retry_after);

  void set_rate(config::rate r) { rate_ = r; }
  const config::rate& rate() const { return rate_; }

  // The shortest interval at which `requests_per_cycle` requests fit.
  std::chrono::milliseconds sustainable_interval(std::size_t requests_per_cycle) const;

 private:
  config::rate rate_;
  std::deque<clock::time_point> starts_;  // within the last window
  clock::time_point blocked_until_{};
};

}  // namespace hssjw
