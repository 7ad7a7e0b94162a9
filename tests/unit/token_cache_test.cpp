// The IAM token lifecycle (auth/token_cache.hpp), step by step: each step
// is a request asking at a given moment (both clocks are inputs), a login
// beginning or ending, or a rejection from the API, and checks what the
// cache decides. The same rules iam_authenticator's tests drive through a
// fake IAM (tests/unit/auth_iam_test.cpp), here without any waiting.
#include "auth/token_cache.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace hssjw::iam {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;
using step = token_cache::step;
using clocks = token_cache::clocks;

const clocks t0{sys_days{2025y / March / 1}, token_cache::steady_clock::time_point{} + 1000h};
clocks at(token_cache::steady_clock::duration d) { return {t0.wall + d, t0.steady + d}; }

const file_stamp pw1{1, 100, 5, 5, 14};
const file_stamp pw2{1, 101, 6, 6, 15};  // the file replaced

const api_error wrong_password{401, "401", "The username or password is wrong.", "iam-req-1"};
const api_error no_role{403, "403", "no permission for project a", "iam-req-2"};

token_times lasting(wall_clock::duration lifetime, clocks now) {
  return {now.wall + lifetime, now.wall};
}

// A cache with the settings of the daemon's defaults (or changed ones),
// and a password file whose version the test sets.
struct cache_fixture {
  token_cache cache;
  std::optional<file_stamp> password = pw1;  // what a re-read finds
  int rereads = 0;

  explicit cache_fixture(token_cache::settings s = {.domain = "acct", .user = "bot"})
      : cache(std::move(s)) {}

  token_cache::decision ask(const std::string& project, clocks now) {
    return cache.authorize(project, now, password, [this] {
      ++rereads;
      return password;
    });
  }
  step next(const std::string& project, clocks now) { return ask(project, now).next; }

  // A whole successful login of `project` at `now`.
  token_cache::renewal log_in(const std::string& project, clocks now,
                              wall_clock::duration lifetime = 24h, std::string token = "token") {
    auto ticket = cache.begin_login(project, *password, now);
    auto r = cache.login_succeeded(project, ticket, secret(std::move(token)),
                                   lasting(lifetime, now), now);
    cache.end_login(project, ticket);
    return r;
  }
  // A login of `project` at `now` that IAM refuses; returns the message.
  std::string refused(const std::string& project, clocks now, const api_error& e = wrong_password,
                      bool file_changed = false) {
    auto ticket = cache.begin_login(project, *password, now);
    auto message = cache.login_refused(project, ticket, e, file_changed, "/etc/pw", now);
    cache.end_login(project, ticket);
    cache.record_failure(project, message);
    return message;
  }
  std::string token(const std::string& project, clocks now) {
    return std::string(cache.use(project, now).token.reveal());
  }
};

TEST(token_cache, the_first_request_logs_in_and_the_others_wait_for_that_login) {
  cache_fixture f;
  EXPECT_EQ(f.next("p1", t0), step::login);
  auto ticket = f.cache.begin_login("p1", pw1, t0);
  EXPECT_TRUE(ticket.first);  // IAM has not accepted this password yet
  EXPECT_EQ(f.next("p1", t0), step::wait_login);
  EXPECT_EQ(f.next("p2", t0), step::wait_first_login);  // one attempt, not one per project

  auto renewal = f.cache.login_succeeded("p1", ticket, secret("token-1"), lasting(24h, t0), t0);
  f.cache.end_login("p1", ticket);
  EXPECT_EQ(renewal.expires_at, t0.wall + 24h);
  EXPECT_EQ(renewal.renew_at, t0.wall + 1152min);  // 80% of 24 h
  EXPECT_FALSE(renewal.expired_already);

  EXPECT_EQ(f.next("p1", at(1s)), step::use);
  auto handed = f.cache.use("p1", at(1s));
  EXPECT_EQ(handed.token.reveal(), "token-1");
  EXPECT_FALSE(handed.recovered);

  // The password is proven: projects log in side by side.
  EXPECT_EQ(f.next("p2", at(1s)), step::login);
  auto p2 = f.cache.begin_login("p2", pw1, at(1s));
  EXPECT_FALSE(p2.first);
  EXPECT_EQ(f.next("p3", at(1s)), step::login);
  EXPECT_EQ(f.cache.logins(), 2u);
  EXPECT_EQ(f.rereads, 0);  // no refusal: the file is not read again
}

// Renewal is due at renew_at; while it is in flight the old token keeps
// going out, and a failed renewal leaves the old token in use while it
// lasts; the next renewal comes min_login_interval after the failed one.
TEST(token_cache, a_token_is_renewed_ahead_and_kept_while_the_renewal_is_out) {
  cache_fixture f;
  f.log_in("p1", t0, 24h, "old");
  EXPECT_EQ(f.next("p1", at(1151min)), step::use);
  EXPECT_EQ(f.next("p1", at(1152min)), step::login);
  auto ticket = f.cache.begin_login("p1", pw1, at(1152min));
  EXPECT_EQ(f.next("p1", at(1152min)), step::use);
  EXPECT_EQ(f.token("p1", at(1152min)), "old");
  f.cache.login_failed("p1", at(1152min));
  f.cache.end_login("p1", ticket);
  EXPECT_TRUE(f.cache.usable("p1", at(1152min).wall));
  EXPECT_EQ(f.next("p1", at(1152min + 5s)), step::use);  // backed off, old token good
  EXPECT_EQ(f.next("p1", at(1152min + 59s)), step::use);
  EXPECT_EQ(f.next("p1", at(1153min)), step::login);
}

// A token whose renewal time is already past (short-lived, or a skewed
// clock) is renewed at most once per min_login_interval, not per request.
TEST(token_cache, a_short_lived_token_is_renewed_at_most_once_a_minute) {
  cache_fixture f;
  f.log_in("p1", t0, 30min);  // renew_at: an hour before expiry, already past
  EXPECT_EQ(f.next("p1", at(1s)), step::use);
  EXPECT_EQ(f.next("p1", at(59s)), step::use);
  EXPECT_EQ(f.next("p1", at(60s)), step::login);
}

// A token is not used in its last expiry_margin (clocks differ); with no
// login possible then, the request fails.
TEST(token_cache, a_token_in_its_last_minute_is_not_used) {
  cache_fixture f;
  f.log_in("p1", t0, 2h);
  auto ticket = f.cache.begin_login("p1", pw1, at(2h - 62s));
  f.cache.login_failed("p1", at(2h - 62s));
  f.cache.end_login("p1", ticket);
  f.cache.record_failure("p1", "IAM unreachable");
  EXPECT_TRUE(f.cache.usable("p1", at(2h - 61s).wall));
  EXPECT_EQ(f.next("p1", at(2h - 61s)), step::use);
  EXPECT_FALSE(f.cache.usable("p1", at(2h - 60s).wall));
  auto d = f.ask("p1", at(2h - 60s));
  EXPECT_EQ(d.next, step::fail);
  EXPECT_EQ(d.message, "IAM unreachable");
}

TEST(token_cache, a_token_expired_by_this_hosts_clock_is_reported) {
  cache_fixture f;
  EXPECT_TRUE(f.log_in("p1", t0, 60s).expired_already);
  EXPECT_FALSE(f.log_in("p2", t0, 61s).expired_already);
}

// Failed logins back off 5 s, doubling up to 5 min; a success ends it.
TEST(token_cache, failed_logins_back_off_doubling_up_to_the_maximum) {
  cache_fixture f;
  auto now = t0;
  for (auto wait : {5s, 10s, 20s, 40s, 80s, 160s, 300s, 300s}) {
    ASSERT_EQ(f.next("p1", now), step::login);
    auto ticket = f.cache.begin_login("p1", pw1, now);
    f.cache.login_failed("p1", now);
    f.cache.end_login("p1", ticket);
    auto d = f.ask("p1", {now.wall + wait - 1s, now.steady + wait - 1s});
    EXPECT_EQ(d.next, step::fail) << wait.count();
    EXPECT_EQ(d.message, "waiting before the next IAM login");  // nothing recorded
    now = {now.wall + wait, now.steady + wait};
  }
  // A success ends the backoff: the next failure waits 5 s again. (A
  // token of 61 s is unusable at once, so the request needs a login.)
  f.log_in("p1", now, 61s);
  auto ticket = f.cache.begin_login("p1", pw1, now);
  f.cache.login_failed("p1", now);
  f.cache.end_login("p1", ticket);
  EXPECT_EQ(f.next("p1", {now.wall + 4s, now.steady + 4s}), step::fail);
  EXPECT_EQ(f.next("p1", {now.wall + 5s, now.steady + 5s}), step::login);
}

// Only the first failure after a success is logged: the same message again
// is not news; the first token after a failure is.
TEST(token_cache, failures_are_recorded_once_and_recovery_is_reported) {
  cache_fixture f;
  EXPECT_TRUE(f.cache.record_failure("p1", "IAM unreachable"));
  EXPECT_FALSE(f.cache.record_failure("p1", "IAM unreachable"));
  EXPECT_EQ(f.cache.last_error("p1"), "IAM unreachable");
  EXPECT_TRUE(f.cache.record_failure("p1", "IAM answered 503"));
  f.log_in("p1", t0);
  EXPECT_TRUE(f.cache.use("p1", t0).recovered);
  EXPECT_EQ(f.cache.last_error("p1"), "");
  EXPECT_FALSE(f.cache.use("p1", t0).recovered);
}

// A token the API rejects is replaced at once; a second rejection within
// min_login_interval of the login before waits, so a token IAM keeps
// issuing but the API keeps refusing costs at most two logins a minute.
TEST(token_cache, a_rejected_token_is_replaced_at_once_but_not_in_a_loop) {
  cache_fixture f({.domain = "acct", .user = "bot", .stale_rejection_grace = 0s});
  f.log_in("p1", t0, 24h, "token-1");
  EXPECT_EQ(f.cache.on_rejected("p1", at(1s)), token_cache::rejection::rejected);
  EXPECT_EQ(f.cache.on_rejected("p1", at(1s)), token_cache::rejection::ignored);  // already
  EXPECT_EQ(f.next("p1", at(1s)), step::login);
  f.log_in("p1", at(1s), 24h, "token-2");
  EXPECT_EQ(f.token("p1", at(2s)), "token-2");
  EXPECT_EQ(f.cache.on_rejected("p1", at(2s)), token_cache::rejection::rejected);
  auto d = f.ask("p1", at(2s));
  EXPECT_EQ(d.next, step::fail);
  EXPECT_EQ(d.message,
            "the API rejected the IAM token; logging in again (at most two logins per 60s)");
  EXPECT_EQ(f.next("p1", at(59s)), step::fail);
  EXPECT_EQ(f.next("p1", at(60s)), step::login);  // a minute after the login before
  EXPECT_EQ(f.cache.on_rejected("p9", t0), token_cache::rejection::ignored);  // no token
}

// Pages in flight with the old token come back rejected after the new one
// is in place: within stale_rejection_grace of the old token's last use
// they do not condemn the new one.
TEST(token_cache, late_rejections_of_the_old_token_keep_the_new_one) {
  cache_fixture f;
  f.log_in("p1", t0, 24h, "token-1");
  EXPECT_EQ(f.token("p1", at(10s)), "token-1");
  EXPECT_EQ(f.cache.on_rejected("p1", at(11s)), token_cache::rejection::rejected);
  f.log_in("p1", at(11s), 24h, "token-2");
  EXPECT_EQ(f.cache.on_rejected("p1", at(20s)), token_cache::rejection::stale);
  EXPECT_EQ(f.cache.on_rejected("p1", at(39s)), token_cache::rejection::stale);
  EXPECT_EQ(f.next("p1", at(39s)), step::use);
  EXPECT_EQ(f.token("p1", at(39s)), "token-2");
  EXPECT_EQ(f.cache.on_rejected("p1", at(40s)), token_cache::rejection::rejected);  // 30 s on
}

// The lock-out stop: a password IAM never accepted is refused once, and no
// project logs in for refused_wait unless the password file changes.
TEST(token_cache, a_refused_unproven_password_stops_every_project) {
  cache_fixture f;
  auto message = f.refused("p1", t0);
  EXPECT_EQ(message,
            "IAM refused the login of user bot (domain acct): HTTP 401 401: The username or "
            "password is wrong. (request id iam-req-1); no IAM logins for 900s unless the "
            "password file /etc/pw changes");
  for (const char* p : {"p1", "p2"}) {
    auto d = f.ask(p, at(1s));
    EXPECT_EQ(d.next, step::fail) << p;
    EXPECT_EQ(d.message, message) << p;
  }
  EXPECT_EQ(f.rereads, 2);  // the file is read again on each ask while the refusal stands
  EXPECT_EQ(f.next("p3", at(899s)), step::fail);
  auto d = f.ask("p3", at(900s));
  EXPECT_EQ(d.next, step::login);
  EXPECT_FALSE(d.password_changed);
}

TEST(token_cache, a_new_password_file_lifts_a_refusal_at_once) {
  cache_fixture f;
  f.refused("p1", t0);
  f.password = std::nullopt;  // unreadable: the refusal stands
  EXPECT_EQ(f.next("p2", at(1s)), step::fail);
  f.password = pw2;
  auto d = f.ask("p2", at(2s));
  EXPECT_EQ(d.next, step::login);
  EXPECT_TRUE(d.password_changed);  // the authenticator logs it
  auto ticket = f.cache.begin_login("p2", pw2, at(2s));
  EXPECT_TRUE(ticket.first);
  EXPECT_EQ(f.next("p1", at(2s)), step::wait_first_login);
}

// A refusal while the request was out, for a password file replaced since:
// no wait, the new file is tried at once.
TEST(token_cache, a_refusal_that_crossed_a_password_change_retries_at_once) {
  cache_fixture f;
  auto message = f.refused("a", t0, wrong_password, true);
  EXPECT_EQ(message,
            "IAM login for project a (user bot, domain acct) was refused (HTTP 401 401: The "
            "username or password is wrong. (request id iam-req-1)); the password file /etc/pw "
            "has changed since: logging in again with it");
  f.password = pw2;
  EXPECT_EQ(f.next("a", t0), step::login);
  EXPECT_EQ(f.rereads, 0);
}

// IAM refuses project a's login, having accepted the same password for b:
// only a waits (10 s, doubling), b keeps its token, and the next login of
// any project goes alone (the password is unproven again).
TEST(token_cache, a_refusal_for_one_project_does_not_stop_the_others) {
  cache_fixture f;
  f.log_in("b", t0);
  auto message = f.refused("a", at(1s), no_role);
  EXPECT_NE(message.find("only this project waits (10s, doubling) unless the password file "
                         "/etc/pw changes"),
            std::string::npos)
      << message;
  EXPECT_EQ(f.next("a", at(10s)), step::fail);
  EXPECT_EQ(f.next("b", at(10s)), step::use);
  EXPECT_EQ(f.next("c", at(10s)), step::login);
  auto c = f.cache.begin_login("c", pw1, at(10s));
  EXPECT_TRUE(c.first);
  EXPECT_EQ(f.next("d", at(10s)), step::wait_first_login);
  f.cache.login_succeeded("c", c, secret("token-c"), lasting(24h, at(10s)), at(10s));
  f.cache.end_login("c", c);
  EXPECT_EQ(f.next("d", at(10s)), step::login);
  EXPECT_EQ(f.next("a", at(11s)), step::login);  // its 10 s are over
  message = f.refused("a", at(11s), no_role);    // proven again by c: 10 s doubled
  EXPECT_NE(message.find("only this project waits (20s, doubling)"), std::string::npos) << message;
}

// A project the user has no role in is refused again while the password
// is unproven since its own first refusal: it alone waits refused_wait;
// the other projects keep logging in.
TEST(token_cache, a_project_refused_twice_in_a_row_waits_alone) {
  cache_fixture f({.domain = "acct", .user = "bot", .refused_project_initial = 0s});
  f.log_in("b", t0);
  f.refused("a", at(1s), no_role);  // a is the suspect; no first wait
  EXPECT_EQ(f.next("a", at(1s)), step::login);
  auto message = f.refused("a", at(1s), no_role);
  EXPECT_NE(message.find("was refused again: HTTP 403 403: no permission for project a"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("this project waits 900s unless the password file /etc/pw changes; "
                         "the other projects keep logging in"),
            std::string::npos)
      << message;
  EXPECT_EQ(f.next("a", at(900s)), step::fail);
  EXPECT_EQ(f.next("a", at(901s)), step::login);
  EXPECT_EQ(f.next("c", at(2s)), step::login);
  EXPECT_EQ(f.rereads, 0);  // no stop for everyone
}

// The password was changed in IAM: the first refusal is taken for the
// project's, the second (another project, the password now unproven)
// stops every project: two refused logins in all, not one per project.
TEST(token_cache, a_changed_password_stops_every_project_after_two_refusals) {
  cache_fixture f;
  f.log_in("a", t0);
  f.log_in("b", t0);
  f.cache.on_rejected("a", at(1s));
  f.cache.on_rejected("b", at(1s));
  f.refused("a", at(1s));
  EXPECT_EQ(f.next("b", at(2s)), step::login);
  auto message = f.refused("b", at(2s));
  EXPECT_NE(message.find("no IAM logins for 900s"), std::string::npos) << message;
  for (const char* p : {"a", "b", "c"}) EXPECT_EQ(f.next(p, at(3s)), step::fail) << p;
  EXPECT_EQ(f.cache.logins(), 4u);
}

}  // namespace
}  // namespace hssjw::iam
