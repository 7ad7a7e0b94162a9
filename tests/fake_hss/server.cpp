// The fake HSS server (see server.hpp): an accept loop and one coroutine per
// TLS connection on the server's own io_context thread. Deciding what to
// answer (`decide`) is synchronous under the lock; sending it -- possibly
// late, slowly, partially or not at all, as the faults say -- is the
// coroutine's job. IAM logins take a shorter path: no hook, no faults.
#include "fake_hss/server.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <variant>

#include "fake_hss/certs.hpp"

namespace fake_hss {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
// "Never answer" still has to end some day; the server's destruction ends
// it sooner.
constexpr auto forever = std::chrono::hours(24);

struct reply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

enum class transport { normal, never, reset, truncate, trickle };

// Everything the connection coroutine needs to send one answer.
struct plan {
  reply r;
  transport mode = transport::normal;
  std::chrono::milliseconds wait{0};  // before the first byte
  std::chrono::milliseconds trickle_every{0};
  std::size_t chunk = 1;
  bool close = false;
  std::vector<unsigned> interim;  // 1xx heads sent before the answer
};

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string head_of(const plan& p) {
  const auto reason = http::obsolete_reason(static_cast<http::status>(p.r.status));
  std::string h = "HTTP/1.1 " + std::to_string(p.r.status) + " " + std::string(reason) + "\r\n";
  for (const auto& [name, value] : p.r.headers) h += name + ": " + value + "\r\n";
  h += "Content-Length: " + std::to_string(p.r.body.size()) + "\r\n";
  if (p.close) h += "Connection: close\r\n";
  h += "\r\n";
  return h;
}

// An interim (1xx) head: no body, no Content-Length; the answer follows.
std::string interim_head(unsigned status) {
  const auto reason = http::obsolete_reason(static_cast<http::status>(status));
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  if (status == 103) h += "Link: </v5/hints.css>; rel=preload; as=style\r\n";
  if (status == 101) h += "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  return h + "\r\n";
}

// The JSON value a body fault points at: a top-level field, or a field of
// job `job_index` of the page.
boost::json::object* fault_holder(boost::json::object& doc, const fault& f) {
  if (f.field == "total_num" || f.field == "last_update_time" || f.field == "job_info_list")
    return &doc;
  auto* list = doc.if_contains("job_info_list");
  if (!list || !list->is_array() || f.job_index >= list->as_array().size()) return nullptr;
  return list->as_array()[f.job_index].if_object();
}

void corrupt_type(boost::json::object& doc, const fault& f) {
  auto* holder = fault_holder(doc, f);
  if (!holder) return;
  auto* v = holder->if_contains(f.field);
  if (!v) {
    (*holder)[f.field] = "wrong-type";
  } else if (v->is_string()) {
    *v = 42;
  } else {
    *v = boost::json::serialize(*v);  // 6 -> "6", [..] -> "[..]"
  }
}

void drop_field(boost::json::object& doc, const fault& f) {
  if (auto* holder = fault_holder(doc, f)) holder->erase(f.field);
}

std::string make_temp_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/hss-fake-XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("fake_hss: mkdtemp failed");
  return pattern;
}

void write_file(const fs::path& path, const std::string& text, fs::perms perms) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("fake_hss: cannot write " + path.string());
  fs::permissions(path, perms);
}

}  // namespace

struct server::impl {
  explicit impl(options o);
  ~impl();

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> session(tcp::socket socket, std::size_t connection);
  asio::awaitable<void> churn_loop(std::uint64_t generation);
  template <class Stream>
  asio::awaitable<bool> send(Stream& stream, const plan& p);

  plan decide(const http::request<http::string_body>& req, std::size_t connection);
  plan api_plan(const request_record& rec, const request_hook& hook, std::vector<fault>& hit);
  plan iam_plan(const request_record& rec);
  std::chrono::system_clock::time_point wall_now() const;  // the fake's clock; mu_ held
  request_record record_of(const http::request<http::string_body>& req, std::size_t connection);
  std::optional<error_reply> authenticate(const request_record& rec);
  std::variant<page, error_reply> list_page(const request_record& rec);
  std::variant<boost::json::object, error_reply> answer(const request_record& rec);
  std::variant<std::string, error_reply> answer_prerendered(const request_record& rec);
  void apply_shift(const request_record& rec, const fault& f);
  void apply(const fault& f, std::optional<boost::json::object>& doc,
             std::optional<error_reply>& err, plan& p, bool& cut);
  std::string request_id(std::size_t index) const;
  void log(std::string_view line) const;
  void spawn(asio::awaitable<void> task);

  options opts_;
  std::string state_dir_;
  bool own_state_dir_ = false;
  std::uint16_t port_ = 0;
  std::uint64_t nonce_;

  // Everything below mu_ is guarded by it.
  mutable std::mutex mu_;
  inventory inventory_;
  fault_queue faults_;
  std::vector<request_record> log_;
  std::size_t log_base_ = 0;  // index of log_[0] (clear_requests keeps counting)
  std::size_t next_connection_ = 0;
  std::size_t next_shift_id_ = 0;
  request_hook hook_;
  auth_check auth_;
  std::string token_;
  bool any_auth_ = false;
  std::chrono::milliseconds latency_{0};
  std::optional<churner> churner_;
  std::chrono::milliseconds churn_interval_{0};
  std::uint64_t churn_generation_ = 0;
  gateway_auth gateway_;
  auth_mode mode_ = auth_mode::token;
  bool iam_down_ = false;
  std::size_t login_attempts_ = 0;
  std::chrono::seconds clock_offset_{0};
  // options::prerender: rendered bodies by query, each with the page it
  // was rendered from (holding the jobs keeps their addresses unique).
  struct rendered_page {
    page pg;
    std::string body;
  };
  std::unordered_map<std::string, rendered_page> rendered_;

  // Declared last so they go first: pending coroutines die with the
  // io_context while the state above is still alive.
  asio::io_context ioc_{1};
  ssl::context tls_{ssl::context::tls_server};
  tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
};

server::impl::impl(options o)
    : opts_(std::move(o)),
      nonce_(std::random_device{}() * 0x100000001ULL ^ std::random_device{}()),
      token_(opts_.token),
      any_auth_(opts_.accept_any_auth),
      latency_(opts_.latency),
      mode_(opts_.auth) {
  gateway_.config().token_lifetime = opts_.token_lifetime;
  own_state_dir_ = opts_.state_dir.empty();
  state_dir_ = own_state_dir_ ? make_temp_dir() : opts_.state_dir;
  fs::create_directories(state_dir_);
  const tls_material m = generate_tls_material();
  write_file(fs::path(state_dir_) / "ca.pem", m.ca_cert_pem,
             fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                 fs::perms::others_read);
  write_file(fs::path(state_dir_) / "server.pem", m.server_cert_pem,
             fs::perms::owner_read | fs::perms::owner_write);
  write_file(fs::path(state_dir_) / "server-key.pem", m.server_key_pem,
             fs::perms::owner_read | fs::perms::owner_write);

  tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ::SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION);
  tls_.use_certificate_chain(asio::buffer(m.server_cert_pem + m.ca_cert_pem));
  tls_.use_private_key(asio::buffer(m.server_key_pem), ssl::context::pem);

  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), opts_.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();  // read once: the acceptor is the server thread's
  spawn(accept_loop());
  thread_ = std::thread([this] { ioc_.run(); });
}

server::impl::~impl() {
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
  std::error_code ec;
  if (own_state_dir_) fs::remove_all(state_dir_, ec);
}

void server::impl::spawn(asio::awaitable<void> task) {
  // A bug in one connection must not take the whole test binary down; it
  // is reported and that connection ends.
  asio::co_spawn(ioc_, std::move(task), [this](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      log(std::string("fake-hss: task failed: ") + x.what());
    }
  });
}

void server::impl::log(std::string_view line) const {
  if (opts_.log) opts_.log(line);
}

std::string server::impl::request_id(std::size_t index) const {
  // splitmix64 is a bijection: ids are unique within a server, and the
  // per-server nonce makes them differ between servers.
  const std::uint64_t hi = splitmix64(nonce_ + index);
  const std::uint64_t lo = splitmix64(hi ^ nonce_);
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  return buf;
}

asio::awaitable<void> server::impl::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(tuple_awaitable);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {  // e.g. EMFILE: do not spin
      asio::steady_timer t(ioc_, 10ms);
      co_await t.async_wait(tuple_awaitable);
      continue;
    }
    std::size_t connection;
    {
      std::lock_guard lock(mu_);
      connection = next_connection_++;
    }
    spawn(session(std::move(socket), connection));
  }
}

asio::awaitable<void> server::impl::session(tcp::socket socket, std::size_t connection) {
  // A page leaves as several TLS records; with Nagle the last, short one
  // waited for the client's delayed ACK: ~40 ms per response on loopback.
  boost::system::error_code nodelay_ec;
  socket.set_option(tcp::no_delay(true), nodelay_ec);
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), tls_);
  beast::get_lowest_layer(stream).expires_after(10s);
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, tuple_awaitable);
  if (hec) co_return;
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(64 * 1024);  // IAM tokens are several KB
    parser.body_limit(1024 * 1024);
    beast::get_lowest_layer(stream).expires_after(opts_.idle_timeout);
    auto [rec, n] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
    if (rec) co_return;  // closed, idle, or not HTTP: nothing to answer
    beast::get_lowest_layer(stream).expires_never();
    const plan p = decide(parser.get(), connection);
    if (!co_await send(stream, p)) co_return;  // reset, truncated, stalled or broken
    if (p.close) break;
  }
  beast::get_lowest_layer(stream).expires_after(5s);
  co_await stream.async_shutdown(tuple_awaitable);
}

// Sends one answer as the plan says; false = the connection is finished.
template <class Stream>
asio::awaitable<bool> server::impl::send(Stream& stream, const plan& p) {
  asio::steady_timer timer(ioc_);
  auto& tcp_layer = beast::get_lowest_layer(stream);
  if (p.mode == transport::never) {
    timer.expires_after(forever);
    co_await timer.async_wait(tuple_awaitable);
    co_return false;
  }
  if (p.wait.count() > 0) {
    timer.expires_after(p.wait);
    co_await timer.async_wait(tuple_awaitable);
  }
  for (unsigned status : p.interim) {
    // Each head in its own write, as a server that is still working sends
    // them: the client must read on, not stop at the first complete message.
    const std::string head = interim_head(status);
    tcp_layer.expires_after(30s);
    auto [ec, written] = co_await asio::async_write(stream, asio::buffer(head), tuple_awaitable);
    if (ec) co_return false;
  }
  if (p.mode == transport::reset) {
    // SO_LINGER 0 turns close() into a TCP RST: "connection reset by peer".
    boost::system::error_code ec;
    tcp_layer.socket().set_option(asio::socket_base::linger(true, 0), ec);
    tcp_layer.socket().close(ec);
    co_return false;
  }
  const std::string wire = head_of(p) + p.r.body;
  tcp_layer.expires_after(30s);
  if (p.mode == transport::truncate) {
    // Headers promise the whole body; half of it comes, then the TCP
    // connection ends without a TLS close_notify, like a crashed backend.
    const std::size_t sent = wire.size() - p.r.body.size() + p.r.body.size() / 2;
    co_await asio::async_write(stream, asio::buffer(wire.data(), sent), tuple_awaitable);
    boost::system::error_code ec;
    tcp_layer.socket().close(ec);
    co_return false;
  }
  if (p.mode == transport::trickle) {
    for (std::size_t at = 0; at < wire.size(); at += p.chunk) {
      const std::size_t n = std::min(p.chunk, wire.size() - at);
      tcp_layer.expires_after(30s);
      auto [ec, written] =
          co_await asio::async_write(stream, asio::buffer(wire.data() + at, n), tuple_awaitable);
      if (ec) co_return false;
      if (at + n < wire.size()) {
        timer.expires_after(p.trickle_every);
        co_await timer.async_wait(tuple_awaitable);
      }
    }
    tcp_layer.expires_never();
    co_return true;
  }
  auto [ec, written] = co_await asio::async_write(stream, asio::buffer(wire), tuple_awaitable);
  tcp_layer.expires_never();
  co_return !ec;
}

request_record server::impl::record_of(const http::request<http::string_body>& req,
                                       std::size_t connection) {
  request_record rec;
  rec.connection = connection;
  rec.method = std::string(req.method_string());
  rec.target = std::string(req.target());
  parsed_target t = parse_target(rec.target);
  rec.path = std::move(t.path);
  rec.query = std::move(t.query);
  for (const auto& field : req) rec.headers.emplace(lower(field.name_string()), field.value());
  rec.body = req.body();
  if (rec.method == "GET")
    if (auto project = jobs_project(rec.path)) rec.project_id = std::move(*project);
  return rec;
}

std::chrono::system_clock::time_point server::impl::wall_now() const {
  return std::chrono::system_clock::now() + clock_offset_;
}

std::optional<error_reply> server::impl::authenticate(const request_record& rec) {
  auth_check check;
  {
    std::lock_guard lock(mu_);
    if (any_auth_) return std::nullopt;
    check = auth_;
  }
  if (check) return check(rec);
  const aksk::request signed_view{rec.method, rec.target, rec.headers, rec.body};
  std::lock_guard lock(mu_);
  return gateway_.check(mode_, token_, signed_view, rec.project_id, wall_now(),
                        std::chrono::steady_clock::now());
}

// The gateway's order: unknown API (404), then authentication (401), then
// the service's own parameter checks (400), then the page.
std::variant<page, error_reply> server::impl::list_page(const request_record& rec) {
  if (rec.project_id.empty()) return not_found();
  if (auto denied = authenticate(rec)) return std::move(*denied);
  auto parsed = parse_jobs_query(rec.project_id, rec.query);
  if (auto* e = std::get_if<error_reply>(&parsed)) return std::move(*e);
  std::lock_guard lock(mu_);
  return inventory_.list(std::get<page_query>(parsed));
}

std::variant<boost::json::object, error_reply> server::impl::answer(const request_record& rec) {
  auto listed = list_page(rec);
  if (auto* e = std::get_if<error_reply>(&listed)) return std::move(*e);
  return page_json(std::get<page>(listed));  // rendered unlocked: the page holds immutable jobs
}

namespace {

// Jobs are immutable and a change replaces the job object, so a page with
// the same total, last_update_time and job objects renders the same text.
bool same_page(const page& a, const page& b) {
  return a.total_num == b.total_num && a.last_update_time == b.last_update_time &&
         std::equal(a.jobs.begin(), a.jobs.end(), b.jobs.begin(), b.jobs.end(),
                    [](const job_ptr& x, const job_ptr& y) { return x.get() == y.get(); });
}

std::string query_key(const request_record& rec) {
  std::string key = rec.project_id;
  for (const auto& [k, v] : rec.query) key += '\n' + k + '=' + v;
  return key;
}

}  // namespace

// options::prerender: the same answer as answer(), rendered at most once
// per distinct page.
std::variant<std::string, error_reply> server::impl::answer_prerendered(const request_record& rec) {
  auto listed = list_page(rec);
  if (auto* e = std::get_if<error_reply>(&listed)) return std::move(*e);
  page& pg = std::get<page>(listed);
  const std::string key = query_key(rec);
  {
    std::lock_guard lock(mu_);
    if (auto it = rendered_.find(key); it != rendered_.end() && same_page(it->second.pg, pg))
      return it->second.body;
  }
  std::string body = boost::json::serialize(page_json(pg));
  std::lock_guard lock(mu_);
  rendered_.insert_or_assign(key, rendered_page{std::move(pg), body});
  return body;
}

// Called with mu_ held.
void server::impl::apply_shift(const request_record& rec, const fault& f) {
  if (rec.project_id.empty()) return;
  auto it = rec.query.find("enterprise_project_id");
  const std::string listed =
      it == rec.query.end() || it->second.empty() ? std::string(default_eps) : it->second;
  const std::string home = listed == all_granted_eps ? std::string(default_eps) : listed;
  for (std::int64_t i = 0; i < f.shift_by; ++i) {
    // The new job must land exactly at shift_at: take the create_time of
    // the job there (ties put the newer insertion first) or, at the front,
    // one newer than the newest.
    const std::size_t n = inventory_.count(rec.project_id, listed);
    job j;
    j.project_id = rec.project_id;
    j.eps = home;
    j.name = "shifted-" + std::to_string(next_shift_id_++);
    job_ptr here = inventory_.at(rec.project_id, listed, std::min(f.shift_at, n ? n - 1 : 0));
    j.cluster = here ? here->cluster : "cluster-01";
    j.ns = here ? here->ns : "default";
    if (f.shift_at == 0 || !here) {
      j.create_time = std::max(system_now_ms(), here ? here->create_time + 1 : 0);
    } else if (f.shift_at >= n) {
      j.create_time = std::max<std::int64_t>(here->create_time - 1, 1);
    } else {
      j.create_time = here->create_time;
    }
    inventory_.upsert(std::move(j));
  }
  for (std::int64_t i = 0; i > f.shift_by; --i) {
    const std::size_t n = inventory_.count(rec.project_id, listed);
    if (n == 0) break;
    job_ptr gone = inventory_.at(rec.project_id, listed, std::min(f.shift_at, n - 1));
    inventory_.erase(gone->project_id, gone->eps, gone->cluster, gone->ns, gone->name);
  }
}

// Folds one fault into the answer being built: `doc` is the page (absent
// once an error replaced it), `err` the error to send instead.
void server::impl::apply(const fault& f, std::optional<boost::json::object>& doc,
                         std::optional<error_reply>& err, plan& p, bool& cut) {
  switch (f.kind) {
    case fault_kind::http_error:
      err = error_reply{f.status, f.error_code, f.error_msg, {}};
      if (f.retry_after)
        err->headers.emplace_back("Retry-After", std::to_string(f.retry_after->count()));
      doc.reset();
      break;
    case fault_kind::error_body_200:
      err = error_reply{200, f.error_code, f.error_msg, {}};
      doc.reset();
      break;
    case fault_kind::stall:
      if (f.delay.count() == 0) p.mode = transport::never;
      p.wait += f.delay;
      break;
    case fault_kind::reset:
      p.mode = transport::reset;
      break;
    case fault_kind::truncate:
      p.mode = transport::truncate;
      break;
    case fault_kind::trickle:
      p.mode = transport::trickle;
      p.trickle_every = f.delay;
      p.chunk = f.chunk;
      break;
    case fault_kind::malformed_json:
      cut = true;
      break;
    case fault_kind::wrong_type:
      if (doc) corrupt_type(*doc, f);
      break;
    case fault_kind::missing_field:
      if (doc) drop_field(*doc, f);
      break;
    case fault_kind::wrong_total:
      if (doc)
        if (auto* t = doc->if_contains("total_num"); t && t->is_int64())
          *t = t->as_int64() + f.total_delta;
      break;
    case fault_kind::shift:
      break;  // applied before the page was computed
    case fault_kind::interim:
      p.interim.insert(p.interim.end(), f.interim_statuses.begin(), f.interim_statuses.end());
      break;
    case fault_kind::request_id:
      break;  // the header is set where it is added (decide)
  }
}

static bool is_iam_login(const request_record& rec) {
  return rec.method == "POST" && rec.path == "/v3/auth/tokens";
}

// IAM (HUAWEI-API.md §3): 201 + X-Subject-Token, or IAM's error body.
plan server::impl::iam_plan(const request_record& rec) {
  plan p;
  std::lock_guard lock(mu_);
  ++login_attempts_;
  if (iam_down_) {
    p.r = {503,
           {},
           render_error({503, "APIGW.0613", "IAM service is unavailable", {}}, rec.request_id)};
    return p;
  }
  auto it = rec.query.find("nocatalog");
  const bool catalog = it == rec.query.end() || it->second.empty();
  iam_reply r = gateway_.login(rec.body, catalog, wall_now());
  p.r = {r.status, {}, std::move(r.body)};
  if (!r.subject_token.empty())
    p.r.headers.emplace_back("X-Subject-Token", std::move(r.subject_token));
  return p;
}

// The jobs API (and any other path): hook, faults, auth, page.
plan server::impl::api_plan(const request_record& rec, const request_hook& hook,
                            std::vector<fault>& hit) {
  const bool jobs_request = !rec.project_id.empty();
  if (jobs_request && hook) hook(rec);

  plan p;
  {
    std::lock_guard lock(mu_);
    hit = faults_.take(
        {rec.index, rec.project_id, jobs_request ? query_offset(rec.query) : std::nullopt});
    for (const auto& f : hit)
      if (f.kind == fault_kind::shift) apply_shift(rec, f);
    p.wait = latency_;
  }

  std::optional<boost::json::object> doc;
  std::optional<error_reply> err;
  std::optional<std::string> rendered;  // options::prerender, no fault
  if (opts_.prerender && hit.empty()) {
    auto outcome = answer_prerendered(rec);
    if (auto* e = std::get_if<error_reply>(&outcome)) {
      err = std::move(*e);
    } else {
      rendered = std::move(std::get<std::string>(outcome));
    }
  } else {
    auto outcome = answer(rec);
    if (auto* e = std::get_if<error_reply>(&outcome)) {
      err = std::move(*e);
    } else {
      doc = std::move(std::get<boost::json::object>(outcome));
    }
  }
  bool cut = false;
  for (const auto& f : hit) apply(f, doc, err, p, cut);
  p.r = err        ? reply{err->status, err->headers, render_error(*err, rec.request_id)}
        : rendered ? reply{200, {}, std::move(*rendered)}
                   : reply{200, {}, boost::json::serialize(*doc)};
  if (cut) p.r.body.resize(p.r.body.size() / 2);
  return p;
}

plan server::impl::decide(const http::request<http::string_body>& req, std::size_t connection) {
  request_record rec = record_of(req, connection);
  request_hook hook;
  {
    std::lock_guard lock(mu_);
    rec.index = log_base_ + log_.size();
    rec.request_id = request_id(rec.index);
    if (opts_.request_log_limit && log_.size() >= opts_.request_log_limit) {
      const std::size_t drop = std::max<std::size_t>(log_.size() / 2, 1);
      log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(drop));
      log_base_ += drop;
    }
    log_.push_back(rec);
    hook = hook_;
  }

  std::vector<fault> hit;
  plan p = is_iam_login(rec) ? iam_plan(rec) : api_plan(rec, hook, hit);
  p.r.headers.emplace_back("Content-Type", "application/json;charset=UTF-8");
  std::string sent_id = rec.request_id;
  for (const auto& f : hit)
    if (f.kind == fault_kind::request_id) sent_id = f.header_text;
  p.r.headers.emplace_back("X-Request-Id", sent_id);
  {
    // What clients compare their clocks with (the probe's skew warning).
    std::lock_guard lock(mu_);
    p.r.headers.emplace_back("Date", http_date(wall_now()));
  }
  p.close = !req.keep_alive();

  const bool answered = p.mode != transport::never && p.mode != transport::reset;
  std::string faults_text;
  {
    std::lock_guard lock(mu_);
    if (rec.index >= log_base_ && rec.index - log_base_ < log_.size()) {
      auto& logged = log_[rec.index - log_base_];
      logged.status = answered ? p.r.status : 0;
      logged.request_id = sent_id;
      for (const auto& f : hit) logged.faults.push_back(f.kind);
    }
  }
  for (const auto& f : hit)
    faults_text +=
        std::string(faults_text.empty() ? " faults=" : ",") + std::string(to_string(f.kind));
  log("#" + std::to_string(rec.index) + " conn=" + std::to_string(connection) + " " + rec.method +
      " " + rec.target + " -> " + (answered ? std::to_string(p.r.status) : "no answer") +
      " id=" + rec.request_id + faults_text);
  return p;
}

asio::awaitable<void> server::impl::churn_loop(std::uint64_t generation) {
  asio::steady_timer timer(ioc_);
  for (;;) {
    std::chrono::milliseconds interval;
    {
      std::lock_guard lock(mu_);
      if (generation != churn_generation_) co_return;
      interval = churn_interval_;
    }
    timer.expires_after(interval);
    co_await timer.async_wait(tuple_awaitable);
    std::vector<churn_change> changes;
    {
      std::lock_guard lock(mu_);
      if (generation != churn_generation_ || !churner_) co_return;
      changes = churner_->step(inventory_);
    }
    for (const auto& c : changes) {
      const job& j = c.what == churn_change::kind::removed ? c.before : c.after;
      log("churn " + std::string(to_string(c.what)) + " " + j.project_id + "/" + j.eps + " " +
          j.cluster + "/" + j.ns + "/" + j.name + " status=" + j.status +
          " pods=" + std::to_string(j.pods_num));
    }
  }
}

// ---------------------------------------------------------------- server

server::server(options o) : impl_(std::make_unique<impl>(std::move(o))) {}
server::server() : server(options{}) {}
server::~server() = default;

std::uint16_t server::port() const { return impl_->port_; }
std::string server::ca_file() const { return (fs::path(impl_->state_dir_) / "ca.pem").string(); }
std::string server::state_dir() const { return impl_->state_dir_; }
std::string server::endpoint() const { return "https://localhost:" + std::to_string(port()); }

bool server::upsert(job j) {
  std::lock_guard lock(impl_->mu_);
  return impl_->inventory_.upsert(std::move(j));
}

void server::upsert_many(std::vector<job> jobs) {
  std::lock_guard lock(impl_->mu_);
  impl_->inventory_.upsert_many(std::move(jobs));
}

bool server::erase(std::string_view project_id, std::string_view eps, std::string_view cluster,
                   std::string_view ns, std::string_view name) {
  std::lock_guard lock(impl_->mu_);
  return impl_->inventory_.erase(project_id, eps, cluster, ns, name);
}

void server::clear() {
  std::lock_guard lock(impl_->mu_);
  impl_->inventory_.clear();
}

std::vector<job> server::jobs(std::string_view project_id, std::string_view eps) const {
  std::lock_guard lock(impl_->mu_);
  return impl_->inventory_.jobs(project_id, eps);
}

std::size_t server::size() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->inventory_.size();
}

std::int64_t server::last_update_time(std::string_view project_id, std::string_view eps) const {
  std::lock_guard lock(impl_->mu_);
  return impl_->inventory_.last_update_time(project_id, eps);
}

void server::populate(const std::string& project_id, const std::string& eps, std::size_t n,
                      std::uint64_t seed) {
  auto jobs = synthetic_jobs(project_id, eps, n, seed);  // generated unlocked
  upsert_many(std::move(jobs));
}

void server::on_request(request_hook hook) {
  std::lock_guard lock(impl_->mu_);
  impl_->hook_ = std::move(hook);
}

void server::inject(fault f) {
  std::lock_guard lock(impl_->mu_);
  impl_->faults_.push(std::move(f));
}

void server::clear_faults() {
  std::lock_guard lock(impl_->mu_);
  impl_->faults_.clear();
}

std::size_t server::pending_faults() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->faults_.size();
}

std::vector<request_record> server::requests() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->log_;
}

void server::clear_requests() {
  std::lock_guard lock(impl_->mu_);
  impl_->log_base_ += impl_->log_.size();
  impl_->log_.clear();
}

void server::rotate_ca() {
  const tls_material m = generate_tls_material();
  // On the server thread: handshakes read the context there.
  std::promise<void> done;
  asio::post(impl_->ioc_, [&] {
    impl_->tls_.use_certificate_chain(asio::buffer(m.server_cert_pem + m.ca_cert_pem));
    impl_->tls_.use_private_key(asio::buffer(m.server_key_pem), ssl::context::pem);
    done.set_value();
  });
  done.get_future().wait();
  write_file(fs::path(impl_->state_dir_) / "ca.pem", m.ca_cert_pem,
             fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                 fs::perms::others_read);
}

void server::set_token(std::string token) {
  std::lock_guard lock(impl_->mu_);
  impl_->token_ = std::move(token);
}

void server::set_auth_check(auth_check check) {
  std::lock_guard lock(impl_->mu_);
  impl_->auth_ = std::move(check);
}

void server::set_accept_any_auth(bool any) {
  std::lock_guard lock(impl_->mu_);
  impl_->any_auth_ = any;
}

void server::set_auth_mode(auth_mode mode) {
  std::lock_guard lock(impl_->mu_);
  impl_->mode_ = mode;
}

void server::add_iam_user(std::string domain, std::string user, std::string password) {
  std::lock_guard lock(impl_->mu_);
  impl_->gateway_.add_iam_user(std::move(domain), std::move(user), std::move(password));
}

void server::set_token_lifetime(std::chrono::seconds lifetime) {
  std::lock_guard lock(impl_->mu_);
  impl_->gateway_.config().token_lifetime = lifetime;
}

void server::expire_tokens() {
  std::lock_guard lock(impl_->mu_);
  impl_->gateway_.expire_tokens(impl_->wall_now());
}

void server::set_iam_down(bool down) {
  std::lock_guard lock(impl_->mu_);
  impl_->iam_down_ = down;
}

std::vector<issued_token> server::issued_tokens() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->gateway_.issued();
}

std::size_t server::login_attempts() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->login_attempts_;
}

void server::add_access_key(std::string ak, std::string sk) {
  std::lock_guard lock(impl_->mu_);
  impl_->gateway_.add_access_key(std::move(ak), std::move(sk));
}

void server::set_aksk_lockout(unsigned after, std::chrono::seconds lock_for) {
  std::lock_guard lock(impl_->mu_);
  impl_->gateway_.config().lock_after = std::max(after, 1u);
  impl_->gateway_.config().lock_for = lock_for;
}

std::size_t server::signature_failures(const std::string& ak) const {
  std::lock_guard lock(impl_->mu_);
  return impl_->gateway_.signature_failures(ak);
}

bool server::access_key_locked(const std::string& ak) const {
  std::lock_guard lock(impl_->mu_);
  return impl_->gateway_.locked(ak, std::chrono::steady_clock::now());
}

void server::set_clock_offset(std::chrono::seconds offset) {
  std::lock_guard lock(impl_->mu_);
  impl_->clock_offset_ = offset;
}

std::chrono::system_clock::time_point server::now() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->wall_now();
}

void server::set_latency(std::chrono::milliseconds latency) {
  std::lock_guard lock(impl_->mu_);
  impl_->latency_ = latency;
}

void server::start_churn(churn_options o) {
  std::uint64_t generation;
  {
    std::lock_guard lock(impl_->mu_);
    impl_->churner_.emplace(o);
    impl_->churn_interval_ = std::max(o.interval, std::chrono::milliseconds(1));
    generation = ++impl_->churn_generation_;
  }
  impl_->spawn(impl_->churn_loop(generation));
}

void server::stop_churn() {
  std::lock_guard lock(impl_->mu_);
  ++impl_->churn_generation_;  // the loop sees it at its next tick and ends
  impl_->churner_.reset();
}

std::vector<churn_change> server::churn_step(churn_options o) {
  std::lock_guard lock(impl_->mu_);
  if (!impl_->churner_) impl_->churner_.emplace(o);
  return impl_->churner_->step(impl_->inventory_);
}

}  // namespace fake_hss
