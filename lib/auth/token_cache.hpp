// The IAM token lifecycle of auth.method password as plain logic: per
// project, the cached token, when it is renewed, how failed logins back
// off, and the refusal rules that keep a wrong password from locking the
// IAM user. No clock, no file and no network: the time is an input (wall
// clock for token expiry, steady clock for waits), the password file's
// version is an input, and iam_authenticator does the I/O it is told to
// (log in, wait for a login in flight, log). Tested step by step in
// tests/unit/token_cache_test.cpp.
//
// A request asks `authorize`, which answers
// - use: the cached token is good (and no renewal is due, or one is
//   already in flight): send it (`use` hands it out);
// - wait_login / wait_first_login: a login of this project, or the one
//   login of a password IAM has not accepted yet, is in flight: wait for
//   it to end, then ask again;
// - login: log in now (begin_login ... login_succeeded / login_failed /
//   login_refused ... end_login);
// - fail: no token, and no login may be tried now (backoff, refusal).
// There is no timed wait: a request that cannot log in now fails at once,
// and the walker reports the page.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "auth/secret_file.hpp"
#include "hss/http.hpp"

namespace hssjw::iam {

using wall_clock = std::chrono::system_clock;

struct token_times {
  wall_clock::time_point expires_at;
  std::optional<wall_clock::time_point> issued_at;
};

// When to renew: an hour before expiry or at 80% of the lifetime, whichever
// is earlier (`now` stands in for a missing issued_at).
wall_clock::time_point renew_at(const token_times& t, wall_clock::time_point now);

class token_cache {
 public:
  using steady_clock = std::chrono::steady_clock;

  // Both clocks at one moment: token times are wall-clock times (IAM's),
  // waits and intervals are measured on the steady clock.
  struct clocks {
    wall_clock::time_point wall;
    steady_clock::time_point steady;
  };

  // The knobs of iam_authenticator::settings this logic uses (see there),
  // and the user and domain the messages name.
  struct settings {
    std::string domain;
    std::string user;
    std::chrono::seconds expiry_margin{60};
    std::chrono::seconds min_login_interval{60};
    std::chrono::seconds stale_rejection_grace{30};
    std::chrono::seconds retry_initial{5};
    std::chrono::seconds retry_max{std::chrono::minutes(5)};
    std::chrono::seconds refused_wait{std::chrono::minutes(15)};
    std::chrono::seconds refused_project_initial{10};
  };

  enum class step { use, wait_login, wait_first_login, login, fail };
  struct decision {
    step next = step::fail;
    std::string message;            // fail: why no token can be had now
    bool password_changed = false;  // a refusal ended because the password file changed
  };

  // One login in flight, from begin_login to end_login.
  struct login_ticket {
    std::uint64_t serial = 0;
    file_stamp password;  // the password file version it logs in with
    bool first = false;   // the one login of a password IAM has not accepted yet
  };

  struct renewal {
    wall_clock::time_point expires_at;
    wall_clock::time_point renew_at;
    bool expired_already = false;  // by this host's clock (within the margin): a skewed clock
  };

  enum class rejection {
    ignored,   // no token, or it is already marked rejected
    stale,     // an answer to a request that carried the token replaced before
    rejected,  // the token is dropped: the next request logs in
  };

  explicit token_cache(settings s) : settings_(std::move(s)) {}

  // What a request for `project` does at `now`. `password` is the version
  // of the password file as last read (nullopt: not read, or unreadable).
  // `reread_password` reads the file again and returns its version; it is
  // called only while a refusal stands (a new file lifts it at once).
  decision authorize(const std::string& project, clocks now, std::optional<file_stamp> password,
                     const std::function<std::optional<file_stamp>()>& reread_password);

  // The request goes out with the cached token (after `use`, or after a
  // failed renewal while usable). `recovered`: a failure was reported for
  // this project before, and this is the first token since.
  struct handed_out {
    const secret& token;
    bool recovered = false;
  };
  handed_out use(const std::string& project, clocks now);

  // Whether `project` has a token that may go on a request at `now`: not
  // rejected, and not in its last `expiry_margin`.
  bool usable(const std::string& project, wall_clock::time_point now) const;

  // A login of `project` with password version `password` starts / ends
  // (end_login on every way out, also cancellation).
  login_ticket begin_login(const std::string& project, const file_stamp& password, clocks now);
  void end_login(const std::string& project, const login_ticket& ticket);

  // IAM issued a token: it is cached, the password is proven, the backoff
  // is over.
  renewal login_succeeded(const std::string& project, const login_ticket& ticket, secret token,
                          const token_times& times, clocks now);
  // The login failed in a way a retry may cure (IAM unreachable, 5xx, an
  // unusable answer, an unreadable password file): this project backs off
  // (retry_initial, doubling up to retry_max).
  void login_failed(const std::string& project, clocks now);
  // IAM refused the password (401/403, described by `e`); returns the
  // message to fail with. `file_changed`: the password file changed since
  // the login began (it is tried at once); `password_path` names it.
  std::string login_refused(const std::string& project, const login_ticket& ticket,
                            const api_error& e, bool file_changed, const std::string& password_path,
                            clocks now);

  // The API rejected a request authorized for `project`.
  rejection on_rejected(const std::string& project, clocks now);

  // Records why the last authorize for `project` failed; true when the
  // message differs from the one recorded before (log it once).
  bool record_failure(const std::string& project, std::string message);
  // Why the last authorize for `project` failed ("" if it did not).
  std::string last_error(const std::string& project) const;

  // "IAM login for project P (user U, domain D)", for messages.
  std::string who(const std::string& project) const;

  // Logins begun so far (all projects).
  std::uint64_t logins() const { return logins_; }

 private:
  struct project_state {
    std::optional<secret> token;
    wall_clock::time_point expires_at{};
    wall_clock::time_point renew_at{};
    bool rejected = false;  // the API refused the cached token
    bool logging_in = false;
    std::optional<steady_clock::time_point> last_login;
    std::optional<steady_clock::time_point> previous_login;  // the one before last_login
    steady_clock::time_point last_use{};                     // the token last went on a request
    steady_clock::time_point stale_until{};  // rejections before this are the old token's
    steady_clock::time_point retry_not_before{};
    std::chrono::seconds backoff{0};
    std::string last_error;
  };
  // IAM refused the password: no project logs in until `until` or until
  // the password file changes.
  struct refusal {
    file_stamp stamp;
    steady_clock::time_point until;
    std::string message;
  };
  // The project whose refusal made a proven password unproven, with that
  // password's version. Its own next refusal is taken as its own problem
  // (no role in the project, the project gone): it alone waits
  // `refused_wait`, so it neither stops the other projects again and
  // again nor tries IAM more often than a refused password would. A
  // refusal of any other project still stops every project.
  struct suspect {
    std::string project_id;
    file_stamp stamp;
  };

  project_state& state(const std::string& project) { return projects_[project]; }
  bool usable(const project_state& st, wall_clock::time_point now) const;
  void back_off(project_state& st, steady_clock::time_point now,
                std::optional<std::chrono::seconds> initial = std::nullopt);
  bool refusal_holds(clocks now, std::optional<file_stamp>& password, bool& changed,
                     const std::function<std::optional<file_stamp>()>& reread_password);
  bool proven(const std::optional<file_stamp>& password) const {
    return proven_ && password && *proven_ == *password;
  }

  settings settings_;
  std::map<std::string, project_state> projects_;  // never erased: references stay valid
  std::optional<refusal> refused_;
  // The password file version IAM last accepted. Until it has accepted the
  // current one, logins go one at a time over all projects (`first_login_`
  // is the one in flight): a wrong password costs one attempt per run, not
  // one per project, against IAM's lock-out.
  std::optional<file_stamp> proven_;
  std::optional<suspect> suspect_;
  std::optional<std::uint64_t> first_login_;
  std::uint64_t logins_ = 0;
};

}  // namespace hssjw::iam
