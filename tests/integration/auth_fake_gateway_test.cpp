// The fake HSS's credential side, checked on its own before the daemon is
// run against it (auth_e2e_test.cpp): its AK/SK verifier against the
// python-v3 vectors and against what lib/auth's signer produces for edge
// inputs; over real TLS, its IAM token endpoint (password check, project
// scope, expiry, IAM down), its AK/SK rules (bad, stale, unknown, lock-out,
// X-Project-Id) and the auth modes.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <regex>
#include <sstream>

#include "auth/aksk_authenticator.hpp"
#include "auth/aksk_signer.hpp"
#include "common/log_capture.hpp"
#include "common/process.hpp"
#include "common/temp_dir.hpp"
#include "fake_hss/aksk_verify.hpp"
#include "fake_hss/server.hpp"
#include "hss/client.hpp"

namespace {

namespace json = boost::json;
namespace verify = fake_hss::aksk;
using namespace std::chrono_literals;

// ------------------------------------------------------------ vectors

json::array vectors() {
  std::ifstream in(HSSJW_TEST_DATA_DIR "/aksk_vectors.json");
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str()).as_array();
}

std::string str(const json::value& v) { return std::string(v.as_string()); }

// The request as the gateway receives it: target without scheme and host,
// header names lower-case.
verify::request received(const json::object& vec) {
  verify::request r;
  r.method = str(vec.at("method"));
  std::string url = str(vec.at("url"));
  r.target = url.substr(url.find('/', url.find("//") + 2));
  for (const auto& [name, value] : vec.at("expected").at("headers_after_signing").as_object()) {
    std::string lower(name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[lower] = str(value);
  }
  r.body = str(vec.at("body"));
  return r;
}

TEST(fake_aksk, matches_every_vector_step_by_step) {
  const auto all = vectors();
  ASSERT_GE(all.size(), 3u);
  for (const auto& v : all) {
    const auto& vec = v.as_object();
    const auto& expected = vec.at("expected").as_object();
    SCOPED_TRACE(str(vec.at("name")));
    const auto r = received(vec);
    auto auth = verify::parse_authorization(r.headers.at("authorization"));
    ASSERT_TRUE(auth);
    EXPECT_EQ(auth->access_key, str(vec.at("ak")));
    EXPECT_EQ(auth->signature, str(expected.at("signature")));
    auto canonical = verify::canonical_request(r, auth->signed_headers);
    ASSERT_TRUE(canonical);
    EXPECT_EQ(*canonical, str(expected.at("canonical_request")));
    const auto sts = verify::string_to_sign(str(vec.at("sdk_date")), *canonical);
    EXPECT_EQ(sts, str(expected.at("string_to_sign")));
    EXPECT_EQ(verify::signature(str(vec.at("sk")), sts), str(expected.at("signature")));
    EXPECT_TRUE(verify::verify(r, *auth, str(vec.at("sk"))));

    EXPECT_FALSE(verify::verify(r, *auth, str(vec.at("sk")) + "x"));
    auto other_query = r;
    other_query.target += "&x=1";
    EXPECT_FALSE(verify::verify(other_query, *auth, str(vec.at("sk"))));
    auto other_date = r;
    other_date.headers["x-sdk-date"] = "20200608T023901Z";
    EXPECT_FALSE(verify::verify(other_date, *auth, str(vec.at("sk"))));
    if (!r.body.empty()) {
      auto other_body = r;
      other_body.body += " ";
      EXPECT_FALSE(verify::verify(other_body, *auth, str(vec.at("sk"))));
    }
  }
}

TEST(fake_aksk, canonical_pieces_follow_the_document) {
  EXPECT_EQ(verify::canonical_uri("/v5/p/kubernetes/jobs"), "/v5/p/kubernetes/jobs/");
  EXPECT_EQ(verify::canonical_uri("/v5/p/kubernetes/jobs/"), "/v5/p/kubernetes/jobs/");
  EXPECT_EQ(verify::canonical_uri("/web-0%20%28%CE%B2%29"), "/web-0%20%28%CE%B2%29/");
  EXPECT_EQ(verify::canonical_uri("/a~b/c+d"), "/a~b/c%2Bd/");
  EXPECT_EQ(verify::canonical_uri(""), "/");
  // Sorted by raw key then value; upper case first; repeated keys by value.
  EXPECT_EQ(verify::canonical_query("b=2&a=2&a=1&B=0"), "B=0&a=1&a=2&b=2");
  EXPECT_EQ(verify::canonical_query("name=a%20b&empty=&flag"), "empty=&flag=&name=a%20b");
  EXPECT_EQ(verify::canonical_query("q=%CE%B2~%2F"), "q=%CE%B2~%2F");
  EXPECT_EQ(verify::canonical_query(""), "");
  EXPECT_EQ(verify::encode("a b/~_-."), "a%20b%2F~_-.");
  EXPECT_FALSE(verify::parse_authorization("AWS4-HMAC-SHA256 Credential=x"));
  EXPECT_FALSE(verify::parse_authorization("SDK-HMAC-SHA256 Access=a, Signature=b"));
  auto a = verify::parse_authorization(
      "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=ab12");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->signed_headers, (std::vector<std::string>{"host", "x-sdk-date"}));
  auto t = verify::parse_sdk_date("20250115T083000Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(verify::format_sdk_date(*t), "20250115T083000Z");
  EXPECT_FALSE(verify::parse_sdk_date("2025-01-15T08:30:00Z"));
  EXPECT_FALSE(verify::parse_sdk_date("20251315T083000Z"));
}

// Whatever lib/auth's signer sends, the independent verifier accepts:
// encoding, unicode, trimming, underscores, repeated keys, host with port.
TEST(fake_aksk, accepts_what_the_daemons_signer_sends_for_edge_inputs) {
  struct edge {
    std::string path;
    hssjw::aksk::string_pairs query;
    hssjw::aksk::string_pairs headers;
    std::string body;
    std::string host;
  };
  const std::vector<edge> edges = {
      {"/v5/p1/kubernetes/jobs", {{"limit", "200"}, {"offset", "0"}}, {}, "", "localhost:8443"},
      {"/v5/p1/kubernetes/jobs",
       {{"job_name", "web 0 (β)"}, {"namespace_name", "a/b~c"}, {"Z", "1"}, {"a", "+x"}},
       {{"Content-Type", "application/json"}},
       "",
       "hss.example.com"},
      {"/v5/p1/kubernetes/jobs", {{"k", "2"}, {"k", "1"}, {"k", ""}}, {}, "", "127.0.0.1:1"},
      {"/v5/p%201/kubernetes/jobs",
       {},
       {{"X_Under", "not signed"}, {"X-Pad", "  a  b  "}},
       "",
       "h"},
      {"/resources", {{"size", "1"}}, {{"X-Custom", "\tv"}}, "{\"name\": \"x\"}", "h:443"},
  };
  const std::string sk = "Edge-SK/with+symbols=";
  for (const auto& e : edges) {
    hssjw::aksk::sign_input in{e.body.empty() ? "GET" : "POST",
                               e.path,
                               e.query,
                               e.headers,
                               e.body,
                               e.host,
                               "EDGEAK",
                               sk,
                               "20250115T083000Z"};
    auto out = hssjw::aksk::sign(in);
    verify::request r;
    r.method = in.method;
    r.target = out.canonical_query.empty() ? e.path : e.path + "?" + out.canonical_query;
    for (const auto& [k, v] : out.headers_to_send) {
      std::string lower = k;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[lower] = v;
    }
    r.body = e.body;
    SCOPED_TRACE(r.target);
    auto auth = verify::parse_authorization(r.headers.at("authorization"));
    ASSERT_TRUE(auth);
    EXPECT_EQ(r.headers.at("host"), e.host);
    EXPECT_TRUE(verify::verify(r, *auth, sk)) << out.canonical_request;
    EXPECT_FALSE(verify::verify(r, *auth, sk + "!"));
    for (const auto& name : auth->signed_headers)
      EXPECT_EQ(name.find('_'), std::string::npos) << "underscore header signed: " << name;
  }
}

// ------------------------------------------------------------ over TLS

struct reply {
  unsigned status = 0;
  std::string body;
  std::string subject_token;
  std::string date;
  json::object json() const {
    std::error_code ec;
    auto v = json::parse(body, ec);
    return !ec && v.is_object() ? v.as_object() : json::object{};
  }
  std::string error_code() const {
    auto j = json();
    return j.contains("error_code") ? str(j.at("error_code")) : "";
  }
  std::string error_msg() const {
    auto j = json();
    return j.contains("error_msg") ? str(j.at("error_msg")) : "";
  }
};

struct gateway_fixture : ::testing::Test {
  fake_hss::server fake;
  boost::asio::io_context ioc;
  hssjw::https_client client{ioc.get_executor(),
                             {.endpoint = fake.endpoint(),
                              .ca_file = fake.ca_file(),
                              .timeout = std::chrono::milliseconds(10'000)}};
  std::shared_ptr<spdlog::logger> quiet = hssjw::test::quiet_logger();
  hssjw::test::temp_dir dir;

  gateway_fixture() {
    fake.populate("p1", "0", 15);
    fake.populate("p2", "0", 5);
  }

  reply send(hssjw::http_request req) {
    std::optional<hssjw::result<hssjw::http_response>> got;
    boost::asio::co_spawn(ioc, client.async_request(std::move(req)),
                          [&](std::exception_ptr e, hssjw::result<hssjw::http_response> r) {
                            if (!e) got = std::move(r);
                          });
    ioc.restart();
    ioc.run_for(15s);
    if (!got || !*got) {
      ADD_FAILURE() << "request did not complete";
      return {};
    }
    auto& r = **got;
    return {r.status, r.body, r.subject_token, r.date};
  }

  static std::string login_body(const std::string& domain, const std::string& user,
                                const std::string& password, const std::string& project) {
    return json::serialize(json::object{
        {"auth",
         {{"identity",
           {{"methods", json::array{"password"}},
            {"password",
             {{"user",
               {{"domain", {{"name", domain}}}, {"name", user}, {"password", password}}}}}}},
          {"scope", {{"project", {{"id", project}}}}}}}});
  }

  reply login(const std::string& password, const std::string& project = "p1",
              const std::string& target = "/v3/auth/tokens?nocatalog=true") {
    hssjw::http_request req;
    req.method = "POST";
    req.target = target;
    req.headers = {{"Content-Type", "application/json;charset=utf8"}};
    req.body = login_body("acct", "bot", password, project);
    return send(std::move(req));
  }

  reply jobs_with_token(const std::string& token, const std::string& project = "p1") {
    hssjw::http_request req;
    req.target = "/v5/" + project + "/kubernetes/jobs?limit=10&offset=0";
    req.headers = {{"X-Auth-Token", token}};
    return send(std::move(req));
  }

  // Signed by lib/auth exactly as the daemon signs, with a chosen clock.
  reply jobs_signed(const std::string& ak, const std::string& sk, const std::string& project = "p1",
                    std::chrono::system_clock::time_point wall = std::chrono::system_clock::now(),
                    const std::string& x_project = "") {
    dir.write("sk-" + ak, sk + "\n");
    hssjw::aksk_authenticator signer(ak, dir.file("sk-" + ak), quiet);
    hssjw::http_request req;
    req.target = "/v5/" + project + "/kubernetes/jobs?offset=0&limit=10&enterprise_project_id=0";
    auto ok = signer.authorize(req, x_project.empty() ? project : x_project, client.host_header(),
                               wall, hssjw::aksk_authenticator::clock::now());
    EXPECT_TRUE(ok);
    return send(std::move(req));
  }
};

TEST_F(gateway_fixture, iam_issues_project_scoped_tokens_that_expire) {
  fake.add_iam_user("acct", "bot", "pw-1");
  fake.set_auth_mode(fake_hss::auth_mode::iam);
  auto r = login("pw-1");
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_GE(r.subject_token.size(), 2048u);
  auto token = r.json().at("token").as_object();
  const std::regex iam_time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
  EXPECT_TRUE(std::regex_match(str(token.at("expires_at")), iam_time)) << token.at("expires_at");
  EXPECT_TRUE(std::regex_match(str(token.at("issued_at")), iam_time));
  EXPECT_EQ(token.at("project").at("id"), "p1");
  EXPECT_FALSE(token.contains("catalog"));  // nocatalog
  EXPECT_TRUE(
      login("pw-1", "p1", "/v3/auth/tokens").json().at("token").as_object().contains("catalog"));

  EXPECT_EQ(jobs_with_token(r.subject_token).status, 200u);
  auto other = jobs_with_token(r.subject_token, "p2");
  EXPECT_EQ(other.status, 401u);
  EXPECT_EQ(other.error_code(), "APIGW.0301");
  EXPECT_EQ(jobs_with_token("test-token").error_code(),
            "APIGW.0301");  // the static one: not in iam mode
  EXPECT_EQ(jobs_with_token("MIIforged").error_code(), "APIGW.0301");

  fake.expire_tokens();
  auto expired = jobs_with_token(r.subject_token);
  EXPECT_EQ(expired.status, 401u);
  EXPECT_EQ(expired.error_code(), "APIGW.0307");
  EXPECT_EQ(expired.error_msg(), "The token must be updated");

  // A shortened lifetime, and the fake's clock moved past it.
  fake.set_token_lifetime(30s);
  auto fresh = login("pw-1");
  ASSERT_EQ(fresh.status, 201u);
  EXPECT_EQ(jobs_with_token(fresh.subject_token).status, 200u);
  fake.set_clock_offset(31s);
  EXPECT_EQ(jobs_with_token(fresh.subject_token).error_code(), "APIGW.0307");

  auto issued = fake.issued_tokens();
  ASSERT_EQ(issued.size(), 3u);
  EXPECT_EQ(issued[2].token, fresh.subject_token);
  EXPECT_EQ(issued[2].expires_at - issued[2].issued_at, 30s);
  EXPECT_EQ(fake.login_attempts(), 3u);
}

TEST_F(gateway_fixture, iam_refuses_wrong_passwords_and_can_be_down) {
  fake.add_iam_user("acct", "bot", "pw-1");
  auto wrong = login("pw-2");
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_TRUE(wrong.subject_token.empty());
  EXPECT_EQ(
      wrong.json(),
      json::parse(
          R"({"error":{"code":401,"message":"The username or password is wrong.","title":"Unauthorized"}})"));

  hssjw::http_request bad;
  bad.method = "POST";
  bad.target = "/v3/auth/tokens";
  bad.body = "{not json";
  EXPECT_EQ(send(bad).status, 400u);
  bad.body = login_body("acct", "bot", "pw-1", "");
  EXPECT_EQ(send(bad).status, 400u);  // no project scope
  bad.body = login_body("other-acct", "bot", "pw-1", "p1");
  EXPECT_EQ(send(bad).status, 401u);

  fake.set_iam_down(true);
  auto down = login("pw-1");
  EXPECT_EQ(down.status, 503u);
  EXPECT_EQ(down.error_code(), "APIGW.0613");
  fake.set_iam_down(false);
  EXPECT_EQ(login("pw-1").status, 201u);
  EXPECT_EQ(fake.login_attempts(), 6u);
  EXPECT_EQ(fake.issued_tokens().size(), 1u);
  // IAM logins are in the request log like any request.
  std::size_t logged = 0;
  for (auto& rec : fake.requests()) logged += rec.path == "/v3/auth/tokens";
  EXPECT_EQ(logged, 6u);
}

TEST_F(gateway_fixture, aksk_verifies_signatures_and_locks_after_five_failures) {
  fake.set_auth_mode(fake_hss::auth_mode::aksk);
  fake.add_access_key("AK1", "good-sk");
  EXPECT_EQ(jobs_signed("AK1", "good-sk").status, 200u);
  EXPECT_EQ(jobs_signed("AK1", "good-sk", "p2").status, 200u);
  EXPECT_EQ(jobs_with_token("test-token").error_code(), "APIGW.0301");  // a token: not in aksk mode

  auto unknown = jobs_signed("AK-unknown", "good-sk");
  EXPECT_EQ(unknown.status, 401u);
  EXPECT_NE(unknown.error_msg().find("Get secretKey failed"), std::string::npos);

  auto mismatch = jobs_signed("AK1", "good-sk", "p1", std::chrono::system_clock::now(), "p2");
  EXPECT_EQ(mismatch.status, 401u);
  EXPECT_NE(mismatch.error_msg().find("X-Project-Id"), std::string::npos);

  fake.set_aksk_lockout(5, 2s);
  for (int i = 0; i < 4; ++i) {
    auto bad = jobs_signed("AK1", "wrong-sk");
    EXPECT_EQ(bad.error_code(), "APIGW.0301");
    EXPECT_NE(bad.error_msg().find("verify aksk signature fail"), std::string::npos) << bad.body;
  }
  EXPECT_EQ(jobs_signed("AK1", "good-sk").status, 200u);  // a success ends the run of failures
  EXPECT_FALSE(fake.access_key_locked("AK1"));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(jobs_signed("AK1", "wrong-sk").status, 401u);
  EXPECT_TRUE(fake.access_key_locked("AK1"));
  auto locked = jobs_signed("AK1", "good-sk");
  EXPECT_EQ(locked.error_code(), "APIGW.0301");
  EXPECT_NE(locked.error_msg().find("AK access failed to reach the limit,forbidden"),
            std::string::npos);
  EXPECT_EQ(fake.signature_failures("AK1"), 9u);
  EXPECT_TRUE(hssjw::test::eventually([&] { return !fake.access_key_locked("AK1"); }, 5s));
  EXPECT_EQ(jobs_signed("AK1", "good-sk").status, 200u);
}

TEST_F(gateway_fixture, aksk_rejects_stale_signatures_on_the_fakes_clock) {
  fake.set_auth_mode(fake_hss::auth_mode::aksk);
  fake.add_access_key("AK1", "good-sk");
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(jobs_signed("AK1", "good-sk", "p1", now - 14min).status, 200u);
  auto stale = jobs_signed("AK1", "good-sk", "p1", now - 16min);
  EXPECT_EQ(stale.status, 401u);
  EXPECT_EQ(stale.error_code(), "APIGW.0303");
  EXPECT_NE(stale.error_msg().find("signature expired, signature time:"), std::string::npos);
  EXPECT_NE(stale.error_msg().find(",server time:"), std::string::npos);
  EXPECT_EQ(jobs_signed("AK1", "good-sk", "p1", now + 16min).error_code(), "APIGW.0303");

  fake.set_clock_offset(20min);
  auto skewed = jobs_signed("AK1", "good-sk");
  EXPECT_EQ(skewed.error_code(), "APIGW.0303");
  // The Date header tells the client the fake's time.
  auto skew = hssjw::aksk::clock_skew(skewed.date, std::chrono::system_clock::now());
  ASSERT_TRUE(skew) << skewed.date;
  EXPECT_NEAR(static_cast<double>(skew->count()), 1200.0, 5.0);
  EXPECT_EQ(fake.signature_failures("AK1"), 3u);
}

TEST_F(gateway_fixture, any_mode_accepts_each_method_and_token_mode_stays_the_default) {
  fake.add_iam_user("acct", "bot", "pw-1");
  fake.add_access_key("AK1", "good-sk");
  auto iam = login("pw-1");
  ASSERT_EQ(iam.status, 201u);
  EXPECT_EQ(jobs_with_token("test-token").status, 200u);  // default: the static token
  EXPECT_EQ(jobs_with_token(iam.subject_token).status, 401u);
  EXPECT_EQ(jobs_signed("AK1", "good-sk").status, 401u);

  fake.set_auth_mode(fake_hss::auth_mode::any);
  EXPECT_EQ(jobs_with_token("test-token").status, 200u);
  EXPECT_EQ(jobs_with_token(iam.subject_token).status, 200u);
  EXPECT_EQ(jobs_signed("AK1", "good-sk").status, 200u);
  EXPECT_EQ(jobs_signed("AK1", "bad-sk").status, 401u);
  EXPECT_EQ(jobs_with_token("nope").status, 401u);
}

}  // namespace
