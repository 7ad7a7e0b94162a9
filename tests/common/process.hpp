// Running real programs from a test (the daemon, the CLI, hss-fake,
// helpers like unshare): to their end with captured output and a hard
// deadline, or in the background with their output in files; and the
// small probes the process-level tests share (NDJSON, a free port, a
// plain HTTP GET, waiting for a condition).
#pragma once

#include <time.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hssjw::test {

struct process_result {
  int exit_code = -1;  // -1: killed at the deadline
  std::string out;
  std::string err;
};

// Runs argv[0] with args, waits at most `deadline`; on expiry SIGKILLs it
// (by PID) and returns exit_code -1.
process_result run_process(const std::vector<std::string>& argv,
                           std::chrono::milliseconds deadline = std::chrono::seconds(60),
                           const std::map<std::string, std::string>& env = {});

// A started background process with its stdout/stderr going to files.
struct background_process {
  int pid = -1;
  std::string out_file, err_file;
  int exit_status_ = 0;
  background_process(const std::vector<std::string>& argv, const std::string& dir,
                     const std::map<std::string, std::string>& env = {});
  ~background_process();  // SIGKILL if still running
  void signal(int sig) const;
  // Waits for exit; returns the exit code, or -1 after SIGKILL at the deadline.
  int wait(std::chrono::milliseconds deadline);
  bool running();
  std::string out() const;
  std::string err() const;
};

std::vector<boost::json::object> parse_ndjson(const std::string& text);

// A free TCP port on 127.0.0.1 (for metrics.listen).
std::uint16_t free_tcp_port();

struct http_result {
  int status = 0;  // 0: no answer
  std::string headers, body;
};
// A blocking HTTP/1.0 GET on 127.0.0.1 with a 5 s timeout: enough for a test.
http_result http_get(std::uint16_t port, const std::string& path);

// Polls `pred` every 20 ms until true or the deadline; returns its last value.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    struct timespec ts {
      0, 20'000'000
    };
    nanosleep(&ts, nullptr);
  }
  return pred();
}

}  // namespace hssjw::test
