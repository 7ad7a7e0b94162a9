// The daemon (real process, --once, --check-config --probe) reaching the
// fake HSS through an HTTP CONNECT proxy: configured with `proxy:` and from
// HTTPS_PROXY with basic auth in the URL (the password never appears in the
// daemon's output, not even when the proxy refuses it), TLS verified inside
// the tunnel (a wrong CA fails although the tunnel is up), NO_PROXY
// bypassing the proxy, IAM logins taking the same proxy decision as HSS
// requests, a refusal reported with the proxy's status and reason, and a
// host that does not resolve named in the error.
//
// The proxy is test-local: a few dozen lines of Asio on its own thread,
// counting tunnels and recording the Proxy-Authorization it receives.
#include <gtest/gtest.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "common/daemon_fixture.hpp"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using namespace hssjw::test;

constexpr auto as_value = asio::as_tuple(asio::use_awaitable);

class connect_proxy {
 public:
  // `expected_auth`: the Proxy-Authorization value required ("" = none).
  explicit connect_proxy(std::string expected_auth = {})
      : expected_auth_(std::move(expected_auth)),
        acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~connect_proxy() {
    ioc_.stop();
    thread_.join();
  }

  std::string url(const std::string& userinfo = {}) const {
    return "http://" + (userinfo.empty() ? "" : userinfo + "@") +
           "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  std::vector<std::string> targets() const {
    std::lock_guard lock(mutex_);
    return targets_;
  }
  std::vector<std::string> authorizations() const {
    std::lock_guard lock(mutex_);
    return authorizations_;
  }
  // Refuse every CONNECT with this status line ("403 Forbidden").
  void refuse_all(std::string status) {
    std::lock_guard lock(mutex_);
    refuse_all_ = std::move(status);
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor_.async_accept(as_value);
      if (ec) co_return;
      asio::co_spawn(ioc_, session(std::move(sock)), asio::detached);
    }
  }

  static asio::awaitable<void> pipe(tcp::socket& from, tcp::socket& to) {
    std::array<char, 16384> buf;
    for (;;) {
      auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), as_value);
      if (ec) break;
      if (auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf, n), as_value); wec)
        break;
    }
    boost::system::error_code ignored;
    to.shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> session(tcp::socket client) {
    boost::beast::flat_buffer buffer;
    http::request<http::empty_body> req;
    if (auto [ec, n] = co_await http::async_read(client, buffer, req, as_value); ec) co_return;
    const auto auth = req.find(http::field::proxy_authorization);
    const std::string got = auth == req.end() ? "" : std::string(auth->value());
    std::string refusal;
    {
      std::lock_guard lock(mutex_);
      targets_.emplace_back(req.target());
      authorizations_.push_back(got);
      refusal = refuse_all_;
    }
    if (refusal.empty() && (req.method() != http::verb::connect || got != expected_auth_))
      refusal = "407 Proxy Authentication Required";
    if (!refusal.empty()) {
      const std::string no = "HTTP/1.1 " + refusal +
                             "\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n";
      co_await asio::async_write(client, asio::buffer(no), as_value);
      co_return;
    }
    const std::string target(req.target());
    const auto port = static_cast<std::uint16_t>(std::stoi(target.substr(target.rfind(':') + 1)));
    tcp::socket upstream(ioc_);
    auto [cec] =
        co_await upstream.async_connect({asio::ip::make_address("127.0.0.1"), port}, as_value);
    if (cec) co_return;
    const std::string ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    if (auto [wec, wn] = co_await asio::async_write(client, asio::buffer(ok), as_value); wec)
      co_return;
    co_await (pipe(client, upstream) && pipe(upstream, client));
  }

  std::string expected_auth_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::string> targets_;
  std::vector<std::string> authorizations_;
  std::string refuse_all_;
};

// base64("jobwatch:pr0xy-s3cret")
constexpr const char* user = "jobwatch";
constexpr const char* password = "pr0xy-s3cret";
constexpr const char* basic = "Basic am9id2F0Y2g6cHIweHktczNjcmV0";

// 30 jobs in pages of 10, debug logging (a leaked password would show).
struct proxy_e2e : daemon_fixture {
  proxy_e2e() {
    fake.populate("p1", "0", 30, 5);
    cfg.poll =
        "rate: unlimited, page_size: 10, timeout: 5s, retry: {attempts: 1, initial: 10ms, max: "
        "20ms}";
  }

  // `proxy_line` is a whole proxy: line or nothing; `ca_file` "" = the fake's.
  void write_config(const std::string& proxy_line, const std::string& ca_file = {}) {
    cfg.ca_file = ca_file;
    cfg.extra = "log: {level: debug}\n" + proxy_line;
    daemon_fixture::write_config();
  }

  process_result once(std::map<std::string, std::string> env = {}) {
    return run({"--once"}, std::move(env));
  }
  process_result probe(std::map<std::string, std::string> env = {}) {
    return run({"--check-config", "--probe"}, std::move(env));
  }
  // Without the proxy variables of the environment the test runs in.
  process_result run(const std::vector<std::string>& args, std::map<std::string, std::string> env) {
    for (const char* name : {"HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"})
      env.try_emplace(name, "");
    return run_daemon(args, std::chrono::seconds(60), env);
  }

  std::string fake_authority() const { return "localhost:" + std::to_string(fake.port()); }

  // Password auth with IAM at 127.0.0.1 (the fake serves it too; its
  // certificate names both), so that a CONNECT for IAM and one for HSS
  // (localhost) are told apart by their targets.
  std::string iam_authority() const { return "127.0.0.1:" + std::to_string(fake.port()); }
  void write_password_config(const std::string& proxy_line = {}) {
    fake.add_iam_user("acct", "jobwatch-bot", "iam-pa55word");
    dir.write("password", "iam-pa55word\n");
    cfg.auth = "{method: password, iam_endpoint: https://" + iam_authority() +
               ", domain: acct, user: jobwatch-bot, password_file: password}";
    write_config(proxy_line);
    fake.set_auth_mode(fake_hss::auth_mode::iam);
  }
};

TEST_F(proxy_e2e, config_proxy_tunnels_every_request) {
  connect_proxy proxy;
  write_config("proxy: " + proxy.url() + "\n");
  auto r = once();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_ndjson(r.out).size(), 30u);
  const auto targets = proxy.targets();
  ASSERT_FALSE(targets.empty());
  for (const auto& t : targets) EXPECT_EQ(t, fake_authority());
  EXPECT_GE(fake.requests().size(), 3u);  // 30 jobs in pages of 10
}

TEST_F(proxy_e2e, https_proxy_with_basic_auth_never_shows_the_password) {
  connect_proxy proxy(basic);
  write_config("");
  auto r = once({{"HTTPS_PROXY", proxy.url(std::string(user) + ":" + password)}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_ndjson(r.out).size(), 30u);
  const auto auths = proxy.authorizations();
  ASSERT_FALSE(auths.empty());
  for (const auto& a : auths) EXPECT_EQ(a, basic);
  for (const std::string& secret : {std::string(password), std::string(basic).substr(6)}) {
    EXPECT_EQ(r.out.find(secret), std::string::npos);
    EXPECT_EQ(r.err.find(secret), std::string::npos) << r.err;
  }
}

TEST_F(proxy_e2e, refused_proxy_credentials_fail_without_showing_them) {
  connect_proxy proxy(basic);
  write_config("proxy: " + proxy.url(std::string(user) + ":wr0ng-pw") + "\n");
  auto r = once();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(parse_ndjson(r.out).empty());
  EXPECT_FALSE(proxy.authorizations().empty());
  EXPECT_TRUE(fake.requests().empty());
  EXPECT_EQ(r.err.find("wr0ng-pw"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("wr0ng-pw"), std::string::npos);
  EXPECT_NE(r.err.find("offset 0"), std::string::npos) << r.err;  // the failure is logged
}

TEST_F(proxy_e2e, tls_is_verified_inside_the_tunnel) {
  connect_proxy proxy;
  fake_hss::server other;  // another CA: it never signed the fake's certificate
  write_config("proxy: " + proxy.url() + "\n", other.ca_file());
  auto r = once();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(parse_ndjson(r.out).empty());
  EXPECT_FALSE(proxy.targets().empty()) << "the tunnel was never asked for";
  EXPECT_TRUE(fake.requests().empty()) << "a request went through an unverified tunnel";
  EXPECT_NE(r.err.find("certificate verify failed"), std::string::npos) << r.err;
}

TEST_F(proxy_e2e, no_proxy_bypasses_the_proxy) {
  connect_proxy proxy;
  write_config("");
  auto r = once({{"HTTPS_PROXY", proxy.url()}, {"NO_PROXY", "example.com, .localhost,localhost"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_ndjson(r.out).size(), 30u);
  EXPECT_TRUE(proxy.targets().empty());
  // The same with a NO_PROXY that does not match: through the proxy.
  r = once({{"HTTPS_PROXY", proxy.url()}, {"NO_PROXY", "example.com"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(proxy.targets().empty());
}

// Issue #12: HTTPS_PROXY/NO_PROXY applied to HSS requests but not to IAM
// logins, which went direct (and failed where only the proxy gets out).
TEST_F(proxy_e2e, iam_logins_take_the_same_proxy_decision_as_hss_requests) {
  connect_proxy proxy;
  write_password_config();
  // NO_PROXY exempts HSS (localhost) only: every CONNECT is then a login's.
  auto r = once({{"HTTPS_PROXY", proxy.url()}, {"NO_PROXY", "localhost"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_ndjson(r.out).size(), 30u);
  EXPECT_GE(fake.issued_tokens().size(), 1u);
  const auto targets = proxy.targets();
  ASSERT_FALSE(targets.empty()) << "the IAM login did not use HTTPS_PROXY";
  for (const auto& t : targets) EXPECT_EQ(t, iam_authority());

  // And NO_PROXY exempts IAM the same way: nothing through the proxy.
  auto direct = once({{"HTTPS_PROXY", proxy.url()}, {"NO_PROXY", "localhost,127.0.0.1"}});
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  EXPECT_EQ(proxy.targets().size(), targets.size());
}

TEST_F(proxy_e2e, probe_logs_in_through_https_proxy_too) {
  connect_proxy proxy;
  write_password_config();
  auto p = probe({{"HTTPS_PROXY", proxy.url()}});
  EXPECT_EQ(p.exit_code, 0) << p.out << p.err;
  EXPECT_NE(p.out.find("http status: 200"), std::string::npos) << p.out;
  std::set<std::string> targets;
  for (const auto& t : proxy.targets()) targets.insert(t);
  EXPECT_EQ(targets, (std::set<std::string>{iam_authority(), fake_authority()}));
}

// Issue #12: a refusing proxy was reported as "Connection refused".
TEST_F(proxy_e2e, a_refused_connect_names_the_status_and_reason) {
  connect_proxy proxy;
  proxy.refuse_all("403 Forbidden");
  write_config("");
  auto r = once({{"HTTPS_PROXY", proxy.url()}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("proxy CONNECT to " + fake_authority() + " refused: 403 Forbidden"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(fake.requests().empty());
  auto p = probe({{"HTTPS_PROXY", proxy.url()}});
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_NE(p.out.find("error: proxy CONNECT to " + fake_authority() + " refused: 403 Forbidden"),
            std::string::npos)
      << p.out;
}

TEST_F(proxy_e2e, a_refused_login_connect_names_407_without_the_password) {
  connect_proxy proxy(basic);
  write_password_config();
  auto r = once(
      {{"HTTPS_PROXY", proxy.url(std::string(user) + ":wr0ng-pw")}, {"NO_PROXY", "localhost"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("proxy CONNECT to " + iam_authority() +
                       " refused: 407 Proxy Authentication Required"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("wr0ng-pw"), std::string::npos);
  EXPECT_EQ(fake.login_attempts(), 0u);
}

// Issue #12: the probe said "Host not found" without the host.
TEST_F(proxy_e2e, probe_names_the_host_it_cannot_resolve) {
  cfg.endpoint = "https://hss.xx.nonexistent.invalid";
  write_config("");
  auto p = probe();
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_NE(p.out.find("error: cannot resolve host hss.xx.nonexistent.invalid: "),
            std::string::npos)
      << p.out;
}

}  // namespace
