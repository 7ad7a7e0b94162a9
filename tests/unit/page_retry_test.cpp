// The page retry policy (walk/page_retry.hpp), step by step: each step
// feeds one attempt's outcome with a random draw and a wall-clock time,
// and checks the decided action, wait and reports, as the walker would
// see them.
#include "walk/page_retry.hpp"

#include <gtest/gtest.h>

#include <string>

namespace hssjw {
namespace {

using namespace std::chrono_literals;
using action = page_retry::action;
using reason = page_retry::reason;
using decision = page_retry::decision;
using wall = std::chrono::system_clock;

const wall::time_point now = wall::time_point{} + 1'700'000'000s;

// A non-2xx answer as the walker hands it over (parsed as the walker
// parses it); the policy only looks at it during the call.
struct answered {
  http_response response;
  api_error api;
  answered(unsigned status, std::string body, std::string retry_after = "", std::string date = "") {
    response.status = status;
    response.body = std::move(body);
    response.retry_after = std::move(retry_after);
    response.date = std::move(date);
    response.request_id = "req-1";
    api = parse_api_error(status, response.body, response.request_id);
  }
  page_attempt attempt() const { return page_attempt::answer(api, response); }
};

const page_attempt page{page_attempt::kind::page};
const page_attempt bad_body{page_attempt::kind::bad_body};
const page_attempt transport_error{page_attempt::kind::transport_error};

answered server_error() { return {503, R"({"error_code":"HSS.0001","error_msg":"busy"})"}; }
answered throttled(std::string retry_after = "", std::string date = "") {
  return {429,
          R"({"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached"})",
          std::move(retry_after), std::move(date)};
}
answered token_rejected() {
  return {401, R"({"error_code":"APIGW.0307","error_msg":"The token must be updated."})"};
}

decision retry_after(std::chrono::milliseconds delay, std::uint32_t retry) {
  decision d{action::retry_after, reason::transient};
  d.delay = delay;
  d.retry = retry;
  return d;
}

decision give_up(reason why) { return {action::give_up, why}; }

config::retry_config retry_config(std::uint32_t attempts, std::chrono::milliseconds initial,
                                  std::chrono::milliseconds max) {
  return {attempts, initial, max};
}

TEST(page_retry, a_page_is_done_at_once) {
  page_retry r(retry_config(5, 1s, 60s));
  EXPECT_EQ(r.on_attempt(page, 0.5, now), (decision{action::done, reason::page}));
}

// Transport errors, unreadable 200s and 5xx answers are all transient:
// each waits a full-jitter share (the draw) of a cap that doubles from
// `initial` up to `max`, and the retry after the last attempt gives up.
TEST(page_retry, transient_failures_back_off_with_full_jitter_until_attempts_are_used) {
  page_retry r(retry_config(3, 100ms, 250ms));
  EXPECT_EQ(r.on_attempt(transport_error, 0.5, now), retry_after(50ms, 1));          // of 0..100 ms
  EXPECT_EQ(r.on_attempt(bad_body, 0.999, now), retry_after(200ms, 2));              // of 0..200 ms
  EXPECT_EQ(r.on_attempt(server_error().attempt(), 0.0, now), retry_after(0ms, 3));  // 0..250
  EXPECT_EQ(r.on_attempt(transport_error, 0.5, now), give_up(reason::attempts_used));
}

TEST(page_retry, a_success_after_retries_is_done) {
  page_retry r(retry_config(3, 100ms, 1s));
  EXPECT_EQ(r.on_attempt(transport_error, 0.0, now), retry_after(0ms, 1));
  EXPECT_EQ(r.on_attempt(page, 0.0, now), (decision{action::done, reason::page}));
}

TEST(page_retry, no_attempts_means_the_first_failure_gives_up) {
  page_retry r(retry_config(0, 1s, 60s));
  EXPECT_EQ(r.on_attempt(server_error().attempt(), 0.5, now), give_up(reason::attempts_used));
}

// The draw picks one of the cap + 1 whole milliseconds 0..cap, uniformly.
TEST(page_retry, backoff_is_the_draws_share_of_the_doubling_cap) {
  const auto r = retry_config(5, 1s, 60s);
  EXPECT_EQ(page_retry::backoff(r, 0, 0.0), 0ms);
  EXPECT_EQ(page_retry::backoff(r, 0, 0.5), 500ms);
  EXPECT_EQ(page_retry::backoff(r, 0, 0.99999), 1000ms);
  EXPECT_EQ(page_retry::backoff(r, 1, 0.5), 1000ms);
  EXPECT_EQ(page_retry::backoff(r, 5, 0.5), 16'000ms);  // 32 s
  EXPECT_EQ(page_retry::backoff(r, 6, 0.5), 30'000ms);  // capped at 60 s
  EXPECT_EQ(page_retry::backoff(r, 6, 0.99999), 60'000ms);
  // A draw a generator rounded up to 1, or outside [0, 1), stays in range.
  EXPECT_EQ(page_retry::backoff(r, 0, 1.0), 1000ms);
  EXPECT_EQ(page_retry::backoff(r, 0, -0.5), 0ms);
}

TEST(page_retry, backoff_exponent_stops_at_twenty_and_a_tiny_cap_is_one_ms) {
  EXPECT_EQ(page_retry::backoff(retry_config(30, 1ms, 1h), 40, 0.5), 524'288ms);  // of 2^20
  EXPECT_EQ(page_retry::backoff(retry_config(1, 0ms, 0ms), 0, 0.4), 0ms);
  EXPECT_EQ(page_retry::backoff(retry_config(1, 0ms, 0ms), 0, 0.6), 1ms);
}

// A throttling answer is retried at once (the gate delays it) and told to
// the gate with its Retry-After; it uses no attempt.
TEST(page_retry, throttling_retries_at_once_tells_the_gate_and_uses_no_attempt) {
  page_retry r(retry_config(1, 100ms, 1s));
  decision expected{action::retry_now, reason::throttled};
  expected.throttled = true;
  expected.retry_after = 7s;
  EXPECT_EQ(r.on_attempt(throttled("7").attempt(), 0.5, now), expected);
  expected.retry_after = std::nullopt;  // none given: the gate waits one window
  EXPECT_EQ(r.on_attempt(throttled().attempt(), 0.5, now), expected);
  EXPECT_EQ(r.on_attempt(transport_error, 0.5, now), retry_after(50ms, 1));
  EXPECT_EQ(r.on_attempt(throttled().attempt(), 0.5, now), expected);
  EXPECT_EQ(r.on_attempt(transport_error, 0.5, now), give_up(reason::attempts_used));
}

// APIGW.0308 under any status is throttling too, and an HTTP-date in
// Retry-After is taken relative to the answer's Date (our clock's skew
// does not matter), or to `now` when it has none.
TEST(page_retry, retry_after_dates_are_read_against_the_answers_date_or_now) {
  page_retry r(retry_config(5, 1s, 60s));
  answered gateway{503, R"({"error_code":"APIGW.0308","error_msg":"throttled"})",
                   "Sun, 06 Nov 1994 08:49:40 GMT", "Sun, 06 Nov 1994 08:49:37 GMT"};
  auto d = r.on_attempt(gateway.attempt(), 0.5, now);
  EXPECT_EQ(d.next, action::retry_now);
  EXPECT_TRUE(d.throttled);
  EXPECT_EQ(d.retry_after, 3s);

  const auto at = std::chrono::sys_days{std::chrono::year{1994} / 11 / 6} + 8h + 49min + 30s;
  d = r.on_attempt(throttled("Sun, 06 Nov 1994 08:49:40 GMT").attempt(), 0.5, at);
  EXPECT_EQ(d.retry_after, 10s);
  d = r.on_attempt(throttled("Sun, 06 Nov 1994 08:49:40 GMT").attempt(), 0.5, at + 1min);
  EXPECT_EQ(d.retry_after, 0ms);  // already past
}

// Fifty throttling answers in one fetch are retried at once; after that
// each counts as a transient failure (still told to the gate), so a
// fetch cannot spin on throttling for ever.
TEST(page_retry, after_fifty_throttled_answers_each_counts_as_a_failure) {
  page_retry r(retry_config(2, 100ms, 1s));
  for (std::uint32_t i = 0; i < page_retry::max_throttled; ++i)
    ASSERT_EQ(r.on_attempt(throttled().attempt(), 0.5, now).next, action::retry_now) << i;
  auto expected = retry_after(50ms, 1);
  expected.throttled = true;
  EXPECT_EQ(r.on_attempt(throttled().attempt(), 0.5, now), expected);
  expected = retry_after(100ms, 2);
  expected.throttled = true;
  EXPECT_EQ(r.on_attempt(throttled().attempt(), 0.5, now), expected);
  expected = give_up(reason::attempts_used);
  expected.throttled = true;
  EXPECT_EQ(r.on_attempt(throttled().attempt(), 0.5, now), expected);
}

// A rejected credential is told to the authenticator (it logs in again)
// and retried at once; a second rejection in the same fetch gives up
// (told too), whatever happened in between.
TEST(page_retry, a_rejected_credential_is_retried_once) {
  page_retry r(retry_config(5, 100ms, 1s));
  decision expected{action::retry_now, reason::auth_rejected};
  expected.rejected = true;
  EXPECT_EQ(r.on_attempt(token_rejected().attempt(), 0.5, now), expected);
  EXPECT_EQ(r.on_attempt(server_error().attempt(), 0.5, now), retry_after(50ms, 1));
  expected = give_up(reason::rejected_again);
  expected.rejected = true;
  EXPECT_EQ(r.on_attempt(token_rejected().attempt(), 0.5, now), expected);
}

// A bare 401 (no gateway code) is a rejected credential as well.
TEST(page_retry, a_bare_401_is_a_rejected_credential) {
  page_retry r(retry_config(5, 100ms, 1s));
  auto d = r.on_attempt(answered(401, "Unauthorized").attempt(), 0.5, now);
  EXPECT_EQ(d.next, action::retry_now);
  EXPECT_TRUE(d.rejected);
}

// Other client errors would come back the same: no retry, nothing told.
TEST(page_retry, other_client_errors_give_up_at_once) {
  for (unsigned status : {400u, 403u, 404u, 499u}) {
    page_retry r(retry_config(5, 100ms, 1s));
    EXPECT_EQ(
        r.on_attempt(answered(status, R"({"error_code":"HSS.1000","error_msg":"no"})").attempt(),
                     0.5, now),
        give_up(reason::not_transient))
        << status;
  }
  page_retry r(retry_config(5, 100ms, 1s));
  EXPECT_EQ(r.on_attempt(answered(500, "").attempt(), 0.5, now), retry_after(50ms, 1));
}

}  // namespace
}  // namespace hssjw
