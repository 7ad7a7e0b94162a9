// A minimal HTTP/1.1 server for /metrics and /healthz on metrics.listen:
// GET only, small requests, a deadline on every read and write, a cap on
// connections. Beast stays in http_server.cpp; the daemon sees a handler
// that maps a request target to a reply.
#pragma once

#include <boost/system/result.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

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

class http_server {
 public:
  // Resolves and binds `listen` ("host:port", "[v6]:port"; port 0 picks a
  // free one). The error names the address and the cause.
  static boost::system::result<std::unique_ptr<http_server>, std::string> open(
      boost::asio::io_context& ioc, const std::string& listen, http_handler handler,
      std::shared_ptr<spdlog::logger> log);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  void start();  // begins accepting
  void stop();   // closes the listener and every connection
  std::uint16_t port() const;

  struct impl;

 private:
  explicit http_server(std::shared_ptr<impl> i);
  std::shared_ptr<impl> impl_;  // shared with the connection coroutines
};

}  // namespace hssjw::metrics
