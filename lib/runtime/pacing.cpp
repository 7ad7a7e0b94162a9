// The pacing decisions: plain arithmetic on their inputs.
#include "runtime/pacing.hpp"

#include <algorithm>

namespace hssjw {

using namespace std::chrono_literals;

std::chrono::milliseconds next_delay(std::chrono::milliseconds interval, double jitter_draw,
                                     std::chrono::milliseconds elapsed) {
  const auto stretched =
      std::chrono::duration_cast<std::chrono::milliseconds>(interval * (1.0 + jitter_draw));
  return std::max(0ms, stretched - elapsed);
}

std::size_t pages_for(std::int64_t total, std::uint32_t page_size) {
  if (total <= page_size) return 1;
  return static_cast<std::size_t>((total - 1 + page_size - 2) / (page_size - 1));
}

std::optional<std::chrono::milliseconds> budget_warning(std::chrono::milliseconds sustainable,
                                                        std::chrono::milliseconds interval,
                                                        std::chrono::milliseconds warned,
                                                        bool force) {
  if (sustainable <= interval) return std::nullopt;
  if (!force && sustainable == warned) return std::nullopt;
  return sustainable;
}

std::string describe_rate(const config::rate& r) {
  if (r.unlimited()) return "unlimited";
  if (r.per == std::chrono::minutes(1)) return std::to_string(r.count) + "/min";
  if (r.per == std::chrono::seconds(1)) return std::to_string(r.count) + "/s";
  return std::to_string(r.count) + " per " + std::to_string(r.per.count()) + "ms";
}

}  // namespace hssjw
