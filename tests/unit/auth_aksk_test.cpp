// aksk_authenticator: the headers it adds and signs, the target it rewrites
// so the wire query is the signed one, and the pause after rejected
// signatures that keeps the gateway from locking the key.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "auth/aksk_authenticator.hpp"
#include "auth/aksk_signer.hpp"
#include "unit/auth_test_support.hpp"

namespace hssjw {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;
using test::captured_log;
using test::count_header;
using test::header;
using test::temp_dir;

constexpr const char* vector_sk = "ExampleSecretKey0123456789abcdefghijKLMN";
constexpr const char* vector_project = "0123456789abcdef0123456789abcdef";
constexpr const char* vector_host = "hss.cn-north-4.myhuaweicloud.com";
// shared/aksk_vectors.json, case hss_jobs_minimal.
constexpr const char* vector_authorization =
    "SDK-HMAC-SHA256 Access=EXAMPLEAK0HSS0POLLER, "
    "SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
    "Signature=fe94c403e2ea7221a29bac20cdb5b803091bf7786bedc2c64e194adf45c7a875";

const auto vector_time = sys_days{2025y / January / 15} + 8h + 30min;

http_request jobs_request() {
  http_request req;
  req.target = std::string("/v5/") + vector_project +
               "/kubernetes/jobs?offset=0&limit=200&enterprise_project_id=all_granted_eps";
  return req;
}

api_error signature_rejected() {
  return {401, "APIGW.0301", "Incorrect IAM authentication information: verify aksk signature fail",
          "req-9"};
}

struct fixture {
  temp_dir dir;
  captured_log log;
  std::string sk_path = dir.write("sk", std::string(vector_sk) + "\n");
  aksk_authenticator auth{
      "EXAMPLEAK0HSS0POLLER", sk_path, log.logger, {.max_rejections = 2, .pause = 360s}};
  aksk_authenticator::clock::time_point t0 = aksk_authenticator::clock::time_point{} + 1h;

  result<void> sign(http_request& req, aksk_authenticator::clock::time_point now) {
    return auth.authorize(req, vector_project, vector_host, vector_time, now);
  }
};

TEST(auth_aksk, signs_like_the_python_sdk_and_sends_the_signed_query) {
  fixture f;
  auto req = jobs_request();
  ASSERT_TRUE(f.sign(req, f.t0).has_value()) << f.auth.last_error();
  EXPECT_EQ(header(req, "Authorization"), vector_authorization);
  EXPECT_EQ(req.target, std::string("/v5/") + vector_project +
                            "/kubernetes/jobs?enterprise_project_id=all_granted_eps&limit=200&"
                            "offset=0");
  EXPECT_EQ(header(req, "Content-Type"), "application/json");
  EXPECT_EQ(header(req, "X-Project-Id"), vector_project);
  EXPECT_EQ(header(req, "Host"), vector_host);
  EXPECT_EQ(header(req, "X-Sdk-Date"), "20250115T083000Z");
  EXPECT_EQ(f.log.text().find(vector_sk), std::string::npos);
}

TEST(auth_aksk, resigning_a_retried_request_replaces_the_old_signature) {
  fixture f;
  auto req = jobs_request();
  ASSERT_TRUE(f.sign(req, f.t0).has_value());
  ASSERT_TRUE(
      f.auth.authorize(req, vector_project, vector_host, vector_time + 61s, f.t0).has_value());
  EXPECT_EQ(count_header(req, "Authorization"), 1);
  EXPECT_EQ(count_header(req, "X-Sdk-Date"), 1);
  EXPECT_EQ(count_header(req, "Host"), 1);
  EXPECT_EQ(header(req, "X-Sdk-Date"), "20250115T083101Z");
  EXPECT_NE(header(req, "Authorization"), vector_authorization);
}

TEST(auth_aksk, target_without_query_stays_without_question_mark) {
  fixture f;
  http_request req;
  req.target = "/v5/p/kubernetes/jobs";
  ASSERT_TRUE(f.sign(req, f.t0).has_value());
  EXPECT_EQ(req.target, "/v5/p/kubernetes/jobs");
}

TEST(auth_aksk, pauses_after_two_rejected_signatures_and_logs_it_once) {
  fixture f;
  auto req = jobs_request();
  ASSERT_TRUE(f.sign(req, f.t0).has_value());
  f.auth.rejected({429, "APIGW.0308", "throttled", ""}, f.t0);  // not a signature failure
  f.auth.rejected({403, "HSS.0013", "insufficient permissions", ""}, f.t0);
  f.auth.rejected(signature_rejected(), f.t0);
  EXPECT_TRUE(f.sign(req, f.t0 + 1s).has_value());  // one rejection: keep going
  f.auth.rejected(signature_rejected(), f.t0 + 2s);
  for (int i = 0; i < 5; ++i) {
    auto r = f.sign(req, f.t0 + 3s + seconds(i));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), make_error_code(errc::auth_unavailable));
  }
  f.auth.rejected(signature_rejected(), f.t0 + 10s);  // in flight before the pause
  EXPECT_EQ(f.log.count("error", "paused"), 1) << f.log.text();
  EXPECT_EQ(f.log.count("error", "rejected in a row"), 1) << f.log.text();
  EXPECT_EQ(f.log.count("warning", "verify aksk signature fail"), 2) << f.log.text();
  EXPECT_NE(f.auth.last_error().find(f.sk_path), std::string::npos) << f.auth.last_error();

  EXPECT_FALSE(f.sign(req, f.t0 + 2s + 359s).has_value());
  EXPECT_TRUE(f.sign(req, f.t0 + 2s + 360s).has_value());
  EXPECT_EQ(f.log.count("info", "available again"), 1) << f.log.text();
}

TEST(auth_aksk, rejections_far_apart_do_not_add_up) {
  fixture f;
  auto req = jobs_request();
  f.auth.rejected(signature_rejected(), f.t0);
  f.auth.rejected(signature_rejected(), f.t0 + 361s);
  EXPECT_TRUE(f.sign(req, f.t0 + 362s).has_value());
  f.auth.rejected(signature_rejected(), f.t0 + 363s);
  EXPECT_FALSE(f.sign(req, f.t0 + 364s).has_value());
}

TEST(auth_aksk, gateway_lock_pauses_at_once_and_a_new_key_does_not_lift_it) {
  fixture f;
  auto req = jobs_request();
  f.auth.rejected({401, "APIGW.0301", "AK access failed to reach the limit,forbidden", ""}, f.t0);
  EXPECT_FALSE(f.sign(req, f.t0 + 1s).has_value());
  f.dir.write("sk", "another-secret-key");
  EXPECT_FALSE(f.sign(req, f.t0 + 2s).has_value());
  EXPECT_TRUE(f.sign(req, f.t0 + 361s).has_value());
}

TEST(auth_aksk, a_new_secret_key_lifts_our_own_pause) {
  fixture f;
  auto req = jobs_request();
  ASSERT_TRUE(f.sign(req, f.t0).has_value());
  f.auth.rejected(signature_rejected(), f.t0);
  f.auth.rejected(signature_rejected(), f.t0);
  EXPECT_FALSE(f.sign(req, f.t0 + 1s).has_value());
  f.dir.write("sk", "the-corrected-secret-key");
  EXPECT_TRUE(f.sign(req, f.t0 + 2s).has_value());
  EXPECT_EQ(f.log.count("info", "changed; signing again"), 1) << f.log.text();
}

TEST(auth_aksk, clock_skew_rejection_says_to_check_the_clock) {
  fixture f;
  f.auth.rejected(
      {401, "APIGW.0303",
       "signature expired, signature time:20250115T083000Z,server time:20250115T090000Z", ""},
      f.t0);
  EXPECT_EQ(f.log.count("warning", "clock"), 1) << f.log.text();
}

TEST(auth_aksk, secret_key_file_problems_are_auth_unavailable) {
  temp_dir dir;
  captured_log log;
  aksk_authenticator auth("AK", dir.write("sk", "sk-value", 0640), log.logger);
  auto req = jobs_request();
  auto r = auth.authorize(req, "p", "h", system_clock::now(), aksk_authenticator::clock::now());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), make_error_code(errc::auth_unavailable));
  EXPECT_NE(auth.last_error().find("chmod 600"), std::string::npos);
  EXPECT_EQ(count_header(req, "Authorization"), 0);
}

TEST(auth_aksk, async_authorize_runs_on_an_io_context) {
  // The context outlives the authenticator: its timers are bound to it.
  boost::asio::io_context ctx;
  fixture f;
  auto req = jobs_request();
  std::optional<result<void>> got;
  boost::asio::co_spawn(ctx, f.auth.async_authorize(req, vector_project, vector_host),
                        [&](std::exception_ptr e, result<void> r) {
                          if (e) std::rethrow_exception(e);
                          got = r;
                        });
  ctx.run_for(5s);
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->has_value());
  EXPECT_NE(header(req, "Authorization").find("Access=EXAMPLEAK0HSS0POLLER"), std::string::npos);
  // X-Sdk-Date is now, so it parses back into a time close to the clock.
  EXPECT_EQ(header(req, "X-Sdk-Date").size(), 16u);
}

// Several requests at once with a key not yet known to work: one is
// signed, the others wait for its answer.
struct gate_fixture {
  temp_dir dir;
  captured_log log;
  std::string sk_path = dir.write("sk", std::string(vector_sk) + "\n");
  boost::asio::io_context ctx;  // declared first: destroyed after the authenticator
  aksk_authenticator auth;
  std::vector<http_request> reqs;
  std::vector<std::optional<result<void>>> results;

  explicit gate_fixture(milliseconds proof_wait)
      : auth{"EXAMPLEAK0HSS0POLLER",
             sk_path,
             log.logger,
             {.max_rejections = 2, .pause = 360s, .proof_wait = proof_wait}} {}

  void start(int n) {
    // Each call's requests replace the last call's (all finished by then).
    reqs.assign(n, jobs_request());
    results.assign(n, std::nullopt);
    for (int i = 0; i < n; ++i) {
      boost::asio::co_spawn(ctx, auth.async_authorize(reqs[i], vector_project, vector_host),
                            [this, i](std::exception_ptr e, result<void> r) {
                              if (e) std::rethrow_exception(e);
                              results[i] = r;
                            });
    }
    run();
  }
  void run() {
    ctx.restart();
    ctx.run_for(50ms);
  }
  int done() const {
    return static_cast<int>(
        std::count_if(results.begin(), results.end(), [](const auto& r) { return r.has_value(); }));
  }
  int signed_ok() const {
    return static_cast<int>(std::count_if(results.begin(), results.end(),
                                          [](const auto& r) { return r && r->has_value(); }));
  }
};

TEST(auth_aksk, unproven_key_signs_one_request_until_it_is_accepted) {
  gate_fixture f(10s);
  f.start(4);
  EXPECT_EQ(f.done(), 1);
  f.auth.on_accepted(vector_project);
  f.run();
  EXPECT_EQ(f.signed_ok(), 4);
  // Proven: later requests are not held back.
  f.start(6);
  EXPECT_EQ(f.signed_ok(), 6);
}

TEST(auth_aksk, a_wrong_key_spends_two_signatures_however_many_requests_wait) {
  gate_fixture f(10s);
  f.start(8);
  EXPECT_EQ(f.done(), 1);
  f.auth.on_rejected(vector_project, signature_rejected());
  f.run();
  EXPECT_EQ(f.signed_ok(), 2);  // the next one goes, alone
  EXPECT_EQ(f.done(), 2);
  f.auth.on_rejected(vector_project, signature_rejected());  // the second: pause
  f.run();
  EXPECT_EQ(f.done(), 8);
  EXPECT_EQ(f.signed_ok(), 2);
}

TEST(auth_aksk, no_answer_within_proof_wait_lets_the_others_go) {
  gate_fixture f(30ms);
  f.start(3);
  f.ctx.restart();
  f.ctx.run_for(1s);
  EXPECT_EQ(f.signed_ok(), 3);
}

}  // namespace
}  // namespace hssjw
