// The retry policy of one page fetch as plain logic: the walker
// (walker::async_fetch) sends, decodes and sleeps; after each attempt it
// tells this object what came back and does what it decides. Time (for a
// Retry-After date) and randomness (the backoff jitter) are inputs, so
// every branch is tested step by step without a network or a clock.
//
// The rules:
// - transport errors, timeouts, 5xx answers and 200s whose body cannot be
//   read back off with full jitter (a uniform wait up to
//   initial * 2^retry, capped at max), up to poll.retry.attempts retries;
// - a throttling answer (429, APIGW.0308) slows the shared budget (the
//   gate is told, with the answer's Retry-After) and is retried at once,
//   the gate itself delaying it, without using an attempt; after 50 of
//   them in one fetch it counts as a transient failure;
// - a rejected credential (401, APIGW.0301/0307...) is reported to the
//   authenticator and retried once at once; a second one gives up;
// - any other answer (a 4xx) gives up at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "config/config.hpp"
#include "hss/http.hpp"

namespace hssjw {

// What one attempt to fetch a page came to.
struct page_attempt {
  enum class kind {
    page,             // 200, and the body decoded into a page
    bad_body,         // 200, but not a page we can read
    transport_error,  // no answer: connection, TLS, timeout, body over the limit
    error_answer,     // any other status: `api` and `response` say more
  };
  kind what = kind::page;
  const api_error* api = nullptr;           // error_answer: the parsed error
  const http_response* response = nullptr;  // error_answer: for Retry-After and Date

  static page_attempt answer(const api_error& e, const http_response& r) {
    return {kind::error_answer, &e, &r};
  }
};

class page_retry {
 public:
  enum class action {
    done,         // the page is in
    retry_now,    // send again at once (the gate paces it)
    retry_after,  // wait `delay`, then send again
    give_up,      // the page failed: report the last attempt's error
  };
  enum class reason {
    page,            // done
    throttled,       // retry_now: a throttling answer
    auth_rejected,   // retry_now: the credential was rejected, once
    transient,       // retry_after: a failure worth another attempt
    not_transient,   // give_up: an answer a retry would not change
    attempts_used,   // give_up: poll.retry.attempts retries done
    rejected_again,  // give_up: the credential was rejected after a re-login
  };
  struct decision {
    decision() = default;
    decision(action a, reason r) : next(a), why(r) {}

    action next = action::done;
    reason why = reason::page;
    std::chrono::milliseconds delay{0};  // retry_after: the wait
    std::uint32_t retry = 0;             // retry_after: which backoff retry (1, 2, ...)
    // What the walker reports before acting: a throttling answer to the
    // gate (with its Retry-After as a wait, if any), a rejected credential
    // to the authenticator.
    bool throttled = false;
    std::optional<std::chrono::milliseconds> retry_after;
    bool rejected = false;
    friend bool operator==(const decision&, const decision&) = default;
  };

  // Throttling answers retried at once in one fetch before they count as
  // failures; credential rejections retried (each after a re-login).
  static constexpr std::uint32_t max_throttled = 50;
  static constexpr std::uint32_t max_auth_retries = 1;

  explicit page_retry(config::retry_config r) : retry_(r) {}

  // The decision after one attempt. `draw` is uniform in [0, 1) from the
  // caller's random generator: the fraction of the backoff cap to wait.
  // `now` is the wall clock, for a Retry-After given as a date.
  decision on_attempt(const page_attempt& a, double draw,
                      std::chrono::system_clock::time_point now);

  // The full-jitter wait before backoff retry `retry` + 1: `draw` of the
  // way from 0 to the cap min(initial * 2^retry, max), both included (a
  // cap under 1 ms counts as 1 ms).
  static std::chrono::milliseconds backoff(const config::retry_config& r, std::uint32_t retry,
                                           double draw);

 private:
  decision transient_failure(double draw);

  config::retry_config retry_;
  std::uint32_t retries_ = 0;  // backoff retries so far
  std::uint32_t throttled_ = 0;
  std::uint32_t auth_retries_ = 0;
};

}  // namespace hssjw
