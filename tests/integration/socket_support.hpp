// Test support for the events socket: a line client with deadlines (every
// read gives up, so no test can hang on a silent daemon) and the daemon
// bench (common/daemon_fixture.hpp) extended with it.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/line_client.hpp"
#include "common/daemon_fixture.hpp"
#include "fake_hss/server.hpp"

namespace hssjw::test {

namespace json = boost::json;
using namespace std::chrono_literals;

// One connection: reads the hello on open, then lines on demand.
struct socket_client {
  hssjw::cli::line_client conn;
  json::object hello;

  bool open(const std::string& path) {
    hssjw::cli::connect_error e;
    if (!conn.connect(path, 5s, e)) return false;
    auto h = next(10s);
    if (!h) return false;
    hello = *h;
    return true;
  }
  bool send(const std::string& line) { return conn.send_line(line, 5s); }
  std::optional<std::string> next_raw(std::chrono::milliseconds deadline = 10s) {
    return conn.read_line(deadline);
  }
  std::optional<json::object> next(std::chrono::milliseconds deadline = 10s) {
    auto l = conn.read_line(deadline);
    if (!l) return std::nullopt;
    return json::parse(*l).as_object();
  }
  // Lines until one satisfies `stop` (included) or the stream ends.
  template <class Pred>
  std::vector<json::object> until(Pred stop, std::chrono::milliseconds deadline = 30s) {
    std::vector<json::object> out;
    const auto end = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      auto m = next(left);
      if (!m) break;
      out.push_back(*m);
      if (stop(out.back())) break;
    }
    return out;
  }
};

inline std::string type_of(const json::object& o) {
  auto* t = o.if_contains("type");
  return t && t->is_string() ? std::string(t->as_string()) : "";
}

inline std::uint64_t seq_of(const json::object& o) {
  return o.at("seq").to_number<std::uint64_t>();
}

inline bool is_event(const json::object& o) { return o.contains("v") && o.contains("seq"); }

// The daemon bench with a socket client: walks every second over pages of
// 200, a short stall timeout and bookmark interval, and start_daemon()
// waits until the socket answers.
struct socket_daemon_fixture : daemon_fixture {
  std::vector<std::string> extra_args;  // after --config, e.g. --memory-state

  socket_daemon_fixture() {
    cfg.poll =
        "interval: 1s, jitter: 0%, rate: unlimited, page_size: 200, "
        "retry: {attempts: 1, initial: 10ms, max: 20ms}";
    cfg.socket = ", stall_timeout: 2s, bookmark_interval: 1s, max_clients: 300";
  }

  // Starts the daemon and waits until its socket answers with a hello
  // whose seq is at least `min_seq` (the baseline committed).
  void start_daemon(std::uint64_t min_seq = 1, std::chrono::milliseconds deadline = 30s) {
    write_config();
    launch(daemon_argv(extra_args));
    ASSERT_TRUE(eventually(
        [&] {
          socket_client c;
          return c.open(socket_path()) && seq_of(c.hello) >= min_seq;
        },
        deadline))
        << "daemon did not come up; stderr:\n"
        << daemon->err();
  }

  // The daemon's resident memory (VmRSS), in KiB; 0 if unreadable.
  std::size_t daemon_rss_kib() const {
    std::ifstream in("/proc/" + std::to_string(daemon->pid) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
    return 0;
  }

  std::uint64_t daemon_seq() {
    socket_client c;
    if (!c.open(socket_path())) return 0;
    return seq_of(c.hello);
  }

  // A fresh connection with its request sent.
  std::unique_ptr<socket_client> request(const std::string& line) {
    auto c = std::make_unique<socket_client>();
    EXPECT_TRUE(c->open(socket_path()));
    EXPECT_TRUE(c->send(line));
    return c;
  }
};

}  // namespace hssjw::test
