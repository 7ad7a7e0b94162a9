// The pacing decisions (lib/runtime/pacing.hpp): the delay to a scope's
// next walk with the jitter draw and the elapsed time as inputs, and
// when the budget warning is given.
#include "runtime/pacing.hpp"

#include <gtest/gtest.h>

namespace hssjw {
namespace {

using namespace std::chrono_literals;

TEST(next_delay, counts_the_interval_from_the_start_of_the_walk) {
  EXPECT_EQ(next_delay(60s, 0.0, 0ms), 60s);
  EXPECT_EQ(next_delay(60s, 0.0, 12'345ms), 47'655ms);
}

TEST(next_delay, stretches_the_interval_by_the_jitter_draw) {
  EXPECT_EQ(next_delay(60s, 0.1, 0ms), 66s);
  EXPECT_EQ(next_delay(60s, -0.1, 0ms), 54s);
  EXPECT_EQ(next_delay(60s, -0.1, 4s), 50s);
}

TEST(next_delay, truncates_to_whole_milliseconds) {
  EXPECT_EQ(next_delay(1001ms, 0.5, 0ms), 1501ms);  // 1501.5
}

TEST(next_delay, is_zero_when_the_walk_took_longer_than_the_interval) {
  EXPECT_EQ(next_delay(60s, 0.0, 60s), 0ms);
  EXPECT_EQ(next_delay(60s, 0.1, 90s), 0ms);
}

TEST(pages_for, counts_pages_that_overlap_by_one_job) {
  EXPECT_EQ(pages_for(0, 200), 1u);
  EXPECT_EQ(pages_for(200, 200), 1u);
  EXPECT_EQ(pages_for(201, 200), 2u);
  EXPECT_EQ(pages_for(399, 200), 2u);  // 200 + 199 new
  EXPECT_EQ(pages_for(400, 200), 3u);
}

TEST(budget_warning, is_silent_while_the_budget_sustains_the_interval) {
  EXPECT_FALSE(budget_warning(30s, 60s, 0ms, true));
  EXPECT_FALSE(budget_warning(60s, 60s, 0ms, true));
}

TEST(budget_warning, warns_once_per_sustainable_interval_unless_forced) {
  auto warned = budget_warning(90s, 60s, 0ms, false);
  ASSERT_TRUE(warned);
  EXPECT_EQ(*warned, 90s);
  // A baseline that changes nothing: no repeat.
  EXPECT_FALSE(budget_warning(90s, 60s, *warned, false));
  // A start or a reload says it again.
  EXPECT_EQ(budget_warning(90s, 60s, *warned, true), 90s);
  // A scope grew: the new pace is news.
  EXPECT_EQ(budget_warning(120s, 60s, *warned, false), 120s);
}

TEST(describe_rate, names_the_usual_windows) {
  EXPECT_EQ(describe_rate({0, 1min}), "unlimited");
  EXPECT_EQ(describe_rate({5, 1min}), "5/min");
  EXPECT_EQ(describe_rate({10, 1s}), "10/s");
  EXPECT_EQ(describe_rate({3, 30s}), "3 per 30000ms");
}

}  // namespace
}  // namespace hssjw
