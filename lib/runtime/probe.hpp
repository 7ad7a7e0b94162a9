// hss-jobwatchd --check-config --probe: authenticate and fetch the first
// page of every scope (one request each, within the budget), printing what
// an operator needs to see on a new host.
#pragma once

#include <cstdio>
#include <memory>

#include "config/config.hpp"

namespace spdlog {
class logger;
}

namespace hssjw {

// Prints one block per scope to `out`; returns 0 only if every scope
// answered 200 with a valid page, else 1.
int run_probe(const config::config& cfg, std::shared_ptr<spdlog::logger> log, std::FILE* out);

}  // namespace hssjw
