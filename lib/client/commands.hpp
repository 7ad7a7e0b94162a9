// hss-jobwatch's commands: watch (with reconnect and resume), list, status.
// Each returns the exit code (SPEC §7: 0 ok, 1 runtime failure).
#pragma once

#include <chrono>
#include <cstdio>

#include "client/cli_args.hpp"

namespace hssjw::cli {

struct run_settings {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds reply_timeout{30000};  // hello, list, status
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
};

int run(const options& o, std::FILE* out, std::FILE* err, const run_settings& s = {});

}  // namespace hssjw::cli
