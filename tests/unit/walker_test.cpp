// The walker over an in-memory transport (walker::transport): whole walks
// against a scripted HSS that answers pages from a list and, at chosen
// offsets, transport errors, 5xx, throttling and rejected tokens first. No
// network, no TLS: retry, throttle and re-auth paths run in milliseconds,
// each under a bounded run_for.
#include "walk/walker.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/authenticator.hpp"
#include "hss/resource.hpp"
#include "unit/auth_test_support.hpp"
#include "walk/request_gate.hpp"
#include "walk/walk_observer.hpp"

namespace hssjw {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::string job_json(int i) {
  return R"({"cluster_name":"c1","namespace_name":"ns","name":"job-)" + std::to_string(i) +
         R"(","status":"Running","pods_num":1,"image_name":"img","match_labels":[],"create_time":)" +
         std::to_string(1000 + i) + "}";
}

http_response answer(unsigned status, std::string body, std::string retry_after = "") {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  r.retry_after = std::move(retry_after);
  r.request_id = "req-" + std::to_string(status);
  return r;
}

// HSS in memory: `jobs` jobs listed in order, pages cut at the request's
// offset and limit; `script` holds answers that come first for an offset,
// one per request, before the page itself.
struct memory_hss {
  int jobs = 0;
  std::map<std::int64_t, std::deque<result<http_response>>> script;
  std::vector<http_request> requests;

  static std::int64_t param(const std::string& target, const std::string& name) {
    auto at = target.find(name + "=");
    return at == std::string::npos ? -1 : std::stoll(target.substr(at + name.size() + 1));
  }

  result<http_response> respond(const http_request& req) {
    const auto offset = param(req.target, "offset");
    if (auto it = script.find(offset); it != script.end() && !it->second.empty()) {
      auto r = std::move(it->second.front());
      it->second.pop_front();
      return r;
    }
    const auto limit = param(req.target, "limit");
    std::string body =
        R"({"total_num":)" + std::to_string(jobs) + R"(,"last_update_time":77,"job_info_list":[)";
    for (auto i = offset; i < std::min<std::int64_t>(jobs, offset + limit); ++i)
      body += (i > offset ? "," : "") + job_json(static_cast<int>(i));
    return answer(200, body + "]}");
  }
};

// Answers on a later turn of the io_context, as a real transport does, so
// that pages in flight interleave.
asio::awaitable<result<http_response>> memory_send(std::shared_ptr<memory_hss> hss,
                                                   http_request req) {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  hss->requests.push_back(req);
  co_return hss->respond(req);
}

// Hands out "token-N" (N counts the rejections so far), or nothing.
class memory_auth final : public authenticator {
 public:
  bool available = true;
  int authorized = 0, accepted = 0;
  std::vector<std::string> rejected;  // the error codes reported
  std::string host;                   // as the walker passed it

  asio::awaitable<result<void>> async_authorize(http_request& req, std::string,
                                                std::string h) override {
    ++authorized;
    host = h;
    if (!available) co_return errc::auth_unavailable;
    req.headers.emplace_back("X-Auth-Token", "token-" + std::to_string(rejected.size()));
    co_return result<void>{};
  }
  void on_rejected(const std::string&, const api_error& err) override {
    rejected.push_back(err.error_code);
  }
  void on_accepted(const std::string&) override { ++accepted; }
};

struct counting_observer final : walk_observer {
  std::vector<unsigned> statuses;
  int pages = 0, retries = 0;
  void on_request(const scope_id&, unsigned status, std::chrono::steady_clock::duration) override {
    statuses.push_back(status);
  }
  void on_page(const scope_id&) override { ++pages; }
  void on_retry(const scope_id&) override { ++retries; }
};

struct walker_fixture : ::testing::Test {
  asio::io_context ioc;
  std::shared_ptr<memory_hss> hss = std::make_shared<memory_hss>();
  memory_auth auth;
  counting_observer observer;
  test::captured_log log;
  request_gate gate{ioc.get_executor(), config::rate{100, 1s}, 4};
  walker walk{walker::transport{std::bind_front(&memory_send, hss), "hss.example:443"}, auth, gate,
              log.logger};
  scope_state previous;
  walk_settings settings;

  walker_fixture() {
    walk.set_observer(&observer);
    settings.page_size = 2;
    settings.pages_in_flight = 1;
    settings.retry = {.attempts = 2, .initial = 1ms, .max = 2ms};
  }

  // One whole walk, bounded: it must finish within a second.
  walk_outcome run() {
    walk_target target{scope_id{"p1", "all_granted_eps", ""}, {}, &jobs_resource()};
    std::optional<walk_outcome> out;
    asio::co_spawn(ioc, walk.async_walk(target, settings, previous),
                   [&](std::exception_ptr e, walk_outcome o) {
                     if (e) std::rethrow_exception(e);
                     out = std::move(o);
                   });
    ioc.run_for(1s);
    EXPECT_TRUE(out.has_value()) << "the walk did not finish";
    return out.value_or(walk_outcome{});
  }
};

// Pages of 2 overlap by one job (walk_plan): 5 jobs take offsets 0..3.
TEST_F(walker_fixture, a_clean_walk_asks_once_per_page_through_the_transport) {
  hss->jobs = 5;
  auto out = run();
  EXPECT_EQ(out.status, walk_status::complete);
  EXPECT_EQ(out.observation.jobs.size(), 5u);
  EXPECT_EQ(out.requests, 4u);
  ASSERT_EQ(hss->requests.size(), 4u);
  EXPECT_EQ(hss->requests[0].target,
            "/v5/p1/kubernetes/jobs?enterprise_project_id=all_granted_eps&limit=2&offset=0");
  EXPECT_EQ(hss->requests[0].headers,
            (std::vector<std::pair<std::string, std::string>>{{"X-Auth-Token", "token-0"}}));
  EXPECT_EQ(auth.host, "hss.example:443");
  EXPECT_EQ(hss->requests[3].target,
            "/v5/p1/kubernetes/jobs?enterprise_project_id=all_granted_eps&limit=2&offset=3");
  EXPECT_EQ(auth.accepted, 4);
  EXPECT_EQ(observer.statuses, (std::vector<unsigned>{200, 200, 200, 200}));
  EXPECT_EQ(observer.pages, 4);
  EXPECT_EQ(observer.retries, 0);
}

TEST_F(walker_fixture, pages_in_flight_are_fetched_together_and_joined) {
  hss->jobs = 7;
  settings.pages_in_flight = 4;
  hss->script[2].push_back(answer(503, R"({"error_code":"HSS.0001","error_msg":"busy"})"));
  auto out = run();
  EXPECT_EQ(out.status, walk_status::complete);
  EXPECT_EQ(out.observation.jobs.size(), 7u);
  EXPECT_EQ(out.requests, 7u);  // 6 pages, one of them twice
  EXPECT_EQ(observer.retries, 1);
}

// A timeout, a 5xx and an unreadable 200 each back off and try again,
// within poll.retry.attempts per page.
TEST_F(walker_fixture, transient_failures_are_retried_after_a_backoff) {
  hss->jobs = 3;
  settings.retry.attempts = 3;
  hss->script[0].push_back(make_error_code(errc::timeout));
  hss->script[0].push_back(answer(503, R"({"error_code":"HSS.0001","error_msg":"busy"})"));
  hss->script[1].push_back(answer(200, "not json"));
  auto out = run();
  EXPECT_EQ(out.status, walk_status::complete);
  EXPECT_EQ(out.observation.jobs.size(), 3u);
  EXPECT_EQ(out.requests, 5u);
  EXPECT_EQ(observer.statuses, (std::vector<unsigned>{0, 503, 200, 200, 200}));
  EXPECT_EQ(observer.retries, 3);
  EXPECT_EQ(log.count("debug",
                      "scope p1/all_granted_eps: page at offset 0 failed (HTTP 503 HSS.0001: busy "
                      "(request id req-503)); retry 2 in"),
            1)
      << log.text();
  EXPECT_EQ(log.count("debug", "page at offset 1 failed"), 1) << log.text();
}

TEST_F(walker_fixture, a_page_that_keeps_failing_fails_the_walk_with_its_last_error) {
  hss->jobs = 3;
  for (int i = 0; i < 3; ++i)
    hss->script[0].push_back(
        answer(502, R"({"error_code":"APIGW.0203","error_msg":"backend down"})"));
  auto out = run();
  EXPECT_EQ(out.status, walk_status::failed);
  EXPECT_EQ(out.requests, 3u);  // the first try and poll.retry.attempts (2) more
  EXPECT_EQ(out.reason, "page at offset 0: HTTP 502 APIGW.0203: backend down (request id req-502)");
  ASSERT_TRUE(out.api.has_value());
  EXPECT_EQ(out.api->error_code, "APIGW.0203");
  EXPECT_EQ(observer.retries, 2);
}

// Throttling answers slow the shared gate (with their Retry-After) and are
// retried without using an attempt: with no attempts at all the walk still
// gets through.
TEST_F(walker_fixture, throttling_slows_the_gate_and_uses_no_attempt) {
  hss->jobs = 1;
  settings.retry.attempts = 0;
  for (int i = 0; i < 3; ++i)
    hss->script[0].push_back(
        answer(429, R"({"error_code":"APIGW.0308","error_msg":"throttled"})", "0"));
  auto out = run();
  EXPECT_EQ(out.status, walk_status::complete);
  EXPECT_EQ(out.requests, 4u);
  EXPECT_EQ(observer.retries, 3);
  EXPECT_EQ(gate.effective_count(), 50u);  // halved once: one overload
  EXPECT_TRUE(gate.budget().slowed(request_budget::clock::now()));
}

// A rejected token is reported to the authenticator (which logs in again)
// and the page is sent once more, with the new token.
TEST_F(walker_fixture, a_rejected_token_is_reported_and_the_page_retried_once) {
  hss->jobs = 1;
  settings.retry.attempts = 0;
  hss->script[0].push_back(
      answer(401, R"({"error_code":"APIGW.0307","error_msg":"The token must be updated."})"));
  auto out = run();
  EXPECT_EQ(out.status, walk_status::complete);
  EXPECT_EQ(auth.rejected, std::vector<std::string>{"APIGW.0307"});
  ASSERT_EQ(hss->requests.size(), 2u);
  EXPECT_EQ(hss->requests[1].headers[0].second, "token-1");
  EXPECT_EQ(observer.retries, 1);
}

TEST_F(walker_fixture, a_token_rejected_again_fails_the_walk) {
  hss->jobs = 1;
  for (int i = 0; i < 2; ++i)
    hss->script[0].push_back(
        answer(401, R"({"error_code":"APIGW.0307","error_msg":"The token must be updated."})"));
  auto out = run();
  EXPECT_EQ(out.status, walk_status::failed);
  EXPECT_EQ(out.requests, 2u);
  EXPECT_EQ(auth.rejected, (std::vector<std::string>{"APIGW.0307", "APIGW.0307"}));
  ASSERT_TRUE(out.api.has_value());
  EXPECT_EQ(out.api->http_status, 401u);
  EXPECT_EQ(observer.retries, 1);
}

TEST_F(walker_fixture, a_client_error_fails_the_walk_at_once) {
  hss->jobs = 1;
  hss->script[0].push_back(answer(403, R"({"error_code":"HSS.1012","error_msg":"no permission"})"));
  auto out = run();
  EXPECT_EQ(out.status, walk_status::failed);
  EXPECT_EQ(out.requests, 1u);
  EXPECT_EQ(out.reason, "page at offset 0: HTTP 403 HSS.1012: no permission (request id req-403)");
  EXPECT_EQ(observer.retries, 0);
}

TEST_F(walker_fixture, without_credentials_nothing_is_sent) {
  hss->jobs = 1;
  auth.available = false;
  auto out = run();
  EXPECT_EQ(out.status, walk_status::failed);
  EXPECT_EQ(out.requests, 0u);
  EXPECT_TRUE(hss->requests.empty());
  EXPECT_EQ(out.reason,
            "page at offset 0: no usable credentials (the auth log line above says why)");
}

// Cancelling a walk in its backoff ends it at once with operation_aborted.
TEST_F(walker_fixture, a_walk_cancelled_in_its_backoff_ends_at_once) {
  hss->jobs = 1;
  settings.retry = {.attempts = 5, .initial = 1h, .max = 1h};
  hss->script[0].push_back(make_error_code(errc::timeout));
  hss->script[0].push_back(make_error_code(errc::timeout));
  walk_target target{scope_id{"p1", "", ""}, {}, &jobs_resource()};
  asio::cancellation_signal cancel;
  std::optional<std::exception_ptr> ended;
  asio::co_spawn(ioc, walk.async_walk(target, settings, previous),
                 asio::bind_cancellation_slot(
                     cancel.slot(), [&](std::exception_ptr e, walk_outcome) { ended = e; }));
  ioc.run_for(50ms);
  // Two backoffs of a 1 h cap both under 50 ms: odds about 1e-10.
  if (ended) GTEST_SKIP() << "both backoffs drew under 50 ms";
  ASSERT_FALSE(hss->requests.empty());
  cancel.emit(asio::cancellation_type::terminal);
  ioc.restart();
  ioc.run_for(1s);
  ASSERT_TRUE(ended.has_value());
  ASSERT_TRUE(*ended);
  try {
    std::rethrow_exception(*ended);
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), asio::error::operation_aborted);
  }
}

}  // namespace
}  // namespace hssjw
