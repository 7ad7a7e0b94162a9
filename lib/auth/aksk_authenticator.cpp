// auth.method: aksk (see aksk_authenticator.hpp). The SK is only ever
// handed to the signer as a view of its wiped buffer; logs name the access
// key id (not a secret) and the SK file.
#include "auth/aksk_authenticator.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "auth/aksk_signer.hpp"
#include "auth/auth_util.hpp"

namespace hssjw {
namespace {

// What the gateway counts towards its lock: any 401, and the APIGW auth
// codes also when a proxy rewrote the status.
bool is_signature_failure(const api_error& err) {
  auto code = auth_detail::gateway_code(err);
  return err.http_status == 401 || code == "0301" || code == "0303" || code == "0305";
}

}  // namespace

aksk_authenticator::aksk_authenticator(std::string access_key, std::string secret_key_file,
                                       std::shared_ptr<spdlog::logger> log, options opts)
    : access_key_(std::move(access_key)),
      secret_key_(std::move(secret_key_file)),
      log_(std::move(log)),
      opts_(opts) {}

bool aksk_authenticator::proven() const {
  return proven_stamp_ && secret_key_.loaded() && *proven_stamp_ == secret_key_.stamp();
}

// The first signature of an unproven key was answered (or not within
// proof_wait): the requests held back go on.
void aksk_authenticator::end_probe(bool accepted) {
  if (!probe_) return;
  if (accepted) proven_stamp_ = probe_stamp_;
  probe_->cancel();
  probe_.reset();
}

boost::asio::awaitable<result<void>> aksk_authenticator::async_authorize(http_request& req,
                                                                         std::string project_id,
                                                                         std::string host) {
  while (probe_ && !proven()) {
    auto probe = probe_;
    co_await probe->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    auto cs = co_await boost::asio::this_coro::cancellation_state;
    if (cs.cancelled() != boost::asio::cancellation_type::none) co_return errc::cancelled;
    // Not cancelled by an answer: nobody reported one in proof_wait, so
    // presume the key works rather than hold everything back.
    if (probe_ == probe && clock::now() >= probe->expiry()) end_probe(true);
  }
  auto r = authorize(req, project_id, host, std::chrono::system_clock::now(), clock::now());
  if (r && !proven() && !probe_) {
    probe_stamp_ = secret_key_.stamp();
    probe_ = std::make_shared<boost::asio::steady_timer>(co_await boost::asio::this_coro::executor,
                                                         opts_.proof_wait);
  }
  co_return r;
}

void aksk_authenticator::on_rejected(const std::string& /*project_id*/, const api_error& err) {
  rejected(err, clock::now());
}

void aksk_authenticator::on_accepted(const std::string& /*project_id*/) {
  if (!proven()) end_probe(true);
}

result<void> aksk_authenticator::fail(std::string message) {
  if (message != last_error_) log_->error("auth: {}", message);
  last_error_ = std::move(message);
  return errc::auth_unavailable;
}

result<void> aksk_authenticator::authorize(http_request& req, const std::string& project_id,
                                           const std::string& host,
                                           std::chrono::system_clock::time_point wall,
                                           clock::time_point now) {
  auto sk = secret_key_.get();
  if (!sk) return fail(sk.error().message());

  if (paused(now) && !gateway_locked_ && paused_stamp_ && *paused_stamp_ != secret_key_.stamp()) {
    // The operator replaced the SK: our pause was only a precaution (the
    // gateway has not locked the key), so try the new one at once.
    log_->info("auth: secret key file {} changed; signing again", secret_key_.path());
    paused_until_ = {};
  }
  if (paused(now)) {
    // No countdown in the text: an unchanged message is logged only once.
    return fail("AK/SK signing for access key " + access_key_ + " paused for " +
                std::to_string(opts_.pause.count()) +
                "s after rejected signatures (the gateway locks a key for 5 minutes after 5 "
                "failures); check the key in " +
                secret_key_.path());
  }
  gateway_locked_ = false;
  if (!last_error_.empty()) log_->info("auth: AK/SK signing available again");
  last_error_.clear();

  auto q = req.target.find('?');
  std::string path = req.target.substr(0, q);
  auto query = aksk::parse_query(
      q == std::string::npos ? std::string_view{} : std::string_view(req.target).substr(q + 1));

  // A retried request may still carry the previous attempt's signature.
  auth_detail::remove_header(req, "Authorization");
  auth_detail::remove_header(req, "X-Sdk-Date");
  if (!auth_detail::find_header(req, "Content-Type")) {
    auth_detail::set_header(req, "Content-Type", "application/json");
  }
  if (!project_id.empty()) auth_detail::set_header(req, "X-Project-Id", project_id);
  auth_detail::set_header(req, "Host", host);
  auth_detail::set_header(req, "X-Sdk-Date", aksk::format_sdk_date(wall));

  aksk::sign_input in{req.method, path,        std::move(query), req.headers, req.body,
                      host,       access_key_, (*sk)->reveal(),  {}};
  auto out = aksk::sign(in);
  req.headers = std::move(out.headers_to_send);
  // The wire query must be the signed one byte for byte (§4.2 step 4).
  req.target = out.canonical_query.empty() ? path : path + "?" + out.canonical_query;
  return {};
}

void aksk_authenticator::rejected(const api_error& err, clock::time_point now) {
  if (!is_signature_failure(err)) return;
  // The key no longer counts as working: one request at a time again.
  proven_stamp_.reset();
  end_probe(false);
  std::string hint;
  if (err.error_msg.find("signature expired") != std::string::npos) {
    hint = "; the signature was too old: check this host's clock (NTP)";
  }
  if (paused(now)) {
    // Answers to requests sent before the pause: already reported.
    log_->debug("auth: AK/SK signature rejected while paused: {}", auth_detail::describe(err));
    return;
  }
  log_->warn("auth: the API rejected the AK/SK signature of access key {}: {}{}", access_key_,
             auth_detail::describe(err), hint);

  bool locked = err.error_msg.find("reach the limit") != std::string::npos;
  if (rejections_ == 0 || now - window_start_ >= opts_.pause) {
    rejections_ = 0;
    window_start_ = now;
  }
  ++rejections_;
  if (!locked && rejections_ < opts_.max_rejections) return;

  gateway_locked_ = locked;
  paused_until_ = now + opts_.pause;
  paused_stamp_.reset();
  if (secret_key_.loaded()) paused_stamp_ = secret_key_.stamp();
  rejections_ = 0;
  log_->error("auth: {}; not signing requests for {}s",
              locked ? "the gateway locked access key " + access_key_
                     : std::to_string(opts_.max_rejections) + " signatures of access key " +
                           access_key_ + " rejected in a row",
              opts_.pause.count());
}

}  // namespace hssjw
