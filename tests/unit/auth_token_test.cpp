// auth.method token: the header, re-reading the file when it changes, and
// waiting for a new token after a rejection (logged once, not per request).
#include "auth/token_authenticator.hpp"

#include "unit/auth_test_support.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>

namespace hssjw {
namespace {

using namespace std::chrono_literals;
using test::captured_log;
using test::temp_dir;

api_error rejection() { return {401, "APIGW.0301", "Incorrect IAM authentication information: decrypt token fail", "req-1"}; }

int count_header(const http_request& req, const std::string& name) {
  return static_cast<int>(std::count_if(req.headers.begin(), req.headers.end(),
                                        [&](const auto& h) { return h.first == name; }));
}

std::string header(const http_request& req, const std::string& name) {
  for (const auto& [k, v] : req.headers) {
    if (k == name) return v;
  }
  return "<absent>";
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

TEST(AuthToken, AddsTheTokenAndPicksUpAFileChange) {
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

TEST(AuthToken, RejectedTokenWaitsForANewFile) {
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
  EXPECT_NE(auth.last_error().find(path), std::string::npos) << auth.last_error();
  EXPECT_NE(auth.last_error().find("rejected"), std::string::npos) << auth.last_error();
  EXPECT_EQ(log.count("warning", "APIGW.0301"), 1) << log.text();
  EXPECT_EQ(log.count("error", "rejected"), 1) << log.text();

  dir.write("token", "token-two");
  http_request fresh;
  ASSERT_TRUE(run_authorize(auth, fresh).has_value());
  EXPECT_EQ(header(fresh, "X-Auth-Token"), "token-two");
  EXPECT_EQ(auth.last_error(), "");
  EXPECT_EQ(log.text().find("token-one"), std::string::npos) << "log leaks the token";
  EXPECT_EQ(log.text().find("token-two"), std::string::npos) << "log leaks the token";
}

TEST(AuthToken, RejectedTokenIsProbedOncePerInterval) {
  temp_dir dir;
  captured_log log;
  token_authenticator auth(dir.write("token", "tok"), log.logger, {.recheck_rejected = 600s});
  auto t0 = token_authenticator::clock::time_point{} + 1h;
  http_request req;
  ASSERT_TRUE(auth.authorize(req, t0).has_value());
  auth.rejected(rejection(), t0);
  EXPECT_FALSE(auth.authorize(req, t0 + 599s).has_value());
  EXPECT_TRUE(auth.authorize(req, t0 + 600s).has_value());   // the one probe
  EXPECT_FALSE(auth.authorize(req, t0 + 601s).has_value());  // others keep waiting
  auth.rejected(rejection(), t0 + 602s);                     // the probe failed too
  EXPECT_FALSE(auth.authorize(req, t0 + 1201s).has_value());
  EXPECT_TRUE(auth.authorize(req, t0 + 1202s).has_value());
  EXPECT_EQ(log.count("warning", "APIGW.0301"), 1) << log.text();
}

TEST(AuthToken, FileProblemsAreReportedOnceAndRecoverWhenFixed) {
  temp_dir dir;
  captured_log log;
  auto path = dir.file("token");
  token_authenticator auth(path, log.logger);
  auto now = token_authenticator::clock::now();
  for (int i = 0; i < 3; ++i) {
    http_request req;
    auto r = auth.authorize(req, now);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), make_error_code(errc::auth_unavailable));
  }
  EXPECT_NE(auth.last_error().find(path), std::string::npos) << auth.last_error();
  EXPECT_EQ(log.count("error", path), 1) << log.text();

  dir.write("token", "sekrit-token", 0644);
  http_request req;
  ASSERT_FALSE(auth.authorize(req, now).has_value());
  EXPECT_NE(auth.last_error().find("chmod 600"), std::string::npos) << auth.last_error();

  ::chmod(path.c_str(), 0600);
  ASSERT_TRUE(auth.authorize(req, now).has_value());
  EXPECT_EQ(header(req, "X-Auth-Token"), "sekrit-token");
  EXPECT_EQ(log.count("info", "available again"), 1) << log.text();
  EXPECT_EQ(log.text().find("sekrit"), std::string::npos) << "log leaks the token";
}

TEST(AuthToken, ReadsACredential) {
  temp_dir dir;
  captured_log log;
  dir.write("hss-token", "cred-token\n", 0400);
  test::env_guard env("CREDENTIALS_DIRECTORY", dir.path().string());
  token_authenticator auth("credential:hss-token", log.logger);
  http_request req;
  ASSERT_TRUE(run_authorize(auth, req).has_value());
  EXPECT_EQ(header(req, "X-Auth-Token"), "cred-token");
}

}  // namespace
}  // namespace hssjw
