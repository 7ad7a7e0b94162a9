// auth.method: token. The IAM token comes from a file (a path or
// credential:NAME) that something else keeps fresh; it is re-read whenever
// the file changes.
//
// A 401 is evidence against the token, not proof: the file is re-read at
// once (a rotated token is used straight away), and an unchanged token is
// held back only from the project that got the 401, and only for a backoff
// (10 s, doubling to 5 min; a file change or an accepted request ends it).
// Other projects keep using it. docs/AUTH.md says why.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "auth/authenticator.hpp"
#include "auth/secret_file.hpp"

namespace hssjw {

// What one project does with a token the API rejected: a plain decision
// with the time passed in. Not suspected: send. Suspected: wait until
// retry_at, then let one request through (the probe) and make the others
// wait another interval. A rejection of the probe doubles the wait (up to
// max); rejections of requests sent before the suspicion began (pages in
// flight) change nothing. An accepted request or a new token clears it.
class rejection_backoff {
 public:
  using clock = std::chrono::steady_clock;
  struct options {
    std::chrono::seconds initial{10};
    std::chrono::seconds max{std::chrono::minutes(5)};
  };

  enum class verdict {
    suspected,     // first rejection: wait `initial`
    probe_failed,  // the probe was rejected too: the wait doubled
    in_flight,     // an answer to a request sent before: nothing changes
  };

  rejection_backoff() = default;
  explicit rejection_backoff(options o) : opts_(o) {}

  // May a request carry the token now? A true while suspected makes this
  // request the probe.
  bool may_send(clock::time_point now);
  verdict rejected(clock::time_point now);
  void clear();  // accepted, or the token changed

  bool suspected() const { return suspected_; }
  clock::time_point retry_at() const { return retry_at_; }
  std::chrono::seconds wait() const { return wait_; }

 private:
  options opts_;
  bool suspected_ = false;
  bool probing_ = false;  // a probe went out since the last rejection
  std::chrono::seconds wait_{0};
  clock::time_point retry_at_{};
};

class token_authenticator final : public authenticator {
 public:
  using clock = std::chrono::steady_clock;

  struct options {
    rejection_backoff::options backoff{};
    // After the file changed, rejections arriving within this long of the
    // previous token's last use are answers to requests that carried the
    // previous token: they do not count against the new one. The factory
    // sets it to poll.timeout (no answer comes later than that).
    std::chrono::seconds stale_rejection_grace{30};
  };

  token_authenticator(std::string token_file, std::shared_ptr<spdlog::logger> log, options opts);
  token_authenticator(std::string token_file, std::shared_ptr<spdlog::logger> log)
      : token_authenticator(std::move(token_file), std::move(log), options{}) {}

  boost::asio::awaitable<result<void>> async_authorize(http_request& req, std::string project_id,
                                                       std::string host) override;
  void on_rejected(const std::string& project_id, const api_error& err) override;
  void on_accepted(const std::string& project_id) override;

  // The decisions behind the calls above, with the time passed in.
  result<void> authorize(http_request& req, const std::string& project_id, clock::time_point now);
  void rejected(const std::string& project_id, const api_error& err, clock::time_point now);
  void accepted(const std::string& project_id);

  // Why the last authorize for `project_id` failed ("" after a success):
  // file + reason, never the token.
  std::string last_error(const std::string& project_id) const;

 private:
  struct project_state {
    rejection_backoff backoff;
    std::string last_error;
  };

  project_state& project(const std::string& project_id);
  result<void> fail_file(std::string message);
  result<void> fail_project(const std::string& project_id, project_state& st, std::string message);
  // Called after every good read: a new file version clears every
  // project's backoff and starts the stale-rejection grace.
  void note_version();

  watched_secret token_;
  std::shared_ptr<spdlog::logger> log_;
  options opts_;
  std::map<std::string, project_state> projects_;
  std::optional<file_stamp> version_;           // the file version in use
  std::optional<clock::time_point> last_sent_;  // the token last went on a request
  clock::time_point stale_until_{};
  std::string file_error_;  // why the file cannot be used ("" when it can)
};

}  // namespace hssjw
