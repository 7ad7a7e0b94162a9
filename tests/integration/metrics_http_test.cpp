// The metrics HTTP server under idle and half-open connections (issue #12
// item 9): the server runs in-process on its own io_context thread, the
// clients are plain TCP sockets on 127.0.0.1. A scraper must get its answer
// whatever idle connections are open, and idle ones must not stay forever.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/log_capture.hpp"
#include "metrics/http_server.hpp"

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
namespace asio = boost::asio;
using hssjw::metrics::http_limits;
using hssjw::metrics::http_reply;
using hssjw::metrics::http_server;

// The server on a thread of its own; the test only talks TCP to it.
class running_server {
 public:
  explicit running_server(http_limits limits = {}) {
    auto log = hssjw::test::quiet_logger();
    auto opened = http_server::open(
        ioc_, "127.0.0.1:0",
        [](std::string_view path) {
          return http_reply{200, "text/plain", "path " + std::string(path) + "\n"};
        },
        log, limits);
    if (!opened) throw std::runtime_error(opened.error().message());
    server_ = std::move(*opened);
    server_->start();
    port_ = server_->port();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~running_server() {
    asio::post(ioc_, [this] { server_->stop(); });
    work_.reset();
    ioc_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::size_t connections() {
    std::promise<std::size_t> p;
    asio::post(ioc_, [&] { p.set_value(server_->connections()); });
    return p.get_future().get();
  }

 private:
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(ioc_);
  std::unique_ptr<http_server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

struct fd_guard {
  int fd = -1;
  explicit fd_guard(int f) : fd(f) {}
  fd_guard(fd_guard&& o) noexcept : fd(o.fd) { o.fd = -1; }
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

fd_guard connect_to(std::uint16_t port) {
  fd_guard s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
  return s;
}

void send_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const auto n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << std::strerror(errno);
    done += static_cast<std::size_t>(n);
  }
}

// Everything the peer sends until it closes or `deadline` passes; `closed`
// tells which.
std::string read_until_closed(int fd, std::chrono::milliseconds deadline, bool& closed) {
  std::string out;
  closed = false;
  const auto end = steady::now() + deadline;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(end - steady::now()).count();
    if (left <= 0) return out;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) != 1) return out;
    char buf[4096];
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      closed = true;
      return out;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

const std::string full_get =
    "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
const std::string half_head = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";

// 100 connections that send nothing or half a request head, then a
// scraper: it is answered at once (idle ones make room), with the
// defaults the daemon runs with.
TEST(metrics_http, a_scrape_is_answered_whatever_idle_connections_are_open) {
  running_server server;
  std::vector<fd_guard> idle;
  for (int i = 0; i < 100; ++i) {
    idle.push_back(connect_to(server.port()));
    if (i % 3 == 0) send_all(idle.back().fd, half_head);
  }
  std::this_thread::sleep_for(300ms);  // every one accepted and waiting for its head
  for (int round = 0; round < 3; ++round) {
    const auto started = steady::now();
    auto scraper = connect_to(server.port());
    send_all(scraper.fd, full_get);
    bool closed = false;
    const auto answer = read_until_closed(scraper.fd, 2s, closed);
    EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << "round " << round << ": '" << answer << "'";
    EXPECT_NE(answer.find("path /metrics"), std::string::npos) << answer;
    EXPECT_TRUE(closed);
    EXPECT_LT(steady::now() - started, 2s);
  }
  EXPECT_LE(server.connections(), http_limits{}.max_connections);
  EXPECT_GE(http_limits{}.max_connections, 64u) << "room for more than one scraper";
}

// Idle and half-sent heads are closed after the head timeout; a kept-alive
// connection after the (shorter) idle timeout.
TEST(metrics_http, idle_connections_are_closed_after_the_head_timeout) {
  http_limits limits;
  limits.head_timeout = 1500ms;
  limits.idle_timeout = 500ms;
  running_server server(limits);
  std::vector<fd_guard> idle;
  for (int i = 0; i < 10; ++i) {
    idle.push_back(connect_to(server.port()));
    if (i % 2 == 0) send_all(idle.back().fd, half_head);
  }
  // A head trickled a byte at a time is bounded by the same deadline.
  auto trickle = connect_to(server.port());
  auto kept = connect_to(server.port());
  send_all(kept.fd, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
  const auto started = steady::now();
  std::string kept_answer;
  bool kept_closed = false;
  std::thread trickler([&] {
    for (std::size_t i = 0; i < full_get.size() && steady::now() - started < 4s; ++i) {
      if (::send(trickle.fd, full_get.data() + i, 1, MSG_NOSIGNAL) != 1) break;
      std::this_thread::sleep_for(200ms);
    }
  });
  kept_answer = read_until_closed(kept.fd, 5s, kept_closed);
  const auto kept_after = steady::now() - started;
  EXPECT_EQ(kept_answer.rfind("HTTP/1.1 200", 0), 0u) << kept_answer;
  EXPECT_TRUE(kept_closed) << "a kept-alive connection with no next request is closed";
  EXPECT_LT(kept_after, 1400ms) << "after the idle timeout, not the head timeout";
  for (auto& c : idle) {
    bool closed = false;
    const auto got = read_until_closed(c.fd, 4s, closed);
    EXPECT_TRUE(closed) << "an idle connection stays open";
    EXPECT_EQ(got, "") << "nothing is answered to half a head";
  }
  bool closed = false;
  read_until_closed(trickle.fd, 4s, closed);
  EXPECT_TRUE(closed) << "a trickled head outlives the head timeout";
  const auto waited = steady::now() - started;
  EXPECT_GE(waited, 1400ms);
  EXPECT_LT(waited, 3500ms);
  trickler.join();
  EXPECT_EQ(server.connections(), 0u);
}

}  // namespace
