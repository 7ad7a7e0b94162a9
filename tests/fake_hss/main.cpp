// hss-fake: the fake HSS as a process, for the demo and for tests that run
// the daemon against it out of process. Parses options, fills the
// inventory, optionally churns, prints one "listening ..." line on stdout
// when ready, logs each request on stderr, and exits on SIGINT/SIGTERM.
// See docs/FAKE_HSS.md.
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "fake_hss/server.hpp"

namespace {

constexpr std::string_view usage =
    "usage: hss-fake [--port N] [--dir DIR] [--token T | --token-file F | --any-auth]\n"
    "                [--projects p1,p2] [--eps a,b] [--jobs N] [--seed S]\n"
    "                [--churn] [--churn-interval 2s] [--latency 50ms] [--prerender]\n";

struct args {
  std::uint16_t port = 18443;
  std::string dir = "/tmp/hss-fake";
  std::optional<std::string> token, token_file;
  bool any_auth = false;
  std::vector<std::string> projects{"p1"};
  std::vector<std::string> eps{"0"};
  std::size_t jobs = 50;
  std::uint64_t seed = 1;
  bool churn = false;
  std::chrono::milliseconds churn_interval{2000};
  std::chrono::milliseconds latency{0};
  bool prerender = false;
};

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    if (auto part = s.substr(0, comma); !part.empty()) out.emplace_back(part);
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
  }
  return out;
}

template <class Int>
std::optional<Int> to_int(std::string_view s) {
  Int v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "500ms", "2s", "1m"; a bare number is milliseconds.
std::optional<std::chrono::milliseconds> to_duration(std::string_view s) {
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  auto n = to_int<std::int64_t>(s.substr(0, digits));
  if (!n) return std::nullopt;
  const std::string_view unit = s.substr(digits);
  if (unit.empty() || unit == "ms") return std::chrono::milliseconds(*n);
  if (unit == "s") return std::chrono::seconds(*n);
  if (unit == "m") return std::chrono::minutes(*n);
  return std::nullopt;
}

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// Fills `a`; returns an error message, or "" when the arguments are fine.
std::string parse(int argc, char** argv, args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view opt = argv[i];
    if (opt == "--churn") {
      a.churn = true;
      continue;
    }
    if (opt == "--any-auth") {
      a.any_auth = true;
      continue;
    }
    if (opt == "--prerender") {
      a.prerender = true;
      continue;
    }
    if (opt == "--help" || opt == "-h") return "help";
    constexpr std::string_view with_value[] = {
        "--port", "--dir",  "--token", "--token-file",     "--projects",
        "--eps",  "--jobs", "--seed",  "--churn-interval", "--latency"};
    if (std::find(std::begin(with_value), std::end(with_value), opt) == std::end(with_value))
      return "unknown option " + std::string(opt);
    if (i + 1 >= argc) return std::string(opt) + " needs a value";
    const std::string_view v = argv[++i];
    bool ok = true;
    if (opt == "--port") {
      auto p = to_int<std::uint16_t>(v);
      ok = p.has_value();
      if (ok) a.port = *p;
    } else if (opt == "--dir") {
      a.dir = v;
    } else if (opt == "--token") {
      a.token = std::string(v);
    } else if (opt == "--token-file") {
      a.token_file = std::string(v);
    } else if (opt == "--projects") {
      a.projects = split(v);
      ok = !a.projects.empty();
    } else if (opt == "--eps") {
      a.eps = split(v);
      ok = !a.eps.empty();
    } else if (opt == "--jobs") {
      auto n = to_int<std::size_t>(v);
      ok = n.has_value();
      if (ok) a.jobs = *n;
    } else if (opt == "--seed") {
      auto n = to_int<std::uint64_t>(v);
      ok = n.has_value();
      if (ok) a.seed = *n;
    } else if (opt == "--churn-interval" || opt == "--latency") {
      auto d = to_duration(v);
      ok = d.has_value() && (opt == "--latency" || d->count() > 0);
      if (ok) (opt == "--latency" ? a.latency : a.churn_interval) = *d;
    } else {
      return "unknown option " + std::string(opt);
    }
    if (!ok) return "bad value for " + std::string(opt) + ": " + std::string(v);
  }
  return {};
}

std::optional<std::string> read_token(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return trim(ss.str());
}

}  // namespace

int main(int argc, char** argv) {
  args a;
  if (const std::string err = parse(argc, argv, a); !err.empty()) {
    if (err != "help") std::cerr << "hss-fake: " << err << "\n";
    std::cerr << usage;
    return err == "help" ? 0 : 2;
  }
  fake_hss::server::options o;
  o.port = a.port;
  o.state_dir = a.dir;
  o.accept_any_auth = a.any_auth;
  o.latency = a.latency;
  o.prerender = a.prerender;
  o.request_log_limit = 10'000;  // nobody reads it here; bound the memory
  if (a.token) o.token = *a.token;
  if (a.token_file) {
    auto t = read_token(*a.token_file);
    if (!t) {
      std::cerr << "hss-fake: cannot read " << *a.token_file << "\n";
      return 1;
    }
    o.token = *t;
  }
  auto log_mutex = std::make_shared<std::mutex>();
  o.log = [log_mutex](std::string_view line) {
    std::lock_guard lock(*log_mutex);
    std::cerr << line << std::endl;
  };
  // Signals are caught from here on, so a SIGTERM during a long populate
  // still ends in a clean exit 0.
  boost::asio::io_context signals_ctx;
  boost::asio::signal_set signals(signals_ctx, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code&, int) {});
  try {
    fake_hss::server srv(o);
    for (const auto& project : a.projects)
      for (const auto& eps : a.eps) srv.populate(project, eps, a.jobs, a.seed);
    if (a.churn) srv.start_churn({.interval = a.churn_interval, .seed = a.seed});
    std::cout << "listening " << srv.endpoint() << " ca=" << srv.ca_file() << std::endl;
    signals_ctx.run();
    srv.stop_churn();
  } catch (const std::exception& e) {
    std::cerr << "hss-fake: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
