// Sliding-window request budget.
#include "walk/budget.hpp"

#include <algorithm>

namespace hssjw {

request_budget::clock::time_point request_budget::earliest(clock::time_point now) const {
  clock::time_point t = std::max(now, blocked_until_);
  if (rate_.unlimited() || starts_.size() < rate_.count) return t;
  // The window is full: the oldest start within it must age out first.
  const auto oldest_relevant = starts_[starts_.size() - rate_.count];
  return std::max(t, oldest_relevant + rate_.per);
}

void request_budget::record(clock::time_point at) {
  if (rate_.unlimited()) return;
  starts_.push_back(at);
  while (starts_.size() > rate_.count || (!starts_.empty() && starts_.front() + rate_.per <= at))
    starts_.pop_front();
}

void request_budget::on_throttled(clock::time_point now,
                                  std::optional<std::chrono::milliseconds> retry_after) {
  auto wait = retry_after ? *retry_after : std::chrono::duration_cast<std::chrono::milliseconds>(rate_.per);
  if (rate_.unlimited() && !retry_after) wait = std::chrono::seconds(1);
  blocked_until_ = std::max(blocked_until_, now + wait);
}

std::chrono::milliseconds request_budget::sustainable_interval(std::size_t requests) const {
  if (rate_.unlimited() || requests == 0) return std::chrono::milliseconds(0);
  // In steady state every request costs per / count of the window.
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      rate_.per * static_cast<long>(requests) / static_cast<long>(rate_.count));
}

}  // namespace hssjw
