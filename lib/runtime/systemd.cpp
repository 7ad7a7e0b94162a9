// sd_notify wrappers, the watchdog coroutine and the test stall trigger.
#include "runtime/systemd.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>
#include <thread>

namespace hssjw::sd {

namespace asio = boost::asio;

namespace {

void notify(const std::string& state) {
  // unset_environment=0: the watchdog and reloads keep using NOTIFY_SOCKET.
  (void)sd_notify(0, state.c_str());
}

// STATUS= is one line; a newline would start a new assignment.
std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

void notify_ready() { notify("READY=1"); }
void notify_reloading() { notify("RELOADING=1"); }
void notify_stopping() { notify("STOPPING=1"); }
void notify_status(const std::string& text) { notify("STATUS=" + one_line(text)); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

// Pinging from the loop (not a thread) is the point: a loop that is stuck
// in a blocking call or a busy handler cannot run this timer.
asio::awaitable<void> async_watchdog(std::chrono::microseconds interval) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto period = std::max(std::chrono::microseconds(1000), interval / 2);
  for (;;) {
    notify("WATCHDOG=1");
    timer.expires_after(period);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> async_stall_on_sigusr2(std::shared_ptr<spdlog::logger> log,
                                             std::chrono::seconds seconds) {
  asio::signal_set signals(co_await asio::this_coro::executor, SIGUSR2);
  for (;;) {
    auto [ec, signo] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    log->warn("test: SIGUSR2: blocking the event loop for {}s (HSSJW_TEST_STALL_ON_SIGUSR2)",
              seconds.count());
    log->flush();
    // Deliberately blocking: this simulates a stuck loop.
    std::this_thread::sleep_for(seconds);
  }
}

std::string status_line(const std::vector<scope_brief>& scopes, std::int64_t last_walk_ms) {
  std::size_t failing = 0, jobs = 0;
  std::string names;
  for (const auto& s : scopes) {
    jobs += s.jobs;
    if (!s.failing) continue;
    if (failing++ < 3) names += (names.empty() ? "" : ", ") + s.name;
  }
  if (failing > 3) names += ", ...";
  std::string out = std::to_string(scopes.size()) + (scopes.size() == 1 ? " scope" : " scopes");
  out += failing ? ", " + std::to_string(failing) + " failing (" + names + ")" : ", all ok";
  if (last_walk_ms > 0) {
    std::time_t t = last_walk_ms / 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%H:%M:%SZ", &tm);
    out += "; last walk " + std::string(buf);
  } else {
    out += "; first walk in progress";
  }
  out += ", " + std::to_string(jobs) + " jobs";
  return out;
}

}  // namespace hssjw::sd
