// The IAM token lifecycle (see token_cache.hpp): the decisions that
// iam_authenticator used to make while reading the clock itself.
#include "auth/token_cache.hpp"

#include <algorithm>

#include "auth/auth_util.hpp"

namespace hssjw::iam {

wall_clock::time_point renew_at(const token_times& t, wall_clock::time_point now) {
  auto issued = t.issued_at.value_or(now);
  auto lifetime = t.expires_at - issued;
  if (lifetime <= wall_clock::duration::zero()) return now;
  auto by_fraction = issued + lifetime * 4 / 5;
  auto by_margin = t.expires_at - std::chrono::hours(1);
  return std::min(by_fraction, by_margin);
}

bool token_cache::usable(const project_state& st, wall_clock::time_point now) const {
  return st.token && !st.rejected && now + settings_.expiry_margin < st.expires_at;
}

bool token_cache::usable(const std::string& project, wall_clock::time_point now) const {
  auto it = projects_.find(project);
  return it != projects_.end() && usable(it->second, now);
}

void token_cache::back_off(project_state& st, steady_clock::time_point now,
                           std::optional<std::chrono::seconds> initial) {
  st.backoff = st.backoff.count() == 0 ? initial.value_or(settings_.retry_initial)
                                       : std::min(st.backoff * 2, settings_.retry_max);
  st.retry_not_before = now + st.backoff;
}

// True while a refused password still stands: not yet `refused_wait` old
// and the password file unchanged (read again to know; `password` follows
// what that read found).
bool token_cache::refusal_holds(clocks now, std::optional<file_stamp>& password, bool& changed,
                                const std::function<std::optional<file_stamp>()>& reread_password) {
  if (!refused_) return false;
  password = reread_password();
  if (password && *password != refused_->stamp) {
    // A new password file is worth a try at once.
    changed = true;
    refused_.reset();
    return false;
  }
  if (now.steady >= refused_->until) {
    refused_.reset();
    return false;
  }
  return true;
}

token_cache::decision token_cache::authorize(
    const std::string& project, clocks now, std::optional<file_stamp> password,
    const std::function<std::optional<file_stamp>()>& reread_password) {
  project_state& st = state(project);
  decision d;
  auto answer = [&d](step next, std::string message = {}) {
    d.next = next;
    d.message = std::move(message);
    return d;
  };
  const bool good = usable(st, now.wall);
  // Renewals are also bounded by min_login_interval: a token whose renewal
  // time is already past (short-lived, or a skewed clock) must not cause a
  // login per request.
  const bool renew_due =
      now.wall >= st.renew_at &&
      !(st.last_login && now.steady < *st.last_login + settings_.min_login_interval);
  // A renewal in flight does not hold up requests while the old token is good.
  if (good && (!renew_due || st.logging_in)) return answer(step::use);
  if (st.logging_in) return answer(step::wait_login);
  if (refusal_holds(now, password, d.password_changed, reread_password))
    return good ? answer(step::use) : answer(step::fail, refused_->message);
  if (now.steady < st.retry_not_before) {
    if (good) return answer(step::use);
    return answer(step::fail,
                  st.last_error.empty() ? "waiting before the next IAM login" : st.last_error);
  }
  if (first_login_ && !proven(password)) return answer(step::wait_first_login);
  return answer(step::login);
}

token_cache::handed_out token_cache::use(const std::string& project, clocks now) {
  project_state& st = state(project);
  const bool recovered = !st.last_error.empty();
  st.last_error.clear();
  st.last_use = now.steady;
  return {*st.token, recovered};
}

token_cache::login_ticket token_cache::begin_login(const std::string& project,
                                                   const file_stamp& password, clocks now) {
  project_state& st = state(project);
  st.logging_in = true;
  login_ticket ticket{++logins_, password, !(proven_ && *proven_ == password)};
  if (ticket.first) first_login_ = ticket.serial;
  st.previous_login = st.last_login;
  st.last_login = now.steady;
  return ticket;
}

void token_cache::end_login(const std::string& project, const login_ticket& ticket) {
  state(project).logging_in = false;
  if (first_login_ == ticket.serial) first_login_.reset();
}

token_cache::renewal token_cache::login_succeeded(const std::string& project,
                                                  const login_ticket& ticket, secret token,
                                                  const token_times& times, clocks now) {
  project_state& st = state(project);
  // Pages still in flight with a rejected token will be rejected too;
  // those answers must not condemn this one.
  if (st.token && st.rejected) st.stale_until = st.last_use + settings_.stale_rejection_grace;
  st.token = std::move(token);
  st.expires_at = times.expires_at;
  st.renew_at = iam::renew_at(times, now.wall);
  st.rejected = false;
  st.backoff = std::chrono::seconds{0};
  st.retry_not_before = {};
  proven_ = ticket.password;
  suspect_.reset();
  return {st.expires_at, st.renew_at, st.expires_at <= now.wall + settings_.expiry_margin};
}

void token_cache::login_failed(const std::string& project, clocks now) {
  back_off(state(project), now.steady);
}

std::string token_cache::login_refused(const std::string& project, const login_ticket& ticket,
                                       const api_error& e, bool file_changed,
                                       const std::string& password_path, clocks now) {
  project_state& st = state(project);
  // Evidence, not proof. A password file replaced meanwhile is tried at once.
  if (file_changed) {
    return who(project) + " was refused (" + auth_detail::describe(e) + "); the password file " +
           password_path + " has changed since: logging in again with it";
  }
  if (proven_ && *proven_ == ticket.password) {
    // IAM accepted this very password before: the refusal may concern
    // this project alone (no role in it, the project gone) or the
    // password was changed in IAM. This project backs off; the others
    // keep their tokens, and the next login (any project) goes alone, so
    // a changed password costs one more attempt, then the refusal below.
    proven_.reset();
    suspect_ = suspect{project, ticket.password};
    back_off(st, now.steady, settings_.refused_project_initial);
    return who(project) + " was refused: " + auth_detail::describe(e) +
           "; IAM accepted this password before, so only this project waits (" +
           std::to_string(st.backoff.count()) + "s, doubling) unless the password file " +
           password_path + " changes";
  }
  if (suspect_ && suspect_->project_id == project && suspect_->stamp == ticket.password) {
    // The same project refused again while no other project has logged
    // in since: still its own problem as far as we know. It alone waits
    // as long as a refused password would, so IAM sees no more attempts
    // than under the stop below.
    st.backoff = settings_.refused_wait;
    st.retry_not_before = now.steady + st.backoff;
    return who(project) + " was refused again: " + auth_detail::describe(e) +
           "; this project waits " + std::to_string(st.backoff.count()) +
           "s unless the password file " + password_path +
           " changes; the other projects keep logging in";
  }
  // A password IAM never accepted is the user's problem, not the
  // project's: every project stops (IAM locks users after repeated wrong
  // passwords).
  auto message = "IAM refused the login of user " + settings_.user + " (domain " +
                 settings_.domain + "): " + auth_detail::describe(e) + "; no IAM logins for " +
                 std::to_string(settings_.refused_wait.count()) + "s unless the password file " +
                 password_path + " changes";
  refused_ = refusal{ticket.password, now.steady + settings_.refused_wait, message};
  return message;
}

token_cache::rejection token_cache::on_rejected(const std::string& project, clocks now) {
  auto it = projects_.find(project);
  if (it == projects_.end() || !it->second.token || it->second.rejected) return rejection::ignored;
  project_state& st = it->second;
  if (now.steady < st.stale_until) return rejection::stale;
  st.rejected = true;
  // The first rejection is answered by a login at once (a token expires or
  // is revoked, e.g. after a password change); a second within
  // min_login_interval of the previous login waits, so a broken scope
  // cannot loop on IAM.
  if (st.previous_login) {
    st.retry_not_before =
        std::max(st.retry_not_before, *st.previous_login + settings_.min_login_interval);
  }
  st.last_error = "the API rejected the IAM token; logging in again (at most two logins per " +
                  std::to_string(settings_.min_login_interval.count()) + "s)";
  return rejection::rejected;
}

bool token_cache::record_failure(const std::string& project, std::string message) {
  project_state& st = state(project);
  const bool changed = message != st.last_error;
  st.last_error = std::move(message);
  return changed;
}

std::string token_cache::last_error(const std::string& project) const {
  auto it = projects_.find(project);
  return it == projects_.end() ? std::string{} : it->second.last_error;
}

std::string token_cache::who(const std::string& project) const {
  return "IAM login for project " + project + " (user " + settings_.user + ", domain " +
         settings_.domain + ")";
}

}  // namespace hssjw::iam
