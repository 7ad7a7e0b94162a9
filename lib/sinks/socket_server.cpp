// The events socket server: the I/O around the socket's pure parts. One
// coroutine per client (plus one that only notices the client leaving);
// every client is a cursor over the journal: it keeps the last seq it was
// given and, while behind, writes the lines after it straight from the
// shared buffers of the journal feed (journal_feed.hpp): a small ring of
// recent lines (rendered once at commit) or a few batches read from the
// store (read once for every client at the same place). Each write
// gathers up to one chunk of whole lines into a single sendmsg
// (line_writer.hpp), so a burst costs a syscall per client per chunk and
// no copy per line per client. What a client is sent and when it is cut
// off is decided by its session_protocol. A commit only wakes the clients
// that wait; nothing is ever queued per client, so a slow or stuck reader
// costs no memory and delays nobody.
#include "sinks/socket_server.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
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
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include "sinks/journal_feed.hpp"
#include "sinks/line_writer.hpp"
#include "sinks/session_protocol.hpp"
#include "sinks/socket_listener.hpp"
#include "state/store.hpp"

namespace hssjw {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;
using steady = std::chrono::steady_clock;
using asio::experimental::make_parallel_group;
using asio::experimental::wait_for_one;

namespace {

constexpr std::size_t journal_batch_size = 200;  // journal rows per read
constexpr std::size_t max_skip = 1024;           // filtered-away lines examined per turn
constexpr unsigned yield_every = 8;              // writes without a wait before yielding
constexpr std::size_t snapshot_rows = 256;       // stored jobs examined per turn (list, sync)

// The write size for this socket (write_chunk_for).
std::size_t chunk_size(int fd) {
  int sndbuf = 0;
  socklen_t len = sizeof sndbuf;
  if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0) sndbuf = 0;
  return write_chunk_for(sndbuf);
}

enum class flush_result { ok, stalled, closed };

void log_task_exception(const std::shared_ptr<spdlog::logger>& log, const char* what,
                        std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& se) {
    if (se.code() != asio::error::operation_aborted)
      log->error("socket: {} stopped: {}", what, se.what());
  } catch (const std::exception& ex) {
    log->error("socket: {} stopped: {}", what, ex.what());
  }
}

}  // namespace

class session;

struct socket_server::impl {
  impl(asio::io_context& c, socket_server_options o, state_store& s, const socket_source& src,
       std::shared_ptr<spdlog::logger> l, listen_socket ls)
      : ioc(c),
        opts(std::move(o)),
        store(s),
        source(src),
        log(std::move(l)),
        listener(ls),
        acceptor(c) {
    acceptor.assign(stream(), listener.fd);
  }
  ~impl();

  asio::awaitable<void> async_accept_loop();
  void admit(stream::socket sock);
  void notify_all();
  void keep_batch(std::shared_ptr<const journal_batch> b);

  asio::io_context& ioc;
  socket_server_options opts;
  state_store& store;
  const socket_source& source;
  std::shared_ptr<spdlog::logger> log;
  listen_socket listener;
  stream::acceptor acceptor;
  std::set<session*> sessions;
  journal_feed feed;
  std::size_t clients = 0;  // connected, busy ones excluded
  std::size_t subscribers = 0;
  std::uint64_t next_id = 1;
  bool stopping = false;
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(stream::socket sock, socket_server::impl& server, bool busy)
      : sock_(std::move(sock)),
        wake_(server.ioc),
        deadline_(server.ioc),
        server_(&server),
        id_(server.next_id++),
        busy_(busy),
        protocol_(server.opts.socket, steady::now()) {
    boost::system::error_code ec;
    sock_.non_blocking(true, ec);  // writes below must never block the loop
    writer_ = line_writer(chunk_size(sock_.native_handle()));
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
  std::uint64_t cursor() const { return protocol_.cursor(); }
  void notify() {
    if (waiting_) wake_.cancel();
  }
  void push_control(std::string line) {
    protocol_.push_control(std::move(line));
    notify();
  }
  void finish(std::string_view last_line);

 private:
  enum class step { wrote, skipped, closed };

  asio::awaitable<void> async_serve();
  asio::awaitable<std::optional<std::string>> async_read_request();
  asio::awaitable<flush_result> async_writable();
  asio::awaitable<flush_result> async_flush();
  asio::awaitable<std::optional<std::uint64_t>> async_send_snapshot();
  asio::awaitable<void> async_watch(const proto::request& r, std::uint64_t hello_seq);
  asio::awaitable<void> async_stream();
  step write_step(bool events);
  line_view shared_line(std::uint64_t seq);
  bool load_batch(std::uint64_t after);
  enum class skipped { to_a_wanted_line, at_the_bound, session_ended };
  skipped skip_unwanted();
  void start_watching();
  void overflow();
  void snapshot_too_slow();
  void close();
  std::chrono::milliseconds stall_timeout() const { return protocol_.stall_timeout(); }

  stream::socket sock_;
  asio::steady_timer wake_;      // waiting for events, or for the next bookmark
  asio::steady_timer deadline_;  // of the current read or write
  socket_server::impl* server_;  // null once the server is gone
  std::uint64_t id_;
  bool busy_;
  session_protocol protocol_;
  line_writer writer_;
  // The journal rows after the cursor, when behind the ring.
  std::shared_ptr<const journal_batch> batch_;
  // Batches replaced while a write was gathered: its buffers point into
  // them until the write is done.
  std::vector<std::shared_ptr<const journal_batch>> held_;
  unsigned quick_writes_ = 0;  // writes since this coroutine last waited
  std::string in_;
  bool watching_ = false, waiting_ = false, closed_ = false;
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
    auto [ec, n] = co_await self->sock_.async_read_some(asio::buffer(buf),
                                                        asio::as_tuple(asio::use_awaitable));
    if (self->closed_) co_return;
    if (!ec) continue;             // further input is ignored: one request per connection
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
  writer_.append(
      protocol_.greeting(srv.opts.server_name, hello_seq, srv.store.oldest_seq(), busy_));
  if (busy_) {
    co_await async_flush();
    co_return;
  }
  if (co_await async_flush() != flush_result::ok) co_return;
  auto line = co_await async_read_request();
  if (!line || closed_) co_return;
  auto asked = protocol_.on_request(*line);
  if (!asked.request) {
    finish(asked.refusal);
    co_return;
  }
  const auto& req = *asked.request;
  if (req.operation == proto::op::status) {
    proto::status_report r{srv.opts.server_name, srv.store.last_seq(), srv.store.oldest_seq(),
                           srv.subscribers,      srv.clients,          srv.source.report()};
    writer_.append(proto::status_line(r));
    co_await async_flush();
  } else if (req.operation == proto::op::list) {
    const auto seq = co_await async_send_snapshot();
    if (!seq) co_return;
    writer_.append(proto::end_line(*seq));
    if (co_await async_flush() == flush_result::stalled) overflow();
  } else {
    co_await async_watch(req, hello_seq);
  }
}

asio::awaitable<std::optional<std::string>> session::async_read_request() {
  deadline_.expires_after(stall_timeout());
  auto [order, ec, n, timer_ec] =
      co_await make_parallel_group(
          asio::async_read_until(sock_, asio::dynamic_buffer(in_, proto::max_request_line + 1),
                                 '\n', asio::deferred),
          deadline_.async_wait(asio::deferred))
          .async_wait(wait_for_one(), asio::use_awaitable);
  (void)timer_ec;
  if (closed_) co_return std::nullopt;
  if (order[0] == 1) {
    finish(protocol_.request_timeout_line());
    co_return std::nullopt;
  }
  if (ec == asio::error::not_found) {
    finish(session_protocol::request_too_long_line());
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

// Waits until the socket reports writable, or reports a stall. A Unix
// stream socket reports writable only while at most a quarter of its send
// buffer is in use, so a write of at most a chunk after it is always
// taken whole: the stream never stops mid-line, and a client that stalls
// still has room for a complete final error line. A socket that is
// writable already (the common case: the client keeps reading) is written
// at once, without a trip through the reactor and a deadline; the loop is
// yielded to every few such writes so that one fast client cannot hog it.
asio::awaitable<flush_result> session::async_writable() {
  if (closed_) co_return flush_result::closed;
  pollfd p{sock_.native_handle(), POLLOUT, 0};
  if (::poll(&p, 1, 0) == 1) {  // writable, or an error the write reports
    if (++quick_writes_ % yield_every == 0) {
      co_await asio::post(server_->ioc, asio::use_awaitable);
      if (closed_ || !server_) co_return flush_result::closed;
    }
    co_return flush_result::ok;
  }
  quick_writes_ = 0;
  deadline_.expires_after(stall_timeout());
  auto [order, wait_ec, timer_ec] =
      co_await make_parallel_group(sock_.async_wait(stream::socket::wait_write, asio::deferred),
                                   deadline_.async_wait(asio::deferred))
          .async_wait(wait_for_one(), asio::use_awaitable);
  (void)timer_ec;
  if (closed_ || !server_) co_return flush_result::closed;
  if (order[0] == 1) co_return flush_result::stalled;
  if (wait_ec) co_return flush_result::closed;
  co_return flush_result::ok;
}

// Writes what the writer holds completely (no event lines), or reports a
// stall.
asio::awaitable<flush_result> session::async_flush() {
  while (writer_.unsent() > 0) {
    const auto r = co_await async_writable();
    if (r != flush_result::ok) co_return r;
    if (write_step(false) == step::closed) co_return flush_result::closed;
  }
  writer_.reset();
  co_return flush_result::ok;
}

// One write, once the socket is writable: what the writer holds (at most
// a chunk of whole lines) and then, with `events`, the lines after the
// cursor that the client wants, straight from the ring or the shared
// journal batch (one sendmsg over their buffers; nothing copied), up to a
// chunk. Lines the filter rejects are stepped over.
session::step session::write_step(bool events) {
  writer_.begin();
  std::uint64_t examined = protocol_.cursor();
  if (events && writer_.takes_lines()) {
    const auto last = server_->store.last_seq();
    std::size_t skipped = 0;
    bool loaded = false;
    while (examined < last && writer_.has_room() && skipped < max_skip) {
      auto v = shared_line(examined + 1);
      if (v.line.empty()) {
        if (loaded) break;  // one read per write
        if (!load_batch(examined)) {
          held_.clear();
          return step::closed;
        }
        loaded = true;
        continue;
      }
      if (!protocol_.wanted(v)) {
        ++examined;
        ++skipped;
        continue;
      }
      if (!writer_.add_line(examined + 1, v.line)) break;
      ++examined;
      if (writer_.full()) break;
    }
  }
  if (writer_.empty()) {
    protocol_.set_cursor(examined);
    held_.clear();
    return step::skipped;
  }
  const auto& buffers = writer_.buffers();
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(buffers.data());
  msg.msg_iovlen = buffers.size();
  const auto n = ::sendmsg(sock_.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  held_.clear();
  if (n < 0) {
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
      return step::wrote;  // nothing taken: wait again
    if (server_) server_->log->debug("socket: client {} left ({})", id_, std::strerror(err));
    close();
    return step::closed;
  }
  protocol_.set_cursor(writer_.account(static_cast<std::size_t>(n), protocol_.cursor(), examined));
  if (batch_ && protocol_.cursor() >= batch_->last) batch_.reset();  // nothing held once past it
  protocol_.on_traffic(steady::now());
  return step::wrote;
}

// The line of `seq` if a shared buffer holds it: the ring, this client's
// batch, or a batch another client read; nothing when the store must be
// read.
line_view session::shared_line(std::uint64_t seq) {
  if (auto v = server_->feed.ring_line(seq); !v.line.empty()) return v;
  if (!batch_ || seq < batch_->first || seq > batch_->last) {
    auto b = server_->feed.cached_batch(seq);
    if (!b) return {};
    if (batch_) held_.push_back(std::move(batch_));
    batch_ = std::move(b);
  }
  return {batch_->line(seq), nullptr};
}

// Reads the journal rows after `after` into a batch shared with the other
// clients; false when the session ended (a read error, or retention pruned
// what this client had not read yet).
bool session::load_batch(std::uint64_t after) {
  auto& store = server_->store;
  auto entries = store.read_journal(after, journal_batch_size);
  if (!entries) {
    server_->log->error("socket: client {}: cannot read the journal after seq {}: {} {}", id_,
                        after, entries.error().code().message(), entries.error().message());
    close();
    return false;
  }
  if (entries->empty() || entries->front().seq != after + 1) {
    // Retention pruned what this client had not read yet.
    finish(session_protocol::pruned_line(store.oldest_seq(), after));
    return false;
  }
  auto b = make_journal_batch(after, *entries);
  if (batch_) held_.push_back(std::move(batch_));
  batch_ = b;
  server_->keep_batch(std::move(b));
  return true;
}

// Steps the cursor over lines the filter rejects, so that the client is
// only waited for (and cut off for stalling) when a line for it is due:
// up to a wanted line (or the journal's end), or max_skip lines with more
// to examine.
session::skipped session::skip_unwanted() {
  if (!protocol_.filtered()) return skipped::to_a_wanted_line;
  auto outcome = skipped::to_a_wanted_line;
  const auto last = server_->store.last_seq();
  for (std::size_t n = 0; protocol_.cursor() < last; ++n) {
    if (n == max_skip) {
      outcome = skipped::at_the_bound;
      break;
    }
    auto v = shared_line(protocol_.cursor() + 1);
    if (v.line.empty()) {
      if (!load_batch(protocol_.cursor())) return skipped::session_ended;
      v = shared_line(protocol_.cursor() + 1);
    }
    if (protocol_.wanted(v)) break;
    protocol_.set_cursor(protocol_.cursor() + 1);
  }
  held_.clear();
  if (batch_ && protocol_.cursor() >= batch_->last) batch_.reset();
  return outcome;
}

// The current state as existing lines, and its seq: a job reader of the
// store fixed at the seq (commits meanwhile change nothing it reads),
// read as the client takes the lines: at most snapshot_rows jobs per turn
// of the loop and about a chunk of lines in the writer, so a client that
// stops reading holds a chunk and a reader, not a copy of the state.
// Nothing when the session ended.
asio::awaitable<std::optional<std::uint64_t>> session::async_send_snapshot() {
  auto& srv = *server_;
  std::vector<scope_id> scopes;
  for (auto& r : srv.source.report()) scopes.push_back(std::move(r.scope));
  auto opened = srv.store.read_jobs(scopes);
  if (!opened) {
    srv.log->error("socket: client {}: cannot read the stored jobs: {} {}", id_,
                   opened.error().code().message(), opened.error().message());
    close();
    co_return std::nullopt;
  }
  const auto reader = std::move(*opened);
  // The reader's read transaction keeps SQLite from rewinding the WAL, so
  // a client that reads, but slowly enough never to stall, would let
  // state.db-wal grow for as long as it likes: the whole snapshot has a
  // deadline (session_protocol::snapshot_limit, docs/SOCKET.md).
  const auto started = steady::now();
  const auto seq = reader->seq();
  // A watcher continues from it; shared journal batches need not wait for it.
  protocol_.snapshot_at(seq);
  const auto add = [&](const scope_id& scope, const job_key& key, std::string_view body) {
    if (protocol_.wants(proto::meta_of(scope, key)))
      writer_.append(proto::existing_line(scope, key, body));
    return writer_.unsent() < writer_.chunk();
  };
  for (bool more = true; more;) {
    auto r = reader->read(snapshot_rows, add);
    if (!r) {
      server_->log->error("socket: client {}: cannot read the stored jobs: {} {}", id_,
                          r.error().code().message(), r.error().message());
      close();
      co_return std::nullopt;
    }
    more = *r;
    if (more && writer_.unsent() < writer_.chunk()) {  // a run filtered away: let the daemon run
      co_await asio::post(server_->ioc, asio::use_awaitable);
      if (closed_ || !server_) co_return std::nullopt;
      continue;
    }
    const auto f = co_await async_flush();
    if (f == flush_result::stalled) overflow();
    if (f != flush_result::ok) co_return std::nullopt;
    if (more && protocol_.snapshot_overdue(started, steady::now())) {
      snapshot_too_slow();
      co_return std::nullopt;
    }
  }
  if (closed_) co_return std::nullopt;
  co_return seq;
}

void session::start_watching() {
  if (watching_ || !server_) return;
  watching_ = true;
  ++server_->subscribers;
  asio::co_spawn(server_->ioc, async_drain(shared_from_this()), asio::detached);
}

asio::awaitable<void> session::async_watch(const proto::request& r, std::uint64_t hello_seq) {
  auto& store = server_->store;
  if (auto gone = protocol_.start_watch(r, hello_seq, store.oldest_seq(), store.last_seq())) {
    finish(*gone);
    co_return;
  }
  start_watching();
  if (r.sync) {
    const auto seq = co_await async_send_snapshot();
    if (!seq) co_return;
    writer_.append(proto::synced_line(*seq));
  }
  co_await async_stream();
}

asio::awaitable<void> session::async_stream() {
  for (;;) {
    if (closed_ || !server_) co_return;
    protocol_.take_controls(writer_);
    const auto skip = skip_unwanted();
    if (skip == skipped::session_ended) co_return;
    const bool more = skip == skipped::at_the_bound;
    switch (protocol_.next_step(more, writer_.unsent(), server_->store.last_seq())) {
      case session_protocol::next::yield:
        co_await asio::post(server_->ioc, asio::use_awaitable);
        continue;
      case session_protocol::next::wait: {
        writer_.reset();
        quick_writes_ = 0;
        waiting_ = true;
        wake_.expires_at(protocol_.bookmark_due());
        auto [ec] = co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
        waiting_ = false;
        if (closed_) co_return;
        if (!ec) writer_.append(protocol_.bookmark_line());  // quiet for bookmark_interval
        continue;
      }
      case session_protocol::next::write:
        break;
    }
    const auto r = co_await async_writable();
    if (r == flush_result::stalled) overflow();
    if (r != flush_result::ok) co_return;
    if (write_step(true) == step::closed) co_return;
  }
}

void session::overflow() {
  if (server_ && server_->opts.on_dropped) server_->opts.on_dropped("overflow");
  if (server_)
    server_->log->warn(
        "socket: client {} accepted nothing for {} ms while events waited; cut off (overflow)", id_,
        stall_timeout().count());
  finish(protocol_.overflow_line());
}

void session::snapshot_too_slow() {
  if (server_ && server_->opts.on_dropped) server_->opts.on_dropped("overflow");
  const auto text = protocol_.snapshot_too_slow_text();
  if (server_) server_->log->warn("socket: client {}: {}; cut off (overflow)", id_, text);
  finish(proto::overflow_line(text));
}

// Best effort, never blocking: completes a line cut by a partial write,
// adds the final line, closes.
void session::finish(std::string_view last_line) {
  if (closed_) return;
  const auto tail = writer_.final_bytes(last_line);
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
  if (busy)
    log->warn("socket: refusing a client: {} clients connected (socket.max_clients)", clients);
  if (busy && opts.on_dropped) opts.on_dropped("busy");
  auto l = log;
  asio::co_spawn(ioc, session::async_run(std::move(s)),
                 [l](std::exception_ptr e) { log_task_exception(l, "client", e); });
}

// The lowest cursor of the watchers decides which cached batches are
// still of use (journal_feed::keep_batch).
void socket_server::impl::keep_batch(std::shared_ptr<const journal_batch> b) {
  auto lowest = std::numeric_limits<std::uint64_t>::max();
  for (const auto* s : sessions)
    if (s->watching()) lowest = std::min(lowest, s->cursor());
  feed.keep_batch(std::move(b), lowest);
}

void socket_server::impl::notify_all() {
  for (auto* s : sessions)
    if (s->watching()) s->notify();
}

result<std::unique_ptr<socket_server>> socket_server::open(asio::io_context& ioc,
                                                           socket_server_options opts,
                                                           state_store& store,
                                                           const socket_source& source,
                                                           std::shared_ptr<spdlog::logger> log) {
  auto listener = open_listen_socket(opts.socket);
  if (!listener) return listener.error();
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
  for (auto* c : all)
    c->finish(proto::error_line("shutting_down", "the daemon is stopping; reconnect with since"));
}

std::size_t socket_server::subscribers() const { return impl_->subscribers; }
std::size_t socket_server::clients() const { return impl_->clients; }

void socket_server::on_events(const scope_id&, const std::vector<change_event>& events, bool) {
  impl_->feed.remember(events);
  impl_->notify_all();
}

void socket_server::on_scope_status(const scope_id& scope, bool failing, const std::string& error) {
  const auto line = proto::scope_status_line(scope, failing, error);
  for (auto* s : impl_->sessions)
    if (s->watching()) s->push_control(line);
}

}  // namespace hssjw
