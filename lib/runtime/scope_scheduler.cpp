// The per-scope coroutines, their sleeps and their ends.
#include "runtime/scope_scheduler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/utc.hpp"
#include "runtime/pacing.hpp"
#include "walk/budget.hpp"

namespace hssjw {

namespace asio = boost::asio;

scope_scheduler::scope_scheduler(asio::io_context& ioc, const config::config& cfg,
                                 std::shared_ptr<spdlog::logger> log, bool once, hooks h)
    : ioc_(ioc), cfg_(cfg), log_(std::move(log)), once_(once), hooks_(std::move(h)) {}

void scope_scheduler::add(scope_list scopes) {
  for (auto& s : scopes) scopes_.push_back(std::move(s));
}

void scope_scheduler::start_all() {
  for (auto& s : scopes_) start(*s);
}

void scope_scheduler::add_started(std::unique_ptr<scope_runtime> s) {
  scopes_.push_back(std::move(s));
  start(*scopes_.back());
}

bool scope_scheduler::contains(const scope_id& id) const {
  return std::any_of(scopes_.begin(), scopes_.end(),
                     [&](auto& s) { return s->target.scope == id; });
}

void scope_scheduler::remove(const scope_id& id) {
  auto it =
      std::find_if(scopes_.begin(), scopes_.end(), [&](auto& s) { return s->target.scope == id; });
  if (it == scopes_.end()) return;
  auto& s = **it;
  s.removed = true;
  retiring_.push_back(std::move(*it));
  scopes_.erase(it);
  s.cancel.emit(asio::cancellation_type::terminal);
}

void scope_scheduler::rearm() {
  for (auto& s : scopes_)
    if (s->sleep) s->sleep->expires_after(next_delay(s->walk_started));
}

void scope_scheduler::stop(std::chrono::milliseconds guard, bool leave_walks) {
  stopping_ = true;
  if (!leave_walks)
    for (auto& s : scopes_) s->cancel.emit(asio::cancellation_type::terminal);
  // Cancellation reaches every pending operation at once; bound the wait
  // anyway so that a stuck peer can never hold the exit.
  auto timer = std::make_shared<asio::steady_timer>(ioc_, guard);
  timer->async_wait([this, timer, guard](boost::system::error_code ec) {
    if (ec) return;
    log_->warn("stop: {} scope(s) still running after {} ms; stopping without them", running_,
               guard.count());
    ioc_.stop();
  });
}

bool scope_scheduler::all_completed() const {
  bool all = true;
  for (auto& s : scopes_) all = all && s->completed;
  return all;
}

void scope_scheduler::check_budget(const request_budget& budget, bool force) {
  std::size_t requests = 0;
  for (auto& s : scopes_)
    requests += pages_for(s->state.meta.last_total_num.value_or(0), cfg_.poll.page_size);
  const auto sustainable = budget.sustainable_interval(requests);
  const auto warn = budget_warning(sustainable, cfg_.poll.interval, warned_interval_, force);
  if (!warn) return;
  warned_interval_ = *warn;
  log_->warn(
      "poll.rate {} cannot sustain poll.interval {}s for {} scope(s) (~{} requests per round); "
      "polling at the sustainable pace of one round every {}s",
      describe_rate(cfg_.poll.rate), cfg_.poll.interval.count() / 1000.0, scopes_.size(), requests,
      sustainable.count() / 1000.0);
}

std::chrono::milliseconds scope_scheduler::effective_interval() const {
  return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.poll.interval),
                  warned_interval_);
}

void scope_scheduler::start(scope_runtime& s) {
  ++running_;
  s.watched_since_ms = unix_now_ms();
  asio::co_spawn(ioc_, async_run_scope(s),
                 asio::bind_cancellation_slot(s.cancel.slot(), [this, &s](std::exception_ptr e) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const boost::system::system_error& se) {
                       if (se.code() != asio::error::operation_aborted)
                         log_->error("scope {}: stopped: {}", s.target.scope.str(), se.what());
                     } catch (const std::exception& ex) {
                       log_->error("scope {}: stopped: {}", s.target.scope.str(), ex.what());
                     }
                   }
                   // A removed scope is freed once this handler, which lives in it, has returned.
                   if (s.removed)
                     asio::post(ioc_, [this, p = &s] {
                       std::erase_if(retiring_, [p](auto& r) { return r.get() == p; });
                     });
                   // Only --once and a stop end the loop when no scope runs; a reload
                   // starts the new scopes before it cancels the removed ones.
                   if (--running_ == 0 && (once_ || stopping_)) hooks_.ended();
                 }));
}

asio::awaitable<void> scope_scheduler::async_run_scope(scope_runtime& s) {
  for (;;) {
    const auto started = std::chrono::steady_clock::now();
    s.walk_started = started;
    co_await hooks_.walk(s);
    if (once_) co_return;
    hooks_.between_walks();
    co_await async_sleep(s, started);
  }
}

// Sleeps until the next walk of `s` is due. A reload that changes the
// interval re-arms the timer, which ends this wait early; the loop then
// waits for the new expiry. Cancellation (stop, removal) ends it for good.
asio::awaitable<void> scope_scheduler::async_sleep(scope_runtime& s,
                                                   std::chrono::steady_clock::time_point started) {
  asio::steady_timer timer(ioc_, next_delay(started));
  s.sleep = &timer;
  struct clear_on_exit {
    scope_runtime& s;
    ~clear_on_exit() { s.sleep = nullptr; }
  } guard{s};
  for (;;) {
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!ec) co_return;
    if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
      throw boost::system::system_error(asio::error::operation_aborted);
  }
}

std::chrono::milliseconds scope_scheduler::next_delay(
    std::chrono::steady_clock::time_point started) {
  std::uniform_real_distribution<double> draw(-cfg_.poll.jitter, cfg_.poll.jitter);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return hssjw::next_delay(cfg_.poll.interval, draw(rng_), elapsed);
}

}  // namespace hssjw
