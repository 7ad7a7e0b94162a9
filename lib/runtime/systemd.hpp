// The daemon's side of the systemd service protocol (SPEC §9): sd_notify
// READY / RELOADING / STOPPING / STATUS, and WATCHDOG=1 pings sent from a
// coroutine on the event loop itself, so that a loop that stops turning
// stops the pings and systemd kills and restarts the service. Outside
// systemd (no NOTIFY_SOCKET) every call is a cheap no-op.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace hssjw::sd {

void notify_ready();
// systemd 252 knows no MONOTONIC_USEC= (253+); plain RELOADING=1 it is.
void notify_reloading();
void notify_stopping();
void notify_status(const std::string& text);

// The interval systemd expects pings at (WatchdogSec=), if any.
std::optional<std::chrono::microseconds> watchdog_interval();

// Sends WATCHDOG=1 every `interval` / 2 until cancelled.
boost::asio::awaitable<void> async_watchdog(std::chrono::microseconds interval);

// Test-only (run_options::test.stall_on_sigusr2, from
// HSSJW_TEST_STALL_ON_SIGUSR2=1): each SIGUSR2 blocks the loop thread for
// `seconds`, as a deadlock would, so that the watchdog test can see the
// service killed.
boost::asio::awaitable<void> async_stall_on_sigusr2(std::shared_ptr<spdlog::logger> log,
                                                    std::chrono::seconds seconds);

// What STATUS= says, from plain facts (no I/O), e.g.
// "3 scopes, 1 failing (p1/all_granted_eps); last walk 10:40:00Z, 1234 jobs".
struct scope_brief {
  std::string name;
  bool failing = false;
  std::size_t jobs = 0;
};
std::string status_line(const std::vector<scope_brief>& scopes, std::int64_t last_walk_ms);

}  // namespace hssjw::sd
