// The one process-level bench of the integration tests: the fake HSS over
// TLS on 127.0.0.1, the token it accepts in a file, a config.yaml that
// points hss-jobwatchd at both (state and socket inside the scratch
// directory), and the daemon run to its end (--once, --check-config) or in
// the background. Every integration test that runs the daemon starts from
// it; a test that needs more (a socket client, a metrics scrape, secrets
// of its own) derives from it and adds only that.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/process.hpp"
#include "common/temp_dir.hpp"
#include "fake_hss/server.hpp"

namespace hssjw::test {

// What config.yaml says. Empty strings mean the bench's own: the fake's
// endpoint and CA, token auth from <dir>/token, state in <dir>/state.
struct daemon_config {
  std::string endpoint;
  std::string auth;  // the auth: mapping, "{method: ...}"
  std::string ca_file;
  std::string projects = "  - id: p1\n";  // the items of projects:
  // Inside poll: {...}. Walks every second without jitter, no rate limit,
  // one quick retry: a failure shows in milliseconds, not after backoff.
  std::string poll =
      "interval: 1s, jitter: 0%, rate: unlimited, page_size: 50, "
      "retry: {attempts: 1, initial: 10ms, max: 20ms}";
  std::string state_dir;
  std::string socket;  // more socket: keys after its path (", max_clients: 3")
  std::string extra;   // more top-level lines (log:, metrics:, journal:, proxy:)
};

struct daemon_fixture : ::testing::Test {
  static constexpr const char* default_token = "secret-token-1";

  // `adjust` changes the fake's options before it starts (idle_timeout, ...).
  explicit daemon_fixture(std::string token = default_token,
                          const std::function<void(fake_hss::server::options&)>& adjust = {});
  // A daemon still running gets SIGTERM and 15 s to stop.
  void TearDown() override;

  temp_dir dir;
  std::string token;  // the one the fake accepts; <dir>/token holds it
  fake_hss::server fake;
  daemon_config cfg;                              // what write_config() writes
  std::map<std::string, std::string> daemon_env;  // for launch()
  std::unique_ptr<background_process> daemon;     // the one launch() started

  std::string socket_path() const { return dir.file("run/events.sock"); }
  std::string config_path(const std::string& name = "config.yaml") const { return dir.file(name); }
  std::string config_text(const daemon_config& c) const;
  std::string config_text() const { return config_text(cfg); }
  // Writes config_text() to <dir>/<name>; returns its path.
  std::string write_config(const std::string& name = "config.yaml", mode_t mode = 0600) const;

  // hss-jobwatchd --config <config> args...
  std::vector<std::string> daemon_argv(const std::vector<std::string>& args = {},
                                       const std::string& config = "") const;
  // Runs hss-jobwatchd on <dir>/config.yaml to its end; killed at `deadline`.
  process_result run_daemon(const std::vector<std::string>& args,
                            std::chrono::milliseconds deadline = std::chrono::seconds(60),
                            const std::map<std::string, std::string>& env = {}) const;
  process_result once(std::chrono::milliseconds deadline = std::chrono::seconds(60)) const {
    return run_daemon({"--once"}, deadline);
  }
  // Starts `argv` (daemon_argv() by default) in the background with
  // daemon_env, as `daemon`; an earlier one is killed first.
  background_process& launch(std::vector<std::string> argv = {});
  // SIGTERM and wait: the exit code, -1 if it had to be killed.
  int stop_daemon(std::chrono::milliseconds deadline = std::chrono::seconds(15));
};

}  // namespace hssjw::test
