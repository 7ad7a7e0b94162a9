// The three auth methods end to end: the real daemon process (--once,
// --check-config, --probe) against the fake HSS over TLS, whose IAM and
// AK/SK checks are its own (tests/fake_hss/gateway_auth.hpp). Token file:
// rejected, then replaced. Password: one login per project, token expiry in
// the middle of a walk, IAM down, wrong password. AK/SK: every request
// verified, wrong SK without locking the key, a skewed clock. And in every
// run, the secrets appear in no output.
#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <set>

#include "common/daemon_fixture.hpp"

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using namespace hssjw::test;

// Distinctive, so that a leak anywhere is found by a plain search.
const std::string token_secret = "TOKEN-d1st1nct-5ecret-7f3a9c";
const std::string old_token_secret = "TOKEN-0ld-d1st1nct-5ecret-11";
const std::string password_secret = "PW-d1st1nct-5ecret-9b2c44";
const std::string wrong_password_secret = "PW-wr0ng-d1st1nct-5ecret-77";
const std::string sk_secret = "SK-d1st1nct-5ecret-0123abcdE5F6";
const std::string wrong_sk_secret = "SK-wr0ng-d1st1nct-5ecret-9999";
const std::string access_key = "AKE2EJOBWATCH0001";

struct auth_e2e : daemon_fixture {
  auth_e2e() : daemon_fixture(token_secret) {}

  std::string token_auth() const { return "{method: token, token_file: token}"; }
  std::string password_auth() const {
    return "{method: password, iam_endpoint: " + fake.endpoint() +
           ", domain: acct, user: jobwatch-bot, password_file: password}";
  }
  std::string aksk_auth() const {
    return "{method: aksk, access_key: " + access_key + ", secret_key_file: sk}";
  }

  // Debug logging: the more the daemon says, the more a leak would show.
  std::string config(const std::string& auth, const std::string& projects,
                     const std::string& poll = "") const {
    auto c = cfg;
    c.auth = auth;
    c.projects = projects;
    c.poll = "rate: unlimited, page_size: 50, retry: {attempts: 1, initial: 10ms, max: 20ms}" +
             (poll.empty() ? "" : ", " + poll);
    c.extra = "log: {level: debug, target: stderr}\n";
    return config_text(c);
  }

  process_result run(const std::string& text, const std::vector<std::string>& args) {
    dir.write("config.yaml", text);
    auto r = run_daemon(args, 60s);
    expect_no_secrets(r);
    return r;
  }
  process_result once(const std::string& text) { return run(text, {"--once"}); }
  process_result check(const std::string& text) { return run(text, {"--check-config"}); }
  process_result probe(const std::string& text) { return run(text, {"--check-config", "--probe"}); }

  static void expect_no_secrets(const process_result& r) {
    std::vector<std::string> secrets{token_secret,          old_token_secret, password_secret,
                                     wrong_password_secret, sk_secret,        wrong_sk_secret};
    for (const auto& s : secrets) {
      EXPECT_EQ(r.out.find(s), std::string::npos) << "secret on stdout: " << s;
      EXPECT_EQ(r.err.find(s), std::string::npos) << "secret on stderr: " << s;
    }
  }

  // No IAM token the fake issued may show either (they are secrets too).
  void expect_no_issued_tokens(const process_result& r) {
    for (const auto& t : fake.issued_tokens()) {
      EXPECT_EQ(r.out.find(t.token.substr(0, 40)), std::string::npos) << "IAM token on stdout";
      EXPECT_EQ(r.err.find(t.token.substr(0, 40)), std::string::npos) << "IAM token on stderr";
    }
  }

  std::vector<fake_hss::request_record> jobs_requests() const {
    std::vector<fake_hss::request_record> out;
    for (auto& r : fake.requests())
      if (!r.project_id.empty()) out.push_back(r);
    return out;
  }

  // Every job in the fake, as "project/eps/name", for exact comparisons.
  static std::multiset<std::string> added_names(const std::vector<json::object>& events) {
    std::multiset<std::string> out;
    for (auto& e : events) {
      EXPECT_EQ(e.at("type"), "added");
      out.insert(std::string(e.at("scope").at("project_id").as_string()) + "/" +
                 std::string(e.at("key").at("name").as_string()));
    }
    return out;
  }
  std::multiset<std::string> inventory_names(const std::string& project,
                                             const std::string& eps = "0") const {
    std::multiset<std::string> out;
    for (auto& j : fake.jobs(project, eps)) out.insert(project + "/" + j.name);
    return out;
  }
};

const std::string one_project = "  - id: p1\n";
const std::string three_scopes =
    "  - id: p1\n    enterprise_projects: [\"\", team-a]\n"
    "  - id: p2\n";

// ------------------------------------------------------------ token file

TEST_F(auth_e2e, token_rejected_fails_the_walk_and_a_new_file_works_on_the_next_run) {
  fake.populate("p1", "0", 120, 1);
  dir.write("token", old_token_secret + "\n");
  auto r = once(config(token_auth(), one_project));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("APIGW.0301"), std::string::npos) << r.err;
  // The token is tried once more by the walker, then the scope waits for a
  // new file: no hammering.
  EXPECT_LE(jobs_requests().size(), 2u);

  dir.write("token", token_secret + "\n");
  r = once(config(token_auth(), one_project));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(added_names(parse_ndjson(r.out)), inventory_names("p1"));
  for (auto& req : jobs_requests())
    if (req.status == 200) EXPECT_EQ(req.headers.at("x-auth-token"), token_secret);
}

// ------------------------------------------------------------ password

struct password_e2e : auth_e2e {
  void SetUp() override {
    fake.set_auth_mode(fake_hss::auth_mode::iam);
    fake.add_iam_user("acct", "jobwatch-bot", password_secret);
    dir.write("password", password_secret + "\n");
  }
};

TEST_F(password_e2e, one_login_per_project_however_many_scopes_and_pages) {
  fake.populate("p1", "0", 260, 1);
  fake.populate("p1", "team-a", 140, 2);
  fake.populate("p2", "0", 90, 3);
  auto r = once(config(password_auth(), three_scopes));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto events = parse_ndjson(r.out);
  EXPECT_EQ(events.size(), 260u + 140u + 90u);
  EXPECT_EQ(fake.login_attempts(), 2u);
  auto issued = fake.issued_tokens();
  ASSERT_EQ(issued.size(), 2u);
  EXPECT_EQ((std::set<std::string>{issued[0].project_id, issued[1].project_id}),
            (std::set<std::string>{"p1", "p2"}));
  EXPECT_EQ(issued[0].user, "jobwatch-bot");
  EXPECT_EQ(issued[0].domain, "acct");
  auto requests = jobs_requests();
  EXPECT_GT(requests.size(), 10u);
  for (auto& req : requests) {
    EXPECT_EQ(req.status, 200u) << req.target;
    auto token = req.headers.at("x-auth-token");
    EXPECT_EQ(token, issued[0].project_id == req.project_id ? issued[0].token : issued[1].token);
  }
  for (auto& req : fake.requests())
    if (req.path == "/v3/auth/tokens") EXPECT_EQ(req.target, "/v3/auth/tokens?nocatalog=true");
  expect_no_issued_tokens(r);
}

// The fake expires every token after a few pages of a walk: the daemon logs
// in again, repeats the rejected pages and the walk's events are exact.
TEST_F(password_e2e, token_expiry_mid_walk_renews_and_loses_or_invents_nothing) {
  fake.populate("p1", "0", 700, 4);
  std::atomic<int> pages{0};
  auto expire_at_page = [&](int n) {
    pages = 0;
    fake.on_request([this, &pages, n](const fake_hss::request_record&) {
      if (++pages == n) fake.expire_tokens();
    });
  };

  // Baseline walk, expiry after 4 pages.
  expire_at_page(4);
  auto r = once(config(password_auth(), one_project, "pages_in_flight: 4"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(added_names(parse_ndjson(r.out)), inventory_names("p1"));
  EXPECT_EQ(fake.login_attempts(), 2u);  // the first, and one renewal
  std::size_t expired = 0;
  for (auto& req : jobs_requests()) expired += req.status == 401;
  EXPECT_GE(expired, 1u) << "the expiry did not hit the walk";
  EXPECT_NE(r.err.find("APIGW.0307"), std::string::npos) << r.err;

  // Changes, then a walk with an expiry in the middle again: exactly the
  // changes come out.
  auto jobs = fake.jobs("p1", "0");
  auto modified = jobs[100];
  modified.status = modified.status == "Failed" ? "Running" : "Failed";
  fake.upsert(modified);
  fake.erase("p1", "0", jobs[400].cluster, jobs[400].ns, jobs[400].name);
  auto fresh = jobs[0];
  fresh.name = "fresh-after-expiry";
  fresh.create_time += 10'000;
  fake.upsert(fresh);
  fake.clear_requests();
  expire_at_page(6);
  r = once(config(password_auth(), one_project, "pages_in_flight: 4"));
  fake.on_request(nullptr);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::multiset<std::string> got;
  for (auto& e : parse_ndjson(r.out))
    got.insert(std::string(e.at("type").as_string()) + " " +
               std::string(e.at("key").at("name").as_string()));
  EXPECT_EQ(got,
            (std::multiset<std::string>{"modified " + modified.name, "removed " + jobs[400].name,
                                        "added fresh-after-expiry"}));
  EXPECT_EQ(fake.login_attempts(), 4u);
  expect_no_issued_tokens(r);
}

TEST_F(password_e2e, iam_down_fails_the_walk_with_a_clear_error) {
  fake.populate("p1", "0", 30, 5);
  fake.populate("p1", "team-a", 30, 6);
  fake.populate("p2", "0", 30, 7);
  fake.set_iam_down(true);
  auto r = once(config(password_auth(), three_scopes));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("APIGW.0613"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HTTP 503"), std::string::npos) << r.err;
  EXPECT_LE(fake.login_attempts(), 2u);  // one per project, no retry loop
  EXPECT_TRUE(jobs_requests().empty());

  auto p = probe(config(password_auth(), three_scopes));
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_NE(p.out.find("authentication failed"), std::string::npos) << p.out;
  EXPECT_NE(p.err.find("APIGW.0613"), std::string::npos) << p.err;

  fake.set_iam_down(false);
  r = once(config(password_auth(), three_scopes));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_ndjson(r.out).size(), 90u);
}

TEST_F(password_e2e, wrong_password_is_reported_with_code_and_message_without_a_retry_storm) {
  fake.populate("p1", "0", 120, 8);
  fake.populate("p1", "team-a", 20, 9);
  fake.populate("p2", "0", 20, 10);
  dir.write("password", wrong_password_secret + "\n");
  auto r = once(config(password_auth(), three_scopes));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("HTTP 401"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("The username or password is wrong."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("jobwatch-bot"), std::string::npos) << r.err;
  // The password is the user's: one refusal stops every project's logins.
  EXPECT_EQ(fake.login_attempts(), 1u);
  EXPECT_TRUE(jobs_requests().empty());

  auto p = probe(config(password_auth(), three_scopes));
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_NE(p.err.find("The username or password is wrong."), std::string::npos) << p.err;
  EXPECT_EQ(fake.login_attempts(), 2u);
}

// ------------------------------------------------------------ AK/SK

struct aksk_e2e : auth_e2e {
  void SetUp() override {
    fake.set_auth_mode(fake_hss::auth_mode::aksk);
    fake.add_access_key(access_key, sk_secret);
    dir.write("sk", sk_secret + "\n");
  }
};

TEST_F(aksk_e2e, every_request_is_signed_and_verifies) {
  fake.populate("p1", "0", 210, 11);
  fake.populate("p1", "team-a", 60, 12);
  fake.populate("p2", "0", 45, 13);
  auto r =
      once(config(aksk_auth(), three_scopes + "    filters: {namespace_name: \"default ns/β\"}\n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // p2's filter matches nothing (none of its jobs is in that namespace):
  // the point is the encoded query verifying.
  EXPECT_EQ(parse_ndjson(r.out).size(), 210u + 60u);
  auto requests = jobs_requests();
  EXPECT_GT(requests.size(), 6u);
  for (auto& req : requests) {
    EXPECT_EQ(req.status, 200u) << req.target;
    EXPECT_EQ(
        req.headers.at("authorization").rfind("SDK-HMAC-SHA256 Access=" + access_key + ", ", 0),
        0u);
    EXPECT_EQ(req.headers.at("x-project-id"), req.project_id);
    EXPECT_FALSE(req.headers.contains("x-auth-token"));
  }
  EXPECT_EQ(fake.signature_failures(access_key), 0u);
}

TEST_F(aksk_e2e, wrong_sk_fails_with_0301_and_stays_below_the_lock_threshold) {
  fake.populate("p1", "0", 120, 14);
  fake.populate("p1", "team-a", 20, 15);
  fake.populate("p2", "0", 20, 16);
  dir.write("sk", wrong_sk_secret + "\n");
  auto r = once(config(aksk_auth(), three_scopes));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("APIGW.0301"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("verify aksk signature fail"), std::string::npos) << r.err;
  EXPECT_LT(fake.signature_failures(access_key), 5u);
  EXPECT_FALSE(fake.access_key_locked(access_key));

  // The operator fixes the file: the next run works (the key is not locked).
  dir.write("sk", sk_secret + "\n");
  r = once(config(aksk_auth(), three_scopes));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_ndjson(r.out).size(), 160u);
}

TEST_F(aksk_e2e, skewed_clock_gives_0303_and_the_probe_warns) {
  fake.populate("p1", "0", 30, 17);
  fake.set_clock_offset(20min);
  auto r = once(config(aksk_auth(), one_project));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("APIGW.0303"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("signature expired"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("clock"), std::string::npos) << r.err;
  EXPECT_LT(fake.signature_failures(access_key), 5u);

  auto p = probe(config(aksk_auth(), one_project));
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_NE(p.out.find("http status: 401"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("APIGW.0303"), std::string::npos) << p.out;
  // The fake is 20 minutes ahead: the server's Date minus ours, give or take a second.
  EXPECT_TRUE(std::regex_search(p.out, std::regex("warning: local clock is 1(199|200|201) s off")))
      << p.out;
  EXPECT_LT(fake.signature_failures(access_key), 5u);
  EXPECT_FALSE(fake.access_key_locked(access_key));

  // Within the 15 minutes the gateway allows: works, and the probe still
  // warns about a 10-minute skew.
  fake.set_clock_offset(10min);
  p = probe(config(aksk_auth(), one_project));
  EXPECT_EQ(p.exit_code, 0) << p.out << p.err;
  EXPECT_NE(p.out.find("warning: local clock is"), std::string::npos) << p.out;
}

// Eight scopes start at once with a wrong SK: one signature goes out first
// and the others wait for its answer, so the run spends 2 failures, not 8
// (which would lock the key for 5 minutes).
struct aksk_many_scopes : aksk_e2e {
  std::string projects;
  void SetUp() override {
    aksk_e2e::SetUp();
    for (int i = 0; i < 8; ++i) {
      fake.populate("q" + std::to_string(i), "0", 20, 30 + i);
      projects += "  - id: q" + std::to_string(i) + "\n";
    }
    dir.write("sk", wrong_sk_secret + "\n");
  }
};

TEST_F(aksk_many_scopes, wrong_sk_with_many_scopes_starting_together_does_not_lock_the_key) {
  auto r = once(config(aksk_auth(), projects));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_LE(fake.signature_failures(access_key), 2u);
  EXPECT_FALSE(fake.access_key_locked(access_key));
  dir.write("sk", sk_secret + "\n");
  r = once(config(aksk_auth(), projects));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_ndjson(r.out).size(), 160u);
}

// Known bug, outside lib/auth: lib/runtime/probe.cpp never calls
// authenticator::on_rejected (nor on_accepted), so the AK/SK pause never
// engages during --probe and each scope spends one failure: 5 or more
// scopes with a wrong SK lock the key. Enable once probe.cpp reports
// answers to the authenticator.
TEST_F(aksk_many_scopes, probe_with_a_wrong_sk_does_not_lock_the_key) {
  auto p = probe(config(aksk_auth(), projects));
  EXPECT_EQ(p.exit_code, 1);
  EXPECT_LE(fake.signature_failures(access_key), 2u);
  EXPECT_FALSE(fake.access_key_locked(access_key));
}

// ------------------------------------------------------------ secrets

// Each method through --check-config, --probe and --once, succeeding and
// failing: no secret in any output (run() checks every process).
TEST_F(auth_e2e, secrets_never_appear_in_any_output) {
  fake.populate("p1", "0", 60, 18);
  fake.set_auth_mode(fake_hss::auth_mode::any);
  fake.add_iam_user("acct", "jobwatch-bot", password_secret);
  fake.add_access_key(access_key, sk_secret);
  dir.write("token", token_secret + "\n");
  dir.write("password", password_secret + "\n");
  dir.write("sk", sk_secret + "\n");
  for (const auto& auth : {token_auth(), password_auth(), aksk_auth()}) {
    SCOPED_TRACE(auth);
    auto text = config(auth, one_project);
    auto c = check(text);
    EXPECT_EQ(c.exit_code, 0) << c.err;
    EXPECT_NE(c.out.find("auth"), std::string::npos) << c.out;  // it did print the config
    auto p = probe(text);
    EXPECT_EQ(p.exit_code, 0) << p.out << p.err;
    EXPECT_NE(p.out.find("total_num: 60"), std::string::npos) << p.out;
    auto r = once(text);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    expect_no_issued_tokens(c);
    expect_no_issued_tokens(p);
    expect_no_issued_tokens(r);
  }
  // And when the credentials are wrong (the error paths print more).
  dir.write("token", old_token_secret + "\n");
  dir.write("password", wrong_password_secret + "\n");
  dir.write("sk", wrong_sk_secret + "\n");
  for (const auto& auth : {token_auth(), password_auth(), aksk_auth()}) {
    SCOPED_TRACE(auth);
    auto text = config(auth, one_project);
    EXPECT_EQ(probe(text).exit_code, 1);
    EXPECT_EQ(once(text).exit_code, 1);
  }
}

}  // namespace
