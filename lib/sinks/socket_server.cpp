// The events socket server. One coroutine per client (plus one that only
// notices the client leaving); every client is a cursor over the journal:
// it keeps the last seq it was given and, while behind, writes the lines
// after it straight from shared buffers: a small ring of recent lines
// (rendered once at commit) or a few batches read from the store (read
// once for every client at the same place). Each write gathers up to one
// chunk of whole lines into a single sendmsg, so a burst costs a syscall
// per client per chunk and no copy per line per client. A commit only
// wakes the clients that wait; nothing is ever queued per client, so a
// slow or stuck reader costs no memory and delays nobody.
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
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <set>

namespace hssjw {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;
using steady = std::chrono::steady_clock;
using asio::experimental::make_parallel_group;
using asio::experimental::wait_for_one;

namespace {

constexpr std::size_t journal_batch_size = 200;    // journal rows per read
constexpr std::size_t max_write_chunk = 32 * 1024;  // at most this per write (see chunk_size)
constexpr std::size_t min_write_chunk = 4 * 1024;
constexpr std::size_t max_iov = 1022;               // buffers per write (IOV_MAX is 1024)
constexpr std::size_t max_skip = 1024;              // filtered-away lines examined per turn
constexpr unsigned yield_every = 8;                 // writes without a wait before yielding
constexpr std::size_t snapshot_rows = 256;          // stored jobs examined per turn (list, sync)
constexpr std::size_t ring_max_entries = 4096;      // recent lines rendered once for all
constexpr std::size_t ring_max_bytes = 8u << 20;
constexpr std::size_t batch_cache_max = 16;         // journal batches shared by the clients
constexpr std::size_t batch_cache_bytes = 2u << 20;
constexpr std::size_t max_pending_controls = 256;

// The lines of one commit (the tail that the ring keeps), back to back,
// each with its '\n': the bytes every client is sent.
using line_block = std::shared_ptr<const std::string>;

struct ring_entry {
  std::uint64_t seq = 0;
  proto::event_meta meta;
  line_block block;  // holds the line
  std::string_view line;  // with its '\n', inside *block
};

// Consecutive journal rows as read once from the store, shared by every
// client that reads past them: the lines back to back, each with its
// '\n', so that a client's run of them is one buffer to write.
struct journal_batch {
  std::uint64_t first = 0, last = 0;
  std::string text;
  std::vector<std::size_t> starts;  // line i is text[starts[i], starts[i + 1]) (the end of text for the last)
  std::string_view line(std::uint64_t seq) const {
    const auto i = static_cast<std::size_t>(seq - first);
    const auto end = i + 1 < starts.size() ? starts[i + 1] : text.size();
    return std::string_view(text).substr(starts[i], end - starts[i]);
  }
};

// One line to send, with its '\n', and from the ring its filter view (a
// journal line is parsed only for a client with a filter).
struct line_view {
  std::string_view line;
  const proto::event_meta* meta = nullptr;
};

// The largest write that a Unix stream socket reporting writable always
// takes whole, leaving room for a final error line: writable means at
// most a quarter of the send buffer is in use, and the kernel queues a
// write of up to half the send buffer in one piece while any of it is
// free.
std::size_t chunk_size(int fd) {
  int sndbuf = 0;
  socklen_t len = sizeof sndbuf;
  if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0 || sndbuf <= 0) return 32 * 1024;
  const auto half = static_cast<std::size_t>(sndbuf) / 2;
  return std::clamp<std::size_t>(half > 8192 ? half - 8192 : 0, min_write_chunk, max_write_chunk);
}

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
  line_view ring_line(std::uint64_t seq) const;
  std::shared_ptr<const journal_batch> cached_batch(std::uint64_t seq) const;
  void keep_batch(std::shared_ptr<const journal_batch> b);

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
  std::deque<std::shared_ptr<const journal_batch>> batches;  // recently read, the newest last
  std::size_t batches_bytes = 0;
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
    chunk_ = chunk_size(sock_.native_handle());
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
  std::uint64_t cursor() const { return cursor_; }
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
  enum class step { wrote, skipped, closed };
  struct picked {  // a line gathered into the current write
    std::uint64_t seq;
    const char* data;
    std::size_t size;
  };

  asio::awaitable<void> async_serve();
  asio::awaitable<std::optional<std::string>> async_read_request();
  asio::awaitable<flush_result> async_writable();
  asio::awaitable<flush_result> async_flush();
  asio::awaitable<bool> async_send_snapshot(std::uint64_t& seq);
  asio::awaitable<void> async_watch(const proto::request& r, std::uint64_t hello_seq);
  asio::awaitable<void> async_stream();
  std::string_view next_chunk() const;
  step write_step(bool events);
  void account(std::size_t n, std::size_t from_out, std::uint64_t examined);
  line_view shared_line(std::uint64_t seq);
  bool load_batch(std::uint64_t after);
  bool wanted(const line_view& v) const;
  bool skip_unwanted(bool& more);
  void start_watching();
  void overflow();
  void snapshot_too_slow(std::chrono::milliseconds limit);
  void close();
  std::chrono::milliseconds stall_timeout() const { return server_->opts.socket.stall_timeout; }

  stream::socket sock_;
  asio::steady_timer wake_;      // waiting for events, or for the next bookmark
  asio::steady_timer deadline_;  // of the current read or write
  socket_server::impl* server_;  // null once the server is gone
  std::uint64_t id_;
  bool busy_;
  std::size_t chunk_ = 32 * 1024;  // bytes per write (chunk_size)
  std::uint64_t cursor_ = 0;  // the last seq this client has been given (or skipped by its filter)
  proto::event_filter filter_;
  std::deque<std::string> controls_;  // scope_status lines not yet sent
  // Bytes that go before any event line: hello, controls, snapshot lines,
  // errors, and the rest of an event line cut by a partial write. out_pos_
  // bytes are already written; mid_line_ when the last byte written was
  // not a line's end (out_ then starts with the rest of that line).
  std::string out_;
  std::size_t out_pos_ = 0;
  bool mid_line_ = false;
  std::shared_ptr<const journal_batch> batch_;  // the journal rows after cursor_, when behind the ring
  std::vector<iovec> iov_;                      // reused by every write
  std::vector<picked> picked_;
  // Batches replaced while a write was gathered: its buffers point into
  // them until the write is done.
  std::vector<std::shared_ptr<const journal_batch>> held_;
  unsigned quick_writes_ = 0;  // writes since this coroutine last waited
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
    finish(proto::error_line("bad_request", req.error().message()));
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

// The next piece of out_ to write: at most chunk_ bytes, ending at a
// line boundary (a single longer line goes whole).
std::string_view session::next_chunk() const {
  std::string_view rest(out_);
  rest.remove_prefix(out_pos_);
  if (rest.size() <= chunk_) return rest;
  auto nl = rest.rfind('\n', chunk_ - 1);
  if (nl == std::string_view::npos) nl = rest.find('\n');
  return nl == std::string_view::npos ? rest : rest.substr(0, nl + 1);
}

// Waits until the socket reports writable, or reports a stall. A Unix
// stream socket reports writable only while at most a quarter of its send
// buffer is in use, so a write of at most chunk_ bytes after it is always
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
  auto [order, wait_ec, timer_ec] = co_await make_parallel_group(
      sock_.async_wait(stream::socket::wait_write, asio::deferred), deadline_.async_wait(asio::deferred))
      .async_wait(wait_for_one(), asio::use_awaitable);
  (void)timer_ec;
  if (closed_ || !server_) co_return flush_result::closed;
  if (order[0] == 1) co_return flush_result::stalled;
  if (wait_ec) co_return flush_result::closed;
  co_return flush_result::ok;
}

// Writes out_ completely (no event lines), or reports a stall.
asio::awaitable<flush_result> session::async_flush() {
  while (out_pos_ < out_.size()) {
    const auto r = co_await async_writable();
    if (r != flush_result::ok) co_return r;
    if (write_step(false) == step::closed) co_return flush_result::closed;
  }
  out_.clear();
  out_pos_ = 0;
  co_return flush_result::ok;
}

// One write, once the socket is writable: what is left of out_ (at most a
// chunk of whole lines) and then, with `events`, the lines after cursor_
// that the client wants, straight from the ring or the shared journal
// batch (one sendmsg over their buffers; nothing copied), up to chunk_
// bytes. Lines the filter rejects are stepped over.
session::step session::write_step(bool events) {
  iov_.clear();
  picked_.clear();
  std::size_t bytes = 0, from_out = 0;
  if (out_pos_ < out_.size()) {
    const auto c = next_chunk();
    iov_.push_back({const_cast<char*>(c.data()), c.size()});
    bytes = from_out = c.size();
  }
  std::uint64_t examined = cursor_;
  if (events && out_pos_ + from_out == out_.size()) {
    const auto last = server_->store.last_seq();
    std::size_t skipped = 0;
    bool loaded = false;
    while (examined < last && iov_.size() < max_iov && skipped < max_skip) {
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
      if (!wanted(v)) {
        ++examined;
        ++skipped;
        continue;
      }
      const auto size = v.line.size();
      if (bytes > 0 && bytes + size > chunk_) break;  // a single longer line goes whole
      ++examined;
      auto* data = const_cast<char*>(v.line.data());
      if (!iov_.empty() && static_cast<char*>(iov_.back().iov_base) + iov_.back().iov_len == data)
        iov_.back().iov_len += size;  // the next line of the same block or batch
      else
        iov_.push_back({data, size});
      picked_.push_back({examined, v.line.data(), size});
      bytes += size;
      if (bytes >= chunk_) break;
    }
  }
  if (iov_.empty()) {
    cursor_ = examined;
    held_.clear();
    return step::skipped;
  }
  msghdr msg{};
  msg.msg_iov = iov_.data();
  msg.msg_iovlen = iov_.size();
  const auto n = ::sendmsg(sock_.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  held_.clear();
  if (n < 0) {
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) return step::wrote;  // nothing taken: wait again
    if (server_) server_->log->debug("socket: client {} left ({})", id_, std::strerror(err));
    close();
    return step::closed;
  }
  account(static_cast<std::size_t>(n), from_out, examined);
  last_traffic_ = steady::now();
  return step::wrote;
}

// Moves out_pos_ and cursor_ past what the kernel took: n bytes, from_out
// of them first from out_, then the picked lines. The rest of a line cut
// by a partial write is copied to out_ (the only copy of an event line).
void session::account(std::size_t n, std::size_t from_out, std::uint64_t examined) {
  const auto taken_out = std::min(n, from_out);
  out_pos_ += taken_out;
  n -= taken_out;
  if (taken_out < from_out) {
    mid_line_ = out_pos_ > 0 && out_[out_pos_ - 1] != '\n';
    return;  // no event line was taken
  }
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  mid_line_ = false;
  bool all = true;
  for (const auto& p : picked_) {
    if (n >= p.size) {
      n -= p.size;
      cursor_ = p.seq;
      continue;
    }
    all = false;
    if (n > 0) {
      out_.append(p.data + n, p.size - n);
      cursor_ = p.seq;
      mid_line_ = true;
    } else {
      cursor_ = p.seq - 1;  // everything before it was written or filtered away
    }
    break;
  }
  if (all) cursor_ = examined;
  if (batch_ && cursor_ >= batch_->last) batch_.reset();  // nothing held once past it
}

// The line of `seq` if a shared buffer holds it: the ring, this client's
// batch, or a batch another client read; nothing when the store must be
// read.
line_view session::shared_line(std::uint64_t seq) {
  if (auto v = server_->ring_line(seq); !v.line.empty()) return v;
  if (!batch_ || seq < batch_->first || seq > batch_->last) {
    auto b = server_->cached_batch(seq);
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
    server_->log->error("socket: client {}: cannot read the journal after seq {}: {} {}", id_, after,
                        entries.error().message(), store.last_error());
    close();
    return false;
  }
  if (entries->empty() || entries->front().seq != after + 1) {
    // Retention pruned what this client had not read yet.
    finish(proto::gone_line(store.oldest_seq(), "events after seq " + std::to_string(after) +
                                                    " were pruned from the journal before this client read them; "
                                                    "resynchronise with sync"));
    return false;
  }
  auto b = std::make_shared<journal_batch>();
  b->first = after + 1;
  std::size_t bytes = 0;
  for (const auto& e : *entries) bytes += e.line.size() + 1;
  b->text.reserve(bytes);
  b->starts.reserve(entries->size());
  for (const auto& e : *entries) {
    if (e.seq != b->first + b->starts.size()) break;  // a gap: the next read reports it
    b->starts.push_back(b->text.size());
    b->text += e.line;
    b->text += '\n';
  }
  b->last = b->first + b->starts.size() - 1;
  if (batch_) held_.push_back(std::move(batch_));
  batch_ = b;
  server_->keep_batch(std::move(b));
  return true;
}

bool session::wanted(const line_view& v) const {
  if (filter_.empty()) return true;
  if (v.meta) return filter_.matches(*v.meta);
  auto meta = proto::parse_event_meta(v.line.substr(0, v.line.size() - 1));
  return meta && filter_.matches(*meta);
}

// Steps cursor_ over lines the filter rejects, so that the client is only
// waited for (and cut off for stalling) when a line for it is due. `more`:
// it stopped at its bound with more to examine. false when the session
// ended.
bool session::skip_unwanted(bool& more) {
  more = false;
  if (filter_.empty()) return true;
  const auto last = server_->store.last_seq();
  for (std::size_t n = 0; cursor_ < last; ++n) {
    if (n == max_skip) {
      more = true;
      break;
    }
    auto v = shared_line(cursor_ + 1);
    if (v.line.empty()) {
      if (!load_batch(cursor_)) return false;
      v = shared_line(cursor_ + 1);
    }
    if (wanted(v)) break;
    ++cursor_;
  }
  held_.clear();
  if (batch_ && cursor_ >= batch_->last) batch_.reset();
  return true;
}

// The current state as existing lines, and its seq: a job reader of the
// store fixed at the seq (commits meanwhile change nothing it reads),
// read as the client takes the lines: at most snapshot_rows jobs per turn
// of the loop and about a chunk of lines in out_, so a client that stops
// reading holds a chunk and a reader, not a copy of the state.
asio::awaitable<bool> session::async_send_snapshot(std::uint64_t& seq) {
  auto& srv = *server_;
  std::vector<scope_id> scopes;
  for (auto& r : srv.source.report()) scopes.push_back(std::move(r.scope));
  auto opened = srv.store.read_jobs(scopes);
  if (!opened) {
    srv.log->error("socket: client {}: cannot read the stored jobs: {} {}", id_,
                   opened.error().message(), srv.store.last_error());
    close();
    co_return false;
  }
  const auto reader = std::move(*opened);
  // The reader's read transaction keeps SQLite from rewinding the WAL, so
  // a client that reads, but slowly enough never to stall, would let
  // state.db-wal grow for as long as it likes. The whole snapshot must be
  // taken within 10 x stall_timeout (10 min by default); then the client is
  // cut off like a stalled one and may ask again (docs/SOCKET.md).
  const auto started = std::chrono::steady_clock::now();
  const auto snapshot_limit = 10 * stall_timeout();
  seq = reader->seq();
  cursor_ = seq;  // a watcher continues from it; shared journal batches need not wait for it
  const auto add = [&](const scope_id& scope, const job_key& key, std::string_view body) {
    if (filter_.matches(proto::meta_of(scope, key))) out_ += proto::existing_line(scope, key, body);
    return out_.size() - out_pos_ < chunk_;
  };
  for (bool more = true; more;) {
    auto r = reader->read(snapshot_rows, add);
    if (!r) {
      server_->log->error("socket: client {}: cannot read the stored jobs: {} {}", id_,
                          r.error().message(), reader->last_error());
      close();
      co_return false;
    }
    more = *r;
    if (more && out_.size() - out_pos_ < chunk_) {  // a run filtered away: let the daemon run
      co_await asio::post(server_->ioc, asio::use_awaitable);
      if (closed_ || !server_) co_return false;
      continue;
    }
    const auto f = co_await async_flush();
    if (f == flush_result::stalled) overflow();
    if (f != flush_result::ok) co_return false;
    if (more && std::chrono::steady_clock::now() - started > snapshot_limit) {
      snapshot_too_slow(snapshot_limit);
      co_return false;
    }
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
    bool more = false;
    if (!skip_unwanted(more)) co_return;
    if (more && out_pos_ == out_.size()) {
      // A long run filtered away: let the rest of the daemon run.
      co_await asio::post(server_->ioc, asio::use_awaitable);
      continue;
    }
    const bool behind = cursor_ < server_->store.last_seq();
    if (out_pos_ == out_.size() && !behind) {
      out_.clear();
      out_pos_ = 0;
      quick_writes_ = 0;
      waiting_ = true;
      wake_.expires_at(last_traffic_ + server_->opts.socket.bookmark_interval);
      auto [ec] = co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
      waiting_ = false;
      if (closed_) co_return;
      if (!ec) out_ += proto::bookmark_line(cursor_);  // quiet for bookmark_interval
      continue;
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
    server_->log->warn("socket: client {} accepted nothing for {} ms while events waited; cut off (overflow)", id_,
                       stall_timeout().count());
  finish(proto::overflow_line("the client accepted nothing for " + std::to_string(stall_timeout().count()) +
                              " ms while events waited; reconnect with since = the last seq received"));
}

void session::snapshot_too_slow(std::chrono::milliseconds limit) {
  if (server_ && server_->opts.on_dropped) server_->opts.on_dropped("overflow");
  const auto text = "the client took more than " + std::to_string(limit.count()) +
                    " ms to read the current state (list/sync); ask again";
  if (server_) server_->log->warn("socket: client {}: {}; cut off (overflow)", id_, text);
  finish(proto::overflow_line(text));
}

// Best effort, never blocking: completes a line cut by a partial write,
// adds the final line, closes.
void session::finish(std::string_view last_line) {
  if (closed_) return;
  std::string tail;
  if (mid_line_ && out_pos_ < out_.size()) {  // out_ holds the rest of the line being written
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
  auto text = std::make_shared<std::string>();
  std::size_t bytes = 0;
  for (std::size_t i = first; i < events.size(); ++i) {
    const auto& e = events[i];
    bytes += e.line.empty() ? 256 + e.job.size() + e.previous.size() : e.line.size() + 1;
  }
  text->reserve(bytes);
  std::string scratch;
  std::vector<std::size_t> starts;
  starts.reserve(events.size() - first);
  for (std::size_t i = first; i < events.size(); ++i) {
    starts.push_back(text->size());
    if (events[i].line.empty()) {  // a big commit keeps no lines (model/event.hpp)
      render_json_line(events[i], scratch);
      *text += scratch;
    } else {
      *text += events[i].line;  // as the store journaled it
    }
    *text += '\n';
  }
  const line_block block = text;
  const std::string_view all(*block);
  for (std::size_t i = first, k = 0; i < events.size(); ++i, ++k) {
    const auto end = k + 1 < starts.size() ? starts[k + 1] : all.size();
    ring_entry r{events[i].seq, proto::meta_of(events[i]), block, all.substr(starts[k], end - starts[k])};
    ring_bytes += r.line.size();
    ring.push_back(std::move(r));
  }
  while (!ring.empty() && (ring.size() > ring_max_entries || ring_bytes > ring_max_bytes)) {
    ring_bytes -= ring.front().line.size();
    ring.pop_front();
  }
}

line_view socket_server::impl::ring_line(std::uint64_t seq) const {
  if (ring.empty() || seq < ring.front().seq || seq > ring.back().seq) return {};
  const auto& r = ring[static_cast<std::size_t>(seq - ring.front().seq)];
  return {r.line, &r.meta};
}

std::shared_ptr<const journal_batch> socket_server::impl::cached_batch(std::uint64_t seq) const {
  for (auto it = batches.rbegin(); it != batches.rend(); ++it)
    if ((*it)->first <= seq && seq <= (*it)->last) return *it;
  return nullptr;
}

// Clients behind the ring move through the journal at about the same
// place (a burst larger than the ring): the rows one of them read serve
// the others. Kept: only batches some watcher has not passed yet, at most
// batch_cache_bytes of them (so a lone client catching up holds one
// batch); a client holds at most the batch it is in.
void socket_server::impl::keep_batch(std::shared_ptr<const journal_batch> b) {
  auto lowest = b->first - 1;  // the client that read it
  for (const auto* s : sessions)
    if (s->watching()) lowest = std::min(lowest, s->cursor());
  std::erase_if(batches, [&](const auto& old) {
    if (old->last > lowest) return false;
    batches_bytes -= old->text.size();
    return true;
  });
  batches_bytes += b->text.size();
  batches.push_back(std::move(b));
  while (batches.size() > 1 && (batches.size() > batch_cache_max || batches_bytes > batch_cache_bytes)) {
    batches_bytes -= batches.front()->text.size();
    batches.pop_front();
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
