// Hostile responses the fake HSS cannot produce, against the real daemon
// (--once): a TLS front with the fake's own certificate sits between the
// daemon and the fake, forwards every request, and rewrites the answer to
// the targeted page: header floods, bodies over the limit (declared and
// streamed), deep nesting, HTML and mislabelled content types, chunked
// bodies that never end, a one-byte trickle, numbers out of range,
// non-UTF-8 and lone surrogates, duplicated keys, interim (1xx) answers
// before the real one and a 101. For each, as in the fault matrix: no false
// event, the expected outcome, the log names the fault, and the next good
// walk reports exactly the real changes.
//
// Then, with the fake HSS's own faults: 1xx answers before every page of
// two scopes (each walk sees its own pages), and upstream text that is not
// UTF-8 (X-Request-Id, error messages) reaching the socket's status and
// `hss-jobwatch status -o json` made safe.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "fake_hss/server.hpp"
#include "integration/fault_scenario.hpp"
#include "integration/socket_support.hpp"

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using namespace hssjw::test;

constexpr auto as_value = asio::as_tuple(asio::use_awaitable);

// What the front sends instead of the fake's answer.
struct rewrite {
  std::string bytes;                   // status line, headers and (part of) the body
  std::chrono::milliseconds every{0};  // > 0: one byte per `every` (trickle)
  bool endless_chunks = false;         // then a chunk of one space every 50 ms, forever
  std::size_t streamed_body = 0;       // then this many bytes of chunked whitespace
};

// Given the fake's answer to a jobs page, the rewrite (or nothing: pass).
using rewriter = std::function<std::optional<rewrite>(const http::response<http::string_body>&)>;

std::string head(const std::string& status_line, const std::string& headers) {
  return "HTTP/1.1 " + status_line + "\r\n" + headers + "\r\n";
}

std::string with_body(const std::string& content_type, const std::string& body,
                      const std::string& extra_headers = {}) {
  return head("200 OK", "Content-Type: " + content_type + "\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n" + extra_headers) +
         body;
}

class tls_front {
 public:
  tls_front(const fake_hss::server& fake)
      : fake_port_(fake.port()), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    tls_.use_certificate_chain_file(fake.state_dir() + "/server.pem");
    tls_.use_private_key_file(fake.state_dir() + "/server-key.pem", ssl::context::pem);
    upstream_tls_.set_verify_mode(ssl::verify_none);  // the fake, on loopback
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~tls_front() {
    ioc_.stop();
    thread_.join();
  }

  std::string endpoint() const {
    return "https://localhost:" + std::to_string(acceptor_.local_endpoint().port());
  }

  // Rewrites the answer to the page at `offset` (every request for it).
  void set(std::int64_t offset, rewriter r) {
    std::lock_guard lock(mutex_);
    offset_ = offset;
    rewriter_ = std::move(r);
  }
  void clear() { set(-1, {}); }
  std::size_t applied() const { return applied_; }

 private:
  static std::int64_t offset_of(std::string_view target) {
    const auto at = target.find("offset=");
    if (at == std::string_view::npos) return 0;
    return std::stoll(std::string(target.substr(at + 7, target.find('&', at) - at - 7)));
  }

  std::optional<rewrite> plan_for(const http::request<http::string_body>& req,
                                  const http::response<http::string_body>& res) {
    std::lock_guard lock(mutex_);
    if (!rewriter_ || res.result_int() != 200 || offset_of(req.target()) != offset_)
      return std::nullopt;
    auto r = rewriter_(res);
    if (r) ++applied_;
    return r;
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor_.async_accept(as_value);
      if (ec) co_return;
      asio::co_spawn(ioc_, session(std::move(sock)), asio::detached);
    }
  }

  asio::awaitable<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(ioc_, d);
    co_await t.async_wait(as_value);
  }

  template <class Stream>
  asio::awaitable<void> send(Stream& s, const rewrite& r) {
    if (r.every > 0ms) {
      for (char c : r.bytes) {
        if (auto [ec, n] = co_await asio::async_write(s, asio::buffer(&c, 1), as_value); ec)
          co_return;
        co_await sleep(r.every);
      }
      co_return;
    }
    if (auto [ec, n] = co_await asio::async_write(s, asio::buffer(r.bytes), as_value); ec)
      co_return;
    if (r.streamed_body > 0) {
      const std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";
      for (std::size_t sent = 0; sent < r.streamed_body; sent += 0x10000)
        if (auto [ec, n] = co_await asio::async_write(s, asio::buffer(chunk), as_value); ec)
          co_return;
      co_await asio::async_write(s, asio::buffer(std::string("0\r\n\r\n")), as_value);
    }
    while (r.endless_chunks) {
      if (auto [ec, n] =
              co_await asio::async_write(s, asio::buffer(std::string("1\r\n \r\n")), as_value);
          ec)
        co_return;
      co_await sleep(50ms);
    }
  }

  asio::awaitable<void> session(tcp::socket sock) {
    ssl::stream<tcp::socket> down(std::move(sock), tls_);
    if (auto [ec] = co_await down.async_handshake(ssl::stream_base::server, as_value); ec)
      co_return;
    ssl::stream<tcp::socket> up(ioc_, upstream_tls_);
    if (auto [ec] = co_await up.next_layer().async_connect(
            {asio::ip::make_address("127.0.0.1"), fake_port_}, as_value);
        ec)
      co_return;
    if (auto [ec] = co_await up.async_handshake(ssl::stream_base::client, as_value); ec) co_return;
    boost::beast::flat_buffer down_buf, up_buf;
    for (;;) {
      http::request<http::string_body> req;
      if (auto [ec, n] = co_await http::async_read(down, down_buf, req, as_value); ec) co_return;
      if (auto [ec, n] = co_await http::async_write(up, req, as_value); ec) co_return;
      http::response<http::string_body> res;
      if (auto [ec, n] = co_await http::async_read(up, up_buf, res, as_value); ec) co_return;
      if (auto plan = plan_for(req, res)) {
        co_await send(down, *plan);
        co_return;  // a rewritten answer ends the connection
      }
      if (auto [ec, n] = co_await http::async_write(down, res, as_value); ec) co_return;
    }
  }

  std::uint16_t fake_port_;
  asio::io_context ioc_;
  ssl::context tls_{ssl::context::tls_server};
  ssl::context upstream_tls_{ssl::context::tls_client};
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mutex_;
  std::int64_t offset_ = -1;
  rewriter rewriter_;
  std::atomic<std::size_t> applied_{0};
};

// --- body surgery: serialise, then replace a marker with what a DOM cannot hold

std::string replace_marker(std::string text, const std::string& marker, const std::string& with) {
  const auto at = text.find(marker);
  if (at == std::string::npos) throw std::runtime_error("marker not found: " + marker);
  return text.replace(at, marker.size(), with);
}

// The page with job `index`'s field `field` set to raw text: in place, or
// as a second `field` after the first when `duplicate`.
rewriter job_field_raw(std::size_t index, std::string field, std::string raw,
                       bool duplicate = false) {
  return [=](const http::response<http::string_body>& res) -> std::optional<rewrite> {
    json::value page = json::parse(res.body());
    auto& list = page.at("job_info_list").as_array();
    const std::string marker = duplicate ? "hostile_marker" : field;
    list.at(std::min(index, list.size() - 1)).as_object()[marker] = "@@";
    const std::string body = replace_marker(json::serialize(page), "\"" + marker + "\":\"@@\"",
                                            "\"" + field + "\":" + raw);
    return rewrite{with_body("application/json;charset=utf-8", body)};
  };
}

rewriter page_raw(std::string field, std::string raw) {
  return [=](const http::response<http::string_body>& res) -> std::optional<rewrite> {
    json::value page = json::parse(res.body());
    page.as_object()["hostile_marker"] = "@@";
    const std::string body = replace_marker(json::serialize(page), R"("hostile_marker":"@@")",
                                            "\"" + field + "\":" + raw);
    return rewrite{with_body("application/json;charset=utf-8", body)};
  };
}

// The page with total_num's value replaced by raw text.
rewriter with_total(std::string raw) {
  return [=](const http::response<http::string_body>& res) -> std::optional<rewrite> {
    std::string body = res.body();
    const auto at = body.find("\"total_num\":");
    const auto end = body.find_first_of(",}", at);
    body.replace(at, end - at, "\"total_num\":" + raw);
    return rewrite{with_body("application/json", body)};
  };
}

rewriter fixed(rewrite r) {
  return [=](const http::response<http::string_body>&) -> std::optional<rewrite> { return r; };
}

struct hostile_case {
  std::string name;
  std::function<rewriter()> make;
  std::string log_mentions;
  expect outcome;
};

std::vector<hostile_case> cases() {
  std::string flood;
  for (int i = 0; i < 80; ++i)
    flood += "X-Filler-" + std::to_string(i) + ": " + std::string(1000, 'a') + "\r\n";
  return {
      {"header_flood",
       [=] { return fixed({with_body("application/json", "{\"total_num\":0}", flood)}); },
       "header limit", expect::fails},
      {"body_over_limit_declared",
       [] {
         return fixed(
             {head("200 OK", "Content-Type: application/json\r\nContent-Length: 17000000\r\n") +
              "{"});
       },
       "too large", expect::fails},
      {"body_over_limit_chunked",
       [] {
         return fixed(
             {head("200 OK", "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"),
              0ms, false, 17 * 1024 * 1024});
       },
       "too large", expect::fails},
      {"deep_nesting",
       [] { return job_field_raw(3, "nested", std::string(5000, '[') + std::string(5000, ']')); },
       "not valid JSON", expect::fails},
      {"html_content",
       [] { return fixed({with_body("text/html", "<html><body>Please log in</body></html>")}); },
       "not valid JSON", expect::fails},
      {"json_labelled_text",  // the body is judged, not the label: a valid page is a page
       [] {
         return [](const http::response<http::string_body>& res) -> std::optional<rewrite> {
           return rewrite{with_body("text/plain", res.body())};
         };
       },
       "", expect::recovers},
      {"chunked_never_ends",
       [] {
         return fixed(
             {head("200 OK", "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n") +
                  "1\r\n{\r\n",
              0ms, true});
       },
       "deadline", expect::fails},
      {"trickle",
       [] {
         return [](const http::response<http::string_body>& res) -> std::optional<rewrite> {
           return rewrite{with_body("application/json", res.body()), 20ms};
         };
       },
       "deadline", expect::fails},
      {"total_beyond_int64", [] { return with_total("9223372036854775808"); }, "total_num",
       expect::fails},
      {"total_beyond_double", [] { return with_total("1e400"); }, "total_num", expect::fails},
      {"int_beyond_int64", [] { return job_field_raw(2, "pods_num", "9223372036854775808"); },
       "pods_num is out of range", expect::incomplete},
      {"number_beyond_double", [] { return job_field_raw(2, "future_field", "[1e400]"); },
       "number out of range", expect::incomplete},
      {"non_utf8_string", [] { return job_field_raw(2, "image_name", "\"caf\xff\xfe\""); },
       "not valid JSON", expect::fails},
      {"lone_surrogate", [] { return job_field_raw(2, "image_name", R"("\ud800")"); },
       "not valid JSON", expect::fails},
      {"duplicated_name", [] { return job_field_raw(2, "name", R"("evil-twin")", true); },
       "duplicated key \"name\"", expect::incomplete},
      {"duplicated_total", [] { return page_raw("total_num", "0"); },
       "duplicated key \"total_num\"", expect::fails},
      // Issue #12: interim answers are not the answer; read on to the page.
      {"interim_1xx_before_the_page",
       [] {
         return [](const http::response<http::string_body>& res) -> std::optional<rewrite> {
           return rewrite{head("100 Continue", "") + head("102 Processing", "") +
                          head("103 Early Hints", "Link: </hints.css>; rel=preload\r\n") +
                          with_body("application/json", res.body())};
         };
       },
       "", expect::recovers},
      {"switching_protocols_101",
       [] {
         return [](const http::response<http::string_body>& res) -> std::optional<rewrite> {
           return rewrite{
               head("101 Switching Protocols", "Upgrade: websocket\r\nConnection: Upgrade\r\n") +
               with_body("application/json", res.body())};
         };
       },
       "malformed response", expect::fails},
  };
}

struct param {
  hostile_case hc;
  std::int64_t offset;
  std::string where;
};

void PrintTo(const param& p, std::ostream* os) { *os << p.hc.name << "@" << p.offset; }

// The daemon reaches the fake through the front.
class hostile_response : public daemon_fixture, public ::testing::WithParamInterface<param> {
 protected:
  tls_front front{fake};

  hostile_response() {
    cfg.endpoint = front.endpoint();
    cfg.poll =
        "rate: unlimited, page_size: 25, timeout: 1500ms, retry: {attempts: 1, initial: 10ms, max: "
        "20ms}";
  }
};

// 100 jobs in pages of 25 overlapping by one: offsets 0, 24, 48, 72, 96.
TEST_P(hostile_response, no_false_event_and_exact_recovery) {
  const auto& p = GetParam();
  write_config();
  fake.populate("p1", "0", 100, 91);
  auto base = once();
  ASSERT_EQ(base.exit_code, 0) << base.err;
  ASSERT_EQ(parse_ndjson(base.out).size(), 100u);

  auto changes = make_real_changes(fake, 30, 60);
  const fault_under_test fault{p.hc.name, p.where, p.hc.log_mentions, p.hc.outcome};

  front.set(p.offset, p.hc.make());
  auto faulty = once();
  ASSERT_NE(faulty.exit_code, -1) << "daemon hung: the deadline did not hold";
  EXPECT_GE(front.applied(), 1u) << "the rewrite never applied";
  auto reported = check_faulty_run(faulty, changes, fault);

  front.clear();
  check_recovery(once(), changes, std::move(reported), fault);
}

std::vector<param> matrix() {
  std::vector<param> out;
  for (auto& hc : cases())
    for (auto [offset, where] :
         {std::pair<std::int64_t, const char*>{0, "first"}, {48, "middle"}, {96, "last"}})
      out.push_back({hc, offset, where});
  return out;
}

INSTANTIATE_TEST_SUITE_P(hostile, hostile_response, ::testing::ValuesIn(matrix()),
                         [](const auto& info) {
                           return info.param.hc.name + "_" + info.param.where;
                         });

// --- with the fake HSS's own faults ------------------------------------------------

// Issue #12: a 1xx was taken for the answer and its connection pooled with
// the real answer unread; the next request (possibly another scope's) read
// that answer, a false `added` in the wrong scope. Every page of two scopes
// comes after 100, 102 and 103 here.
struct interim_answers : daemon_fixture {};

TEST_F(interim_answers, every_walk_sees_its_own_pages) {
  fake.populate("p1", "0", 45, 3);
  fake.populate("p2", "0", 25, 4);
  fake.inject(fake_hss::fault::interim({100, 102, 103}).forever());
  cfg.projects = "  - id: p1\n  - id: p2\n";
  cfg.poll =
      "rate: unlimited, page_size: 10, pages_in_flight: 3, timeout: 5s, retry: {attempts: 0}";
  write_config();
  auto r = once();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::multiset<std::string>> seen;
  for (const auto& e : parse_ndjson(r.out)) {
    EXPECT_EQ(e.at("type"), "added");
    seen[std::string(e.at("scope").as_object().at("project_id").as_string())].insert(
        std::string(e.at("key").as_object().at("name").as_string()));
  }
  for (const std::string project : {"p1", "p2"}) {
    std::multiset<std::string> expected;
    for (const auto& j : fake.jobs(project)) expected.insert(j.name);
    EXPECT_EQ(seen[project], expected) << project;
  }
  for (const auto& req : fake.requests())
    if (!req.project_id.empty()) EXPECT_EQ(req.faults, std::vector{fake_hss::fault_kind::interim});
}

// Issue #12: an X-Request-Id (or other upstream text) with invalid UTF-8
// reached the socket's JSON raw, and `hss-jobwatch status` failed on it.
struct hostile_text : socket_daemon_fixture {
  // The status reply, as the raw line the daemon sent.
  std::string status_line() {
    auto c = request(R"({"op":"status"})");
    return c->next_raw().value_or("");
  }
  // Waits until the scope's last_error mentions `needle`; returns the line.
  std::string status_line_with(const std::string& needle) {
    std::string line;
    eventually(
        [&] {
          line = status_line();
          return line.find(needle) != std::string::npos;
        },
        30s);
    return line;
  }
};

std::string valid_json_error(const std::string& line) {
  boost::system::error_code ec;
  json::parse(line, ec);
  return ec ? ec.message() : "";
}

TEST_F(hostile_text, invalid_utf8_and_controls_from_upstream_never_reach_the_socket_raw) {
  fake.populate("p1", "0", 5, 1);
  start_daemon(5);
  // A page that is not JSON: the walker names the request id in its error.
  fake.inject(fake_hss::fault::malformed_json().forever());
  fake.inject(fake_hss::fault::request_id("bad-page\t\xff\xfe\xc3(end").forever());
  std::string line = status_line_with("X-Request-Id bad-page");
  EXPECT_EQ(valid_json_error(line), "") << line;
  EXPECT_NE(line.find(R"(X-Request-Id bad-page \\xff\\xfe\\xc3(end)"), std::string::npos) << line;
  auto cli = run_process({HSSJW_CLI_PATH, "status", "-o", "json", "--socket", socket_path()}, 30s);
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(valid_json_error(cli.out), "") << cli.out;
  auto text = run_process({HSSJW_CLI_PATH, "status", "--socket", socket_path()}, 30s);
  EXPECT_EQ(text.exit_code, 0) << text.err;

  // An error answer whose message is not UTF-8 and carries control
  // characters (JSON-escaped and raw), with such a request id.
  fake.clear_faults();
  fake.inject(
      fake_hss::fault::http_error(500, "HSS.0041", "boom\x01\x1b[31m\n\xff\xfe end").forever());
  fake.inject(fake_hss::fault::request_id("bad-error\t\xff\xfe").forever());
  line = status_line_with("HSS.0041");
  EXPECT_EQ(valid_json_error(line), "") << line;
  EXPECT_EQ(line.find("\xff"), std::string::npos);
  cli = run_process({HSSJW_CLI_PATH, "status", "-o", "json", "--socket", socket_path()}, 30s);
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(valid_json_error(cli.out), "") << cli.out;
}

}  // namespace
