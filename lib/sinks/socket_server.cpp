// The events socket server. One coroutine per client (plus one that only
// notices the client leaving); every client is a cursor over the journal:
// it keeps the last seq it was given and, while behind, reads bounded
// batches from a small shared ring of recent lines or from the store. A
// commit only wakes the clients that wait; nothing is ever queued per
// client, so a slow or stuck reader costs no memory and delays nobody.
#include "sinks/socket_server.hpp"

#include "sinks/socket_listener.hpp"
#include "state/store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <poll.h>
#include <unistd.h>

#include <deque>
#include <set>

namespace hssjw {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;
using steady = std::chrono::steady_clock;
using asio::experimental::make_parallel_group;
using asio::experimental::wait_for_one;

namespace {

constexpr std::size_t journal_batch = 200;         // entries per step for a client behind
constexpr std::size_t write_chunk = 32 * 1024;     // at most this per writability notice
constexpr std::size_t snapshot_fill = 256 * 1024;  // existing lines buffered per flush
constexpr std::size_t ring_max_entries = 4096;     // recent lines rendered once for all
constexpr std::size_t ring_max_bytes = 8u << 20;
constexpr std::size_t max_pending_controls = 256;

struct ring_entry {
  std::uint64_t seq = 0;
  proto::event_meta meta;
  std::string line;  // the journal line plus '\n'
};

enum class flush_result { ok, stalled, closed };

void log_task_exception(const std::shared_ptr<spdlog::logger>& log, const char* what, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& se) {
    if (se.code() != asio::error::operation_aborted) log->error("socket: {} stopped: {}", what, se.what());
  } catch (const std::exception& ex) {
    log->error("socket: {} stopped: {}", what, ex.what());
  }
}

}  // namespace

class session;

struct socket_server::impl {
  impl(asio::io_context& c, socket_server_options o, state_store& s, const socket_source& src,
       std::shared_ptr<spdlog::logger> l, listen_socket ls)
      : ioc(c), opts(std::move(o)), store(s), source(src), log(std::move(l)), listener(ls), acceptor(c) {
    acceptor.assign(stream(), listener.fd);
  }
  ~impl();

  asio::awaitable<void> async_accept_loop();
  void admit(stream::socket sock);
  void remember(const std::vector<change_event>& events);
  void notify_all();

  asio::io_context& ioc;
  socket_server_options opts;
  state_store& store;
  const socket_source& source;
  std::shared_ptr<spdlog::logger> log;
  listen_socket listener;
  stream::acceptor acceptor;
  std::set<session*> sessions;
  std::deque<ring_entry> ring;  // consecutive seqs, the newest last
  std::size_t ring_bytes = 0;
  std::size_t clients = 0;  // connected, busy ones excluded
  std::size_t subscribers = 0;
  std::uint64_t next_id = 1;
  bool stopping = false;
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(stream::socket sock, socket_server::impl& server, bool busy)
      : sock_(std::move(sock)), wake_(server.ioc), deadline_(server.ioc), server_(&server),
        id_(server.next_id++), busy_(busy), last_traffic_(steady::now()) {
    boost::system::error_code ec;
    sock_.non_blocking(true, ec);  // writes below must never block the loop
    server.sessions.insert(this);
    if (!busy_) ++server.clients;
  }
  ~session() {
    close();
    if (server_) server_->sessions.erase(this);
  }

  static asio::awaitable<void> async_run(std::shared_ptr<session> self);
  static asio::awaitable<void> async_drain(std::shared_ptr<session> self);

  void detach() { server_ = nullptr; }
  bool watching() const { return watching_; }
  void notify() {
    if (waiting_) wake_.cancel();
  }
  void push_control(std::string line) {
    if (controls_.size() >= max_pending_controls) controls_.pop_front();
    controls_.push_back(std::move(line));
    notify();
  }
  void finish(std::string_view last_line);

 private:
  asio::awaitable<void> async_serve();
  asio::awaitable<std::optional<std::string>> async_read_request();
  asio::awaitable<flush_result> async_flush();
  asio::awaitable<bool> async_send_snapshot(std::uint64_t& seq);
  asio::awaitable<void> async_watch(const proto::request& r, std::uint64_t hello_seq);
  asio::awaitable<void> async_stream();
  std::string_view next_chunk() const;
  bool fill_events();
  bool fill_from_ring();
  void start_watching();
  void overflow();
  void close();
  std::chrono::milliseconds stall_timeout() const { return server_->opts.socket.stall_timeout; }

  stream::socket sock_;
  asio::steady_timer wake_;      // waiting for events, or for the next bookmark
  asio::steady_timer deadline_;  // of the current read or write
  socket_server::impl* server_;  // null once the server is gone
  std::uint64_t id_;
  bool busy_;
  std::uint64_t cursor_ = 0;  // the last seq this client has been given (or skipped by its filter)
  proto::event_filter filter_;
  std::deque<std::string> controls_;  // scope_status lines not yet sent
  std::string out_;                   // whole lines; out_pos_ bytes already written
  std::size_t out_pos_ = 0;
  std::string in_;
  bool watching_ = false, waiting_ = false, closed_ = false;
  steady::time_point last_traffic_;
};

// ------------------------------------------------------------ session

asio::awaitable<void> session::async_run(std::shared_ptr<session> self) {
  try {
    co_await self->async_serve();
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted && self->server_)
      self->server_->log->warn("socket: client {}: {}", self->id_, e.what());
  } catch (const std::exception& e) {
    if (self->server_) self->server_->log->error("socket: client {}: {}", self->id_, e.what());
  }
  self->close();
}

// Notices a client that left while it waits for events. EOF alone may be
// a half-close (`socat` after stdin ends) from a client still reading, so
// only a hang-up (both directions gone) ends the session here; otherwise
// the next write finds out.
asio::awaitable<void> session::async_drain(std::shared_ptr<session> self) {
  char buf[1024];
  for (;;) {
    auto [ec, n] = co_await self->sock_.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (self->closed_) co_return;
    if (!ec) continue;  // further input is ignored: one request per connection
    if (ec == asio::error::eof) {  // POLLHUP is reported whatever is asked for
      pollfd p{self->sock_.native_handle(), POLLOUT, 0};
      const int rc = ::poll(&p, 1, 0);
      if (rc == 0 || (rc == 1 && !(p.revents & (POLLHUP | POLLERR)))) co_return;
    }
    if (self->server_) self->server_->log->debug("socket: client {} left", self->id_);
    self->close();
    co_return;
  }
}

asio::awaitable<void> session::async_serve() {
  auto& srv = *server_;
  const auto hello_seq = srv.store.last_seq();
  out_ = proto::hello_line(srv.opts.server_name, hello_seq, srv.store.oldest_seq());
  if (busy_) {
    out_ += proto::error_line("busy", "too many clients (socket.max_clients " +
                                          std::to_string(srv.opts.socket.max_clients) + "); try again later");
    co_await async_flush();
    co_return;
  }
  if (co_await async_flush() != flush_result::ok) co_return;
  auto line = co_await async_read_request();
  if (!line || closed_) co_return;
  auto req = proto::parse_request(*line);
  if (!req) {
    finish(proto::error_line("bad_request", req.error()));
    co_return;
  }
  filter_ = req->filter;
  if (req->operation == proto::op::status) {
    proto::status_report r{srv.opts.server_name, srv.store.last_seq(), srv.store.oldest_seq(),
                           srv.subscribers, srv.clients, srv.source.report()};
    out_ += proto::status_line(r);
    co_await async_flush();
  } else if (req->operation == proto::op::list) {
    std::uint64_t seq = 0;
    if (!co_await async_send_snapshot(seq)) co_return;
    out_ += proto::end_line(seq);
    if (co_await async_flush() == flush_result::stalled) overflow();
  } else {
    co_await async_watch(*req, hello_seq);
  }
}

asio::awaitable<std::optional<std::string>> session::async_read_request() {
  deadline_.expires_after(stall_timeout());
  auto [order, ec, n, timer_ec] = co_await make_parallel_group(
      asio::async_read_until(sock_, asio::dynamic_buffer(in_, proto::max_request_line + 1), '\n', asio::deferred),
      deadline_.async_wait(asio::deferred))
      .async_wait(wait_for_one(), asio::use_awaitable);
  (void)timer_ec;
  if (closed_) co_return std::nullopt;
  if (order[0] == 1) {
    finish(proto::error_line("bad_request", "no request line within " +
                                                std::to_string(stall_timeout().count()) + " ms"));
    co_return std::nullopt;
  }
  if (ec == asio::error::not_found) {
    finish(proto::error_line("bad_request", "request line longer than 64 KiB"));
    co_return std::nullopt;
  }
  if (ec) {  // left before (or in the middle of) its request: nobody to answer
    server_->log->debug("socket: client {} left before its request ({})", id_, ec.message());
    co_return std::nullopt;
  }
  std::string line = in_.substr(0, n - 1);
  in_.clear();
  co_return line;
}

// The next piece of out_ to write: at most write_chunk bytes, ending at a
// line boundary (a single longer line goes whole).
std::string_view session::next_chunk() const {
  std::string_view rest(out_);
  rest.remove_prefix(out_pos_);
  if (rest.size() <= write_chunk) return rest;
  auto nl = rest.rfind('\n', write_chunk - 1);
  if (nl == std::string_view::npos) nl = rest.find('\n');
  return nl == std::string_view::npos ? rest : rest.substr(0, nl + 1);
}

// Writes out_ completely, or reports a stall. A Unix stream socket reports
// writable only while at least 3/4 of its send buffer is free, so waiting
// for that before each chunk means a chunk is always taken whole: the
// stream never stops mid-line, and a client that stalls still has room
// for a complete final error line.
asio::awaitable<flush_result> session::async_flush() {
  while (out_pos_ < out_.size()) {
    if (closed_) co_return flush_result::closed;
    deadline_.expires_after(stall_timeout());
    auto [order, wait_ec, timer_ec] = co_await make_parallel_group(
        sock_.async_wait(stream::socket::wait_write, asio::deferred), deadline_.async_wait(asio::deferred))
        .async_wait(wait_for_one(), asio::use_awaitable);
    (void)timer_ec;
    if (closed_) co_return flush_result::closed;
    if (order[0] == 1) co_return flush_result::stalled;
    if (wait_ec) co_return flush_result::closed;
    const auto chunk = next_chunk();
    boost::system::error_code ec;
    const auto n = sock_.write_some(asio::buffer(chunk.data(), chunk.size()), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    if (ec) {
      server_->log->debug("socket: client {} left ({})", id_, ec.message());
      close();
      co_return flush_result::closed;
    }
    out_pos_ += n;
    last_traffic_ = steady::now();
  }
  out_.clear();
  out_pos_ = 0;
  co_return flush_result::ok;
}

// The current state as existing lines, taken with its seq in one turn of
// the loop (nothing can commit in between), then streamed from the copy.
asio::awaitable<bool> session::async_send_snapshot(std::uint64_t& seq) {
  std::deque<std::string> lines;
  server_->source.for_each_job([&](const scope_id& scope, const job_key& key, std::string_view body) {
    if (filter_.matches(proto::meta_of(scope, key))) lines.push_back(proto::existing_line(scope, key, body));
  });
  seq = server_->store.last_seq();
  while (!lines.empty()) {
    out_ += lines.front();
    lines.pop_front();
    if (out_.size() < snapshot_fill && !lines.empty()) continue;
    const auto r = co_await async_flush();
    if (r == flush_result::stalled) overflow();
    if (r != flush_result::ok) co_return false;
  }
  co_return !closed_;
}

void session::start_watching() {
  if (watching_ || !server_) return;
  watching_ = true;
  ++server_->subscribers;
  asio::co_spawn(server_->ioc, async_drain(shared_from_this()), asio::detached);
}

asio::awaitable<void> session::async_watch(const proto::request& r, std::uint64_t hello_seq) {
  auto& store = server_->store;
  if (r.since) {
    const auto oldest = store.oldest_seq(), last = store.last_seq();
    if (*r.since + 1 < oldest) {
      finish(proto::gone_line(oldest, "events after seq " + std::to_string(*r.since) +
                                          " are no longer in the journal (oldest is " + std::to_string(oldest) +
                                          "); resynchronise with sync"));
      co_return;
    }
    if (*r.since > last) {
      finish(proto::gone_line(oldest, "seq " + std::to_string(*r.since) + " is beyond the last seq " +
                                          std::to_string(last) + " (was the state reset?); resynchronise with sync"));
      co_return;
    }
    cursor_ = *r.since;
  } else {
    cursor_ = hello_seq;  // SPEC §5: live events with seq > the hello's seq
  }
  start_watching();
  if (r.sync) {
    std::uint64_t seq = 0;
    if (!co_await async_send_snapshot(seq)) co_return;
    cursor_ = seq;
    out_ += proto::synced_line(seq);
  }
  co_await async_stream();
}

asio::awaitable<void> session::async_stream() {
  for (;;) {
    if (closed_ || !server_) co_return;
    while (!controls_.empty()) {
      out_ += controls_.front();
      controls_.pop_front();
    }
    const bool behind = cursor_ < server_->store.last_seq();
    if (behind && !fill_events()) co_return;
    if (out_.empty() && behind) {
      // A whole batch filtered away: let the rest of the daemon run.
      co_await asio::post(server_->ioc, asio::use_awaitable);
      continue;
    }
    if (out_.empty()) {
      waiting_ = true;
      wake_.expires_at(last_traffic_ + server_->opts.socket.bookmark_interval);
      auto [ec] = co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
      waiting_ = false;
      if (closed_) co_return;
      if (!ec) out_ += proto::bookmark_line(cursor_);  // quiet for bookmark_interval
      continue;
    }
    const auto r = co_await async_flush();
    if (r == flush_result::stalled) overflow();
    if (r != flush_result::ok) co_return;
  }
}

// The shared ring serves clients that are (nearly) caught up without
// touching the store; it holds consecutive seqs, so the start is an index.
bool session::fill_from_ring() {
  const auto& ring = server_->ring;
  if (ring.empty() || ring.front().seq > cursor_ + 1 || ring.back().seq <= cursor_) return false;
  std::size_t i = static_cast<std::size_t>(cursor_ + 1 - ring.front().seq);
  for (std::size_t taken = 0; i < ring.size() && taken < journal_batch; ++i, ++taken) {
    if (filter_.matches(ring[i].meta)) out_ += ring[i].line;
    cursor_ = ring[i].seq;
  }
  return true;
}

// Appends the next batch after cursor_; false when the session ended.
bool session::fill_events() {
  if (fill_from_ring()) return true;
  auto& store = server_->store;
  auto entries = store.read_journal(cursor_, journal_batch);
  if (!entries) {
    server_->log->error("socket: client {}: cannot read the journal after seq {}: {} {}", id_, cursor_,
                        entries.error().message(), store.last_error());
    close();
    return false;
  }
  if (entries->empty() || entries->front().seq != cursor_ + 1) {
    // Retention pruned what this client had not read yet.
    finish(proto::gone_line(store.oldest_seq(), "events after seq " + std::to_string(cursor_) +
                                                    " were pruned from the journal before this client read them; "
                                                    "resynchronise with sync"));
    return false;
  }
  for (const auto& e : *entries) {
    bool wanted = filter_.empty();
    if (!wanted) {
      auto meta = proto::parse_event_meta(e.line);
      wanted = meta && filter_.matches(*meta);
    }
    if (wanted) {
      out_ += e.line;
      out_ += '\n';
    }
    cursor_ = e.seq;
  }
  return true;
}

void session::overflow() {
  if (server_ && server_->opts.on_dropped) server_->opts.on_dropped("overflow");
  if (server_)
    server_->log->warn("socket: client {} accepted nothing for {} ms while events waited; cut off (overflow)", id_,
                       stall_timeout().count());
  finish(proto::overflow_line("the client accepted nothing for " + std::to_string(stall_timeout().count()) +
                              " ms while events waited; reconnect with since = the last seq received"));
}

// Best effort, never blocking: completes a line cut by a partial write,
// adds the final line, closes.
void session::finish(std::string_view last_line) {
  if (closed_) return;
  std::string tail;
  if (out_pos_ > 0 && out_pos_ < out_.size() && out_[out_pos_ - 1] != '\n') {
    const auto nl = out_.find('\n', out_pos_);
    tail = out_.substr(out_pos_, nl == std::string::npos ? std::string::npos : nl - out_pos_ + 1);
  }
  tail += last_line;
  std::size_t done = 0;
  while (done < tail.size()) {
    boost::system::error_code ec;
    const auto n = sock_.write_some(asio::buffer(tail.data() + done, tail.size() - done), ec);
    if (ec) break;
    done += n;
  }
  close();
}

void session::close() {
  if (closed_) return;
  closed_ = true;
  if (server_) {
    if (watching_) --server_->subscribers;
    if (!busy_) --server_->clients;
  }
  watching_ = false;
  boost::system::error_code ec;
  sock_.shutdown(stream::socket::shutdown_both, ec);
  sock_.close(ec);
  wake_.cancel();
  deadline_.cancel();
}

// ------------------------------------------------------------- server

socket_server::impl::~impl() {
  for (auto* s : sessions) s->detach();
  boost::system::error_code ec;
  acceptor.close(ec);
  remove_socket_file(listener);
}

asio::awaitable<void> socket_server::impl::async_accept_loop() {
  asio::steady_timer pause(ioc);
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (stopping || ec == asio::error::operation_aborted) co_return;
    if (ec) {  // EMFILE and the like: say so, and do not spin
      log->warn("socket: accept failed: {}", ec.message());
      pause.expires_after(std::chrono::milliseconds(200));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    admit(std::move(sock));
  }
}

void socket_server::impl::admit(stream::socket sock) {
  const bool busy = clients >= opts.socket.max_clients;
  auto s = std::make_shared<session>(std::move(sock), *this, busy);
  if (busy) log->warn("socket: refusing a client: {} clients connected (socket.max_clients)", clients);
  if (busy && opts.on_dropped) opts.on_dropped("busy");
  auto l = log;
  asio::co_spawn(ioc, session::async_run(std::move(s)),
                 [l](std::exception_ptr e) { log_task_exception(l, "client", e); });
}

void socket_server::impl::remember(const std::vector<change_event>& events) {
  if (events.empty()) return;
  if (!ring.empty() && events.front().seq != ring.back().seq + 1) {
    ring.clear();
    ring_bytes = 0;
  }
  // Only the tail can stay; a large baseline is not rendered twice.
  const std::size_t first = events.size() > ring_max_entries ? events.size() - ring_max_entries : 0;
  if (first > 0) {
    ring.clear();
    ring_bytes = 0;
  }
  for (std::size_t i = first; i < events.size(); ++i) {
    const auto& e = events[i];
    ring_entry r{e.seq, proto::meta_of(e), to_json_line(e)};
    r.line += '\n';
    ring_bytes += r.line.size();
    ring.push_back(std::move(r));
  }
  while (!ring.empty() && (ring.size() > ring_max_entries || ring_bytes > ring_max_bytes)) {
    ring_bytes -= ring.front().line.size();
    ring.pop_front();
  }
}

void socket_server::impl::notify_all() {
  for (auto* s : sessions)
    if (s->watching()) s->notify();
}

boost::system::result<std::unique_ptr<socket_server>, std::string> socket_server::open(
    asio::io_context& ioc, socket_server_options opts, state_store& store, const socket_source& source,
    std::shared_ptr<spdlog::logger> log) {
  auto listener = open_listen_socket(opts.socket);
  if (!listener) return {boost::system::in_place_error, listener.error()};
  if (listener->activated)
    log->info("socket: listening on the socket passed by systemd");
  else
    log->info("socket: listening on {}", listener->path);
  auto i = std::make_unique<impl>(ioc, std::move(opts), store, source, std::move(log), *listener);
  return std::unique_ptr<socket_server>(new socket_server(std::move(i)));
}

socket_server::socket_server(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

socket_server::~socket_server() = default;

void socket_server::start() {
  auto l = impl_->log;
  asio::co_spawn(impl_->ioc, impl_->async_accept_loop(),
                 [l](std::exception_ptr e) { log_task_exception(l, "accept loop", e); });
}

void socket_server::shutdown() {
  auto& s = *impl_;
  if (s.stopping) return;
  s.stopping = true;
  boost::system::error_code ec;
  s.acceptor.close(ec);
  remove_socket_file(s.listener);
  s.listener.path.clear();
  // finish() closes, and a closed session leaves the set only when its
  // coroutines end: iterate over a copy.
  const auto all = std::vector<session*>(s.sessions.begin(), s.sessions.end());
  for (auto* c : all) c->finish(proto::error_line("shutting_down", "the daemon is stopping; reconnect with since"));
}

std::size_t socket_server::subscribers() const { return impl_->subscribers; }
std::size_t socket_server::clients() const { return impl_->clients; }

void socket_server::on_events(const scope_id&, const std::vector<change_event>& events, bool) {
  impl_->remember(events);
  impl_->notify_all();
}

void socket_server::on_scope_status(const scope_id& scope, bool failing, const std::string& error) {
  const auto line = proto::scope_status_line(scope, failing, error);
  for (auto* s : impl_->sessions)
    if (s->watching()) s->push_control(line);
}

}  // namespace hssjw
