// A minimal HTTP/1.1 server for /metrics and /healthz on metrics.listen:
// GET only, small requests, a deadline on every read and write, a cap on
// connections that evicts idle ones (http_limits). Beast stays in
// http_server.cpp; the daemon sees a handler that maps a request target to
// a reply.
#pragma once

#include <boost/system/result.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace boost::asio {
class io_context;
}
namespace spdlog {
class logger;
}

namespace hssjw::metrics {

struct http_reply {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Called on the loop thread with the request path (query stripped).
using http_handler = std::function<http_reply(std::string_view path)>;

// What a connection may cost. A client that connects and sends nothing (or
// half a request head) holds a slot for at most head_timeout, and when
// every slot is taken the connection that has waited longest for a request
// head is closed to make room: idle connections never lock a scraper out.
struct http_limits {
  std::chrono::milliseconds head_timeout{
      10'000};  // a whole request head, from the first wait for it
  std::chrono::milliseconds idle_timeout{
      5'000};  // the next request head on a kept-alive connection
  std::chrono::milliseconds write_timeout{10'000};
  std::size_t max_connections = 64;
};

class http_server {
 public:
  // Resolves and binds `listen` ("host:port", "[v6]:port"; port 0 picks a
  // free one). The error names the address and the cause.
  static result<std::unique_ptr<http_server>> open(boost::asio::io_context& ioc,
                                                   const std::string& listen, http_handler handler,
                                                   std::shared_ptr<spdlog::logger> log,
                                                   http_limits limits = {});
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  void start();  // begins accepting
  void stop();   // closes the listener and every connection
  std::uint16_t port() const;
  std::size_t connections() const;  // open now

  struct impl;

 private:
  explicit http_server(std::shared_ptr<impl> i);
  std::shared_ptr<impl> impl_;  // shared with the connection coroutines
};

}  // namespace hssjw::metrics
