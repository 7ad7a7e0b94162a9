// The HTTPS client behind client.hpp: Beast over OpenSSL with TLS 1.2+,
// chain + host-name verification and SNI, an optional HTTP CONNECT proxy, a
// LIFO pool of keep-alive connections, one deadline over the whole request
// and prompt cancellation. All Beast/SSL templates are instantiated here so
// that no other file pays for them.
#include "hss/client.hpp"

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <optional>
#include <vector>

#include "core/version.hpp"
#include "hss/response_parse.hpp"
#include "hss/upstream_text.hpp"

namespace hssjw {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace urls = boost::urls;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using steady = std::chrono::steady_clock;

// Errors are expected here (network, peers, deadlines): get them as values.
constexpr auto as_value = asio::as_tuple(asio::use_awaitable);

using detail::limit_parser;
using detail::public_error;
using detail::to_response;

// close_notify is a courtesy: never let it hold up shutdown for long.
constexpr auto tls_shutdown_timeout = std::chrono::seconds(1);

// --- configuration -------------------------------------------------------

struct origin {
  bool tls = true;
  std::string host;  // DNS name or IP literal (IPv6 without brackets)
  std::string port;
  std::string host_header;  // authority exactly as written in the endpoint
};

struct proxy_target {
  std::string host;
  std::string port;
  std::string authorization;  // "Basic ..." or "": a secret, never logged
};

error_code config_error() { return make_error_code(errc::config_invalid); }
error_code aborted() { return asio::error::operation_aborted; }

std::string port_or(const urls::url_view& u, std::string_view fallback) {
  if (u.has_port() && !u.port().empty()) return std::string(u.port());
  return std::string(fallback);
}

// Boost.URL accepts any digit string as a port; port_number() wraps.
bool valid_port(const urls::url_view& u) {
  if (!u.has_port() || u.port().empty()) return true;
  const std::string_view digits = u.port();
  if (digits.size() > 5) return false;
  unsigned long n = std::stoul(std::string(digits));
  return n > 0 && n <= 65535;
}

result<origin> parse_endpoint(const client_options& o) {
  auto u = urls::parse_uri(o.endpoint);
  if (!u) return config_error();
  origin r;
  if (u->scheme_id() == urls::scheme::https)
    r.tls = true;
  else if (u->scheme_id() == urls::scheme::http && o.allow_insecure_http)
    r.tls = false;
  else
    return config_error();  // plain http only for tests and the demo
  const bool bare_path = u->encoded_path().empty() || u->encoded_path() == "/";
  if (!u->has_authority() || u->has_userinfo() || u->host_address().empty() || !bare_path ||
      u->has_query() || u->has_fragment() || !valid_port(*u))
    return config_error();
  r.host = u->host_address();
  r.port = port_or(*u, r.tls ? "443" : "80");
  r.host_header = std::string(u->encoded_authority());
  return r;
}

std::string base64(std::string_view in) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const auto byte = [&](std::size_t k) -> std::uint32_t {
      return i + k < in.size() ? static_cast<unsigned char>(in[i + k]) : 0;
    };
    const std::uint32_t n = byte(0) << 16 | byte(1) << 8 | byte(2);
    out += alphabet[n >> 18 & 63];
    out += alphabet[n >> 12 & 63];
    out += i + 1 < in.size() ? alphabet[n >> 6 & 63] : '=';
    out += i + 2 < in.size() ? alphabet[n & 63] : '=';
  }
  return out;
}

result<std::optional<proxy_target>> parse_proxy(std::string_view proxy) {
  if (proxy.empty()) return std::optional<proxy_target>{};
  auto u = urls::parse_uri(proxy);
  // Only plain-HTTP proxies: the tunnel carries TLS to the origin anyway.
  if (!u || u->scheme_id() != urls::scheme::http || u->host_address().empty() || !valid_port(*u))
    return config_error();
  proxy_target p{u->host_address(), port_or(*u, "80"), {}};
  if (u->has_userinfo()) p.authorization = "Basic " + base64(u->user() + ":" + u->password());
  return std::optional<proxy_target>{std::move(p)};
}

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? '[' + host + ']' : host;
}

result<std::shared_ptr<ssl::context>> make_tls_context(const client_options& o) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_verify_mode(ssl::verify_peer);
  error_code ec;
  if (o.ca_file.empty())
    ctx->set_default_verify_paths(ec);
  else
    ctx->load_verify_file(o.ca_file, ec);
  if (ec) return ec;
  return ctx;
}

// --- connections -----------------------------------------------------------

// One TCP connection, TLS or not. The SSL stream always exists (it is cheap
// until the handshake) so that one type serves both schemes; plain HTTP
// simply talks to next_layer().
struct connection {
  connection(const asio::any_io_executor& ex, std::shared_ptr<ssl::context> ctx, bool use_tls)
      : ctx_(std::move(ctx)), stream(ex, *ctx_), tls(use_tls) {}

  beast::tcp_stream& tcp() { return stream.next_layer(); }

  void close() {
    error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().socket().close(ignored);
  }

  std::shared_ptr<ssl::context> ctx_;  // the stream's SSL* must not outlive it
  ssl::stream<beast::tcp_stream> stream;
  beast::flat_buffer buffer;  // bytes read past a response stay with the connection
  bool tls;
};

using connection_ptr = std::unique_ptr<connection>;

// The pool and settings, shared with every in-flight request so that a
// request outliving the https_client (e.g. during shutdown) stays valid.
struct client_state {
  asio::any_io_executor ex;
  client_options opts;
  error init_error;  // a bad endpoint/proxy/CA fails every request
  origin target;
  std::optional<proxy_target> proxy;
  std::shared_ptr<ssl::context> tls_ctx;
  std::vector<connection_ptr> idle;  // LIFO: back() is the most recently used
  bool closed = false;
};

asio::awaitable<void> close_gracefully(connection_ptr c) {
  co_await asio::this_coro::throw_if_cancelled(false);
  if (c->tls) {
    c->tcp().expires_after(tls_shutdown_timeout);
    // stream_truncated (peer closed without close_notify) and timeouts are
    // expected here and harmless: the connection is going away anyway.
    co_await c->stream.async_shutdown(as_value);
  }
  c->close();
}

// Ends a healthy connection: TLS close_notify in the background.
void retire(const asio::any_io_executor& ex, connection_ptr c) {
  if (c->tls)
    asio::co_spawn(ex, close_gracefully(std::move(c)), asio::detached);
  else
    c->close();
}

// Bytes that arrived on an idle connection answer no request of ours (a
// late interim answer, a second response, a TLS alert before the close):
// the next request would read them as its own answer.
bool has_pending_bytes(connection& c) {
  error_code ec;
  const std::size_t raw = c.tcp().socket().available(ec);
  return ec || raw > 0 || c.buffer.size() > 0 ||
         (c.tls && SSL_pending(c.stream.native_handle()) > 0);
}

connection_ptr take_idle(client_state& st) {
  while (!st.idle.empty()) {
    connection_ptr c = std::move(st.idle.back());
    st.idle.pop_back();
    if (!has_pending_bytes(*c)) return c;
    c->close();
  }
  return nullptr;
}

// Only a connection whose answer was read to its end, with nothing after
// it, that both sides keep open, may serve another request.
bool can_reuse(connection& c, const http::response<http::string_body>& res) {
  return res.keep_alive() && !res.need_eof() && c.buffer.size() == 0;
}

void release(client_state& st, connection_ptr c, bool reusable) {
  if (!reusable || st.closed || st.opts.max_idle_connections == 0) {
    retire(st.ex, std::move(c));
    return;
  }
  c->tcp().expires_never();
  st.idle.push_back(std::move(c));
  if (st.idle.size() > st.opts.max_idle_connections) {
    retire(st.ex, std::move(st.idle.front()));  // the oldest is likeliest stale
    st.idle.erase(st.idle.begin());
  }
}

// --- steps (each bounded by the request's deadline) -------------------------

asio::awaitable<bool> cancelled() {
  auto state = co_await asio::this_coro::cancellation_state;
  co_return state.cancelled() != asio::cancellation_type::none;
}

// Asio's resolver ignores per-operation cancellation and getaddrinfo cannot
// be interrupted, so we wait on a timer instead and let a late resolution
// finish in the background: the deadline and cancellation stay prompt.
// A failure names the host ("cannot resolve proxy host proxy.corp: Host not
// found ..."): the endpoint, the IAM endpoint and the proxy all resolve here.
asio::awaitable<result<tcp::resolver::results_type>> resolve(std::string host, std::string port,
                                                             std::string_view role,
                                                             steady::time_point deadline) {
  struct pending {
    explicit pending(const asio::any_io_executor& ex) : resolver(ex), wake(ex) {}
    tcp::resolver resolver;
    asio::steady_timer wake;
    error_code ec;
    tcp::resolver::results_type results;
    bool done = false;
  };
  auto p = std::make_shared<pending>(co_await asio::this_coro::executor);
  p->wake.expires_at(deadline);
  p->resolver.async_resolve(host, port, [p](error_code ec, tcp::resolver::results_type r) {
    p->ec = ec;
    p->results = std::move(r);
    p->done = true;
    p->wake.cancel();
  });
  auto [wait_ec] = co_await p->wake.async_wait(as_value);
  if (p->done) {
    if (p->ec)
      co_return error(p->ec,
                      "cannot resolve " + std::string(role) + ' ' + host + ": " + p->ec.message());
    co_return std::move(p->results);
  }
  p->resolver.cancel();
  if (!wait_ec) co_return make_error_code(errc::timeout);
  co_return make_error_code(asio::error::operation_aborted);
}

asio::awaitable<error> connect_tcp(connection& c, std::string host, std::string port,
                                   std::string_view role, steady::time_point deadline) {
  auto endpoints = co_await resolve(std::move(host), std::move(port), role, deadline);
  if (!endpoints) co_return endpoints.error();
  if (co_await cancelled()) co_return aborted();
  c.tcp().expires_at(deadline);
  auto [ec, ep] = co_await c.tcp().async_connect(*endpoints, as_value);
  co_return ec;
}

// "proxy CONNECT to hss.example:443 refused: 407 Proxy Authentication
// Required": the status and the proxy's reason phrase (made safe, bounded),
// nothing else of its answer (headers and body may echo credentials). 407
// compares equal to permission_denied, any other refusal to
// connection_refused.
error tunnel_refused(const std::string& authority, unsigned status, std::string_view reason) {
  std::string text = upstream_text(reason, 64);
  if (text.empty()) text = std::string(http::obsolete_reason(static_cast<http::status>(status)));
  const auto code = status == 407 ? boost::system::errc::permission_denied
                                  : boost::system::errc::connection_refused;
  return error(make_error_code(code), "proxy CONNECT to " + authority +
                                          " refused: " + std::to_string(status) + ' ' + text);
}

// HTTP CONNECT through the proxy; afterwards the socket is a raw pipe to the
// origin.
asio::awaitable<error> open_tunnel(connection& c, const origin& to, const proxy_target& via,
                                   steady::time_point deadline) {
  const std::string authority = bracketed(to.host) + ':' + to.port;
  http::request<http::empty_body> req{http::verb::connect, authority, 11};
  req.set(http::field::host, authority);
  req.set(http::field::user_agent, user_agent);
  if (!via.authorization.empty()) req.set(http::field::proxy_authorization, via.authorization);
  c.tcp().expires_at(deadline);
  if (auto [ec, n] = co_await http::async_write(c.tcp(), req, as_value); ec) co_return ec;

  http::response_parser<http::empty_body> parser;
  parser.skip(true);  // a 2xx answer to CONNECT has no body: the tunnel follows
  parser.header_limit(detail::response_header_limit);
  beast::flat_buffer buffer;
  if (auto [ec, n] = co_await http::async_read(c.tcp(), buffer, parser, as_value); ec) co_return ec;
  const unsigned status = parser.get().result_int();
  // Any 2xx opens the tunnel (RFC 9110 §9.3.6).
  if (status / 100 != 2) co_return tunnel_refused(authority, status, parser.get().reason());
  // The origin speaks only after our ClientHello; early bytes mean confusion.
  if (buffer.size() != 0) co_return errc::bad_response;
  co_return error{};
}

// Chain verification against the host we meant to reach, enforced inside
// OpenSSL's own verification (so a mismatch fails the handshake), and SNI
// for names (RFC 6066 forbids IP literals there).
error_code prepare_tls(connection& c, const std::string& host) {
  SSL* ssl_handle = c.stream.native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
  error_code not_ip;
  asio::ip::make_address(host, not_ip);
  int ok = 1;
  if (!not_ip) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1 &&
         SSL_set_tlsext_host_name(ssl_handle, host.c_str()) == 1;
  }
  if (ok != 1) return {static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()};
  return {};
}

asio::awaitable<result<connection_ptr>> open_connection(client_state& st,
                                                        steady::time_point deadline) {
  auto c = std::make_unique<connection>(st.ex, st.tls_ctx, st.target.tls);
  const std::string& host = st.proxy ? st.proxy->host : st.target.host;
  const std::string& port = st.proxy ? st.proxy->port : st.target.port;
  if (auto ec = co_await connect_tcp(*c, host, port, st.proxy ? "proxy host" : "host", deadline))
    co_return ec;
  if (st.proxy) {
    if (co_await cancelled()) co_return aborted();
    if (auto ec = co_await open_tunnel(*c, st.target, *st.proxy, deadline)) co_return ec;
  }
  if (st.target.tls) {
    if (auto ec = prepare_tls(*c, st.target.host)) co_return ec;
    if (co_await cancelled()) co_return aborted();
    c->tcp().expires_at(deadline);
    auto [ec] = co_await c->stream.async_handshake(ssl::stream_base::client, as_value);
    if (ec) co_return ec;
  }
  co_return c;
}

struct exchange_outcome {
  error_code ec;
  bool got_bytes = false;  // any response byte: the server did see the request
  http::response<http::string_body> res;
};

template <class Stream>
asio::awaitable<exchange_outcome> exchange_on(Stream& s, connection& c,
                                              const http::request<http::string_body>& req,
                                              std::size_t body_limit, steady::time_point deadline) {
  // A cancellation that lands between two operations reaches neither of
  // them; it is only visible in the state, hence the checks.
  exchange_outcome out;
  if (co_await cancelled()) {
    out.ec = aborted();
    co_return out;
  }
  c.tcp().expires_at(deadline);
  if (auto [ec, n] = co_await http::async_write(s, req, as_value); ec) {
    out.ec = ec;
    co_return out;
  }
  if (co_await cancelled()) {
    out.ec = aborted();
    co_return out;
  }
  // Interim answers (100, 102, 103) come before the answer on the same
  // connection: each is a complete message to Beast, so read on with a
  // fresh parser over the same buffer. Taking one for the answer would
  // leave the real answer unread for the next request on this connection.
  for (unsigned interim = 0;; ++interim) {
    http::response_parser<http::string_body> parser;
    limit_parser(parser, body_limit);
    parser.skip(req.method() == http::verb::head);
    c.tcp().expires_at(deadline);
    auto [ec, n] = co_await http::async_read(s, c.buffer, parser, as_value);
    out.got_bytes = out.got_bytes || parser.got_some();
    if (ec) {
      out.ec = ec;
      co_return out;
    }
    switch (detail::classify_status(parser.get().result_int())) {
      case detail::status_kind::final:
        out.res = parser.release();
        co_return out;
      case detail::status_kind::switching:
        out.ec = make_error_code(errc::bad_response);
        co_return out;
      case detail::status_kind::interim:
        if (interim >= detail::max_interim_responses) {
          out.ec = make_error_code(errc::bad_response);
          co_return out;
        }
        if (co_await cancelled()) {
          out.ec = aborted();
          co_return out;
        }
        break;
    }
  }
}

asio::awaitable<exchange_outcome> exchange(connection& c,
                                           const http::request<http::string_body>& req,
                                           std::size_t body_limit, steady::time_point deadline) {
  if (c.tls) return exchange_on(c.stream, c, req, body_limit, deadline);
  return exchange_on(c.tcp(), c, req, body_limit, deadline);
}

// --- request and response ---------------------------------------------------

bool is_token_char(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char);
}

// Header injection guard: a value with CR/LF/NUL would let a caller (or a
// hostile config value) smuggle headers or a second request.
bool is_field_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(),
                      [](char ch) { return ch == '\r' || ch == '\n' || ch == '\0'; });
}

bool is_target(std::string_view s) {
  return s.starts_with('/') && std::none_of(s.begin(), s.end(), [](char ch) {
           return static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7F;
         });
}

result<http::request<http::string_body>> build_request(const client_state& st, http_request req) {
  if (!is_token(req.method) || !is_target(req.target))
    return make_error_code(boost::system::errc::invalid_argument);
  http::request<http::string_body> r;
  const http::verb verb = http::string_to_verb(req.method);
  if (verb == http::verb::unknown)
    r.method_string(req.method);
  else
    r.method(verb);
  r.target(req.target);
  r.version(11);
  for (const auto& [name, value] : req.headers) {
    if (!is_token(name) || !is_field_value(value))
      return make_error_code(boost::system::errc::invalid_argument);
    r.insert(name, value);
  }
  if (r.find(http::field::host) == r.end()) r.set(http::field::host, st.target.host_header);
  if (r.find(http::field::user_agent) == r.end()) r.set(http::field::user_agent, user_agent);
  if (r.find(http::field::accept) == r.end()) r.set(http::field::accept, "application/json");
  r.keep_alive(true);
  r.body() = std::move(req.body);
  r.prepare_payload();
  return r;
}

// A pooled connection the server closed while idle fails before any
// response byte; only then is a second attempt safe, and only for methods
// without side effects.
bool worth_retry(const exchange_outcome& out, const http::request<http::string_body>& req,
                 steady::time_point deadline) {
  const bool idempotent = req.method() == http::verb::get || req.method() == http::verb::head;
  return out.ec && !out.got_bytes && idempotent && out.ec != beast::error::timeout &&
         out.ec != asio::error::operation_aborted && steady::now() < deadline;
}

asio::awaitable<result<http_response>> run_request(std::shared_ptr<client_state> st,
                                                   http_request request) {
  // Any cancellation type aborts the request (a half-read response is
  // worthless); pass it on to Beast as terminal, the only type its composed
  // operations accept. Errors stay values rather than exceptions.
  co_await asio::this_coro::reset_cancellation_state(
      asio::enable_total_cancellation(), [](asio::cancellation_type t) {
        return t == asio::cancellation_type::none ? t : asio::cancellation_type::terminal;
      });
  co_await asio::this_coro::throw_if_cancelled(false);
  if (st->init_error) co_return st->init_error;
  auto req = build_request(*st, std::move(request));
  if (!req) co_return req.error();
  // An IAM login body carries the password; the caller wipes its own copy,
  // and this, the buffer actually sent, is wiped on every way out
  // (answer, error, cancellation, the frame destroyed) so that it never
  // lingers in freed heap memory (issue #12, item 12).
  struct wipe_body_on_exit {
    std::string& body;
    ~wipe_body_on_exit() {
      if (body.capacity()) OPENSSL_cleanse(body.data(), body.capacity());
      body.clear();
    }
  } wipe_body{req->body()};

  const auto start = steady::now();
  const auto deadline = start + st->opts.timeout;
  connection_ptr conn = take_idle(*st);
  const bool reused = conn != nullptr;
  if (!conn) {
    auto fresh = co_await open_connection(*st, deadline);
    if (!fresh) {
      // Not one `co_return c ? a : b` with co_await in it: GCC 12 destroys
      // a temporary of such a conditional twice when it is not trivial.
      if (co_await cancelled()) co_return aborted();
      co_return public_error(fresh.error());
    }
    conn = std::move(*fresh);
  }
  exchange_outcome out = co_await exchange(*conn, *req, st->opts.body_limit, deadline);
  if (reused && worth_retry(out, *req, deadline) && !co_await cancelled()) {
    conn->close();
    auto fresh = co_await open_connection(*st, deadline);
    if (!fresh) {
      if (co_await cancelled()) co_return aborted();
      co_return public_error(fresh.error());
    }
    conn = std::move(*fresh);
    out = co_await exchange(*conn, *req, st->opts.body_limit, deadline);
  }
  if (co_await cancelled()) {
    conn->close();
    co_return aborted();
  }
  if (out.ec) {
    conn->close();  // its state is unknown: never reuse it
    co_return public_error(out.ec);
  }
  if (auto bad = detail::check_response(out.res)) {
    conn->close();
    co_return bad;
  }
  const bool keep = can_reuse(*conn, out.res);
  release(*st, std::move(conn), keep);
  co_return to_response(std::move(out.res), steady::now() - start);
}

}  // namespace

struct https_client::impl {
  std::shared_ptr<client_state> state;
};

https_client::https_client(boost::asio::any_io_executor ex, client_options opts)
    : impl_(std::make_unique<impl>()) {
  auto st = std::make_shared<client_state>();
  st->ex = std::move(ex);
  st->opts = std::move(opts);
  auto target = parse_endpoint(st->opts);
  auto proxy = parse_proxy(st->opts.proxy);
  auto ctx = make_tls_context(st->opts);
  if (!target)
    st->init_error = target.error();
  else if (!proxy)
    st->init_error = proxy.error();
  else if (!ctx)
    st->init_error = ctx.error();
  else if (st->opts.timeout <= std::chrono::milliseconds::zero())
    st->init_error = config_error();
  if (target) st->target = std::move(*target);
  if (proxy) st->proxy = std::move(*proxy);
  if (ctx) st->tls_ctx = std::move(*ctx);
  impl_->state = std::move(st);
}

https_client::~https_client() {
  // No I/O may be started from a destructor (the io_context may be going
  // away too): idle connections are closed without close_notify.
  auto& st = *impl_->state;
  st.closed = true;
  for (auto& c : st.idle) c->close();
  st.idle.clear();
}

boost::asio::awaitable<result<http_response>> https_client::async_request(http_request req) {
  // Not a coroutine itself: the shared state, not `this`, is what the
  // request keeps alive while suspended. Run as its own coroutine thread
  // because Asio keeps the cancellation state and throw_if_cancelled per
  // thread: setting them in run_request would silently change the caller's.
  // co_spawn forwards the caller's cancellation into it.
  auto st = impl_->state;
  auto ex = st->ex;
  return asio::co_spawn(std::move(ex), run_request(std::move(st), std::move(req)),
                        asio::use_awaitable);
}

const std::string& https_client::host_header() const { return impl_->state->target.host_header; }

void https_client::close_idle() {
  auto& st = *impl_->state;
  for (auto& c : st.idle) retire(st.ex, std::move(c));
  st.idle.clear();
}

}  // namespace hssjw
