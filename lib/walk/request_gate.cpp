// The request gate: waiters park on their own timer and are woken by
// cancelling it when granted; one pump timer waits for the budget window.
#include "walk/request_gate.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hssjw {

namespace asio = boost::asio;

struct request_gate::waiter {
  asio::steady_timer wake;
  bool granted = false;
  explicit waiter(asio::any_io_executor ex) : wake(ex, asio::steady_timer::time_point::max()) {}
};

request_gate::permit& request_gate::permit::operator=(permit&& o) noexcept {
  if (this != &o) {
    reset();
    gate_ = std::exchange(o.gate_, nullptr);
  }
  return *this;
}

void request_gate::permit::reset() {
  if (auto* g = std::exchange(gate_, nullptr)) g->release();
}

request_gate::request_gate(asio::any_io_executor ex, config::rate rate, std::uint32_t max_in_flight)
    : ex_(ex),
      budget_(rate),
      max_in_flight_(std::max<std::uint32_t>(1, max_in_flight)),
      pump_timer_(ex) {}

request_gate::~request_gate() = default;

asio::awaitable<request_gate::permit> request_gate::async_acquire(std::string scope) {
  waiter w(ex_);
  waiting_.push(scope, &w);
  pump();
  while (!w.granted) {
    // Granting cancels the timer, so every wake-up ends "aborted".
    (void)co_await w.wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (w.granted) break;
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) {
      waiting_.erase(scope, &w);
      throw boost::system::system_error(asio::error::operation_aborted);
    }
  }
  co_return permit(this);
}

void request_gate::release() {
  if (in_flight_ > 0) --in_flight_;
  pump();
}

void request_gate::on_throttled(std::optional<std::chrono::milliseconds> retry_after) {
  budget_.on_throttled(request_budget::clock::now(), retry_after);
}

void request_gate::reconfigure(config::rate rate, std::uint32_t max_in_flight) {
  budget_.set_rate(rate);
  max_in_flight_ = std::max<std::uint32_t>(1, max_in_flight);
  pump();
}

void request_gate::pump() {
  while (!waiting_.empty() && in_flight_ < max_in_flight_) {
    const auto now = request_budget::clock::now();
    const auto at = budget_.earliest(now);
    if (at > now) {
      pump_timer_.expires_at(at);
      if (!pump_armed_) {
        pump_armed_ = true;
        pump_timer_.async_wait([this](boost::system::error_code) {
          pump_armed_ = false;
          pump();
        });
      }
      return;
    }
    waiter* w = *waiting_.pop();
    budget_.record(now);
    ++in_flight_;
    ++granted_;
    w->granted = true;
    w->wake.cancel();
  }
}

}  // namespace hssjw
