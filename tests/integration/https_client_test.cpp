// https_client against real TLS on 127.0.0.1: verification (chain, host
// name, IP literals), keep-alive reuse and the pool cap, concurrency,
// deadlines, cancellation, body limits, error statuses, idle connections the
// server closed, plain http only when allowed, and the CONNECT proxy.
//
// The server here is test-local (a few dozen lines of Beast) rather than
// the fake HSS: these tests need behaviours no HSS has (certificates for
// other names, a second CA, a TLS handshake that never starts, counting
// TCP connections, a CONNECT proxy). Certificates are made at start with
// the openssl CLI, so none can expire in the tree.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/temp_dir.hpp"
#include "core/error.hpp"
#include "core/version.hpp"
#include "fake_hss/server.hpp"
#include "hss/client.hpp"
#include "hss/http.hpp"

namespace hssjw {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

constexpr auto as_value = asio::as_tuple(asio::use_awaitable);
// Generous: only a hang should ever reach it.
constexpr auto test_deadline = 20s;

// --- certificates ------------------------------------------------------------

struct pki {
  std::filesystem::path dir;
  std::string ca;          // signs both leaf certificates
  std::string other_ca;    // trusts nothing we serve
  std::string local_cert;  // DNS:localhost, IP:127.0.0.1
  std::string local_key;
  std::string other_cert;  // DNS:other.example only
  std::string other_key;
};

void run_shell(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
}

pki make_pki(const std::string& where) {
  pki p;
  p.dir = where;
  const std::string cd = "cd '" + where + "' && ";
  const std::string quiet = " >/dev/null 2>&1";
  const std::string ec_key = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ";
  for (std::string ca : {"ca", "other-ca"})
    run_shell(cd + "openssl req -x509" + ec_key + "-keyout " + ca + ".key -out " + ca +
              ".pem -days 2 -subj /CN=" + ca +
              " -addext basicConstraints=critical,CA:TRUE"
              " -addext keyUsage=critical,keyCertSign,cRLSign" +
              quiet);
  const auto leaf = [&](const std::string& name, const std::string& san) {
    std::ofstream(p.dir / (name + ".ext"))
        << "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
           "extendedKeyUsage=serverAuth\nsubjectAltName="
        << san << "\n";
    run_shell(cd + "openssl req" + ec_key + "-keyout " + name + ".key -out " + name +
              ".csr -subj /CN=" + name + quiet);
    run_shell(cd + "openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key" +
              " -CAcreateserial -days 2 -out " + name + ".pem -extfile " + name + ".ext" + quiet);
  };
  leaf("local", "DNS:localhost,IP:127.0.0.1");
  leaf("other", "DNS:other.example");
  p.ca = (p.dir / "ca.pem").string();
  p.other_ca = (p.dir / "other-ca.pem").string();
  p.local_cert = (p.dir / "local.pem").string();
  p.local_key = (p.dir / "local.key").string();
  p.other_cert = (p.dir / "other.pem").string();
  p.other_key = (p.dir / "other.key").string();
  return p;
}

// Made once for every test here; the directory goes when the program ends.
const pki& certs() {
  static const test::temp_dir dir;
  static const pki p = make_pki(dir.path());
  return p;
}

// --- a small HTTP(S) server on the test's io_context --------------------------

struct reply {
  enum class action { respond, stall, close_after };
  unsigned status = 200;
  std::string body = R"({"ok":true})";
  std::vector<std::pair<std::string, std::string>> headers;
  action act = action::respond;
  std::chrono::milliseconds delay{0};
  bool chunked = false;
  // Raw bytes after the response (a second answer nobody asked for),
  // `trailing_after` later; the connection stays open.
  std::string trailing;
  std::chrono::milliseconds trailing_after{0};
};

class test_server {
 public:
  struct options {
    bool tls = true;
    bool handshake = true;  // false: accept TCP, then never speak
    std::string cert = certs().local_cert;
    std::string key = certs().local_key;
  };
  using handler_fn = std::function<reply(const http::request<http::string_body>&)>;

  test_server(asio::io_context& ioc, options o)
      : opts_(std::move(o)), acceptor_(ioc, {asio::ip::make_address("127.0.0.1"), 0}) {
    tls_.use_certificate_chain_file(opts_.cert);
    tls_.use_private_key_file(opts_.key, ssl::context::pem);
    asio::co_spawn(ioc, accept_loop(this), asio::detached);
  }
  explicit test_server(asio::io_context& ioc) : test_server(ioc, options{}) {}

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url(std::string host = "localhost") const {
    return (opts_.tls ? "https://" : "http://") + host + ':' + std::to_string(port());
  }

  handler_fn handler = [](const auto&) { return reply{}; };
  int connections = 0;
  std::vector<http::request<http::string_body>> seen;

 private:
  static asio::awaitable<void> accept_loop(test_server* s) {
    for (;;) {
      auto [ec, sock] = co_await s->acceptor_.async_accept(as_value);
      if (ec) co_return;
      ++s->connections;
      asio::co_spawn(s->acceptor_.get_executor(), session(s, std::move(sock)), asio::detached);
    }
  }

  static asio::awaitable<void> session(test_server* s, tcp::socket sock) {
    if (!s->opts_.tls) co_return co_await serve(s, sock);
    ssl::stream<tcp::socket> stream(std::move(sock), s->tls_);
    if (!s->opts_.handshake) co_return co_await sleep(1h);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, as_value);
    if (!ec) co_await serve(s, stream);
  }

  static asio::awaitable<void> sleep(std::chrono::steady_clock::duration d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(as_value);
  }

  template <class Stream>
  static asio::awaitable<void> serve(test_server* s, Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, as_value);
      if (ec) co_return;
      s->seen.push_back(req);
      const reply r = s->handler(req);
      if (r.delay > 0ms) co_await sleep(r.delay);
      if (r.act == reply::action::stall) co_return co_await sleep(1h);
      http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
      for (const auto& [k, v] : r.headers) res.insert(k, v);
      res.body() = r.body;
      res.chunked(r.chunked);
      res.prepare_payload();
      res.keep_alive(res.keep_alive() && req.keep_alive());
      if (auto [wec, wn] = co_await http::async_write(stream, res, as_value); wec) co_return;
      if (!r.trailing.empty()) {
        if (r.trailing_after > 0ms) co_await sleep(r.trailing_after);
        if (auto [tec, tn] = co_await asio::async_write(stream, asio::buffer(r.trailing), as_value);
            tec)
          co_return;
      }
      // close_after: like a load balancer's idle timeout, the socket just
      // goes away without Connection: close.
      if (r.act == reply::action::close_after || !res.keep_alive()) co_return;
    }
  }

  options opts_;
  ssl::context tls_{ssl::context::tls_server};
  tcp::acceptor acceptor_;
};

// --- a CONNECT proxy ----------------------------------------------------------

class test_proxy {
 public:
  explicit test_proxy(asio::io_context& ioc, std::string expected_auth = {})
      : expected_auth_(std::move(expected_auth)),
        acceptor_(ioc, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(ioc, accept_loop(this), asio::detached);
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  std::vector<std::string> targets;         // CONNECT request targets
  std::vector<std::string> authorizations;  // Proxy-Authorization as received
  // The answer to a CONNECT it refuses (wrong credentials, or every one
  // when `refuse_all`), reason phrase as given.
  std::string refusal = "407 Proxy Authentication Required";
  bool refuse_all = false;

 private:
  static asio::awaitable<void> accept_loop(test_proxy* p) {
    for (;;) {
      auto [ec, sock] = co_await p->acceptor_.async_accept(as_value);
      if (ec) co_return;
      asio::co_spawn(p->acceptor_.get_executor(), session(p, std::move(sock)), asio::detached);
    }
  }

  static asio::awaitable<void> pipe(tcp::socket& from, tcp::socket& to) {
    std::array<char, 16384> buf;
    for (;;) {
      auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), as_value);
      if (ec) co_return;
      auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf, n), as_value);
      if (wec) co_return;
    }
  }

  static asio::awaitable<void> session(test_proxy* p, tcp::socket client) {
    beast::flat_buffer buffer;
    http::request<http::empty_body> req;
    if (auto [ec, n] = co_await http::async_read(client, buffer, req, as_value); ec) co_return;
    p->targets.emplace_back(req.target());
    const auto auth = req.find(http::field::proxy_authorization);
    p->authorizations.emplace_back(auth == req.end() ? "" : std::string(auth->value()));
    const bool allowed = p->expected_auth_.empty() || p->authorizations.back() == p->expected_auth_;
    if (req.method() != http::verb::connect || !allowed || p->refuse_all) {
      const std::string no = "HTTP/1.1 " + p->refusal +
                             "\r\nProxy-Authenticate: Basic realm=\"t\"\r\n"
                             "Content-Length: 0\r\nConnection: close\r\n\r\n";
      co_await asio::async_write(client, asio::buffer(no), as_value);
      co_return;
    }
    const std::string target(req.target());
    const auto port = static_cast<std::uint16_t>(std::stoi(target.substr(target.rfind(':') + 1)));
    tcp::socket upstream(client.get_executor());
    auto [cec] =
        co_await upstream.async_connect({asio::ip::make_address("127.0.0.1"), port}, as_value);
    if (cec) co_return;
    const std::string ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    if (auto [wec, wn] = co_await asio::async_write(client, asio::buffer(ok), as_value); wec)
      co_return;
    co_await (pipe(client, upstream) || pipe(upstream, client));
  }

  std::string expected_auth_;
  tcp::acceptor acceptor_;
};

// --- driving the client --------------------------------------------------------

client_options options_for(const std::string& endpoint) {
  client_options o;
  o.endpoint = endpoint;
  o.ca_file = certs().ca;
  o.timeout = 5s;
  return o;
}

http_request get(std::string target = "/v5/p1/kubernetes/jobs?limit=200") {
  http_request r;
  r.target = std::move(target);
  return r;
}

class https_client_test : public ::testing::Test {
 protected:
  // Runs the request to completion (or fails the test at the deadline).
  result<http_response> send(https_client& c, http_request req = get()) {
    std::optional<result<http_response>> out;
    asio::co_spawn(ioc, c.async_request(std::move(req)),
                   [&](std::exception_ptr e, result<http_response> r) {
                     if (e)
                       ADD_FAILURE() << "request threw";
                     else
                       out = std::move(r);
                     ioc.stop();
                   });
    run();
    if (!out) return make_error_code(errc::cancelled);  // already reported by run()
    return std::move(*out);
  }

  // Starts n requests at once and waits for all of them.
  std::vector<result<http_response>> send_concurrently(https_client& c, int n) {
    std::vector<result<http_response>> out;
    for (int i = 0; i < n; ++i)
      asio::co_spawn(ioc, c.async_request(get()),
                     [&, n](std::exception_ptr e, result<http_response> r) {
                       if (e)
                         ADD_FAILURE() << "request threw";
                       else
                         out.push_back(std::move(r));
                       if (static_cast<int>(out.size()) == n) ioc.stop();
                     });
    run();
    return out;
  }

  // Sends a request and emits `type` on its cancellation slot after `after`.
  result<http_response> send_and_cancel(https_client& c, std::chrono::milliseconds after,
                                        asio::cancellation_type type) {
    asio::cancellation_signal signal;
    std::optional<result<http_response>> out;
    asio::co_spawn(ioc, c.async_request(get()),
                   asio::bind_cancellation_slot(signal.slot(),
                                                [&](std::exception_ptr e, result<http_response> r) {
                                                  if (e)
                                                    ADD_FAILURE() << "request threw";
                                                  else
                                                    out = std::move(r);
                                                  ioc.stop();
                                                }));
    asio::steady_timer timer(ioc, after);
    timer.async_wait([&](error_code) { signal.emit(type); });
    run();
    if (!out) return make_error_code(errc::cancelled);
    return std::move(*out);
  }

  void run() {
    ioc.restart();
    const auto start = std::chrono::steady_clock::now();
    ioc.run_for(test_deadline);
    EXPECT_LT(std::chrono::steady_clock::now() - start, test_deadline) << "did not finish";
  }

  static std::chrono::milliseconds elapsed_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t);
  }

  asio::io_context ioc;
};

// --- verification ------------------------------------------------------------------

TEST_F(https_client_test, good_get_with_verification) {
  test_server srv(ioc);
  srv.handler = [](const auto&) {
    reply r;
    r.body = R"({"total_num":0,"job_info_list":[]})";
    r.headers = {{"x-request-id", "req-42"},
                 {"Content-Type", "application/json;charset=UTF-8"},
                 {"Date", "Tue, 01 Jul 2025 10:00:00 GMT"}};
    return r;
  };
  https_client client(ioc.get_executor(), options_for(srv.url()));
  EXPECT_EQ(client.host_header(), "localhost:" + std::to_string(srv.port()));

  auto r = send(client);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, R"({"total_num":0,"job_info_list":[]})");
  EXPECT_EQ(r->request_id, "req-42");  // header names are case-insensitive
  EXPECT_EQ(r->content_type, "application/json;charset=UTF-8");
  EXPECT_EQ(r->date, "Tue, 01 Jul 2025 10:00:00 GMT");
  EXPECT_EQ(r->retry_after, "");
  EXPECT_GE(r->latency.count(), 0);

  ASSERT_EQ(srv.seen.size(), 1u);
  const auto& req = srv.seen[0];
  EXPECT_EQ(req.method(), http::verb::get);
  EXPECT_EQ(req.target(), "/v5/p1/kubernetes/jobs?limit=200");
  EXPECT_EQ(req[http::field::host], client.host_header());
  EXPECT_EQ(req[http::field::user_agent], user_agent);
  EXPECT_EQ(req[http::field::accept], "application/json");
  EXPECT_TRUE(req.keep_alive());
}

TEST_F(https_client_test, caller_headers_are_sent_and_not_duplicated) {
  test_server srv(ioc);
  https_client client(ioc.get_executor(), options_for(srv.url()));
  auto req = get();
  req.headers = {{"host", "signed.example:443"},
                 {"User-Agent", "custom/1"},
                 {"X-Auth-Token", "tok"},
                 {"Content-Type", "application/json"}};
  auto r = send(client, req);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(srv.seen.size(), 1u);
  const auto& seen = srv.seen[0];
  EXPECT_EQ(seen.count(http::field::host), 1u);
  EXPECT_EQ(seen[http::field::host], "signed.example:443");
  EXPECT_EQ(seen.count(http::field::user_agent), 1u);
  EXPECT_EQ(seen[http::field::user_agent], "custom/1");
  EXPECT_EQ(seen["X-Auth-Token"], "tok");
}

TEST_F(https_client_test, post_body_is_sent_with_length) {
  test_server srv(ioc);
  srv.handler = [](const auto& req) {
    reply r;
    r.status = 201;
    r.body = req.body();
    return r;
  };
  https_client client(ioc.get_executor(), options_for(srv.url()));
  http_request req;
  req.method = "POST";
  req.target = "/v3/auth/tokens";
  req.body = R"({"auth":{}})";
  auto r = send(client, req);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 201u);
  EXPECT_EQ(r->body, R"({"auth":{}})");
  ASSERT_EQ(srv.seen.size(), 1u);
  EXPECT_EQ(srv.seen[0][http::field::content_length], "11");
}

TEST_F(https_client_test, header_injection_is_refused) {
  test_server srv(ioc);
  https_client client(ioc.get_executor(), options_for(srv.url()));
  auto req = get();
  req.headers = {{"X-Evil", "a\r\nInjected: yes"}};
  auto r = send(client, req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), boost::system::errc::invalid_argument);
  auto bad_target = send(client, get("/x HTTP/1.1\r\nHost: y"));
  ASSERT_FALSE(bad_target);
  EXPECT_TRUE(srv.seen.empty());
}

TEST_F(https_client_test, wrong_ca_fails_verification) {
  test_server srv(ioc);
  auto opts = options_for(srv.url());
  opts.ca_file = certs().other_ca;
  https_client client(ioc.get_executor(), opts);
  auto r = send(client);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("certificate verify failed"), std::string::npos)
      << r.error().message();
  EXPECT_TRUE(srv.seen.empty());
}

TEST_F(https_client_test, system_store_does_not_trust_the_test_ca) {
  test_server srv(ioc);
  auto opts = options_for(srv.url());
  opts.ca_file.clear();
  https_client client(ioc.get_executor(), opts);
  auto r = send(client);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("certificate verify failed"), std::string::npos)
      << r.error().message();
}

TEST_F(https_client_test, certificate_for_another_name_is_refused) {
  test_server::options so;
  so.cert = certs().other_cert;
  so.key = certs().other_key;
  test_server srv(ioc, so);
  for (const std::string host : {"localhost", "127.0.0.1"}) {
    https_client client(ioc.get_executor(), options_for(srv.url(host)));
    auto r = send(client);
    ASSERT_FALSE(r) << host;
    EXPECT_NE(r.error().message().find("certificate verify failed"), std::string::npos)
        << host << ": " << r.error().message();
  }
  EXPECT_TRUE(srv.seen.empty());
}

TEST_F(https_client_test, ip_literal_endpoint_is_verified_against_ip_san) {
  test_server srv(ioc);
  https_client client(ioc.get_executor(), options_for(srv.url("127.0.0.1")));
  EXPECT_EQ(client.host_header(), "127.0.0.1:" + std::to_string(srv.port()));
  auto r = send(client);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200u);
}

TEST_F(https_client_test, unreadable_ca_file_fails_every_request) {
  test_server srv(ioc);
  auto opts = options_for(srv.url());
  opts.ca_file = (certs().dir / "missing.pem").string();
  https_client client(ioc.get_executor(), opts);
  auto r = send(client);
  ASSERT_FALSE(r);
  EXPECT_EQ(srv.connections, 0);
}

// --- endpoints ---------------------------------------------------------------------

TEST_F(https_client_test, plain_http_only_when_allowed) {
  test_server::options so;
  so.tls = false;
  test_server srv(ioc, so);
  {
    https_client client(ioc.get_executor(), options_for(srv.url("127.0.0.1")));
    auto r = send(client);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::config_invalid);
    EXPECT_EQ(srv.connections, 0);
  }
  auto opts = options_for(srv.url("127.0.0.1"));
  opts.allow_insecure_http = true;
  https_client client(ioc.get_executor(), opts);
  auto r = send(client);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(client.host_header(), "127.0.0.1:" + std::to_string(srv.port()));
}

TEST_F(https_client_test, malformed_endpoints_are_config_errors) {
  for (const char* e : {"", "not a url", "ftp://host", "https://", "https://user:pw@host",
                        "https://host/base/path", "https://host?x=1", "https://host:99999"}) {
    https_client client(ioc.get_executor(), options_for(e));
    auto r = send(client);
    ASSERT_FALSE(r) << e;
    EXPECT_EQ(r.error(), errc::config_invalid) << e;
  }
  https_client defaults(ioc.get_executor(), options_for("https://hss.example.com"));
  EXPECT_EQ(defaults.host_header(), "hss.example.com");
}

// --- the pool ------------------------------------------------------------------------

TEST_F(https_client_test, keep_alive_reuses_one_connection) {
  test_server srv(ioc);
  https_client client(ioc.get_executor(), options_for(srv.url()));
  for (int i = 0; i < 3; ++i) {
    auto r = send(client);
    ASSERT_TRUE(r) << r.error().message();
  }
  EXPECT_EQ(srv.connections, 1);
  EXPECT_EQ(srv.seen.size(), 3u);
}

TEST_F(https_client_test, concurrent_requests_use_separate_connections_and_pool_is_capped) {
  test_server srv(ioc);
  srv.handler = [](const auto&) {
    reply r;
    r.delay = 100ms;  // keeps all four in flight together
    return r;
  };
  auto opts = options_for(srv.url());
  opts.max_idle_connections = 2;
  https_client client(ioc.get_executor(), opts);

  auto first = send_concurrently(client, 4);
  ASSERT_EQ(first.size(), 4u);
  for (const auto& r : first) {
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->status, 200u);
  }
  EXPECT_EQ(srv.connections, 4);

  // Two idle connections were kept; four more requests need two new ones.
  auto second = send_concurrently(client, 4);
  for (const auto& r : second) ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(srv.connections, 6);
  EXPECT_EQ(srv.seen.size(), 8u);
}

TEST_F(https_client_test, server_closing_idle_connection_is_retried_transparently) {
  test_server srv(ioc);
  int n = 0;
  srv.handler = [&n](const auto&) {
    reply r;
    if (n++ == 0) r.act = reply::action::close_after;
    return r;
  };
  https_client client(ioc.get_executor(), options_for(srv.url()));
  auto a = send(client);
  ASSERT_TRUE(a) << a.error().message();
  auto b = send(client);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->status, 200u);
  EXPECT_EQ(srv.connections, 2);
  EXPECT_EQ(srv.seen.size(), 2u);  // the stale connection never delivered the retry
}

TEST_F(https_client_test, post_on_closed_idle_connection_is_not_retried) {
  test_server srv(ioc);
  int n = 0;
  srv.handler = [&n](const auto&) {
    reply r;
    if (n++ == 0) r.act = reply::action::close_after;
    return r;
  };
  https_client client(ioc.get_executor(), options_for(srv.url()));
  ASSERT_TRUE(send(client));
  http_request post;
  post.method = "POST";
  post.target = "/v3/auth/tokens";
  post.body = "{}";
  auto r = send(client, post);
  ASSERT_FALSE(r);  // not idempotent: the caller decides
  EXPECT_EQ(srv.connections, 1);
  // The next request starts on a fresh connection.
  auto again = send(client);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(srv.connections, 2);
}

TEST_F(https_client_test, connection_close_is_honoured) {
  test_server srv(ioc);
  srv.handler = [](const auto&) {
    reply r;
    r.headers = {{"Connection", "close"}};
    return r;
  };
  https_client client(ioc.get_executor(), options_for(srv.url()));
  ASSERT_TRUE(send(client));
  ASSERT_TRUE(send(client));
  EXPECT_EQ(srv.connections, 2);
  EXPECT_EQ(srv.seen.size(), 2u);
}

// --- interim answers and what may go back to the pool -------------------------------

// Issue #12: a 1xx was taken for the answer and the connection pooled with
// the real answer unread; the next request, another scope's, read it.
TEST_F(https_client_test, interim_answers_are_skipped_and_the_next_request_gets_its_own_answer) {
  fake_hss::server hss;
  hss.populate("p1", "0", 15, 1);
  hss.populate("p2", "0", 5, 2);
  auto opts = options_for(hss.endpoint());
  opts.ca_file = hss.ca_file();
  https_client client(ioc.get_executor(), opts);
  auto page = [](const std::string& project) {
    http_request r = get("/v5/" + project + "/kubernetes/jobs?limit=10&offset=0");
    r.headers = {{"X-Auth-Token", "test-token"}};
    return r;
  };
  hss.inject(fake_hss::fault::interim({100, 102, 103}).on_project("p1"));
  auto first = send(client, page("p1"));
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->status, 200u);
  EXPECT_EQ(boost::json::parse(first->body).at("total_num"), 15);
  auto second = send(client, page("p2"));
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(second->status, 200u);
  EXPECT_EQ(boost::json::parse(second->body).at("total_num"), 5) << "read p1's answer";
  const auto seen = hss.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].connection, seen[1].connection) << "a clean exchange keeps the connection";
  EXPECT_EQ(first->request_id, seen[0].request_id);
  EXPECT_EQ(second->request_id, seen[1].request_id);
}

TEST_F(https_client_test, switching_protocols_is_an_error_and_the_connection_is_dropped) {
  fake_hss::server hss;
  hss.populate("p1", "0", 15, 1);
  auto opts = options_for(hss.endpoint());
  opts.ca_file = hss.ca_file();
  https_client client(ioc.get_executor(), opts);
  http_request req = get("/v5/p1/kubernetes/jobs?limit=10&offset=0");
  req.headers = {{"X-Auth-Token", "test-token"}};
  hss.inject(fake_hss::fault::interim({101}));
  auto r = send(client, req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::bad_response);
  auto next = send(client, req);
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(next->status, 200u);
  const auto seen = hss.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].connection, seen[1].connection);
}

// Issue #12: X-Request-Id reached logs and the socket's JSON as sent.
TEST_F(https_client_test, header_text_from_upstream_is_made_safe) {
  fake_hss::server hss;
  hss.populate("p1", "0", 3, 1);
  auto opts = options_for(hss.endpoint());
  opts.ca_file = hss.ca_file();
  https_client client(ioc.get_executor(), opts);
  http_request req = get("/v5/p1/kubernetes/jobs?limit=10&offset=0");
  req.headers = {{"X-Auth-Token", "test-token"}};
  hss.inject(fake_hss::fault::request_id("id\t\xff\xfe\xc3(" + std::string(500, 'z')));
  auto r = send(client, req);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->request_id.starts_with("id \\xff\\xfe\\xc3(zzz")) << r->request_id;
  EXPECT_LE(r->request_id.size(), 131u);
}

// An answer nobody asked for, right behind ours or arriving while the
// connection sits in the pool, must not become the next request's answer.
TEST_F(https_client_test, a_connection_with_bytes_after_the_answer_is_not_reused) {
  const std::string stray = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"stray\":1}";
  for (auto after : {0ms, 100ms}) {
    test_server srv(ioc);
    int n = 0;
    srv.handler = [&](const auto&) {
      reply r;
      r.body = "{\"n\":" + std::to_string(++n) + "}";
      if (n == 1) {
        r.trailing = stray;
        r.trailing_after = after;
      }
      return r;
    };
    https_client client(ioc.get_executor(), options_for(srv.url()));
    auto first = send(client);
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_EQ(first->body, R"({"n":1})");
    // Let the late stray answer arrive while the connection is idle.
    asio::steady_timer pause(ioc, after + 200ms);
    pause.async_wait([&](error_code) { ioc.stop(); });
    run();
    auto second = send(client);
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_EQ(second->body, R"({"n":2})") << "stray bytes " << after.count() << " ms late";
    EXPECT_EQ(srv.connections, 2);
  }
}

TEST_F(https_client_test, close_idle_drops_pooled_connections) {
  test_server srv(ioc);
  https_client client(ioc.get_executor(), options_for(srv.url()));
  ASSERT_TRUE(send(client));
  client.close_idle();
  ASSERT_TRUE(send(client));
  EXPECT_EQ(srv.connections, 2);
}

// --- deadlines and cancellation ------------------------------------------------------

TEST_F(https_client_test, stalled_response_times_out_and_connection_is_dropped) {
  test_server srv(ioc);
  int n = 0;
  srv.handler = [&n](const auto&) {
    reply r;
    if (n++ == 0) r.act = reply::action::stall;
    return r;
  };
  auto opts = options_for(srv.url());
  opts.timeout = 300ms;
  https_client client(ioc.get_executor(), opts);
  const auto start = std::chrono::steady_clock::now();
  auto r = send(client);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::timeout) << r.error().message();
  EXPECT_LT(elapsed_since(start), 5s);
  auto next = send(client);
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(srv.connections, 2);
}

TEST_F(https_client_test, silent_tls_server_times_out_in_handshake) {
  test_server::options so;
  so.handshake = false;
  test_server srv(ioc, so);
  auto opts = options_for(srv.url());
  opts.timeout = 300ms;
  https_client client(ioc.get_executor(), opts);
  auto r = send(client);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::timeout) << r.error().message();
}

TEST_F(https_client_test, cancellation_aborts_a_stalled_request_promptly) {
  test_server srv(ioc);
  srv.handler = [](const auto&) {
    reply r;
    r.act = reply::action::stall;
    return r;
  };
  auto opts = options_for(srv.url());
  opts.timeout = 15s;
  https_client client(ioc.get_executor(), opts);
  for (int i = 0; i < 2; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto r = send_and_cancel(client, 100ms, asio::cancellation_type::terminal);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), asio::error::operation_aborted) << r.error().message();
    EXPECT_LT(elapsed_since(start), 5s);
  }
  EXPECT_EQ(srv.connections, 2);  // the cancelled connection was not reused
}

TEST_F(https_client_test, cancellation_during_handshake) {
  test_server::options so;
  so.handshake = false;
  test_server srv(ioc, so);
  auto opts = options_for(srv.url());
  opts.timeout = 15s;
  https_client client(ioc.get_executor(), opts);
  const auto start = std::chrono::steady_clock::now();
  auto r = send_and_cancel(client, 100ms, asio::cancellation_type::terminal);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), asio::error::operation_aborted) << r.error().message();
  EXPECT_LT(elapsed_since(start), 5s);
}

// A caller awaiting async_request from its own coroutine; with
// accept_total it lets total cancellation through (Asio's default filter
// passes only terminal).
asio::awaitable<void> nested_caller(https_client* c, std::optional<result<http_response>>* out,
                                    std::optional<bool>* throw_if_cancelled_after,
                                    bool accept_total = false) {
  if (accept_total)
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
  *out = co_await c->async_request(get());
  *throw_if_cancelled_after = co_await asio::this_coro::throw_if_cancelled();
}

TEST_F(https_client_test,
       caller_coroutine_state_is_untouched_and_cancellation_reaches_the_request) {
  test_server srv(ioc);
  int n = 0;
  srv.handler = [&n](const auto&) {
    reply r;
    if (n++ > 0) r.act = reply::action::stall;
    return r;
  };
  auto opts = options_for(srv.url());
  opts.timeout = 15s;
  https_client client(ioc.get_executor(), opts);

  std::optional<result<http_response>> out;
  std::optional<bool> throws_after;
  asio::co_spawn(ioc, nested_caller(&client, &out, &throws_after), [&](std::exception_ptr e) {
    if (e) ADD_FAILURE() << "caller threw";
    ioc.stop();
  });
  run();
  ASSERT_TRUE(out && *out);
  EXPECT_EQ(throws_after, std::optional<bool>(true));  // Asio's default, as the caller left it

  // Cancelling the caller cancels the request inside it: terminal always,
  // total when the caller lets it through.
  for (auto type : {asio::cancellation_type::terminal, asio::cancellation_type::total}) {
    asio::cancellation_signal signal;
    out.reset();
    throws_after.reset();
    const bool accept_total = type == asio::cancellation_type::total;
    asio::co_spawn(
        ioc, nested_caller(&client, &out, &throws_after, accept_total),
        asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr) { ioc.stop(); }));
    asio::steady_timer timer(ioc, 100ms);
    timer.async_wait([&](error_code) { signal.emit(type); });
    const auto start = std::chrono::steady_clock::now();
    run();
    ASSERT_TRUE(out.has_value());
    ASSERT_FALSE(*out);
    EXPECT_EQ(out->error(), asio::error::operation_aborted);
    EXPECT_LT(elapsed_since(start), 5s);
  }
}

TEST_F(https_client_test, destroying_the_client_mid_request_is_safe) {
  test_server srv(ioc);
  srv.handler = [](const auto&) {
    reply r;
    r.delay = 100ms;
    return r;
  };
  std::optional<result<http_response>> out;
  {
    https_client client(ioc.get_executor(), options_for(srv.url()));
    asio::co_spawn(ioc, client.async_request(get()),
                   [&](std::exception_ptr e, result<http_response> r) {
                     if (!e) out = std::move(r);
                     ioc.stop();
                   });
  }
  run();
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(*out) << out->error().message();  // the request owns what it needs
  EXPECT_EQ((*out)->status, 200u);
}

// --- responses -------------------------------------------------------------------------

TEST_F(https_client_test, body_limit_is_enforced) {
  test_server srv(ioc);
  bool chunked = false;
  srv.handler = [&chunked](const auto&) {
    reply r;
    r.body = std::string(4096, 'x');
    r.chunked = chunked;
    return r;
  };
  auto opts = options_for(srv.url());
  opts.body_limit = 1024;
  https_client client(ioc.get_executor(), opts);
  for (bool c : {false, true}) {
    chunked = c;
    auto r = send(client);
    ASSERT_FALSE(r) << "chunked=" << c;
    EXPECT_EQ(r.error(), errc::body_too_large) << r.error().message();
  }
  // Exactly at the limit is fine.
  srv.handler = [](const auto&) {
    reply r;
    r.body = std::string(1024, 'y');
    return r;
  };
  auto ok = send(client);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->body.size(), 1024u);
}

TEST_F(https_client_test, error_status_is_a_value_with_huawei_body) {
  test_server srv(ioc);
  srv.handler = [](const auto&) {
    reply r;
    r.status = 429;
    r.body =
        R"({"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached: policy user over ratelimit,limit:5,time:1 minute","request_id":"b1"})";
    r.headers = {{"X-Request-Id", "hdr-7"}, {"Retry-After", "3"}};
    return r;
  };
  https_client client(ioc.get_executor(), options_for(srv.url()));
  auto r = send(client);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 429u);
  EXPECT_EQ(r->retry_after, "3");
  const api_error e = parse_api_error(r->status, r->body, r->request_id);
  EXPECT_EQ(e.error_code, "APIGW.0308");
  EXPECT_EQ(e.request_id, "hdr-7");
  EXPECT_TRUE(is_throttled(e));
  // An error status does not spoil the connection.
  ASSERT_TRUE(send(client));
  EXPECT_EQ(srv.connections, 1);
}

TEST_F(https_client_test, auth_rejection_body) {
  test_server srv(ioc);
  srv.handler = [](const auto&) {
    reply r;
    r.status = 401;
    r.body = R"({"error_code":"APIGW.0307","error_msg":"The token must be updated."})";
    return r;
  };
  https_client client(ioc.get_executor(), options_for(srv.url()));
  auto r = send(client);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(is_auth_rejected(parse_api_error(r->status, r->body, r->request_id)));
}

// --- proxy -------------------------------------------------------------------------------

TEST_F(https_client_test, connect_proxy_tunnels_tls_to_the_origin) {
  test_server srv(ioc);
  // "user:p@ss" percent-encoded in the URL; Basic dXNlcjpwQHNz.
  test_proxy proxy(ioc, "Basic dXNlcjpwQHNz");
  auto opts = options_for(srv.url());
  opts.proxy = "http://user:p%40ss@127.0.0.1:" + std::to_string(proxy.port());
  https_client client(ioc.get_executor(), opts);
  auto r = send(client);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200u);
  ASSERT_EQ(proxy.targets.size(), 1u);
  EXPECT_EQ(proxy.targets[0], "localhost:" + std::to_string(srv.port()));
  ASSERT_EQ(srv.seen.size(), 1u);
  EXPECT_EQ(srv.seen[0][http::field::host], client.host_header());
  EXPECT_EQ(srv.seen[0].count(http::field::proxy_authorization), 0u);  // stays at the proxy
  ASSERT_TRUE(send(client));
  EXPECT_EQ(proxy.targets.size(), 1u);  // the tunnel is reused
}

TEST_F(https_client_test, proxy_rejecting_credentials_is_an_error_without_them) {
  test_server srv(ioc);
  test_proxy proxy(ioc, "Basic c29tZW9uZTplbHNl");
  auto opts = options_for(srv.url());
  opts.proxy = "http://user:s3cret-pw@127.0.0.1:" + std::to_string(proxy.port());
  https_client client(ioc.get_executor(), opts);
  auto r = send(client);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), boost::system::errc::permission_denied) << r.error().message();
  EXPECT_EQ(r.error().message(), "proxy CONNECT to localhost:" + std::to_string(srv.port()) +
                                     " refused: 407 Proxy Authentication Required");
  EXPECT_EQ(r.error().message().find("s3cret"), std::string::npos);
  EXPECT_EQ(srv.connections, 0);
}

// Issue #12: any refusal said "Connection refused", as if the proxy were down.
TEST_F(https_client_test, proxy_refusal_is_reported_with_its_status_and_reason) {
  test_server srv(ioc);
  test_proxy proxy(ioc);
  proxy.refuse_all = true;
  auto opts = options_for(srv.url());
  opts.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
  const std::string target = "localhost:" + std::to_string(srv.port());
  for (const auto& [refusal, shown] :
       {std::pair<std::string, std::string>{"403 Forbidden", "403 Forbidden"},
        {"502 Bad Gateway", "502 Bad Gateway"},
        {"403 Blocked\tby\xffpolicy", "403 Blocked by\\xffpolicy"},  // made safe
        {"403 ", "403 Forbidden"}}) {  // no reason phrase: the standard one
    proxy.refusal = refusal;
    https_client client(ioc.get_executor(), opts);
    auto r = send(client);
    ASSERT_FALSE(r) << refusal;
    EXPECT_EQ(r.error().message(), "proxy CONNECT to " + target + " refused: " + shown);
    EXPECT_EQ(r.error(), boost::system::errc::connection_refused);
  }
  EXPECT_EQ(srv.connections, 0);
}

// Issue #12: "Host not found" did not say which of the endpoint, the IAM
// endpoint or the proxy it was.
TEST_F(https_client_test, resolve_errors_name_the_host) {
  https_client direct(ioc.get_executor(), options_for("https://hss.nonexistent.invalid"));
  auto r = send(direct);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message().starts_with("cannot resolve host hss.nonexistent.invalid: "))
      << r.error().message();

  auto opts = options_for("https://hss.nonexistent.invalid");
  opts.proxy = "http://proxy.nonexistent.invalid:3128";
  https_client proxied(ioc.get_executor(), opts);
  r = send(proxied);
  ASSERT_FALSE(r);
  EXPECT_TRUE(
      r.error().message().starts_with("cannot resolve proxy host proxy.nonexistent.invalid: "))
      << r.error().message();
}

TEST_F(https_client_test, proxy_still_verifies_the_origin) {
  test_server srv(ioc);
  test_proxy proxy(ioc);
  auto opts = options_for(srv.url());
  opts.ca_file = certs().other_ca;
  opts.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
  https_client client(ioc.get_executor(), opts);
  auto r = send(client);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("certificate verify failed"), std::string::npos)
      << r.error().message();
}

// --- against the fake HSS ------------------------------------------------------------

http_request jobs_request(std::string token) {
  auto r = get("/v5/p1/kubernetes/jobs?limit=10&offset=0");
  r.headers = {{"X-Auth-Token", std::move(token)}, {"Content-Type", "application/json"}};
  return r;
}

TEST_F(https_client_test, fake_hss_lists_jobs_and_reports_faults) {
  fake_hss::server hss;
  hss.populate("p1", "0", 3);
  auto opts = options_for(hss.endpoint());
  opts.ca_file = hss.ca_file();
  opts.timeout = 2s;
  https_client client(ioc.get_executor(), opts);

  auto ok = send(client, jobs_request("test-token"));
  ASSERT_TRUE(ok) << ok.error().message();
  ASSERT_EQ(ok->status, 200u) << ok->body;
  const auto body = boost::json::parse(ok->body);
  EXPECT_EQ(body.at("total_num").to_number<std::int64_t>(), 3);
  EXPECT_FALSE(ok->request_id.empty());

  hss.inject(fake_hss::fault::token_expired());
  auto expired = send(client, jobs_request("test-token"));
  ASSERT_TRUE(expired) << expired.error().message();
  const auto e = parse_api_error(expired->status, expired->body, expired->request_id);
  EXPECT_EQ(e.error_code, "APIGW.0307");
  EXPECT_TRUE(is_auth_rejected(e));

  // On a pooled connection a reset before any response byte looks exactly
  // like an idle close: the GET is retried once on a fresh connection.
  hss.inject(fake_hss::fault::reset());
  auto retried = send(client, jobs_request("test-token"));
  ASSERT_TRUE(retried) << retried.error().message();
  EXPECT_EQ(retried->status, 200u);
  // On a fresh connection it is an error.
  client.close_idle();
  hss.inject(fake_hss::fault::reset());
  auto reset = send(client, jobs_request("test-token"));
  EXPECT_FALSE(reset);

  hss.inject(fake_hss::fault::stall());
  auto stalled = send(client, jobs_request("test-token"));
  ASSERT_FALSE(stalled);
  EXPECT_EQ(stalled.error(), errc::timeout);

  auto again = send(client, jobs_request("test-token"));
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->status, 200u);
  EXPECT_EQ(hss.requests().size(), 7u);
}

}  // namespace
}  // namespace hssjw
