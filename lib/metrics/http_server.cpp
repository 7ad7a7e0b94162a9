// The metrics HTTP server: one accept coroutine and one coroutine per
// connection, all on the daemon's loop. Beast's tcp_stream gives each read
// and write its own deadline, so a client that stalls costs one slot for
// at most that long.
#include "metrics/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <list>

namespace hssjw::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {
constexpr unsigned max_requests_per_connection = 100;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
using steady = std::chrono::steady_clock;

// One connection as the accept loop sees it: waiting for a request head
// since `waiting_since`, or answering one.
struct connection {
  beast::tcp_stream* stream = nullptr;
  bool waiting = true;
  bool evicted = false;
  steady::time_point waiting_since = steady::now();
};
}  // namespace

struct http_server::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& ioc, http_handler h, std::shared_ptr<spdlog::logger> l, http_limits lim)
      : acceptor(ioc), handler(std::move(h)), log(std::move(l)), limits(lim) {}

  tcp::acceptor acceptor;
  http_handler handler;
  std::shared_ptr<spdlog::logger> log;
  http_limits limits;
  std::list<connection> live;
  std::size_t evicted = 0;  // closed to make room, their coroutines not yet ended
  bool stopped = false;

  asio::awaitable<void> async_accept_loop(std::shared_ptr<impl> self);
  asio::awaitable<void> async_serve(std::shared_ptr<impl> self, tcp::socket socket);
  asio::awaitable<bool> async_serve_one(connection& c, beast::flat_buffer& buffer, bool first);
  bool make_room();
};

namespace {

error bad_address(const std::string& listen) {
  return {make_error_code(boost::system::errc::invalid_argument),
          "bad listen address '" + listen + "'"};
}

result<tcp::endpoint> resolve(asio::io_context& ioc, const std::string& listen) {
  std::string host, port;
  if (!listen.empty() && listen.front() == '[') {
    auto close = listen.find("]:");
    if (close == std::string::npos) return bad_address(listen);
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) return bad_address(listen);
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  // Resolved once, before the loop runs; "localhost" is the usual name.
  tcp::resolver resolver(ioc);
  boost::system::error_code ec;
  auto results = resolver.resolve(host, port, tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) return error(ec, "cannot resolve '" + listen + "': " + ec.message());
  return results.begin()->endpoint();
}

}  // namespace

result<std::unique_ptr<http_server>> http_server::open(asio::io_context& ioc,
                                                       const std::string& listen,
                                                       http_handler handler,
                                                       std::shared_ptr<spdlog::logger> log,
                                                       http_limits limits) {
  auto ep = resolve(ioc, listen);
  if (!ep) return ep.error();
  auto i = std::make_shared<impl>(ioc, std::move(handler), std::move(log), limits);
  boost::system::error_code ec;
  i->acceptor.open(ep->protocol(), ec);
  if (!ec) i->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) i->acceptor.bind(*ep, ec);
  if (!ec) i->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return error(ec, "metrics.listen " + listen + ": " + ec.message());
  return std::unique_ptr<http_server>(new http_server(std::move(i)));
}

http_server::http_server(std::shared_ptr<impl> i) : impl_(std::move(i)) {}
http_server::~http_server() { stop(); }

std::uint16_t http_server::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::size_t http_server::connections() const { return impl_->live.size() - impl_->evicted; }

void http_server::start() {
  asio::co_spawn(impl_->acceptor.get_executor(), impl_->async_accept_loop(impl_), asio::detached);
}

void http_server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  for (auto& c : impl_->live) c.stream->socket().close(ec);
}

asio::awaitable<void> http_server::impl::async_accept_loop(std::shared_ptr<impl> self) {
  while (!stopped) {
    auto [ec, socket] = co_await acceptor.async_accept(tuple_awaitable);
    if (stopped) co_return;
    if (ec) {
      // EMFILE and friends: say so and pause, rather than spin.
      log->warn("metrics: accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor.get_executor(), 1s);
      co_await pause.async_wait(tuple_awaitable);
      continue;
    }
    if (!make_room())
      continue;  // every slot answering a request: the socket closes as it goes out of scope
    asio::co_spawn(acceptor.get_executor(), async_serve(self, std::move(socket)), asio::detached);
  }
}

// At the cap, closes the connection that has waited longest for a request
// head (idle, or sending one slowly): a new client is far more likely to
// be a scraper than the oldest silent one. False when every slot is busy
// answering.
bool http_server::impl::make_room() {
  if (live.size() - evicted < limits.max_connections) return true;
  connection* oldest = nullptr;
  for (auto& c : live)
    if (c.waiting && !c.evicted && (!oldest || c.waiting_since < oldest->waiting_since))
      oldest = &c;
  if (!oldest) return false;
  oldest->evicted = true;
  ++evicted;
  boost::system::error_code ec;
  oldest->stream->socket().close(ec);  // its read fails at once; its coroutine ends
  log->debug("metrics: {} connections: closed the longest idle one", limits.max_connections);
  return true;
}

// `self` keeps the server state alive while this connection runs.
asio::awaitable<void> http_server::impl::async_serve(std::shared_ptr<impl> /*self*/,
                                                     tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  // Leaves `live` on every way out, also when the frame is destroyed while
  // suspended (the daemon destroys pending frames before the server): stop()
  // must never reach a stream that is gone.
  struct leave_live {
    impl& server;
    std::list<connection>::iterator me;
    ~leave_live() {
      if (me->evicted) --server.evicted;
      server.live.erase(me);
    }
  } entry{*this, live.insert(live.end(), connection{&stream})};
  auto me = entry.me;
  beast::flat_buffer buffer(16 * 1024);
  try {
    for (unsigned n = 0; n < max_requests_per_connection && !stopped && !me->evicted; ++n)
      if (!co_await async_serve_one(*me, buffer, n == 0)) break;
  } catch (const std::exception& e) {
    log->warn("metrics: connection failed: {}", e.what());
  }
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

// One request and its answer; false when the connection should close. The
// head must arrive whole within head_timeout (idle_timeout for the next
// request of a kept-alive connection), however slowly it trickles.
asio::awaitable<bool> http_server::impl::async_serve_one(connection& c, beast::flat_buffer& buffer,
                                                         bool first) {
  auto& stream = *c.stream;
  http::request_parser<http::string_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(4 * 1024);
  c.waiting = true;
  c.waiting_since = steady::now();
  stream.expires_after(first ? limits.head_timeout : limits.idle_timeout);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
  c.waiting = false;
  if (rec || c.evicted) co_return false;  // closed, timed out, evicted, or not HTTP
  const auto& req = parser.get();
  http::response<http::string_body> res;
  res.version(req.version());
  res.set(http::field::server, "hss-jobwatch");
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET, HEAD");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = "method not allowed\n";
  } else {
    std::string_view target = req.target();
    auto reply = handler(target.substr(0, target.find('?')));
    res.result(reply.status);
    res.set(http::field::content_type, reply.content_type);
    res.body() = std::move(reply.body);
  }
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  if (req.method() == http::verb::head) res.body().clear();
  stream.expires_after(limits.write_timeout);
  auto [wec, wn] = co_await http::async_write(stream, res, tuple_awaitable);
  co_return !wec && res.keep_alive();
}

}  // namespace hssjw::metrics
