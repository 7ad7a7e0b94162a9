// The service: systemd protocol, SIGHUP, metrics and health wiring.
#include "runtime/service.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/utc.hpp"
#include "metrics/http_server.hpp"
#include "runtime/systemd.hpp"

namespace hssjw {

namespace asio = boost::asio;

std::vector<std::string> unhealthy_scopes(const service_facts& f, std::int64_t now_ms) {
  std::vector<std::string> out;
  const std::int64_t limit = 3 * f.interval.count();
  for (const auto& s : f.scopes) {
    const std::int64_t since = s.last_complete_ms ? s.last_complete_ms : s.watched_since_ms;
    if (now_ms - since <= limit) continue;
    std::string why = s.last_complete_ms
                          ? "no complete walk for " + std::to_string((now_ms - since) / 1000) + "s"
                          : "no complete walk yet";
    if (!s.last_error.empty()) why += ": " + s.last_error;
    out.push_back(s.scope.str() + " (" + why + ")");
  }
  return out;
}

namespace {

std::int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

}  // namespace

struct service::impl {
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<metrics::http_server> http;
  std::function<service_facts()> facts;
  std::function<void()> reload;
  std::unique_ptr<asio::signal_set> hup;
  asio::cancellation_signal watchdog_cancel, stall_cancel;
  std::optional<std::chrono::seconds> stall_on_sigusr2;  // TEST ONLY

  metrics::http_reply handle(metrics::daemon_metrics& m, std::string_view path);
  metrics::http_reply health();
  void collect(metrics::registry& r);
  asio::awaitable<void> async_wait_hup();
};

metrics::http_reply service::impl::handle(metrics::daemon_metrics& m, std::string_view path) {
  if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", m.render()};
  if (path == "/healthz") return health();
  if (path == "/") return {200, "text/plain; charset=utf-8", "hss-jobwatch: /metrics /healthz\n"};
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

metrics::http_reply service::impl::health() {
  if (!facts) return {503, "text/plain; charset=utf-8", "starting\n"};
  auto bad = unhealthy_scopes(facts(), unix_now_ms());
  if (bad.empty()) return {200, "text/plain; charset=utf-8", "ok\n"};
  std::string body =
      "unhealthy: " + std::to_string(bad.size()) + " scope(s) without a recent complete walk\n";
  for (auto& b : bad) body += b + "\n";
  return {503, "text/plain; charset=utf-8", body};
}

// Gauges that mirror live state are rebuilt at each scrape, so that a
// scope removed by a reload disappears from them.
void service::impl::collect(metrics::registry& r) {
  if (!facts) return;
  auto f = facts();
  for (auto* name : {metrics::jobs, metrics::last_complete, metrics::scope_failing}) r.clear(name);
  for (const auto& s : f.scopes) {
    metrics::labels l{{"scope", s.scope.str()}};
    r.set(metrics::jobs, l, static_cast<double>(s.jobs));
    r.set(metrics::last_complete, l, s.last_complete_ms / 1000.0);
    r.set(metrics::scope_failing, l, s.failing ? 1 : 0);
  }
  r.set(metrics::subscribers, {}, static_cast<double>(f.subscribers));
  r.set(metrics::last_seq, {}, static_cast<double>(f.last_seq));
  r.set(metrics::journal_events, {},
        f.last_seq >= f.oldest_seq ? static_cast<double>(f.last_seq - f.oldest_seq + 1) : 0);
  if (!f.state_dir.empty()) {
    const auto db = f.state_dir + "/state.db";
    r.set(metrics::state_bytes, {}, static_cast<double>(file_size(db) + file_size(db + "-wal")));
  }
}

asio::awaitable<void> service::impl::async_wait_hup() {
  for (;;) {
    auto [ec, signo] = co_await hup->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    log->info("signal {}: reloading the config", signo);
    reload();
  }
}

service::service(std::shared_ptr<spdlog::logger> log,
                 std::optional<std::chrono::seconds> stall_on_sigusr2)
    : impl_(std::make_unique<impl>()), metrics_(std::make_unique<metrics::daemon_metrics>()) {
  impl_->log = std::move(log);
  impl_->stall_on_sigusr2 = stall_on_sigusr2;
  metrics_->reg().on_collect([i = impl_.get()](metrics::registry& r) { i->collect(r); });
}

service::~service() = default;

result<void> service::open_metrics(asio::io_context& ioc, const std::string& listen) {
  if (listen.empty()) return {};
  auto opened = metrics::http_server::open(
      ioc, listen, [this](std::string_view path) { return impl_->handle(*metrics_, path); },
      impl_->log);
  if (!opened) return opened.error();
  impl_->http = std::move(*opened);
  impl_->http->start();
  impl_->log->info("metrics: serving /metrics and /healthz on {} (port {})", listen,
                   impl_->http->port());
  return {};
}

std::uint16_t service::metrics_port() const { return impl_->http ? impl_->http->port() : 0; }

void service::start(asio::io_context& ioc, std::function<service_facts()> facts,
                    std::function<void()> reload) {
  impl_->facts = std::move(facts);
  impl_->reload = std::move(reload);
  impl_->hup = std::make_unique<asio::signal_set>(ioc, SIGHUP);
  asio::co_spawn(ioc, impl_->async_wait_hup(), asio::detached);
  if (auto wd = sd::watchdog_interval()) {
    impl_->log->debug("systemd watchdog: pinging every {} ms", wd->count() / 2000);
    asio::co_spawn(ioc, sd::async_watchdog(*wd),
                   asio::bind_cancellation_slot(impl_->watchdog_cancel.slot(), asio::detached));
  }
  if (impl_->stall_on_sigusr2)
    asio::co_spawn(ioc, sd::async_stall_on_sigusr2(impl_->log, *impl_->stall_on_sigusr2),
                   asio::bind_cancellation_slot(impl_->stall_cancel.slot(), asio::detached));
  sd::notify_ready();
  update_status();
}

void service::update_status() {
  if (!impl_->facts) return;
  auto f = impl_->facts();
  std::vector<sd::scope_brief> briefs;
  std::int64_t last = 0;
  for (const auto& s : f.scopes) {
    briefs.push_back({s.scope.str(), s.failing, s.jobs});
    last = std::max(last, s.last_complete_ms);
  }
  auto line = sd::status_line(briefs, last);
  // A rejected reload stays visible until a good one: `systemctl reload`
  // itself cannot fail it (the unit's ExecReload only sends SIGHUP).
  if (!f.config_error.empty())
    line += "; reload rejected, running the previous config: " + f.config_error;
  sd::notify_status(line);
}

void service::reloading() { sd::notify_reloading(); }

void service::reloaded(bool ok) {
  metrics_->on_reload(ok);
  sd::notify_ready();
  update_status();
}

void service::stopping() {
  sd::notify_stopping();
  sd::notify_status("stopping");
  if (impl_->http) impl_->http->stop();
  if (impl_->hup) impl_->hup->cancel();
  impl_->watchdog_cancel.emit(asio::cancellation_type::terminal);
  impl_->stall_cancel.emit(asio::cancellation_type::terminal);
}

}  // namespace hssjw
