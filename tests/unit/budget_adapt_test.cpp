// The budget's reaction to throttling (429 / APIGW.0308), with injected
// time: the rate halves for everyone (floor one per window), Retry-After
// is honoured, in-flight answers to one overload cut only once, and each
// clean window gives one request back until poll.rate is reached.
#include <gtest/gtest.h>

#include "walk/budget.hpp"

namespace hssjw {
namespace {

using namespace std::chrono_literals;
using tp = request_budget::clock::time_point;

const tp t0 = tp{} + 10'000s;

// How many requests start in [from, from + span) when every caller starts
// as early as the budget allows.
int starts_within(request_budget& b, tp from, std::chrono::seconds span) {
  int n = 0;
  tp t = from;
  for (;;) {
    t = b.earliest(t);
    if (t >= from + span) return n;
    b.record(t);
    ++n;
  }
}

TEST(budget_adapt, throttling_halves_the_rate_for_everyone) {
  request_budget b(config::rate{8, 60s});
  EXPECT_EQ(b.effective_count(t0), 8u);
  EXPECT_FALSE(b.slowed(t0));
  b.on_throttled(t0, std::nullopt);
  EXPECT_TRUE(b.slowed(t0));
  // Nothing for one window, then 4 per window (not 8).
  EXPECT_EQ(b.earliest(t0), t0 + 60s);
  EXPECT_EQ(b.effective_count(t0 + 60s), 4u);
  EXPECT_EQ(starts_within(b, t0 + 60s, 60s), 4);
}

TEST(budget_adapt, retry_after_is_honoured_instead_of_a_window) {
  request_budget b(config::rate{8, 60s});
  b.on_throttled(t0, 3s);
  EXPECT_EQ(b.earliest(t0), t0 + 3s);
  EXPECT_EQ(b.blocked_until(), t0 + 3s);
  EXPECT_EQ(starts_within(b, t0 + 3s, 60s), 4);
  // Retry-After: 0 still halves the rate but does not block.
  request_budget c(config::rate{8, 60s});
  c.on_throttled(t0, 0ms);
  EXPECT_EQ(c.earliest(t0), t0);
  EXPECT_EQ(c.effective_count(t0), 4u);
}

TEST(budget_adapt, a_longer_block_is_never_shortened) {
  request_budget b(config::rate{8, 60s});
  b.on_throttled(t0, 30s);
  b.on_throttled(t0 + 1s, 2s);
  EXPECT_EQ(b.earliest(t0 + 1s), t0 + 30s);
}

TEST(budget_adapt, answers_in_flight_for_one_overload_cut_once) {
  request_budget b(config::rate{8, 60s});
  for (int i = 0; i < 4; ++i) b.on_throttled(t0 + std::chrono::milliseconds(10 * i), 1s);
  EXPECT_EQ(b.effective_count(t0 + 2s), 4u);
  // A throttle in a later window is a new overload: it halves again.
  b.on_throttled(t0 + 70s, 1s);
  EXPECT_EQ(b.effective_count(t0 + 71s), 2u);
}

TEST(budget_adapt, floor_is_one_request_per_window) {
  request_budget b(config::rate{5, 60s});
  tp t = t0;
  for (int i = 0; i < 6; ++i) {
    b.on_throttled(t, 0ms);
    t += 61s;
    EXPECT_GE(b.effective_count(t - 1s), 1u);
  }
  b.on_throttled(t, 0ms);
  EXPECT_EQ(b.effective_count(t), 1u);
  EXPECT_EQ(starts_within(b, t, 60s), 1);
}

TEST(budget_adapt, recovers_one_request_per_clean_window) {
  request_budget b(config::rate{8, 60s});
  b.on_throttled(t0, 5s);  // 8 -> 4, clean from t0 + 5s
  const tp clean = t0 + 5s;
  EXPECT_EQ(b.effective_count(clean), 4u);
  EXPECT_EQ(b.effective_count(clean + 59s), 4u);
  EXPECT_EQ(b.effective_count(clean + 60s), 5u);
  EXPECT_EQ(b.effective_count(clean + 120s), 6u);
  EXPECT_EQ(b.effective_count(clean + 180s), 7u);
  EXPECT_EQ(b.effective_count(clean + 240s), 8u);
  EXPECT_EQ(b.effective_count(clean + 3600s), 8u);  // never above poll.rate
  EXPECT_FALSE(b.slowed(clean + 240s));
}

TEST(budget_adapt, recovery_shows_in_the_window) {
  request_budget b(config::rate{4, 10s});
  b.on_throttled(t0, 0ms);  // 4 -> 2
  EXPECT_EQ(starts_within(b, t0, 10s), 2);
  EXPECT_EQ(starts_within(b, t0 + 10s, 10s), 3);
  EXPECT_EQ(starts_within(b, t0 + 20s, 10s), 4);
  EXPECT_EQ(starts_within(b, t0 + 30s, 10s), 4);
}

TEST(budget_adapt, throttled_during_recovery_halves_from_where_it_is) {
  request_budget b(config::rate{16, 60s});
  b.on_throttled(t0, 0ms);                       // 16 -> 8
  EXPECT_EQ(b.effective_count(t0 + 180s), 11u);  // three clean windows
  b.on_throttled(t0 + 180s, 0ms);                // 11 -> 5
  EXPECT_EQ(b.effective_count(t0 + 180s), 5u);
  EXPECT_EQ(b.effective_count(t0 + 239s), 5u);  // the clean clock restarted
  EXPECT_EQ(b.effective_count(t0 + 240s), 6u);
}

TEST(budget_adapt, reload_caps_the_adapted_rate) {
  request_budget b(config::rate{16, 60s});
  b.on_throttled(t0, 0ms);  // 8
  b.set_rate(config::rate{4, 60s});
  EXPECT_EQ(b.effective_count(t0), 4u);
  b.set_rate(config::rate{32, 60s});
  EXPECT_EQ(b.effective_count(t0), 8u);  // still recovering, from 8
  EXPECT_EQ(b.effective_count(t0 + 60s), 9u);
}

TEST(budget_adapt, unlimited_only_blocks) {
  request_budget b(config::rate{0, 1s});
  b.on_throttled(t0, std::nullopt);
  EXPECT_EQ(b.earliest(t0), t0 + 1s);
  EXPECT_EQ(b.effective_count(t0 + 2s), 0u);
  b.on_throttled(t0 + 2s, 2500ms);
  EXPECT_EQ(b.earliest(t0 + 2s), t0 + 4500ms);
  for (int i = 0; i < 100; ++i) b.record(t0 + 5s);
  EXPECT_EQ(b.earliest(t0 + 5s), t0 + 5s);
}

}  // namespace
}  // namespace hssjw
