// auth.method: token (see token_authenticator.hpp). Every log line and
// message names the file, never the token.
#include "auth/token_authenticator.hpp"

#include "auth/auth_util.hpp"

namespace hssjw {

token_authenticator::token_authenticator(std::string token_file,
                                         std::shared_ptr<spdlog::logger> log, options opts)
    : token_(std::move(token_file)), log_(std::move(log)), opts_(opts) {}

boost::asio::awaitable<result<void>> token_authenticator::async_authorize(
    http_request& req, std::string /*project_id*/, std::string /*host*/) {
  co_return authorize(req, clock::now());
}

void token_authenticator::on_rejected(const std::string& /*project_id*/, const api_error& err) {
  rejected(err, clock::now());
}

result<void> token_authenticator::fail(std::string message) {
  // Logged when it changes, not per request: the walker retries often.
  if (message != last_error_) log_->error("auth: {}", message);
  last_error_ = std::move(message);
  return errc::auth_unavailable;
}

result<void> token_authenticator::authorize(http_request& req, clock::time_point now) {
  auto token = token_.get();
  if (!token) return fail(token.error());

  if (rejected_ && rejected_->stamp != token_.stamp()) {
    log_->info("auth: token file {} changed; using the new token", token_.path());
    rejected_.reset();
  }
  if (rejected_) {
    if (now < rejected_->retry_at) {
      return fail("the token in " + token_.path() +
                  " was rejected by the API; waiting for a new token in that file");
    }
    // One probe per interval; the others keep waiting.
    rejected_->retry_at = now + opts_.recheck_rejected;
    log_->info("auth: trying the rejected token from {} once more", token_.path());
  }
  if (!last_error_.empty()) log_->info("auth: token from {} available again", token_.path());
  last_error_.clear();
  auth_detail::set_header(req, "X-Auth-Token", std::string((*token)->reveal()));
  return {};
}

void token_authenticator::rejected(const api_error& err, clock::time_point now) {
  if (!token_.loaded()) return;
  bool again = rejected_ && rejected_->stamp == token_.stamp();
  rejected_ = rejection{token_.stamp(), now + opts_.recheck_rejected};
  if (again) {
    log_->debug("auth: token from {} rejected again: {}", token_.path(),
                auth_detail::describe(err));
    return;
  }
  log_->warn("auth: the API rejected the token from {}: {}; no requests until the file changes "
             "(or one retry in {}s)",
             token_.path(), auth_detail::describe(err), opts_.recheck_rejected.count());
}

}  // namespace hssjw
