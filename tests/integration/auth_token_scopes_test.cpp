// auth.method token with two projects, the daemon running: one 401 on
// project p1 must not stop p2's walks, and p1 gets the token back after the
// backoff (about 10 s), or at once when the token file changes (item 1 of
// issue #12; docs/AUTH.md "token").
#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "common/daemon_fixture.hpp"

namespace {

using namespace hssjw::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

const std::string token_v1 = "TOKEN-sc0pes-v1-5ecret-a81b";
const std::string token_v2 = "TOKEN-sc0pes-v2-5ecret-c3d4";

// Two projects walking every second, debug logging (a leak would show).
struct token_scopes : daemon_fixture {
  token_scopes() : daemon_fixture(token_v1) {
    fake.populate("p1", "0", 30, 41);
    fake.populate("p2", "0", 30, 42);
    cfg.projects = "  - id: p1\n  - id: p2\n";
    cfg.extra = "log: {level: debug, target: stderr}\n";
    write_config();
  }

  // The request index of the first 401 the fake sent, if any.
  std::optional<std::size_t> first_401() const {
    for (auto& r : fake.requests())
      if (r.status == 401) return r.index;
    return std::nullopt;
  }
  // Accepted jobs requests of `project` after request index `after`.
  std::size_t accepted_after(const std::string& project, std::size_t after) const {
    std::size_t n = 0;
    for (auto& r : fake.requests())
      n += r.project_id == project && r.status == 200 && r.index > after;
    return n;
  }
};

TEST_F(token_scopes, one_401_on_p1_leaves_p2_walking_and_p1_recovers_after_the_backoff) {
  fake.inject(
      fake_hss::fault::http_error(401, "APIGW.0301",
                                  "Incorrect IAM authentication information: decrypt token fail")
          .on_project("p1")
          .skip_first(2));  // after both scopes have their baseline
  launch();
  ASSERT_TRUE(eventually([&] { return first_401().has_value(); }, 20s)) << daemon->err();
  const auto rejected_at = steady::now();
  const auto at = *first_401();

  // p2 keeps walking: several accepted requests after p1's 401.
  EXPECT_TRUE(eventually([&] { return accepted_after("p2", at) >= 4; }, 8s))
      << "p2 stopped after p1's 401\n"
      << daemon->err();
  EXPECT_EQ(daemon->err().find("scope p2: walk failed"), std::string::npos) << daemon->err();

  // p1 gets the (unchanged) token back after the backoff, not after 10 minutes.
  ASSERT_TRUE(eventually([&] { return accepted_after("p1", at) >= 1; }, 30s))
      << "p1 never recovered\n"
      << daemon->err();
  const auto waited = steady::now() - rejected_at;
  EXPECT_GE(waited, 8s) << "the rejected token was not held back";
  EXPECT_LE(waited, 25s);
  // Held back means not sent: nothing for p1 between the 401 and the probe
  // except the walker's one retry, which the backoff refuses before sending.
  std::size_t p1_401 = 0;
  for (auto& r : fake.requests()) p1_401 += r.project_id == "p1" && r.status == 401;
  EXPECT_EQ(p1_401, 1u);

  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(15s), 0) << daemon->err();
  const auto log = daemon->err();
  EXPECT_NE(log.find("other projects keep using it"), std::string::npos) << log;
  EXPECT_EQ(log.find(token_v1), std::string::npos) << "the token leaked into the log";
}

TEST_F(token_scopes, a_new_token_file_ends_the_backoff_at_once) {
  // p1 rejects the old token for good (as if it had been revoked).
  fake.inject(fake_hss::fault::http_error(401, "APIGW.0307", "The token must be updated.")
                  .on_project("p1")
                  .skip_first(2)
                  .forever());
  launch();
  ASSERT_TRUE(eventually([&] { return first_401().has_value(); }, 20s)) << daemon->err();
  std::this_thread::sleep_for(1500ms);  // p1 is in its backoff now
  const auto at = fake.requests().back().index;

  // The operator rotates the token: p1 uses it on its next walk.
  // (File first: a request that carries the new token before the fake
  // knows it is answered 401 and must be put down to the old one.)
  fake.clear_faults();
  dir.write("token", token_v2 + "\n");
  fake.set_token(token_v2);
  const auto rotated_at = steady::now();
  ASSERT_TRUE(eventually([&] { return accepted_after("p1", at) >= 1; }, 20s)) << daemon->err();
  EXPECT_LT(steady::now() - rotated_at, 6s) << "p1 waited out the backoff despite a new token";
  EXPECT_TRUE(eventually([&] { return accepted_after("p2", at) >= 1; }, 10s)) << daemon->err();
  for (auto& r : fake.requests())
    if (r.index > at && r.status == 200) EXPECT_EQ(r.headers.at("x-auth-token"), token_v2);

  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(15s), 0) << daemon->err();
  EXPECT_NE(daemon->err().find("changed; using the new token"), std::string::npos) << daemon->err();
}

}  // namespace
