// auth.method: token. The IAM token comes from a file (a path or
// credential:NAME) that something else keeps fresh; it is re-read whenever
// the file changes. A token the API rejected is not sent again until the
// file holds a new one, so a dead token costs one failed request, not one
// per poll.
#pragma once

#include "auth/authenticator.hpp"
#include "auth/secret_file.hpp"

#include <spdlog/logger.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace hssjw {

class token_authenticator final : public authenticator {
 public:
  using clock = std::chrono::steady_clock;

  struct options {
    // A rejected token is tried once more after this long even if the file
    // did not change. on_rejected cannot tell which token a late answer
    // was for, so a rejection meant for the previous token may land on the
    // new one; this bounds the damage of that race to one interval.
    std::chrono::seconds recheck_rejected{std::chrono::minutes(10)};
  };

  token_authenticator(std::string token_file, std::shared_ptr<spdlog::logger> log,
                      options opts);
  token_authenticator(std::string token_file, std::shared_ptr<spdlog::logger> log)
      : token_authenticator(std::move(token_file), std::move(log), options{}) {}

  boost::asio::awaitable<result<void>> async_authorize(http_request& req,
                                                       std::string project_id,
                                                       std::string host) override;
  void on_rejected(const std::string& project_id, const api_error& err) override;

  // The decisions behind the two calls above, with the time passed in.
  result<void> authorize(http_request& req, clock::time_point now);
  void rejected(const api_error& err, clock::time_point now);

  // Why the last authorize failed ("" after a success): file + reason,
  // never the token.
  const std::string& last_error() const { return last_error_; }

 private:
  struct rejection {
    file_stamp stamp;            // the token file version that was rejected
    clock::time_point retry_at;  // when one more request may try it
  };

  result<void> fail(std::string message);

  watched_secret token_;
  std::shared_ptr<spdlog::logger> log_;
  options opts_;
  std::optional<rejection> rejected_;
  std::string last_error_;
};

}  // namespace hssjw
