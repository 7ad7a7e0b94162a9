// auth.method: password. Logs in to IAM with the user's password (read from
// a file, re-read when it changes) and keeps one project-scoped token per
// project id: cached, renewed well before it expires and after the API
// rejects it, with a single login in flight per project however many
// requests wait for it. IAM failures back off, so a wrong password cannot
// lock the IAM user by repetition: a refused password that IAM never
// accepted stops logins for every project (it is the user's password)
// until the file changes. A refusal of a password IAM did accept is
// evidence about that project (or a changed password): that project backs
// off (10 s doubling to 5 min) and the next login of any project goes
// alone; the other projects keep their tokens and their logins. Those
// decisions are the plain object iam::token_cache (auth/token_cache.hpp);
// this class does the I/O: the password file, the IAM requests, the waits
// and the log lines.
#pragma once

#include <spdlog/logger.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "auth/authenticator.hpp"
#include "auth/secret_file.hpp"
#include "auth/token_cache.hpp"

namespace hssjw {

class https_client;

namespace iam {

// The POST /v3/auth/tokens body for a project-scoped password token
// (HUAWEI-API.md §3). A secret, since it contains the password.
secret token_request_body(std::string_view domain, std::string_view user, std::string_view password,
                          std::string_view project_id);

// "2020-01-04T09:05:22.701000Z" (any number of fractional digits, or none).
std::optional<wall_clock::time_point> parse_time(std::string_view s);

// token.expires_at (required) and token.issued_at from a 201 body.
result<token_times> parse_token_body(std::string_view body);

// One IAM answer as the transport saw it.
struct reply {
  unsigned status = 0;
  secret subject_token;  // X-Subject-Token
  std::string body;
  std::string request_id;
};

// Sends one request to the IAM endpoint. The default goes through
// https_client; tests pass a fake. The caller keeps the request: its body
// holds the password and is wiped by send_login once the call is over.
using transport = std::function<boost::asio::awaitable<result<reply>>(http_request&)>;

transport https_transport(std::shared_ptr<https_client> client);

// Sends `req` through `t` and wipes req.body on every way out: an answer,
// an error, an exception, or the coroutine being destroyed (cancellation).
boost::asio::awaitable<result<reply>> send_login(const transport& t, http_request& req);

}  // namespace iam

class iam_authenticator final : public authenticator {
 public:
  struct settings {
    std::string domain;
    std::string user;
    std::string password_file;  // path or credential:NAME
    // A token is not used in its last minute: clocks differ.
    std::chrono::seconds expiry_margin{60};
    // A token the API rejects is replaced at once, but one project never
    // logs in more than twice within this interval: a fresh token that is
    // rejected too must not turn into a login loop.
    std::chrono::seconds min_login_interval{60};
    // After a rejected token was replaced, rejections arriving within this
    // long of the old token's last use are answers to requests that still
    // carried the old token (pages in flight): they do not condemn the new
    // one. The factory sets it to poll.timeout.
    std::chrono::seconds stale_rejection_grace{30};
    // After a failed login: first wait, doubling up to max; a refused
    // password waits `refused_wait` (IAM locks users after repeated wrong
    // passwords) unless the password file changes.
    std::chrono::seconds retry_initial{5};
    std::chrono::seconds retry_max{std::chrono::minutes(5)};
    std::chrono::seconds refused_wait{std::chrono::minutes(15)};
    // A refusal for one project of a password IAM accepted before: that
    // project waits this long, doubling up to retry_max.
    std::chrono::seconds refused_project_initial{10};
  };

  iam_authenticator(boost::asio::any_io_executor ex, iam::transport transport, settings s,
                    std::shared_ptr<spdlog::logger> log);
  ~iam_authenticator() override;

  boost::asio::awaitable<result<void>> async_authorize(http_request& req, std::string project_id,
                                                       std::string host) override;
  void on_rejected(const std::string& project_id, const api_error& err) override;

  // Why the last authorize for `project_id` failed ("" if it did not).
  std::string last_error(const std::string& project_id) const {
    return cache_.last_error(project_id);
  }
  // Logins sent so far (all projects), for tests and metrics.
  std::uint64_t logins() const { return cache_.logins(); }

 private:
  using timer = boost::asio::steady_timer;

  boost::asio::awaitable<result<void>> async_login(std::string project_id);
  result<void> use_token(http_request& req, const std::string& project_id);
  result<void> fail(const std::string& project_id, std::string message);
  // The password file's version as last read, and read again.
  std::optional<file_stamp> known_password() const;
  std::optional<file_stamp> reread_password();

  boost::asio::any_io_executor ex_;
  iam::transport transport_;
  settings settings_;
  std::shared_ptr<spdlog::logger> log_;
  watched_secret password_;
  // Every decision about tokens, logins and refusals (auth/token_cache.hpp).
  iam::token_cache cache_;
  // Requests that wait for a login in flight wait on its timer; the login
  // cancels it when it ends, whatever the outcome. Per project, and the
  // one login of a password IAM has not accepted yet (`first_login_`),
  // which requests of every project wait for.
  std::map<std::string, std::shared_ptr<timer>> login_done_;
  std::shared_ptr<timer> first_login_;
};

}  // namespace hssjw
