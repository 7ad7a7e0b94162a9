// auth.method password: the IAM request body, expires_at parsing, the
// renewal schedule, and (with a fake IAM transport, no network) one login
// per project however many requests wait, re-login after a rejection and
// back-off after a refused password.
#include <fmt/chrono.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <stdexcept>

#include "auth/iam_authenticator.hpp"
#include "unit/auth_test_support.hpp"

namespace hssjw {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;
using iam::wall_clock;
namespace json = boost::json;

TEST(auth_iam, request_body_is_the_documented_shape_and_escapes) {
  auto body = iam::token_request_body("my-account", "bot", "p\"w\\d\n\xc3\xa9", "proj-1");
  auto v = json::parse(body.reveal());
  auto expected = json::parse(R"({"auth": {
      "identity": {"methods": ["password"],
                   "password": {"user": {"domain": {"name": "my-account"}, "name": "bot",
                                         "password": "p\"w\\d\n\u00e9"}}},
      "scope": {"project": {"id": "proj-1"}}}})");
  EXPECT_EQ(v, expected);
}

TEST(auth_iam, parses_iam_times) {
  auto t = iam::parse_time("2020-01-04T09:05:22.701000Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, sys_days{2020y / January / 4} + 9h + 5min + 22s + 701ms);
  EXPECT_EQ(iam::parse_time("2020-01-04T09:05:22Z"),
            sys_days{2020y / January / 4} + 9h + 5min + 22s);
  EXPECT_EQ(iam::parse_time("2020-01-04T09:05:22.5Z"),
            sys_days{2020y / January / 4} + 9h + 5min + 22s + 500ms);
  EXPECT_EQ(iam::parse_time("2020-01-04T09:05:22.123456789Z"),
            sys_days{2020y / January / 4} + 9h + 5min + 22s + 123456us);
  for (const char* bad :
       {"", "2020-01-04 09:05:22Z", "2020-02-30T00:00:00Z", "2020-01-04T25:00:00Z",
        "2020-01-04T09:05:22", "2020-01-04T09:05:22.Z", "2020-01-04T09:05:22.7a1Z"}) {
    EXPECT_FALSE(iam::parse_time(bad).has_value()) << bad;
  }
}

TEST(auth_iam, parses_the_token_body) {
  auto t = iam::parse_token_body(R"({"token": {"expires_at": "2020-01-05T09:05:22.701000Z",
      "issued_at": "2020-01-04T09:05:22.701000Z", "methods": ["password"]}})");
  ASSERT_TRUE(t.has_value()) << t.error();
  EXPECT_EQ(t->expires_at, sys_days{2020y / January / 5} + 9h + 5min + 22s + 701ms);
  ASSERT_TRUE(t->issued_at.has_value());
  EXPECT_EQ(*t->issued_at, sys_days{2020y / January / 4} + 9h + 5min + 22s + 701ms);

  auto no_issued = iam::parse_token_body(R"({"token": {"expires_at": "2020-01-05T09:05:22Z"}})");
  ASSERT_TRUE(no_issued.has_value());
  EXPECT_FALSE(no_issued->issued_at.has_value());

  for (const char* bad :
       {"", "[]", "{}", R"({"token": 1})", R"({"token": {}})", R"({"token": {"expires_at": 5}})",
        R"({"token": {"expires_at": "tomorrow"}})"}) {
    EXPECT_FALSE(iam::parse_token_body(bad).has_value()) << bad;
  }
}

TEST(auth_iam, renews_at_eighty_percent_or_an_hour_before_expiry) {
  auto issued = sys_days{2025y / March / 1} + 0h;
  // 24 h token: 80% (19.2 h) comes before "an hour before" (23 h).
  EXPECT_EQ(iam::renew_at({issued + 24h, issued}, issued), issued + 1152min);
  // 2 h token: an hour before expiry (1 h) comes before 80% (1.6 h).
  EXPECT_EQ(iam::renew_at({issued + 2h, issued}, issued), issued + 1h);
  // No issued_at: measured from now.
  EXPECT_EQ(iam::renew_at({issued + 24h, std::nullopt}, issued + 4h), issued + 4h + 16h);
  // Already expired: renew now.
  EXPECT_EQ(iam::renew_at({issued, issued + 1h}, issued + 2h), issued + 2h);
}

// A scripted IAM: answers after `delay`, counts logins, keeps the last body.
struct fake_iam {
  unsigned status = 201;
  std::string body;
  milliseconds delay{20};
  int calls = 0;
  std::string last_body;
  std::string last_target;
  // Per project id: a status (with `refused_body`) instead of `status`.
  std::map<std::string, unsigned> status_for;
  std::string refused_body;
};

boost::asio::awaitable<result<iam::reply>> fake_send(std::shared_ptr<fake_iam> f,
                                                     http_request& req) {
  ++f->calls;
  f->last_body = req.body;
  f->last_target = req.target;
  unsigned status = f->status;
  std::string body = f->body;
  for (const auto& [project, st] : f->status_for) {
    if (req.body.find(R"("id":")" + project + R"(")") == std::string::npos) continue;
    status = st;
    body = f->refused_body;
  }
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, f->delay);
  co_await t.async_wait(boost::asio::use_awaitable);
  iam::reply r;
  r.status = status;
  if (status == 201) r.subject_token = secret("token-" + std::to_string(f->calls));
  r.body = body;
  r.request_id = "iam-req-" + std::to_string(f->calls);
  co_return r;
}

std::string iam_time(wall_clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.000000Z", fmt::gmtime(wall_clock::to_time_t(t)));
}

std::string token_body(wall_clock::duration lifetime) {
  auto now = wall_clock::now();
  return R"({"token": {"expires_at": ")" + iam_time(now + lifetime) + R"(", "issued_at": ")" +
         iam_time(now) + R"("}})";
}

std::string header(const http_request& req, const std::string& name) {
  for (const auto& [k, v] : req.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

struct iam_fixture {
  test::temp_dir dir;
  test::captured_log log;
  boost::asio::io_context ctx;
  std::shared_ptr<fake_iam> fake = std::make_shared<fake_iam>();
  std::string password_path = dir.write("password", "correct horse\n");
  iam_authenticator auth;

  explicit iam_fixture(seconds min_login_interval = 0s, seconds stale_grace = 30s,
                       seconds refused_project_initial = 10s)
      : auth{ctx.get_executor(),
             std::bind_front(&fake_send, fake),
             {.domain = "acct",
              .user = "bot",
              .password_file = password_path,
              .min_login_interval = min_login_interval,
              .stale_rejection_grace = stale_grace,
              .refused_project_initial = refused_project_initial},
             log.logger} {
    fake->body = token_body(24h);
  }

  // Runs n concurrent authorizations for `project`; returns their requests.
  std::vector<std::pair<http_request, std::optional<result<void>>>> authorize(
      const std::string& project, int n) {
    std::vector<std::pair<http_request, std::optional<result<void>>>> out(n);
    for (auto& [req, res] : out) {
      boost::asio::co_spawn(ctx, auth.async_authorize(req, project, "hss.example"),
                            [&res](std::exception_ptr e, result<void> r) {
                              if (e) std::rethrow_exception(e);
                              res = r;
                            });
    }
    ctx.restart();
    ctx.run_for(5s);
    for (auto& [req, res] : out) EXPECT_TRUE(res.has_value()) << "authorize did not finish";
    return out;
  }
};

TEST(auth_iam, one_login_per_project_however_many_requests_wait) {
  iam_fixture f;
  auto first = f.authorize("p1", 5);
  EXPECT_EQ(f.fake->calls, 1);
  for (auto& [req, res] : first) {
    ASSERT_TRUE(res && res->has_value());
    EXPECT_EQ(header(req, "X-Auth-Token"), "token-1");
  }
  EXPECT_EQ(f.fake->last_target, "/v3/auth/tokens?nocatalog=true");
  EXPECT_NE(f.fake->last_body.find(R"("id":"p1")"), std::string::npos);

  auto cached = f.authorize("p1", 3);
  EXPECT_EQ(f.fake->calls, 1);  // cached
  EXPECT_EQ(header(cached[0].first, "X-Auth-Token"), "token-1");

  auto other = f.authorize("p2", 2);
  EXPECT_EQ(f.fake->calls, 2);  // one token per project
  EXPECT_EQ(header(other[1].first, "X-Auth-Token"), "token-2");
  EXPECT_EQ(f.log.text().find("correct horse"), std::string::npos);
  EXPECT_EQ(f.log.text().find("token-1"), std::string::npos);
}

TEST(auth_iam, rejected_token_logs_in_again_once) {
  iam_fixture f;
  f.authorize("p1", 1);
  f.auth.on_rejected("p1", {401, "APIGW.0307", "The token must be updated.", "r1"});
  f.auth.on_rejected("p1", {401, "APIGW.0307", "The token must be updated.", "r2"});
  auto again = f.authorize("p1", 4);
  EXPECT_EQ(f.fake->calls, 2);
  EXPECT_EQ(header(again[3].first, "X-Auth-Token"), "token-2");
  EXPECT_EQ(f.log.count("warning", "APIGW.0307"), 1) << f.log.text();
}

TEST(auth_iam, token_near_expiry_is_renewed_ahead) {
  iam_fixture f;
  f.fake->body = token_body(30min);  // renew_at = an hour before expiry: already due
  f.authorize("p1", 1);
  f.authorize("p1", 1);
  EXPECT_EQ(f.fake->calls, 2);
}

TEST(auth_iam, refused_password_backs_off_until_the_file_changes) {
  iam_fixture f;
  f.fake->status = 401;
  f.fake->body = R"({"error": {"code": 401, "message": "The username or password is wrong.",
                   "title": "Unauthorized"}})";
  auto r = f.authorize("p1", 3);
  EXPECT_EQ(f.fake->calls, 1);
  for (auto& [req, res] : r) {
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(*res, result<void>(errc::auth_unavailable));
    EXPECT_EQ(header(req, "X-Auth-Token"), "<absent>");
  }
  auto error = f.auth.last_error("p1");
  EXPECT_NE(error.find("username or password is wrong"), std::string::npos) << error;
  EXPECT_NE(error.find("401"), std::string::npos) << error;
  EXPECT_NE(error.find("iam-req-1"), std::string::npos) << error;

  f.authorize("p1", 2);
  EXPECT_EQ(f.fake->calls, 1);  // not hammering IAM with a wrong password
  EXPECT_EQ(f.log.count("error", "password is wrong"), 1) << f.log.text();

  f.fake->status = 201;
  f.fake->body = token_body(24h);
  f.dir.write("password", "battery staple\n");
  auto fixed = f.authorize("p1", 1);
  EXPECT_EQ(f.fake->calls, 2);
  EXPECT_EQ(header(fixed[0].first, "X-Auth-Token"), "token-2");
  EXPECT_EQ(f.log.text().find("battery staple"), std::string::npos);
}

TEST(auth_iam, server_errors_back_off_and_keep_the_message) {
  iam_fixture f;
  f.fake->status = 503;
  f.fake->body = R"({"error_code": "APIGW.0613", "error_msg": "IAM unavailable"})";
  f.authorize("p1", 2);
  f.authorize("p1", 2);
  EXPECT_EQ(f.fake->calls, 1);  // waits retry_initial before the next attempt
  EXPECT_NE(f.auth.last_error("p1").find("APIGW.0613"), std::string::npos);
}

// A token rejected right after its login (revoked, or expired early) is
// replaced at once; a second rejection within min_login_interval of the
// login before waits, so a token IAM keeps issuing but the API keeps
// refusing costs at most two logins per interval.
TEST(auth_iam, rejected_token_is_replaced_at_once_but_not_in_a_loop) {
  iam_fixture f(60s, 0s);
  f.authorize("p1", 1);
  f.auth.on_rejected("p1", {401, "APIGW.0307", "The token must be updated", "r1"});
  auto renewed = f.authorize("p1", 1);
  EXPECT_EQ(f.fake->calls, 2);
  EXPECT_EQ(header(renewed[0].first, "X-Auth-Token"), "token-2");
  f.auth.on_rejected("p1", {401, "APIGW.0307", "The token must be updated", "r2"});
  auto refused = f.authorize("p1", 2);
  EXPECT_EQ(f.fake->calls, 2);
  for (auto& [req, res] : refused) {
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(*res, result<void>(errc::auth_unavailable));
  }
  EXPECT_NE(f.auth.last_error("p1").find("at most two logins per 60s"), std::string::npos)
      << f.auth.last_error("p1");
}

// Pages in flight with the old token come back rejected after the new one
// is in place: they must not throw the new token away.
TEST(auth_iam, late_rejections_of_the_old_token_keep_the_new_one) {
  iam_fixture f(60s, 30s);
  f.authorize("p1", 4);
  f.auth.on_rejected("p1", {401, "APIGW.0307", "The token must be updated", "r1"});
  f.authorize("p1", 1);
  EXPECT_EQ(f.fake->calls, 2);
  f.auth.on_rejected("p1", {401, "APIGW.0307", "The token must be updated", "r2"});
  f.auth.on_rejected("p1", {401, "APIGW.0307", "The token must be updated", "r3"});
  auto after = f.authorize("p1", 2);
  EXPECT_EQ(f.fake->calls, 2);
  EXPECT_EQ(header(after[1].first, "X-Auth-Token"), "token-2");
  EXPECT_EQ(f.log.count("warning", "APIGW.0307"), 1) << f.log.text();
}

// The password belongs to the user, not to a project: one refusal stops
// the logins of every project (IAM locks users after repeated failures),
// and projects waiting for an unproven password do not log in alongside.
TEST(auth_iam, refused_password_stops_every_project_after_one_attempt) {
  iam_fixture f;
  f.fake->status = 401;
  f.fake->body = R"({"error": {"code": 401, "message": "The username or password is wrong.",
                   "title": "Unauthorized"}})";
  std::vector<std::optional<result<void>>> results(3);
  std::vector<http_request> reqs(3);
  const char* projects[] = {"p1", "p2", "p3"};
  for (int i = 0; i < 3; ++i) {
    boost::asio::co_spawn(f.ctx, f.auth.async_authorize(reqs[i], projects[i], "hss.example"),
                          [&results, i](std::exception_ptr e, result<void> r) {
                            if (e) std::rethrow_exception(e);
                            results[i] = r;
                          });
  }
  f.ctx.run_for(5s);
  EXPECT_EQ(f.fake->calls, 1);
  for (auto& r : results) {
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, result<void>(errc::auth_unavailable));
  }
  for (auto* p : projects)
    EXPECT_NE(f.auth.last_error(p).find("username or password is wrong"), std::string::npos) << p;

  // A new password file: one login again, then the others follow.
  f.fake->status = 201;
  f.fake->body = token_body(24h);
  f.dir.write("password", "battery staple\n");
  f.authorize("p2", 1);
  f.authorize("p3", 1);
  EXPECT_EQ(f.fake->calls, 3);
}

const char* const wrong_password_body =
    R"({"error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}})";

// IAM refuses project a's login, having accepted the same password for b:
// only a waits (10 s), b keeps its token and can log in again.
TEST(auth_iam, a_refusal_for_one_project_does_not_stop_the_others) {
  iam_fixture f;
  ASSERT_TRUE(f.authorize("b", 1)[0].second->has_value());
  EXPECT_EQ(f.fake->calls, 1);

  f.fake->status_for["a"] = 403;
  f.fake->refused_body = R"({"error": {"code": 403, "message": "no permission for project a"}})";
  auto a = f.authorize("a", 2);
  EXPECT_EQ(f.fake->calls, 2);
  for (auto& [req, res] : a) EXPECT_EQ(*res, result<void>(errc::auth_unavailable));
  EXPECT_NE(f.auth.last_error("a").find("only this project waits (10s"), std::string::npos)
      << f.auth.last_error("a");

  // b's token is rejected: b logs in again at once, and it works.
  f.auth.on_rejected("b", {401, "APIGW.0307", "The token must be updated", "r1"});
  auto b = f.authorize("b", 1);
  EXPECT_EQ(f.fake->calls, 3);
  ASSERT_TRUE(b[0].second->has_value()) << f.auth.last_error("b");
  EXPECT_EQ(header(b[0].first, "X-Auth-Token"), "token-3");
  // A new project logs in too.
  ASSERT_TRUE(f.authorize("c", 1)[0].second->has_value()) << f.auth.last_error("c");
  EXPECT_EQ(f.fake->calls, 4);

  // a itself waits its backoff: no login now.
  f.authorize("a", 1);
  EXPECT_EQ(f.fake->calls, 4);
}

// A project the user has no role in is refused again after its backoff
// (the password unproven since its first refusal): it alone waits the long
// wait, and the others keep logging in. It used to stop every project, and
// the project came back after each stop to renew it.
TEST(auth_iam, a_project_refused_twice_in_a_row_stops_only_itself) {
  iam_fixture f(0s, 30s, 0s);  // no first backoff: a's retry comes at once
  ASSERT_TRUE(f.authorize("b", 1)[0].second->has_value());
  f.fake->status_for["a"] = 403;
  f.fake->refused_body = R"({"error": {"code": 403, "message": "no permission for project a"}})";
  f.authorize("a", 1);  // refused: the password is unproven, a is the suspect
  f.authorize("a", 1);  // refused again: a alone waits
  EXPECT_EQ(f.fake->calls, 3);
  EXPECT_NE(f.auth.last_error("a").find("this project waits 900s"), std::string::npos)
      << f.auth.last_error("a");
  f.authorize("a", 1);  // waiting: no login
  EXPECT_EQ(f.fake->calls, 3);
  // b's token is rejected: b logs in again, and the password is proven again.
  f.auth.on_rejected("b", {401, "APIGW.0307", "The token must be updated", "r1"});
  auto b = f.authorize("b", 1);
  EXPECT_EQ(f.fake->calls, 4);
  ASSERT_TRUE(b[0].second->has_value()) << f.auth.last_error("b");
  ASSERT_TRUE(f.authorize("c", 1)[0].second->has_value()) << f.auth.last_error("c");
  EXPECT_EQ(f.fake->calls, 5);
}

// The password was changed in IAM: the first refusal is taken for the
// project's, the second (the password now unproven) stops every project,
// as for a wrong password: two refused logins, not one per project.
TEST(auth_iam, a_changed_password_still_stops_every_project_after_two_refusals) {
  iam_fixture f;
  f.authorize("a", 1);
  f.authorize("b", 1);
  EXPECT_EQ(f.fake->calls, 2);
  f.fake->status = 401;
  f.fake->body = wrong_password_body;
  f.auth.on_rejected("a", {401, "APIGW.0307", "The token must be updated", "r1"});
  f.auth.on_rejected("b", {401, "APIGW.0307", "The token must be updated", "r2"});
  f.authorize("a", 1);  // refused: a backs off, the password is unproven
  f.authorize("b", 1);  // refused again: every project stops
  EXPECT_EQ(f.fake->calls, 4);
  f.authorize("c", 1);
  f.authorize("b", 1);
  EXPECT_EQ(f.fake->calls, 4);
  EXPECT_NE(f.auth.last_error("c").find("no IAM logins for"), std::string::npos)
      << f.auth.last_error("c");
}

// A refusal that crossed a password file change is retried with the new file at once.
TEST(auth_iam, a_refusal_after_the_password_file_changed_retries_at_once) {
  iam_fixture f;
  f.fake->status = 401;
  f.fake->body = wrong_password_body;
  f.fake->delay = 200ms;
  std::optional<result<void>> first;
  http_request req;
  boost::asio::co_spawn(f.ctx, f.auth.async_authorize(req, "a", "hss.example"),
                        [&](std::exception_ptr e, result<void> r) {
                          if (e) std::rethrow_exception(e);
                          first = r;
                        });
  f.ctx.run_for(50ms);  // the login is on its way
  f.dir.write("password", "battery staple\n");
  f.ctx.restart();
  f.ctx.run_for(2s);
  ASSERT_TRUE(first.has_value());
  EXPECT_NE(f.auth.last_error("a").find("has changed since"), std::string::npos)
      << f.auth.last_error("a");
  f.fake->status = 201;
  f.fake->body = token_body(24h);
  f.fake->delay = 20ms;
  auto again = f.authorize("a", 1);
  EXPECT_EQ(f.fake->calls, 2);
  ASSERT_TRUE(again[0].second->has_value()) << f.auth.last_error("a");
}

// The login body carries the password: send_login wipes it when the
// transport call is over, whatever way it ends. The test holds the
// request, so it looks at the very buffer that was sent, never at freed
// memory.
TEST(auth_iam, send_login_wipes_the_body_on_every_way_out) {
  enum class ending { answer, error, exception, destroyed };
  for (ending how : {ending::answer, ending::error, ending::exception, ending::destroyed}) {
    SCOPED_TRACE(static_cast<int>(how));
    http_request req;
    {
      auto body = iam::token_request_body("acct", "bot", "correct-horse-pw", "p1");
      req.body = std::string(body.reveal());
    }
    const char* buffer = req.body.data();
    const std::size_t capacity = req.body.capacity();
    ASSERT_GT(capacity, 15u);  // on the heap, not in the small-string buffer
    std::string seen;
    iam::transport t = [&](http_request& r) -> boost::asio::awaitable<result<iam::reply>> {
      seen = r.body;
      if (how == ending::exception) throw std::runtime_error("transport broke");
      if (how == ending::destroyed) {
        boost::asio::steady_timer forever(co_await boost::asio::this_coro::executor, 1h);
        co_await forever.async_wait(boost::asio::use_awaitable);
      }
      if (how == ending::error) co_return make_error_code(boost::asio::error::connection_refused);
      iam::reply rep;
      rep.status = 201;
      co_return rep;
    };
    {
      boost::asio::io_context ctx;
      boost::asio::co_spawn(ctx, iam::send_login(t, req),
                            [](std::exception_ptr, result<iam::reply>) {});
      ctx.run_for(100ms);
      // ending::destroyed: the io_context goes with the coroutine still suspended.
    }
    EXPECT_NE(seen.find("correct-horse-pw"), std::string::npos) << "the body was not sent";
    EXPECT_TRUE(req.body.empty());
    ASSERT_EQ(req.body.data(), buffer) << "the buffer was not kept (and so not wiped)";
    EXPECT_EQ(std::string_view(buffer, capacity).find_first_not_of('\0'), std::string_view::npos);
  }
}

}  // namespace
}  // namespace hssjw
