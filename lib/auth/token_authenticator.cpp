// auth.method: token (see token_authenticator.hpp). Every log line and
// message names the file, never the token.
#include "auth/token_authenticator.hpp"

#include <algorithm>

#include "auth/auth_util.hpp"

namespace hssjw {

bool rejection_backoff::may_send(clock::time_point now) {
  if (!suspected_) return true;
  if (now < retry_at_) return false;
  // This request is the probe; the others wait one more interval for its answer.
  probing_ = true;
  retry_at_ = now + wait_;
  return true;
}

rejection_backoff::verdict rejection_backoff::rejected(clock::time_point now) {
  if (!suspected_) {
    suspected_ = true;
    probing_ = false;
    wait_ = opts_.initial;
    retry_at_ = now + wait_;
    return verdict::suspected;
  }
  if (!probing_) return verdict::in_flight;
  probing_ = false;
  wait_ = std::min(wait_ * 2, opts_.max);
  retry_at_ = now + wait_;
  return verdict::probe_failed;
}

void rejection_backoff::clear() {
  suspected_ = false;
  probing_ = false;
  wait_ = std::chrono::seconds{0};
  retry_at_ = {};
}

token_authenticator::token_authenticator(std::string token_file,
                                         std::shared_ptr<spdlog::logger> log, options opts)
    : token_(std::move(token_file)), log_(std::move(log)), opts_(opts) {}

boost::asio::awaitable<result<void>> token_authenticator::async_authorize(http_request& req,
                                                                          std::string project_id,
                                                                          std::string /*host*/) {
  co_return authorize(req, project_id, clock::now());
}

void token_authenticator::on_rejected(const std::string& project_id, const api_error& err) {
  rejected(project_id, err, clock::now());
}

void token_authenticator::on_accepted(const std::string& project_id) { accepted(project_id); }

token_authenticator::project_state& token_authenticator::project(const std::string& project_id) {
  auto it = projects_.find(project_id);
  if (it == projects_.end()) {
    it = projects_.emplace(project_id, project_state{rejection_backoff(opts_.backoff), {}}).first;
  }
  return it->second;
}

std::string token_authenticator::last_error(const std::string& project_id) const {
  if (!file_error_.empty()) return file_error_;
  auto it = projects_.find(project_id);
  return it == projects_.end() ? std::string{} : it->second.last_error;
}

result<void> token_authenticator::fail_file(std::string message) {
  // Logged when it changes, not per request: the walker retries often.
  if (message != file_error_) log_->error("auth: {}", message);
  file_error_ = std::move(message);
  return errc::auth_unavailable;
}

result<void> token_authenticator::fail_project(const std::string& project_id, project_state& st,
                                               std::string message) {
  if (message != st.last_error) log_->error("auth: project {}: {}", project_id, message);
  st.last_error = std::move(message);
  return errc::auth_unavailable;
}

void token_authenticator::note_version() {
  if (version_ && *version_ == token_.stamp()) return;
  if (version_) {
    log_->info("auth: token file {} changed; using the new token", token_.path());
    // Answers to requests that carried the previous token are still on
    // their way; they say nothing about this one.
    if (last_sent_)
      stale_until_ = std::max(stale_until_, *last_sent_ + opts_.stale_rejection_grace);
    for (auto& [id, st] : projects_) st.backoff.clear();
  }
  version_ = token_.stamp();
}

result<void> token_authenticator::authorize(http_request& req, const std::string& project_id,
                                            clock::time_point now) {
  auto token = token_.get();
  if (!token) return fail_file(token.error().message());
  if (!file_error_.empty()) {
    log_->info("auth: token from {} available again", token_.path());
    file_error_.clear();
  }
  note_version();

  auto& st = project(project_id);
  const bool was_suspected = st.backoff.suspected();
  if (!st.backoff.may_send(now)) {
    // No countdown in the text: it is logged when it changes, not per request.
    return fail_project(project_id, st,
                        "the token in " + token_.path() +
                            " was rejected by the API for this project; it is tried again " +
                            std::to_string(st.backoff.wait().count()) +
                            "s after the rejection, or at once when the file changes");
  }
  if (was_suspected) {
    log_->info("auth: project {}: trying the rejected token from {} once more", project_id,
               token_.path());
  }
  if (!st.last_error.empty()) {
    log_->info("auth: project {}: token from {} in use again", project_id, token_.path());
    st.last_error.clear();
  }
  auth_detail::set_header(req, "X-Auth-Token", std::string((*token)->reveal()));
  last_sent_ = now;
  return {};
}

void token_authenticator::rejected(const std::string& project_id, const api_error& err,
                                   clock::time_point now) {
  // Evidence, not proof: look at the file first. A rotated token makes the
  // rejection one of the previous token's.
  if (!token_.get()) return;  // the next authorize reports the file problem
  note_version();
  if (now < stale_until_) {
    log_->debug(
        "auth: project {}: a request sent with the previous token from {} was "
        "rejected: {}",
        project_id, token_.path(), auth_detail::describe(err));
    return;
  }
  auto& st = project(project_id);
  switch (st.backoff.rejected(now)) {
    case rejection_backoff::verdict::suspected:
      log_->warn(
          "auth: project {}: the API rejected the token from {}: {}; the file is "
          "unchanged, so this project tries it again in {}s (at once when the file "
          "changes); other projects keep using it",
          project_id, token_.path(), auth_detail::describe(err), st.backoff.wait().count());
      break;
    case rejection_backoff::verdict::probe_failed:
      log_->warn(
          "auth: project {}: the token from {} was rejected again: {}; next try in {}s "
          "(at once when the file changes)",
          project_id, token_.path(), auth_detail::describe(err), st.backoff.wait().count());
      break;
    case rejection_backoff::verdict::in_flight:
      log_->debug(
          "auth: project {}: token from {} rejected again (a request already in flight): "
          "{}",
          project_id, token_.path(), auth_detail::describe(err));
      break;
  }
}

void token_authenticator::accepted(const std::string& project_id) {
  auto it = projects_.find(project_id);
  if (it == projects_.end() || !it->second.backoff.suspected()) return;
  log_->info("auth: project {}: the API accepted the token from {} again", project_id,
             token_.path());
  it->second.backoff.clear();
}

}  // namespace hssjw
