// auth.method: password (see iam_authenticator.hpp). The password and the
// tokens stay in `secret`s; log lines name the project, user, domain and
// IAM's answer, never a credential.
#include "auth/iam_authenticator.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cstdio>

#include "auth/auth_util.hpp"
#include "core/utc.hpp"
#include "hss/client.hpp"

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

secret token_request_body(std::string_view domain, std::string_view user, std::string_view password,
                          std::string_view project_id) {
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
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      s.back() != 'Z') {
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

iam::token_cache::clocks now() {
  return {iam::wall_clock::now(), std::chrono::steady_clock::now()};
}

std::string format_time(iam::wall_clock::time_point t) {
  const auto u = to_utc_parts(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", u.year, u.month, u.day, u.hour,
                u.minute, u.second);
  return buf;
}

}  // namespace

iam_authenticator::iam_authenticator(boost::asio::any_io_executor ex, iam::transport transport,
                                     settings s, std::shared_ptr<spdlog::logger> log)
    : ex_(std::move(ex)),
      transport_(std::move(transport)),
      settings_(std::move(s)),
      log_(std::move(log)),
      password_(settings_.password_file),
      cache_({.domain = settings_.domain,
              .user = settings_.user,
              .expiry_margin = settings_.expiry_margin,
              .min_login_interval = settings_.min_login_interval,
              .stale_rejection_grace = settings_.stale_rejection_grace,
              .retry_initial = settings_.retry_initial,
              .retry_max = settings_.retry_max,
              .refused_wait = settings_.refused_wait,
              .refused_project_initial = settings_.refused_project_initial}) {}

iam_authenticator::~iam_authenticator() = default;

std::optional<file_stamp> iam_authenticator::known_password() const {
  if (!password_.loaded()) return std::nullopt;
  return password_.stamp();
}

std::optional<file_stamp> iam_authenticator::reread_password() {
  if (!password_.get()) return std::nullopt;
  return password_.stamp();
}

result<void> iam_authenticator::use_token(http_request& req, const std::string& project_id) {
  auto handed = cache_.use(project_id, now());
  if (handed.recovered) log_->info("auth: project {}: IAM token available again", project_id);
  auth_detail::set_header(req, "X-Auth-Token", std::string(handed.token.reveal()));
  return {};
}

result<void> iam_authenticator::fail(const std::string& project_id, std::string message) {
  if (cache_.record_failure(project_id, message))
    log_->error("auth: project {}: {}", project_id, message);
  return errc::auth_unavailable;
}

boost::asio::awaitable<result<void>> iam_authenticator::async_authorize(http_request& req,
                                                                        std::string project_id,
                                                                        std::string /*host*/) {
  using step = iam::token_cache::step;
  for (;;) {
    auto d =
        cache_.authorize(project_id, now(), known_password(), [this] { return reread_password(); });
    if (d.password_changed) {
      // A new password file is worth a try at once.
      log_->info("auth: password file {} changed; logging in again", password_.path());
    }
    switch (d.next) {
      case step::use:
        co_return use_token(req, project_id);
      case step::fail:
        co_return fail(project_id, std::move(d.message));
      case step::wait_login:
      case step::wait_first_login: {
        auto done = d.next == step::wait_login ? login_done_[project_id] : first_login_;
        co_await done->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        auto cs = co_await boost::asio::this_coro::cancellation_state;
        if (cs.cancelled() != boost::asio::cancellation_type::none) co_return errc::cancelled;
        continue;
      }
      case step::login:
        break;
    }
    auto login = co_await async_login(project_id);
    // A failed renewal leaves the old token in use while it lasts.
    if (!login && !cache_.usable(project_id, iam::wall_clock::now())) co_return login;
    co_return use_token(req, project_id);
  }
}

boost::asio::awaitable<result<void>> iam_authenticator::async_login(std::string project_id) {
  auto pw = password_.get();
  if (!pw) {
    cache_.login_failed(project_id, now());
    co_return fail(project_id, pw.error().message());
  }
  const auto ticket = cache_.begin_login(project_id, password_.stamp(), now());
  // The path of the password this login sends, for the messages.
  const std::string password_path = password_.path();
  auto done = std::make_shared<timer>(ex_, timer::time_point::max());
  login_done_[project_id] = done;
  std::shared_ptr<timer> first;
  if (ticket.first) {
    first = std::make_shared<timer>(ex_, timer::time_point::max());
    first_login_ = first;
  }
  // Ends the login and wakes its waiters on every way out, also when this
  // coroutine is destroyed.
  struct guard {
    iam::token_cache& cache;
    const std::string& project_id;
    const iam::token_cache::login_ticket& ticket;
    std::shared_ptr<timer> done;
    std::shared_ptr<timer> first;
    std::shared_ptr<timer>& first_slot;
    ~guard() {
      cache.end_login(project_id, ticket);
      done->cancel();
      if (first) {
        first->cancel();
        if (first_slot == first) first_slot.reset();
      }
    }
  } wake{cache_, project_id, ticket, done, first, first_login_};

  http_request req;
  req.method = "POST";
  req.target = "/v3/auth/tokens?nocatalog=true";
  req.headers = {{"Content-Type", "application/json;charset=utf8"}};
  {
    auto body =
        iam::token_request_body(settings_.domain, settings_.user, (*pw)->reveal(), project_id);
    req.body = std::string(body.reveal());
  }
  const std::string who = cache_.who(project_id);

  auto r = co_await iam::send_login(transport_, req);
  if (!r) {
    if (r.error() == boost::asio::error::operation_aborted) co_return errc::cancelled;
    cache_.login_failed(project_id, now());
    co_return fail(project_id, who + " failed: " + r.error().message());
  }
  if (r->status != 201) {
    auto e = parse_api_error(r->status, r->body, r->request_id);
    if (r->status == 401 || r->status == 403) {
      // Evidence, not proof (token_cache::login_refused weighs it).
      const bool file_changed = password_.get() && password_.stamp() != ticket.password;
      co_return fail(project_id, cache_.login_refused(project_id, ticket, e, file_changed,
                                                      password_path, now()));
    }
    cache_.login_failed(project_id, now());
    co_return fail(project_id, who + " failed: " + auth_detail::describe(e));
  }
  if (r->subject_token.empty()) {
    cache_.login_failed(project_id, now());
    co_return fail(project_id, who + ": IAM answered 201 without an X-Subject-Token header");
  }
  auto times = iam::parse_token_body(r->body);
  if (!times) {
    cache_.login_failed(project_id, now());
    co_return fail(project_id, who + ": " + times.error().message());
  }
  const auto renewal =
      cache_.login_succeeded(project_id, ticket, std::move(r->subject_token), *times, now());
  log_->info("auth: {} succeeded (request id {}); token expires {}, renewal at {}", who,
             r->request_id.empty() ? "-" : r->request_id, format_time(renewal.expires_at),
             format_time(renewal.renew_at));
  if (renewal.expired_already) {
    log_->warn(
        "auth: project {}: the new IAM token expires at {}, which this host's clock "
        "says is (nearly) past: check the clock",
        project_id, format_time(renewal.expires_at));
  }
  co_return result<void>{};
}

void iam_authenticator::on_rejected(const std::string& project_id, const api_error& err) {
  switch (cache_.on_rejected(project_id, now())) {
    case iam::token_cache::rejection::ignored:
      return;
    case iam::token_cache::rejection::stale:
      log_->debug("auth: project {}: a request sent with the previous IAM token was rejected: {}",
                  project_id, auth_detail::describe(err));
      return;
    case iam::token_cache::rejection::rejected:
      log_->warn("auth: project {}: the API rejected the IAM token: {}; logging in again",
                 project_id, auth_detail::describe(err));
      return;
  }
}

}  // namespace hssjw
