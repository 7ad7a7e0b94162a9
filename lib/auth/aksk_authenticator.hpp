// auth.method: aksk. Signs each request with the access key and the secret
// key from a file (re-read when it changes), and rewrites the request
// target so the query on the wire is byte-identical to the signed one.
// Signature failures stop signing for a while: the gateway locks a key for
// 5 minutes after 5 failures in a row, and a daemon retrying in a loop would
// keep it locked for good. For the same reason a key not yet known to work
// (at start, after the SK file changed, after a rejection) signs one request
// at a time until it is accepted, rejected, or `proof_wait` passes without
// an answer: many scopes starting at once with a wrong SK must not spend
// the gateway's five failures in one burst.
#pragma once

#include <spdlog/logger.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "auth/authenticator.hpp"
#include "auth/secret_file.hpp"

namespace hssjw {

class aksk_authenticator final : public authenticator {
 public:
  using clock = std::chrono::steady_clock;

  struct options {
    // Rejections within one `pause` that stop signing. Two leaves a margin
    // below the gateway's five for the requests already in flight.
    unsigned max_rejections = 2;
    // Longer than the gateway's 5-minute lock so that the first request
    // after the pause does not land inside it.
    std::chrono::seconds pause{std::chrono::minutes(6)};
    // How long the other requests wait for the answer to an unproven key's
    // first signature when nobody reports it (on_accepted): longer than a
    // normal API round trip.
    std::chrono::milliseconds proof_wait{1000};
  };

  aksk_authenticator(std::string access_key, std::string secret_key_file,
                     std::shared_ptr<spdlog::logger> log, options opts);
  aksk_authenticator(std::string access_key, std::string secret_key_file,
                     std::shared_ptr<spdlog::logger> log)
      : aksk_authenticator(std::move(access_key), std::move(secret_key_file), std::move(log),
                           options{}) {}

  boost::asio::awaitable<result<void>> async_authorize(http_request& req, std::string project_id,
                                                       std::string host) override;
  void on_rejected(const std::string& project_id, const api_error& err) override;
  void on_accepted(const std::string& project_id) override;

  // The decisions behind the two calls above, with the clocks passed in:
  // `wall` becomes X-Sdk-Date, `now` drives the pause.
  result<void> authorize(http_request& req, const std::string& project_id, const std::string& host,
                         std::chrono::system_clock::time_point wall, clock::time_point now);
  void rejected(const api_error& err, clock::time_point now);

  bool paused(clock::time_point now) const { return now < paused_until_; }
  // Why the last authorize failed ("" after a success); never the SK.
  const std::string& last_error() const { return last_error_; }

 private:
  result<void> fail(std::string message);
  bool proven() const;
  void end_probe(bool accepted);

  std::string access_key_;
  watched_secret secret_key_;
  std::shared_ptr<spdlog::logger> log_;
  options opts_;
  unsigned rejections_ = 0;           // within the current window
  clock::time_point window_start_{};  // first rejection of the window
  clock::time_point paused_until_{};
  bool gateway_locked_ = false;             // the gateway said so; a new SK will not help
  std::optional<file_stamp> paused_stamp_;  // the SK version that was rejected
  std::string last_error_;
  // The SK version the gateway accepted (or that went unanswered for
  // proof_wait); while another is in use, one signed request at a time.
  std::optional<file_stamp> proven_stamp_;
  std::optional<file_stamp> probe_stamp_;
  std::shared_ptr<boost::asio::steady_timer> probe_;  // set while a first signature is out
};

}  // namespace hssjw
