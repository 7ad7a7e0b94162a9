// How requests get their credentials: an IAM token (from a file, or from a
// password login per project) or an AK/SK signature. The walker calls
// async_authorize before each request and reports rejections.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "hss/http.hpp"

namespace hssjw {

class authenticator {
 public:
  virtual ~authenticator() = default;

  // Adds the auth headers for `req` to `project_id`'s API (X-Auth-Token, or
  // the AK/SK headers and Authorization). May suspend (an IAM login).
  // `host` is the Host header value the request will carry.
  virtual boost::asio::awaitable<result<void>> async_authorize(http_request& req,
                                                               std::string project_id,
                                                               std::string host) = 0;

  // The upstream rejected the credentials (401, APIGW.0301/0307): a token
  // method drops the token (re-read / renew), a signer backs off.
  virtual void on_rejected(const std::string& project_id, const api_error& err) = 0;

  // The upstream accepted a request authorized for `project_id` (any 2xx).
  // Optional: AK/SK uses it to stop holding requests back while a new key
  // is unproven (see aksk_authenticator); without it, it waits a moment.
  virtual void on_accepted(const std::string& /*project_id*/) {}
};

}  // namespace hssjw
