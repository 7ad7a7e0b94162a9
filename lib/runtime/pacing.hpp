// How often scopes are walked, decided in plain code (no timers, no
// clock, no random source: they are inputs): the delay until a scope's
// next walk, and whether the request budget can sustain poll.interval
// (SPEC §3). The scheduler (lib/runtime/scope_scheduler.hpp) acts on them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace hssjw {

// The delay until the next walk of a scope: `interval` stretched by
// `jitter_draw` (a draw from [-poll.jitter, poll.jitter]) and counted from
// the start of the last walk, `elapsed` ago; 0 when that is already past.
std::chrono::milliseconds next_delay(std::chrono::milliseconds interval, double jitter_draw,
                                     std::chrono::milliseconds elapsed);

// The requests a walk of a scope of `total` jobs takes at `page_size`
// (consecutive pages overlap by one job, docs/WALKER.md).
std::size_t pages_for(std::int64_t total, std::uint32_t page_size);

// Whether to warn that the budget cannot sustain poll.interval, given the
// interval it can sustain: the interval to warn about (and to poll at),
// or nothing. A warning already given for the same sustainable interval
// is not repeated unless `force` (start, reload).
std::optional<std::chrono::milliseconds> budget_warning(std::chrono::milliseconds sustainable,
                                                        std::chrono::milliseconds interval,
                                                        std::chrono::milliseconds warned,
                                                        bool force);

// "5/min", "10/s", "unlimited", "3 per 30000ms": for the log.
std::string describe_rate(const config::rate& r);

}  // namespace hssjw
