// The scheduler: one coroutine per scope on the daemon's io_context. Each
// walks (through the walk function it is given), then sleeps for
// poll.interval with jitter, counted from the start of its walk (pacing
// decided in lib/runtime/pacing.hpp). It starts, removes and stops scopes
// by cancellation, re-arms the sleeps when a reload changes the timing,
// and says when the last coroutine has ended after --once or a stop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "config/config.hpp"
#include "runtime/scope_runtime.hpp"

namespace spdlog {
class logger;
}

namespace hssjw {

class request_budget;

class scope_scheduler {
 public:
  struct hooks {
    // One walk of a scope; throws only when cancelled.
    std::function<boost::asio::awaitable<void>(scope_runtime&)> walk;
    // Between a walk and the sleep after it.
    std::function<void()> between_walks;
    // After --once or a stop, when the last scope's coroutine has ended.
    std::function<void()> ended;
  };

  // `cfg` is the running config (a reload changes it in place). With
  // `once`, every scope walks once and its coroutine ends.
  scope_scheduler(boost::asio::io_context& ioc, const config::config& cfg,
                  std::shared_ptr<spdlog::logger> log, bool once, hooks h);

  using scope_list = std::vector<std::unique_ptr<scope_runtime>>;
  const scope_list& scopes() const { return scopes_; }

  // Scopes to start with start_all (the daemon's start).
  void add(scope_list scopes);
  void start_all();
  // A scope added by a reload: it starts at once.
  void add_started(std::unique_ptr<scope_runtime> s);
  bool contains(const scope_id& id) const;
  // Cancels a scope (a walk in flight ends before it commits) and frees
  // it when its coroutine has ended.
  void remove(const scope_id& id);
  // poll.interval or jitter changed: every sleep ends at the new time.
  void rearm();

  // Cancels every scope (not with `leave_walks`, a test hook: walks
  // stuck in an operation that ignores cancellation) and, after `guard`,
  // stops the io_context even if some are still running.
  void stop(std::chrono::milliseconds guard, bool leave_walks);
  bool stopping() const { return stopping_; }
  std::size_t running() const { return running_; }
  // Every scope completed a walk in this run (--once exit code).
  bool all_completed() const;

  // SPEC §3: when the budget cannot sustain poll.interval for all scopes,
  // say so (with the interval it can sustain) and keep going at that pace.
  void check_budget(const request_budget& budget, bool force);
  // poll.interval, or the slower pace the budget allows.
  std::chrono::milliseconds effective_interval() const;

 private:
  void start(scope_runtime& s);
  boost::asio::awaitable<void> async_run_scope(scope_runtime& s);
  boost::asio::awaitable<void> async_sleep(scope_runtime& s,
                                           std::chrono::steady_clock::time_point started);
  std::chrono::milliseconds next_delay(std::chrono::steady_clock::time_point started);

  boost::asio::io_context& ioc_;
  const config::config& cfg_;
  std::shared_ptr<spdlog::logger> log_;
  bool once_;
  hooks hooks_;
  scope_list scopes_;
  // Removed by a reload, cancelled, until their coroutine has ended.
  scope_list retiring_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::chrono::milliseconds warned_interval_{0};
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace hssjw
