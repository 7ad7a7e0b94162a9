// auth.method: password (see iam_authenticator.hpp). The password and the
// tokens stay in `secret`s; log lines name the project, user, domain and
// IAM's answer, never a credential.
#include "auth/iam_authenticator.hpp"

#include "core/utc.hpp"

#include "auth/auth_util.hpp"
#include "hss/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <cstdio>

namespace hssjw {
namespace iam {
namespace {

namespace json = boost::json;

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

// Digits at s[pos, pos+n) as a number, or -1.
int digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

boost::asio::awaitable<result<reply>> send_via(std::shared_ptr<https_client> client,
                                               http_request& req) {
  // A copy: ours stays with the caller, which wipes it (send_login).
  auto r = co_await client->async_request(req);
  if (!r) co_return r.error();
  reply out;
  out.status = r->status;
  out.subject_token = secret(std::move(r->subject_token));
  out.body = std::move(r->body);
  out.request_id = std::move(r->request_id);
  co_return out;
}

}  // namespace

secret token_request_body(std::string_view domain, std::string_view user,
                          std::string_view password, std::string_view project_id) {
  std::string out;
  // Room for the worst-case escaping up front: growing would leave a copy
  // of the password in freed memory.
  out.reserve(256 + 6 * (domain.size() + user.size() + password.size() + project_id.size()));
  out += R"({"auth":{"identity":{"methods":["password"],"password":{"user":{"domain":{"name":)";
  append_json_string(out, domain);
  out += R"(},"name":)";
  append_json_string(out, user);
  out += R"(,"password":)";
  append_json_string(out, password);
  out += R"(}}},"scope":{"project":{"id":)";
  append_json_string(out, project_id);
  out += "}}}}";
  return secret(std::move(out));
}

std::optional<wall_clock::time_point> parse_time(std::string_view s) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s.back() != 'Z') {
    return std::nullopt;
  }
  int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  int h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60) {
    return std::nullopt;
  }
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  auto frac = s.substr(19, s.size() - 20);
  microseconds sub{0};
  if (!frac.empty()) {
    if (frac[0] != '.' || frac.size() < 2) return std::nullopt;
    long long scale = 100000;
    for (char c : frac.substr(1)) {
      if (c < '0' || c > '9') return std::nullopt;
      sub += microseconds{(c - '0') * scale};
      scale /= 10;  // digits past microseconds add nothing
    }
  }
  return time_point_cast<wall_clock::duration>(sys_days{ymd} + hours{h} + minutes{mi} +
                                               seconds{sec} + sub);
}

result<token_times> parse_token_body(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  const json::object* token = nullptr;
  if (!ec && v.is_object()) {
    if (auto* t = v.as_object().if_contains("token"); t && t->is_object()) token = &t->as_object();
  }
  if (token == nullptr) return error(errc::bad_response, "IAM answer has no token object");
  auto time_field = [&](const char* name) -> std::optional<wall_clock::time_point> {
    auto* f = token->if_contains(name);
    if (f == nullptr || !f->is_string()) return std::nullopt;
    return parse_time(f->as_string());
  };
  auto expires = time_field("expires_at");
  if (!expires) {
    return error(errc::bad_response, "IAM answer has no valid token.expires_at");
  }
  return token_times{*expires, time_field("issued_at")};
}

wall_clock::time_point renew_at(const token_times& t, wall_clock::time_point now) {
  auto issued = t.issued_at.value_or(now);
  auto lifetime = t.expires_at - issued;
  if (lifetime <= wall_clock::duration::zero()) return now;
  auto by_fraction = issued + lifetime * 4 / 5;
  auto by_margin = t.expires_at - std::chrono::hours(1);
  return std::min(by_fraction, by_margin);
}

transport https_transport(std::shared_ptr<https_client> client) {
  return std::bind_front(&send_via, std::move(client));
}

boost::asio::awaitable<result<reply>> send_login(const transport& t, http_request& req) {
  struct wipe_body {
    http_request& req;
    ~wipe_body() { wipe_string(req.body); }
  } wipe{req};
  co_return co_await t(req);
}

}  // namespace iam

namespace {

std::string format_time(iam::wall_clock::time_point t) {
  const auto u = to_utc_parts(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", u.year, u.month, u.day, u.hour,
                u.minute, u.second);
  return buf;
}

}  // namespace

struct iam_authenticator::project_state {
  std::optional<secret> token;
  iam::wall_clock::time_point expires_at{};
  iam::wall_clock::time_point renew_at{};
  bool rejected = false;  // the API refused the cached token
  bool logging_in = false;
  // Requests that need the login in flight wait on this timer; the login
  // cancels it when it ends, whatever the outcome.
  std::shared_ptr<boost::asio::steady_timer> login_done;
  std::optional<steady::time_point> last_login;
  std::optional<steady::time_point> previous_login;  // the one before last_login
  steady::time_point last_use{};      // the token last went on a request
  steady::time_point stale_until{};   // rejections before this are the old token's
  steady::time_point retry_not_before{};
  std::chrono::seconds backoff{0};
  std::string last_error;
};

iam_authenticator::iam_authenticator(boost::asio::any_io_executor ex, iam::transport transport,
                                     settings s, std::shared_ptr<spdlog::logger> log)
    : ex_(std::move(ex)),
      transport_(std::move(transport)),
      settings_(std::move(s)),
      log_(std::move(log)),
      password_(settings_.password_file) {}

iam_authenticator::~iam_authenticator() = default;

std::string iam_authenticator::last_error(const std::string& project_id) const {
  auto it = projects_.find(project_id);
  return it == projects_.end() ? std::string{} : it->second->last_error;
}

bool iam_authenticator::usable(const project_state& st, iam::wall_clock::time_point now) const {
  return st.token && !st.rejected && now + settings_.expiry_margin < st.expires_at;
}

result<void> iam_authenticator::fail(const std::string& project_id, project_state& st,
                                     std::string message) {
  if (message != st.last_error) log_->error("auth: project {}: {}", project_id, message);
  st.last_error = std::move(message);
  return errc::auth_unavailable;
}

void iam_authenticator::failed_login(project_state& st, steady::time_point now,
                                     std::optional<std::chrono::seconds> initial) {
  st.backoff = st.backoff.count() == 0 ? initial.value_or(settings_.retry_initial)
                                       : std::min(st.backoff * 2, settings_.retry_max);
  st.retry_not_before = now + st.backoff;
}

// True while a refused password still stands: not yet `refused_wait` old
// and the password file unchanged.
bool iam_authenticator::refusal_holds() {
  if (!refused_) return false;
  if (password_.get() && password_.stamp() != refused_->stamp) {
    // A new password file is worth a try at once.
    log_->info("auth: password file {} changed; logging in again", password_.path());
    refused_.reset();
    return false;
  }
  if (steady::now() >= refused_->until) {
    refused_.reset();
    return false;
  }
  return true;
}

boost::asio::awaitable<result<void>> iam_authenticator::async_authorize(http_request& req,
                                                                        std::string project_id,
                                                                        std::string /*host*/) {
  auto& slot = projects_[project_id];
  if (!slot) slot = std::make_unique<project_state>();
  project_state& st = *slot;  // never erased: stays valid across suspensions
  auto use_token = [&] {
    if (!st.last_error.empty()) log_->info("auth: project {}: IAM token available again", project_id);
    st.last_error.clear();
    auth_detail::set_header(req, "X-Auth-Token", std::string(st.token->reveal()));
    st.last_use = steady::now();
    return result<void>{};
  };
  for (;;) {
    auto now = iam::wall_clock::now();
    bool good = usable(st, now);
    // Renewals are also bounded by min_login_interval: a token whose
    // renewal time is already past (short-lived, or a skewed clock) must
    // not cause a login per request.
    bool renew_due = now >= st.renew_at &&
                     !(st.last_login && steady::now() < *st.last_login + settings_.min_login_interval);
    // A renewal in flight does not hold up requests while the old token is good.
    if (good && (!renew_due || st.logging_in)) co_return use_token();
    if (st.logging_in) {
      auto done = st.login_done;
      co_await done->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      auto cs = co_await boost::asio::this_coro::cancellation_state;
      if (cs.cancelled() != boost::asio::cancellation_type::none) co_return errc::cancelled;
      continue;
    }
    if (refusal_holds()) {
      if (good) co_return use_token();
      co_return fail(project_id, st, refused_->message);
    }
    if (steady::now() < st.retry_not_before) {
      if (good) co_return use_token();
      co_return fail(project_id, st,
                     st.last_error.empty() ? "waiting before the next IAM login" : st.last_error);
    }
    if (first_login_ && !password_proven()) {
      auto done = first_login_;
      co_await done->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      auto cs = co_await boost::asio::this_coro::cancellation_state;
      if (cs.cancelled() != boost::asio::cancellation_type::none) co_return errc::cancelled;
      continue;
    }
    auto login = co_await async_login(project_id, st);
    // A failed renewal leaves the old token in use while it lasts.
    if (!login && !usable(st, iam::wall_clock::now())) co_return login;
    co_return use_token();
  }
}

boost::asio::awaitable<result<void>> iam_authenticator::async_login(std::string project_id,
                                                                    project_state& st) {
  auto pw = password_.get();
  if (!pw) {
    failed_login(st, steady::now());
    co_return fail(project_id, st, pw.error().message());
  }
  st.logging_in = true;
  st.login_done = std::make_shared<boost::asio::steady_timer>(
      ex_, boost::asio::steady_timer::time_point::max());
  std::shared_ptr<boost::asio::steady_timer> first;
  if (!password_proven()) {
    first = std::make_shared<boost::asio::steady_timer>(ex_, boost::asio::steady_timer::time_point::max());
    first_login_ = first;
  }
  // Wakes the waiters on every way out, also when this coroutine is destroyed.
  struct guard {
    project_state& st;
    std::shared_ptr<boost::asio::steady_timer> first;
    std::shared_ptr<boost::asio::steady_timer>& first_slot;
    ~guard() {
      st.logging_in = false;
      st.login_done->cancel();
      if (first) {
        first->cancel();
        if (first_slot == first) first_slot.reset();
      }
    }
  } wake{st, first, first_login_};
  const file_stamp password_stamp = password_.stamp();

  http_request req;
  req.method = "POST";
  req.target = "/v3/auth/tokens?nocatalog=true";
  req.headers = {{"Content-Type", "application/json;charset=utf8"}};
  {
    auto body = iam::token_request_body(settings_.domain, settings_.user, (*pw)->reveal(), project_id);
    req.body = std::string(body.reveal());
  }
  ++logins_;
  st.previous_login = st.last_login;
  st.last_login = steady::now();
  const std::string who = "IAM login for project " + project_id + " (user " + settings_.user +
                          ", domain " + settings_.domain + ")";

  auto r = co_await iam::send_login(transport_, req);
  if (!r) {
    if (r.error() == boost::asio::error::operation_aborted) co_return errc::cancelled;
    failed_login(st, steady::now());
    co_return fail(project_id, st, who + " failed: " + r.error().message());
  }
  if (r->status != 201) {
    auto e = parse_api_error(r->status, r->body, r->request_id);
    if (r->status == 401 || r->status == 403) {
      // Evidence, not proof. A password file replaced meanwhile is tried at once.
      if (password_.get() && password_.stamp() != password_stamp) {
        co_return fail(project_id, st,
                       who + " was refused (" + auth_detail::describe(e) + "); the password file " +
                           password_.path() + " has changed since: logging in again with it");
      }
      if (proven_ && *proven_ == password_stamp) {
        // IAM accepted this very password before: the refusal may concern
        // this project alone (no role in it, the project gone) or the
        // password was changed in IAM. This project backs off; the others
        // keep their tokens, and the next login (any project) goes alone, so
        // a changed password costs one more attempt, then the refusal below.
        proven_.reset();
        suspect_ = suspect{project_id, password_stamp};
        failed_login(st, steady::now(), settings_.refused_project_initial);
        co_return fail(project_id, st,
                       who + " was refused: " + auth_detail::describe(e) +
                           "; IAM accepted this password before, so only this project waits (" +
                           std::to_string(st.backoff.count()) +
                           "s, doubling) unless the password file " + password_.path() +
                           " changes");
      }
      if (suspect_ && suspect_->project_id == project_id && suspect_->stamp == password_stamp) {
        // The same project refused again while no other project has logged
        // in since: still its own problem as far as we know. It alone waits
        // as long as a refused password would, so IAM sees no more
        // attempts than under the stop below.
        st.backoff = settings_.refused_wait;
        st.retry_not_before = steady::now() + st.backoff;
        co_return fail(project_id, st,
                       who + " was refused again: " + auth_detail::describe(e) + "; this project waits " +
                           std::to_string(st.backoff.count()) + "s unless the password file " +
                           password_.path() + " changes; the other projects keep logging in");
      }
      // A password IAM never accepted is the user's problem, not the
      // project's: every project stops (IAM locks users after repeated
      // wrong passwords).
      auto message = "IAM refused the login of user " + settings_.user + " (domain " +
                     settings_.domain + "): " + auth_detail::describe(e) +
                     "; no IAM logins for " + std::to_string(settings_.refused_wait.count()) +
                     "s unless the password file " + password_.path() + " changes";
      refused_ = refusal{password_stamp, steady::now() + settings_.refused_wait, message};
      co_return fail(project_id, st, std::move(message));
    }
    failed_login(st, steady::now());
    co_return fail(project_id, st, who + " failed: " + auth_detail::describe(e));
  }
  if (r->subject_token.empty()) {
    failed_login(st, steady::now());
    co_return fail(project_id, st, who + ": IAM answered 201 without an X-Subject-Token header");
  }
  auto times = iam::parse_token_body(r->body);
  if (!times) {
    failed_login(st, steady::now());
    co_return fail(project_id, st, who + ": " + times.error().message());
  }
  auto now = iam::wall_clock::now();
  // Pages still in flight with a rejected token will be rejected too;
  // those answers must not condemn this one.
  if (st.token && st.rejected) st.stale_until = st.last_use + settings_.stale_rejection_grace;
  st.token = std::move(r->subject_token);
  st.expires_at = times->expires_at;
  st.renew_at = iam::renew_at(*times, now);
  st.rejected = false;
  st.backoff = std::chrono::seconds{0};
  st.retry_not_before = {};
  proven_ = password_stamp;
  suspect_.reset();
  log_->info("auth: {} succeeded (request id {}); token expires {}, renewal at {}", who,
             r->request_id.empty() ? "-" : r->request_id, format_time(st.expires_at),
             format_time(st.renew_at));
  if (st.expires_at <= now + settings_.expiry_margin) {
    log_->warn("auth: project {}: the new IAM token expires at {}, which this host's clock "
               "says is (nearly) past: check the clock",
               project_id, format_time(st.expires_at));
  }
  co_return result<void>{};
}

void iam_authenticator::on_rejected(const std::string& project_id, const api_error& err) {
  auto it = projects_.find(project_id);
  if (it == projects_.end() || !it->second->token || it->second->rejected) return;
  auto& st = *it->second;
  if (steady::now() < st.stale_until) {
    log_->debug("auth: project {}: a request sent with the previous IAM token was rejected: {}",
                project_id, auth_detail::describe(err));
    return;
  }
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
  log_->warn("auth: project {}: the API rejected the IAM token: {}; logging in again", project_id,
             auth_detail::describe(err));
}

}  // namespace hssjw
