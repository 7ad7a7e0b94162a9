// Sliding-window request budget with multiplicative decrease on throttling
// and additive recovery (one request per clean window), the usual answer
// to a shared limit whose exact value the server does not tell us.
#include "walk/budget.hpp"

#include <algorithm>

namespace hssjw {

std::uint32_t request_budget::effective_count(clock::time_point now) const {
  if (rate_.unlimited()) return 0;
  std::uint64_t n = std::min(cut_count_, rate_.count);
  if (now > clean_since_) n += static_cast<std::uint64_t>((now - clean_since_) / rate_.per);
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(n, 1, rate_.count));
}

bool request_budget::slowed(clock::time_point now) const {
  return now < blocked_until_ || (!rate_.unlimited() && effective_count(now) < rate_.count);
}

request_budget::clock::time_point request_budget::earliest(clock::time_point now) const {
  clock::time_point t = std::max(now, blocked_until_);
  if (rate_.unlimited()) return t;
  // Judged at the moment the block ends: recovery may have added a slot.
  const std::uint32_t allowed = effective_count(t);
  if (starts_.size() < allowed) return t;
  // The window is full: the oldest start within it must age out first.
  const auto oldest_relevant = starts_[starts_.size() - allowed];
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
  auto wait =
      retry_after ? *retry_after : std::chrono::duration_cast<std::chrono::milliseconds>(rate_.per);
  // Unlimited has no window to wait for: one second, as the docs suggest
  // waiting a few seconds after APIGW.0308.
  if (rate_.unlimited() && !retry_after) wait = std::chrono::seconds(1);
  blocked_until_ = std::max(blocked_until_, now + wait);
  if (rate_.unlimited()) return;
  const bool same_overload = last_cut_ && now < *last_cut_ + rate_.per;
  if (!same_overload) {
    cut_count_ = std::max<std::uint32_t>(1, effective_count(now) / 2);
    last_cut_ = now;
  }
  // Recovery starts counting clean windows only once we may send again.
  clean_since_ = blocked_until_;
}

std::chrono::milliseconds request_budget::sustainable_interval(std::size_t requests) const {
  if (rate_.unlimited() || requests == 0) return std::chrono::milliseconds(0);
  // In steady state every request costs per / count of the window.
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      rate_.per * static_cast<long>(requests) / static_cast<long>(rate_.count));
}

}  // namespace hssjw
