// auth.method token: the header, re-reading the file when it changes, and
// after a rejection: the file re-read at once, a per-project backoff of
// 10 s doubling to 5 min, other projects unaffected (logged once, not per
// request).
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "auth/token_authenticator.hpp"
#include "unit/auth_test_support.hpp"

namespace hssjw {
namespace {

using namespace std::chrono_literals;
using test::captured_log;
using test::count_header;
using test::header;
using test::temp_dir;

api_error rejection() {
  return {401, "APIGW.0301", "Incorrect IAM authentication information: decrypt token fail",
          "req-1"};
}

// Runs async_authorize on a real io_context, bounded by a deadline.
result<void> run_authorize(authenticator& auth, http_request& req) {
  boost::asio::io_context ctx;
  std::optional<result<void>> got;
  boost::asio::co_spawn(ctx, auth.async_authorize(req, "project", "hss.example"),
                        [&](std::exception_ptr e, result<void> r) {
                          if (e) std::rethrow_exception(e);
                          got = r;
                        });
  ctx.run_for(5s);
  EXPECT_TRUE(got.has_value()) << "async_authorize did not finish";
  return got.value_or(result<void>(errc::timeout));
}

TEST(auth_token, adds_the_token_and_picks_up_a_file_change) {
  temp_dir dir;
  captured_log log;
  auto path = dir.write("token", "token-one\n");
  token_authenticator auth(path, log.logger);

  http_request req;
  req.headers = {{"x-auth-token", "stale"}};
  ASSERT_TRUE(run_authorize(auth, req).has_value());
  EXPECT_EQ(header(req, "X-Auth-Token"), "token-one");
  EXPECT_EQ(count_header(req, "x-auth-token"), 0);  // replaced, not duplicated

  dir.write("token", "token-two\n");
  http_request next;
  ASSERT_TRUE(run_authorize(auth, next).has_value());
  EXPECT_EQ(header(next, "X-Auth-Token"), "token-two");
  EXPECT_EQ(count_header(next, "X-Auth-Token"), 1);
}

TEST(auth_token, rejected_token_waits_for_a_new_file_or_the_backoff) {
  temp_dir dir;
  captured_log log;
  auto path = dir.write("token", "token-one");
  token_authenticator auth(path, log.logger);
  http_request req;
  ASSERT_TRUE(run_authorize(auth, req).has_value());

  auth.on_rejected("project", rejection());
  for (int i = 0; i < 5; ++i) {
    http_request again;
    auto r = run_authorize(auth, again);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), make_error_code(errc::auth_unavailable));
    EXPECT_EQ(count_header(again, "X-Auth-Token"), 0);
  }
  auth.on_rejected("project", rejection());  // a late answer to an earlier request
  EXPECT_NE(auth.last_error("project").find(path), std::string::npos) << auth.last_error("project");
  EXPECT_NE(auth.last_error("project").find("rejected"), std::string::npos);
  EXPECT_EQ(log.count("warning", "APIGW.0301"), 1) << log.text();
  EXPECT_EQ(log.count("error", "rejected"), 1) << log.text();

  dir.write("token", "token-two");
  http_request fresh;
  ASSERT_TRUE(run_authorize(auth, fresh).has_value());
  EXPECT_EQ(header(fresh, "X-Auth-Token"), "token-two");
  EXPECT_EQ(auth.last_error("project"), "");
  EXPECT_EQ(log.text().find("token-one"), std::string::npos) << "log leaks the token";
  EXPECT_EQ(log.text().find("token-two"), std::string::npos) << "log leaks the token";
}

using clock_type = token_authenticator::clock;
const clock_type::time_point t0 = clock_type::time_point{} + 1h;

// The backoff on its own, step by step: 10 s, one probe per interval,
// doubling on each rejected probe up to 5 minutes; in-flight answers do not
// count; clear() starts over.
TEST(auth_token, backoff_starts_at_ten_seconds_and_doubles_to_five_minutes) {
  rejection_backoff b;
  EXPECT_TRUE(b.may_send(t0));
  EXPECT_EQ(b.rejected(t0), rejection_backoff::verdict::suspected);
  EXPECT_EQ(b.wait(), 10s);
  EXPECT_FALSE(b.may_send(t0 + 9s));
  EXPECT_EQ(b.rejected(t0 + 9s), rejection_backoff::verdict::in_flight);  // sent before
  EXPECT_EQ(b.retry_at(), t0 + 10s);
  EXPECT_TRUE(b.may_send(t0 + 10s));   // the probe
  EXPECT_FALSE(b.may_send(t0 + 11s));  // the others wait for its answer
  auto now = t0 + 11s;
  std::vector<std::chrono::seconds> waits;
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(b.rejected(now), rejection_backoff::verdict::probe_failed);
    waits.push_back(b.wait());
    EXPECT_FALSE(b.may_send(now + b.wait() - 1s));
    now += b.wait();
    EXPECT_TRUE(b.may_send(now));
  }
  EXPECT_EQ(waits, (std::vector<std::chrono::seconds>{20s, 40s, 80s, 160s, 300s, 300s, 300s}));
  b.clear();
  EXPECT_TRUE(b.may_send(now));
  EXPECT_TRUE(b.may_send(now));
  EXPECT_EQ(b.rejected(now), rejection_backoff::verdict::suspected);
  EXPECT_EQ(b.wait(), 10s);
}

// One project's 401 holds the token back from that project only.
TEST(auth_token, a_rejection_for_one_project_leaves_the_others_alone) {
  temp_dir dir;
  captured_log log;
  token_authenticator auth(dir.write("token", "tok"), log.logger);
  http_request req;
  ASSERT_TRUE(auth.authorize(req, "a", t0).has_value());
  ASSERT_TRUE(auth.authorize(req, "b", t0).has_value());
  auth.rejected("a", rejection(), t0 + 1s);
  for (auto t : {t0 + 1s, t0 + 5s, t0 + 10s}) {
    http_request b_req;
    EXPECT_TRUE(auth.authorize(b_req, "b", t).has_value());
    EXPECT_EQ(header(b_req, "X-Auth-Token"), "tok");
  }
  EXPECT_FALSE(auth.authorize(req, "a", t0 + 10s).has_value());
  EXPECT_EQ(auth.last_error("b"), "");
  EXPECT_NE(auth.last_error("a").find("10s"), std::string::npos) << auth.last_error("a");
  // After the backoff, a's probe goes out; a's 200 clears it.
  EXPECT_TRUE(auth.authorize(req, "a", t0 + 11s).has_value());
  auth.accepted("a");
  EXPECT_TRUE(auth.authorize(req, "a", t0 + 12s).has_value());
  EXPECT_EQ(log.count("info", "accepted the token"), 1) << log.text();
}

TEST(auth_token, rejected_probes_back_off_and_a_file_change_resets) {
  temp_dir dir;
  captured_log log;
  token_authenticator auth(dir.write("token", "tok"), log.logger,
                           {.backoff = {}, .stale_rejection_grace = 30s});
  http_request req;
  ASSERT_TRUE(auth.authorize(req, "a", t0).has_value());
  auth.rejected("a", rejection(), t0);
  EXPECT_FALSE(auth.authorize(req, "a", t0 + 9s).has_value());
  EXPECT_TRUE(auth.authorize(req, "a", t0 + 10s).has_value());  // probe
  auth.rejected("a", rejection(), t0 + 10s);                    // rejected: 20 s
  EXPECT_FALSE(auth.authorize(req, "a", t0 + 29s).has_value());
  EXPECT_TRUE(auth.authorize(req, "a", t0 + 30s).has_value());  // probe
  auth.rejected("a", rejection(), t0 + 30s);                    // 40 s
  EXPECT_FALSE(auth.authorize(req, "a", t0 + 69s).has_value());
  EXPECT_EQ(log.count("warning", "rejected again"), 2) << log.text();

  // The file changes: the new token goes out at once, the backoff is gone.
  dir.write("token", "tok-2");
  http_request fresh;
  ASSERT_TRUE(auth.authorize(fresh, "a", t0 + 40s).has_value());
  EXPECT_EQ(header(fresh, "X-Auth-Token"), "tok-2");
  // Rejections within the grace after the old token's last use (t0 + 30s)
  // are the old token's answers.
  auth.rejected("a", rejection(), t0 + 59s);
  EXPECT_TRUE(auth.authorize(fresh, "a", t0 + 59s).has_value());
  // A later one is about the new token, and starts at 10 s again.
  auth.rejected("a", rejection(), t0 + 61s);
  EXPECT_FALSE(auth.authorize(fresh, "a", t0 + 70s).has_value());
  EXPECT_TRUE(auth.authorize(fresh, "a", t0 + 71s).has_value());
}

// The file was rotated while a request with the old token was out: its 401
// re-reads the file at once and blames nobody; the new token is used.
TEST(auth_token, a_rejection_right_after_a_rotation_uses_the_new_token_at_once) {
  temp_dir dir;
  captured_log log;
  token_authenticator auth(dir.write("token", "old"), log.logger);
  http_request req;
  ASSERT_TRUE(auth.authorize(req, "a", t0).has_value());
  dir.write("token", "new");
  auth.rejected("a", rejection(), t0 + 1s);  // for "old"; no authorize saw "new" yet
  http_request next;
  ASSERT_TRUE(auth.authorize(next, "a", t0 + 1s).has_value());
  EXPECT_EQ(header(next, "X-Auth-Token"), "new");
  EXPECT_EQ(log.count("warning", "rejected"), 0) << log.text();
}

TEST(auth_token, file_problems_are_reported_once_and_recover_when_fixed) {
  temp_dir dir;
  captured_log log;
  auto path = dir.file("token");
  token_authenticator auth(path, log.logger);
  auto now = token_authenticator::clock::now();
  for (int i = 0; i < 3; ++i) {
    http_request req;
    auto r = auth.authorize(req, "p", now);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), make_error_code(errc::auth_unavailable));
  }
  EXPECT_NE(auth.last_error("p").find(path), std::string::npos) << auth.last_error("p");
  EXPECT_EQ(log.count("error", path), 1) << log.text();

  dir.write("token", "sekrit-token", 0644);
  http_request req;
  ASSERT_FALSE(auth.authorize(req, "p", now).has_value());
  EXPECT_NE(auth.last_error("p").find("chmod 600"), std::string::npos) << auth.last_error("p");

  ::chmod(path.c_str(), 0600);
  ASSERT_TRUE(auth.authorize(req, "p", now).has_value());
  EXPECT_EQ(header(req, "X-Auth-Token"), "sekrit-token");
  EXPECT_EQ(log.count("info", "available again"), 1) << log.text();
  EXPECT_EQ(log.text().find("sekrit"), std::string::npos) << "log leaks the token";
}

TEST(auth_token, reads_a_credential) {
  temp_dir dir;
  captured_log log;
  dir.write("hss-token", "cred-token\n", 0400);
  test::env_guard env("CREDENTIALS_DIRECTORY", dir.path());
  token_authenticator auth("credential:hss-token", log.logger);
  http_request req;
  ASSERT_TRUE(run_authorize(auth, req).has_value());
  EXPECT_EQ(header(req, "X-Auth-Token"), "cred-token");
}

}  // namespace
}  // namespace hssjw
