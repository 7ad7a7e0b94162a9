// The events socket (SPEC §5): hello, watch (live, since, sync), list,
// status, filters, bookmarks, scope_status and the errors. Each client is a
// cursor over the journal with its own coroutine and a bounded buffer, so
// a slow client costs neither memory nor time to anyone else. Asio stays
// in socket_server.cpp: this header is included by the daemon's wiring.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "protocol/socket_protocol.hpp"
#include "sinks/sink.hpp"

namespace boost::asio {
class io_context;
}
namespace spdlog {
class logger;
}

namespace hssjw {

class state_store;

// What the server asks the daemon for: its scopes, in order, and how they
// fare. The jobs of `list` and `sync` are read from the store
// (state_store::read_jobs) for the scopes reported.
class socket_source {
 public:
  virtual ~socket_source() = default;
  virtual proto::scope_reports report() const = 0;
};

struct socket_server_options {
  config::socket_config socket;
  std::string server_name;  // "hss-jobwatch/<version>" in hello and status
  // Told each time a client is cut off ("overflow") or refused ("busy"),
  // for the dropped-subscribers metric; may be empty.
  std::function<void(std::string_view reason)> on_dropped;
};

class socket_server final : public event_sink {
 public:
  // Creates (or adopts) the listening socket; the error names the path and
  // the cause (a live daemon on it, permissions, ...).
  static result<std::unique_ptr<socket_server>> open(boost::asio::io_context& ioc,
                                                     socket_server_options opts, state_store& store,
                                                     const socket_source& source,
                                                     std::shared_ptr<spdlog::logger> log);
  ~socket_server() override;
  socket_server(const socket_server&) = delete;
  socket_server& operator=(const socket_server&) = delete;

  void start();  // begins accepting
  // SIGTERM: every client is told shutting_down and closed, the socket
  // file removed. Synchronous, so it is done even if the loop stops next.
  void shutdown();
  std::size_t subscribers() const;
  std::size_t clients() const;

  void on_events(const scope_id& scope, const std::vector<change_event>& events,
                 bool baseline) override;
  void on_scope_status(const scope_id& scope, bool failing, const std::string& error) override;

  struct impl;

 private:
  explicit socket_server(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace hssjw
