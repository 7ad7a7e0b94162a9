// One events-socket client's side of the protocol (SPEC §5, docs/SOCKET.md)
// as plain decisions: the hello and the busy refusal, the request, where a
// watch starts (or why it cannot), the scope_status lines waiting to be
// sent, the filter, what the stream does next (yield, wait for events or a
// bookmark, write), and the words of every cut-off (overflow, a snapshot
// read too slowly, a journal pruned under the client). Time is an input.
// socket_server's session coroutines do the I/O and ask this what to do.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "protocol/socket_protocol.hpp"
#include "sinks/journal_feed.hpp"
#include "sinks/line_writer.hpp"

namespace hssjw {

class session_protocol {
 public:
  using clock = std::chrono::steady_clock;
  // scope_status lines kept for a client that does not read: the newest.
  static constexpr std::size_t max_pending_controls = 256;

  session_protocol(const config::socket_config& cfg, clock::time_point now)
      : stall_timeout_(cfg.stall_timeout),
        bookmark_interval_(cfg.bookmark_interval),
        max_clients_(cfg.max_clients),
        last_traffic_(now) {}

  std::chrono::milliseconds stall_timeout() const { return stall_timeout_; }

  // ------------------------------------------------------------ start

  // The first bytes: the hello with the journal's last and oldest seq;
  // for a client beyond socket.max_clients, then the busy refusal, after
  // which the session ends.
  std::string greeting(std::string_view server, std::uint64_t last, std::uint64_t oldest,
                       bool busy) const;

  // The request line (without its '\n'): the request, whose filter the
  // session keeps, or the bad_request line that ends the session.
  struct request_outcome {
    std::optional<proto::request> request;
    std::string refusal;
  };
  request_outcome on_request(std::string_view line);
  // The lines ending a session whose request did not come.
  std::string request_timeout_line() const;
  static std::string request_too_long_line();

  // A watch: its cursor starts at `since`, else at the hello's seq (SPEC
  // §5: live events with seq > the hello's seq). Returns the gone line
  // that ends the session when the journal cannot serve `since`.
  std::optional<std::string> start_watch(const proto::request& r, std::uint64_t hello_seq,
                                         std::uint64_t oldest, std::uint64_t last);

  // ---------------------------------------------------- list and sync

  // The snapshot is of `seq`: a watcher continues from it.
  void snapshot_at(std::uint64_t seq) { cursor_ = seq; }
  bool wants(const proto::event_meta& m) const { return filter_.matches(m); }
  // The reader of a snapshot pins the WAL: the whole of it must be taken
  // within 10 x stall_timeout, or the client is cut off and may ask again.
  std::chrono::milliseconds snapshot_limit() const { return 10 * stall_timeout_; }
  bool snapshot_overdue(clock::time_point started, clock::time_point now) const {
    return now - started > snapshot_limit();
  }
  std::string snapshot_too_slow_text() const;

  // ------------------------------------------------------- the stream

  // The last seq this client has been given (or skipped by its filter).
  std::uint64_t cursor() const { return cursor_; }
  void set_cursor(std::uint64_t seq) { cursor_ = seq; }

  // Whether the client wants a line (a journal line is parsed only for a
  // client with a filter).
  bool wanted(const line_view& v) const;
  bool filtered() const { return !filter_.empty(); }

  // A scope_status line for a watcher: kept until the stream sends it.
  void push_control(std::string line);
  // Moves the waiting scope_status lines to `out`, in order.
  void take_controls(line_writer& out);

  enum class next { yield, wait, write };
  // What the stream does next: `more_to_skip` when the filter stopped at
  // its bound with lines left to examine, `unsent` bytes already waiting,
  // `last` the journal's last seq.
  next next_step(bool more_to_skip, std::size_t unsent, std::uint64_t last) const;

  // Something was written; a bookmark is due bookmark_interval after the
  // last write.
  void on_traffic(clock::time_point now) { last_traffic_ = now; }
  clock::time_point bookmark_due() const { return last_traffic_ + bookmark_interval_; }
  std::string bookmark_line() const { return proto::bookmark_line(cursor_); }

  // -------------------------------------------------------- cut-offs

  // Nothing was taken for stall_timeout while lines waited.
  std::string overflow_text() const;
  std::string overflow_line() const { return proto::overflow_line(overflow_text()); }
  // Retention pruned the rows after `after` before this client read them.
  static std::string pruned_line(std::uint64_t oldest, std::uint64_t after);

 private:
  std::chrono::milliseconds stall_timeout_;
  std::chrono::milliseconds bookmark_interval_;
  std::size_t max_clients_;
  std::uint64_t cursor_ = 0;
  proto::event_filter filter_;
  std::deque<std::string> controls_;  // scope_status lines not yet sent
  clock::time_point last_traffic_;
};

}  // namespace hssjw
