// The one gate every upstream request passes: the shared request budget,
// the global in-flight limit (poll.max_in_flight), and round-robin fairness
// across scopes (walk/fair_queue.hpp), so that a large scope cannot starve
// a small one.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "walk/budget.hpp"
#include "walk/fair_queue.hpp"

namespace hssjw {

class request_gate {
 public:
  // Held while a request is in flight; releases its slot when destroyed.
  class permit {
   public:
    permit() = default;
    explicit permit(request_gate* g) : gate_(g) {}
    permit(permit&& o) noexcept : gate_(std::exchange(o.gate_, nullptr)) {}
    permit& operator=(permit&& o) noexcept;
    ~permit() { reset(); }
    void reset();
    explicit operator bool() const { return gate_ != nullptr; }

   private:
    request_gate* gate_ = nullptr;
  };

  request_gate(boost::asio::any_io_executor ex, config::rate rate, std::uint32_t max_in_flight);
  ~request_gate();

  // Waits for the budget and a slot, fairly across `scope`s. Throws
  // system_error(operation_aborted) when the awaiting coroutine is
  // cancelled.
  boost::asio::awaitable<permit> async_acquire(std::string scope);

  // A throttling answer: the shared budget slows down for every scope
  // (walk/budget.hpp) and recovers by itself.
  void on_throttled(std::optional<std::chrono::milliseconds> retry_after);
  void reconfigure(config::rate rate, std::uint32_t max_in_flight);

  std::uint64_t granted() const { return granted_; }
  const request_budget& budget() const { return budget_; }
  // Requests per window allowed right now (0 = unlimited), for logs/metrics.
  std::uint32_t effective_count() const {
    return budget_.effective_count(request_budget::clock::now());
  }

 private:
  struct waiter;
  void release();
  void pump();

  boost::asio::any_io_executor ex_;
  request_budget budget_;
  std::uint32_t max_in_flight_;
  std::uint32_t in_flight_ = 0;
  std::uint64_t granted_ = 0;
  fair_queue<waiter*> waiting_;
  boost::asio::steady_timer pump_timer_;
  bool pump_armed_ = false;
};

}  // namespace hssjw
