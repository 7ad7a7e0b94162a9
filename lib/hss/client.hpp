// The HTTPS client for HSS (and IAM): Beast over OpenSSL, TLS 1.2+, chain
// and host-name verification, SNI, keep-alive connection reuse, a deadline
// on every step and a body limit. Beast and the TLS types stay in
// client.cpp behind this non-template interface.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "hss/http.hpp"

namespace hssjw {

struct client_options {
  std::string endpoint;  // "https://host[:port]" (http:// only if allow_insecure_http)
  std::string ca_file;   // "" = system store
  std::string proxy;     // "" = none; "http://[user:pass@]host:port" (choose_proxy)
  std::chrono::milliseconds timeout{30'000};  // whole request: connect..body
  std::size_t body_limit = 16 * 1024 * 1024;
  std::size_t max_idle_connections = 8;
  bool allow_insecure_http = false;
};

class https_client {
 public:
  https_client(boost::asio::any_io_executor ex, client_options opts);
  ~https_client();
  https_client(const https_client&) = delete;
  https_client& operator=(const https_client&) = delete;

  // Sends one request (adds Host and User-Agent unless present) on a pooled
  // connection and reads the whole response; interim 1xx answers before it
  // are skipped (101 is errc::bad_response). Any final HTTP status is a
  // value; transport failures, timeouts and over-limit bodies are errors,
  // and resolve failures and proxy refusals say which host and what the
  // proxy answered. A request fails with errc::timeout when the deadline
  // expires, and with operation_aborted when cancelled.
  boost::asio::awaitable<result<http_response>> async_request(http_request req);

  // "host" or "host:port" exactly as in the endpoint (for AK/SK signing).
  const std::string& host_header() const;

  // Drops idle connections (e.g. after the CA file changed).
  void close_idle();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// The response half of an exchange on its own: `bytes` as read from the
// wire until the peer closed, parsed under the same header and body limits
// as a live request, interim answers skipped as there. For fuzzing and
// tests; requests read incrementally.
result<http_response> parse_http_response(std::string_view bytes, std::size_t body_limit);

}  // namespace hssjw
