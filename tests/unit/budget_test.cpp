// The request budget (sliding window, throttling) and the request gate
// (in-flight limit, round-robin fairness across scopes, cancellation).
#include "walk/budget.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>
#include <vector>

#include "walk/request_gate.hpp"

namespace hssjw {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using clock_type = request_budget::clock;

TEST(request_budget, sliding_window_allows_n_per_window) {
  request_budget b(config::rate{5, 60s});
  const auto t0 = clock_type::time_point{} + 1000s;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(b.earliest(t0 + std::chrono::seconds(i)), t0 + std::chrono::seconds(i));
    b.record(t0 + std::chrono::seconds(i));
  }
  // The sixth waits until the first leaves the window.
  EXPECT_EQ(b.earliest(t0 + 5s), t0 + 60s);
  b.record(t0 + 60s);
  EXPECT_EQ(b.earliest(t0 + 60s), t0 + 61s);
}

TEST(request_budget, unlimited_never_waits) {
  request_budget b(config::rate{0, 1s});
  const auto t0 = clock_type::time_point{} + 5s;
  for (int i = 0; i < 1000; ++i) b.record(t0);
  EXPECT_EQ(b.earliest(t0), t0);
}

TEST(request_budget, throttling_blocks_for_retry_after_or_a_window) {
  request_budget b(config::rate{5, 60s});
  const auto t0 = clock_type::time_point{} + 100s;
  b.on_throttled(t0, 7000ms);
  EXPECT_EQ(b.earliest(t0), t0 + 7s);
  b.on_throttled(t0, std::nullopt);
  EXPECT_EQ(b.earliest(t0), t0 + 60s);
}

TEST(request_budget, sustainable_interval) {
  request_budget b(config::rate{5, 60s});
  EXPECT_EQ(b.sustainable_interval(5), 60s);
  EXPECT_EQ(b.sustainable_interval(6), 72s);
  EXPECT_EQ(b.sustainable_interval(0), 0ms);
}

asio::awaitable<void> take(request_gate& gate, std::string scope, std::vector<std::string>& order,
                           std::chrono::milliseconds hold) {
  auto permit = co_await gate.async_acquire(scope);
  order.push_back(scope);
  asio::steady_timer t(co_await asio::this_coro::executor, hold);
  co_await t.async_wait(asio::use_awaitable);
}

TEST(request_gate, round_robin_across_scopes) {
  asio::io_context ioc;
  request_gate gate(ioc.get_executor(), config::rate{0, 1s}, 1);
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) asio::co_spawn(ioc, take(gate, "big", order, 1ms), asio::detached);
  asio::co_spawn(ioc, take(gate, "small", order, 1ms), asio::detached);
  asio::co_spawn(ioc, take(gate, "tiny", order, 1ms), asio::detached);
  ioc.run_for(5s);
  ASSERT_EQ(order.size(), 6u);
  // The first "big" is granted at once; then the others take turns.
  EXPECT_EQ(order, (std::vector<std::string>{"big", "small", "tiny", "big", "big", "big"}));
}

TEST(request_gate, in_flight_limit_holds) {
  asio::io_context ioc;
  request_gate gate(ioc.get_executor(), config::rate{0, 1s}, 2);
  std::vector<std::string> order;
  int max_seen = 0, current = 0;
  auto task = [&](std::string s) -> asio::awaitable<void> {
    auto permit = co_await gate.async_acquire(s);
    max_seen = std::max(max_seen, ++current);
    asio::steady_timer t(co_await asio::this_coro::executor, 5ms);
    co_await t.async_wait(asio::use_awaitable);
    --current;
  };
  for (int i = 0; i < 10; ++i)
    asio::co_spawn(ioc, task("s" + std::to_string(i % 3)), asio::detached);
  ioc.run_for(5s);
  EXPECT_EQ(max_seen, 2);
  EXPECT_EQ(gate.granted(), 10u);
}

TEST(request_gate, budget_spaces_requests) {
  asio::io_context ioc;
  request_gate gate(ioc.get_executor(), config::rate{2, 200ms}, 8);
  std::vector<std::string> order;
  std::vector<clock_type::time_point> times;
  auto task = [&]() -> asio::awaitable<void> {
    auto permit = co_await gate.async_acquire("s");
    times.push_back(clock_type::now());
  };
  const auto start = clock_type::now();
  for (int i = 0; i < 5; ++i) asio::co_spawn(ioc, task(), asio::detached);
  ioc.run_for(5s);
  ASSERT_EQ(times.size(), 5u);
  // No window of 200 ms may hold more than 2 starts.
  for (std::size_t i = 2; i < times.size(); ++i) EXPECT_GE(times[i] - times[i - 2], 200ms);
  EXPECT_GE(times.back() - start, 400ms);
}

TEST(request_gate, cancelled_waiter_leaves_the_queue) {
  asio::io_context ioc;
  request_gate gate(ioc.get_executor(), config::rate{1, 10s}, 1);
  std::vector<std::string> order;
  asio::co_spawn(ioc, take(gate, "a", order, 1ms), asio::detached);
  asio::cancellation_signal cancel;
  bool aborted = false;
  asio::co_spawn(ioc, take(gate, "b", order, 1ms),
                 asio::bind_cancellation_slot(
                     cancel.slot(), [&](std::exception_ptr e) { aborted = e != nullptr; }));
  asio::steady_timer t(ioc, 50ms);
  t.async_wait([&](auto) { cancel.emit(asio::cancellation_type::terminal); });
  ioc.run_for(2s);
  EXPECT_TRUE(aborted);
  EXPECT_EQ(order, std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace hssjw
