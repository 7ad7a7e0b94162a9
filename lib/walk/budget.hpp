// The request budget as plain logic: at most N requests in any sliding
// window (poll.rate, e.g. 5 per minute as HSS documents), adapted to
// throttling answers: a 429 / APIGW.0308 halves the effective rate for
// everyone (never below one request per window), blocks new starts for
// Retry-After (or one window), and each clean window after that gives one
// request back until poll.rate is reached again. Time is an input, so it
// is tested without sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

#include "config/config.hpp"

namespace hssjw {

class request_budget {
 public:
  using clock = std::chrono::steady_clock;

  explicit request_budget(config::rate r) : rate_(r), cut_count_(r.count) {}

  // The earliest moment a request may start (now, if it may start now).
  clock::time_point earliest(clock::time_point now) const;

  // A request started at `at` (call only when at >= earliest(at)).
  void record(clock::time_point at);

  // A 429 / APIGW.0308 answer: nothing starts before `retry_after` (when
  // given) or before one full window has passed since now, and the
  // effective rate is halved (at most once per window: the answers to
  // requests already in flight describe the same overload).
  void on_throttled(clock::time_point now, std::optional<std::chrono::milliseconds> retry_after);

  // Requests allowed per window at `now`: poll.rate unless throttled
  // recently. 0 means unlimited (as config::rate does).
  std::uint32_t effective_count(clock::time_point now) const;
  bool slowed(clock::time_point now) const;
  clock::time_point blocked_until() const { return blocked_until_; }

  // A reload: the adaptation carries over, capped by the new rate.
  void set_rate(config::rate r) { rate_ = r; }
  const config::rate& rate() const { return rate_; }

  // The shortest interval at which `requests_per_cycle` requests fit at
  // the configured rate.
  std::chrono::milliseconds sustainable_interval(std::size_t requests_per_cycle) const;

 private:
  config::rate rate_;
  std::deque<clock::time_point> starts_;  // within the last window
  clock::time_point blocked_until_{};
  // Adaptation: cut_count_ requests per window from clean_since_ on, plus
  // one per full window elapsed since then, capped by rate_.count.
  std::uint32_t cut_count_;
  clock::time_point clean_since_{};
  std::optional<clock::time_point> last_cut_;
};

}  // namespace hssjw
