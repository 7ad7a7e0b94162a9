// The daemon's wiring: opens the state, the socket and the service, builds
// the parts (walk_runner, scope_scheduler, reloader) and runs the loop on
// one io_context thread. The parts decide; this file only connects them
// and owns them, in an order that outlives every coroutine frame.
#include "runtime/daemon.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>

#include "core/version.hpp"
#include "runtime/pacing.hpp"
#include "runtime/reloader.hpp"
#include "runtime/scope_list.hpp"
#include "runtime/scope_scheduler.hpp"
#include "runtime/service.hpp"
#include "runtime/stored_state.hpp"
#include "runtime/upstream.hpp"
#include "runtime/walk_runner.hpp"
#include "sinks/log_sink.hpp"
#include "sinks/ndjson_sink.hpp"
#include "sinks/socket_server.hpp"
#include "state/sqlite_store.hpp"
#include "state/store.hpp"
#include "walk/request_gate.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace hssjw {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// A walk of a large scope allocates and frees tens of MB (pages, the
// planner's listing identities, new jobs, events); glibc keeps freed heap
// memory mapped, so a daemon's RSS would sit at its largest walk's peak.
// Giving it back after each walk keeps the RSS at what is held (the
// snapshots) for the ops host's sake; it costs a few ms per walk.
void release_walk_memory() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

// The daemon's io_context, able to destroy what is still queued or
// suspended on it (handlers, and the coroutine frames they own) before
// the daemon's other members go: those frames refer to the scopes, the
// gate, the store, the socket server. Without it, they would be destroyed
// only with the io_context itself, after everything they refer to.
class loop_context : public asio::io_context {
 public:
  using asio::io_context::io_context;
  // Shuts the services down, which destroys every pending operation
  // without running it. I/O objects destroyed afterwards are fine: the
  // services are destroyed only with the io_context.
  void destroy_pending() { shutdown(); }
};

class daemon_runtime final : public socket_source {
 public:
  daemon_runtime(const config::config& cfg, const run_options& opts,
                 std::shared_ptr<spdlog::logger> log, event_sink* extra)
      : cfg_(cfg),
        opts_(opts),
        log_(std::move(log)),
        log_sink_(log_),
        stdout_sink_(stdout),
        extra_sink_(extra),
        service_{log_, opts_.test.stall_on_sigusr2} {}

  // Every frame still suspended (a stop that hit the stop guard, a walk
  // stuck upstream, a background TLS close) is destroyed here, while the
  // scopes, gate, store, walkers and sinks it refers to are still alive.
  ~daemon_runtime() override { ioc_.destroy_pending(); }
  daemon_runtime(const daemon_runtime&) = delete;
  daemon_runtime& operator=(const daemon_runtime&) = delete;

  int run();

  // socket_source: what the events socket reads from the daemon.
  proto::scope_reports report() const override;

 private:
  result<void> open_state();
  void build_parts();
  result<void> open_socket();
  asio::awaitable<void> async_wait_signals();
  asio::awaitable<void> async_prune_journal();
  void stop_all();
  void ended();
  service_facts facts() const;

  config::config cfg_;  // the running config: a reload replaces it
  run_options opts_;
  std::shared_ptr<spdlog::logger> log_;
  log_sink log_sink_;
  ndjson_sink stdout_sink_;
  event_sink* extra_sink_;

  // Declaration order is destruction order reversed: every part below
  // ioc_ goes before it, and ~daemon_runtime has destroyed the frames
  // that refer to them first.
  loop_context ioc_{1};
  service service_;  // systemd, SIGHUP, metrics: after ioc_, before the sinks use it
  std::unique_ptr<socket_server> socket_;  // destroyed before ioc_
  std::unique_ptr<state_store> store_;
  sqlite_store* sqlite_ = nullptr;  // store_ when persistent: journal retention
  std::unique_ptr<request_gate> gate_;
  // Holds the current upstream; walks in flight may hold older ones.
  std::unique_ptr<walk_runner> walks_;
  std::unique_ptr<scope_scheduler> scheduler_;
  std::unique_ptr<reloader> reloader_;
  asio::signal_set signals_{ioc_, SIGINT, SIGTERM};
  asio::cancellation_signal housekeeping_;
};

result<void> daemon_runtime::open_state() {
  if (!opts_.persistent) {
    store_ = make_memory_store();
    return {};
  }
  sqlite_options so;
  so.max_events = cfg_.journal.max_events;
  so.max_age = cfg_.journal.max_age;
  so.test_commit_delay = opts_.test.commit_delay;
  so.test_after_commit_delay = opts_.test.after_commit_delay;
  auto opened = open_sqlite_store(cfg_.state_dir, so);
  if (!opened) return opened.error();
  sqlite_ = opened->get();
  store_ = std::move(*opened);
  return {};
}

// The parts, once the store is open. The sinks hear events in this order:
// the log (stdout with --once), the extra sink, the metrics, the socket.
void daemon_runtime::build_parts() {
  gate_ =
      std::make_unique<request_gate>(ioc_.get_executor(), cfg_.poll.rate, cfg_.poll.max_in_flight);
  walks_ = std::make_unique<walk_runner>(cfg_, log_, *store_, service_.metrics(), [this] {
    scheduler_->check_budget(gate_->budget(), false);
  });
  walks_->add_sink(opts_.once ? static_cast<event_sink*>(&stdout_sink_) : &log_sink_);
  if (extra_sink_) walks_->add_sink(extra_sink_);
  walks_->add_sink(&service_.metrics());
  scope_scheduler::hooks hooks{[this](scope_runtime& s) { return walks_->async_walk(s); },
                               [this] {
                                 release_walk_memory();
                                 service_.update_status();
                               },
                               [this] { ended(); }};
  scheduler_ = std::make_unique<scope_scheduler>(ioc_, cfg_, log_, opts_.once, std::move(hooks));
  reloader_ = std::make_unique<reloader>(reloader::parts{
      cfg_, log_, service_, *store_, *gate_, *walks_, *scheduler_, [this](const config::config& c) {
        return make_upstream(c, ioc_.get_executor(), *gate_, &service_.metrics(), log_);
      }});
}

result<void> daemon_runtime::open_socket() {
  socket_server_options so{
      cfg_.socket, std::string("hss-jobwatch/") + version,
      [this](std::string_view reason) { service_.metrics().on_subscriber_dropped(reason); }};
  auto opened = socket_server::open(ioc_, std::move(so), *store_, *this, log_);
  if (!opened) return opened.error();
  socket_ = std::move(*opened);
  walks_->add_sink(socket_.get());
  socket_->start();
  return {};
}

// Age-based journal retention also has to happen while nothing changes;
// each step is bounded, so a large backlog never blocks the loop for long.
asio::awaitable<void> daemon_runtime::async_prune_journal() {
  asio::steady_timer timer(ioc_);
  for (;;) {
    timer.expires_after(60s);
    co_await timer.async_wait(asio::use_awaitable);
    for (int step = 0; step < 100; ++step) {
      auto pruned = sqlite_->prune_journal_step();
      if (!pruned) {
        log_->warn("state: journal pruning failed: {}", pruned.error().message());
        break;
      }
      if (*pruned == 0) break;
      timer.expires_after(10ms);  // let other work run between batches
      co_await timer.async_wait(asio::use_awaitable);
    }
  }
}

asio::awaitable<void> daemon_runtime::async_wait_signals() {
  auto [ec, signo] = co_await signals_.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec) co_return;  // cancelled: every scope finished (--once)
  log_->info("signal {}: stopping", signo);
  stop_all();
}

void daemon_runtime::stop_all() {
  service_.stopping();
  if (socket_) socket_->shutdown();  // clients hear shutting_down now, before the loop stops
  housekeeping_.emit(asio::cancellation_type::terminal);
  scheduler_->stop(opts_.test.stop_guard, opts_.test.stop_ignored);
}

// --once done, or a stop: the last scope's coroutine has ended.
void daemon_runtime::ended() {
  signals_.cancel();
  housekeeping_.emit(asio::cancellation_type::terminal);
  ioc_.stop();
}

proto::scope_reports daemon_runtime::report() const {
  proto::scope_reports out;
  for (const auto& s : scheduler_->scopes())
    out.push_back({s->target.scope, s->last_attempt_ms, s->last_complete_ms, s->state.jobs.size(),
                   s->failing, s->last_error});
  out.config_error = reloader_->config_error();
  return out;
}

service_facts daemon_runtime::facts() const {
  service_facts f;
  for (const auto& s : scheduler_->scopes())
    f.scopes.push_back({s->target.scope, s->failing, s->state.jobs.size(), s->last_complete_ms,
                        s->watched_since_ms, s->last_error});
  f.interval = scheduler_->effective_interval();
  f.last_seq = store_->last_seq();
  f.oldest_seq = store_->oldest_seq();
  f.subscribers = socket_ ? socket_->subscribers() : 0;
  if (sqlite_) f.state_dir = cfg_.state_dir;
  f.config_error = reloader_->config_error();
  return f;
}

int daemon_runtime::run() {
  // A damaged, foreign or newer state.db needs an operator (SPEC §8): 78,
  // so that systemd does not restart into it forever. I/O trouble and a
  // lock held elsewhere may pass: 1, restarted.
  if (auto opened = open_state(); !opened) {
    log_->critical("state: {}", opened.error().message());
    return opened.error() == errc::state_corrupt ? 78 : 1;
  }
  refresh_stored_fingerprints(*store_, cfg_, *log_);
  auto stored = store_->load_all();
  if (!stored) {
    log_->critical("state: cannot load: {}", stored.error().message());
    return 1;
  }
  build_parts();
  scheduler_->add(load_scopes(cfg_, std::move(*stored), *log_));
  // A secret file the config names that cannot be used is a config error:
  // exit 78 so that systemd does not restart into the same failure.
  auto up = make_upstream(cfg_, ioc_.get_executor(), *gate_, &service_.metrics(), log_);
  if (!up) {
    log_->critical("auth: {}", up.error().message());
    return 78;
  }
  walks_->use(std::move(*up));
  if (!opts_.once) {
    if (auto opened = open_socket(); !opened) {
      log_->critical("socket: {}", opened.error().message());
      return 1;
    }
  }
  log_->info("watching {} scope(s) at {} every {}s (budget: {})", scheduler_->scopes().size(),
             cfg_.endpoint, cfg_.poll.interval.count() / 1000.0, describe_rate(cfg_.poll.rate));
  scheduler_->check_budget(gate_->budget(), true);
  asio::co_spawn(ioc_, async_wait_signals(), asio::detached);
  if (sqlite_ && !opts_.once)
    asio::co_spawn(ioc_, async_prune_journal(),
                   asio::bind_cancellation_slot(housekeeping_.slot(), asio::detached));
  scheduler_->start_all();
  if (!opts_.once) {
    if (auto opened = service_.open_metrics(ioc_, cfg_.metrics.listen); !opened) {
      log_->critical("metrics: {}", opened.error().message());
      return 1;
    }
    // READY=1 only now: config valid, state loaded, socket listening.
    service_.start(
        ioc_, [this] { return facts(); }, [this] { reloader_->reload(); });
  }
  ioc_.run();
  if (scheduler_->stopping()) {
    log_->info("stopped");
    return 0;
  }
  return scheduler_->all_completed() ? 0 : 1;
}

}  // namespace

int run_daemon(const config::config& cfg, const run_options& opts,
               std::shared_ptr<spdlog::logger> log, event_sink* extra_sink) {
  daemon_runtime rt(cfg, opts, std::move(log), extra_sink);
  return rt.run();
}

int prune_state(const config::config& cfg, std::shared_ptr<spdlog::logger> log) {
  auto opened = open_sqlite_store(cfg.state_dir, {});
  if (!opened) {
    log->critical("state: {}", opened.error().message());
    return opened.error() == errc::state_corrupt ? 78 : 1;
  }
  std::vector<scope_id> keep;
  for (auto& t : scope_targets(cfg)) keep.push_back(t.scope);
  auto pruned = (*opened)->prune(keep);
  if (!pruned) {
    log->critical("state: prune failed: {}", pruned.error().message());
    return 1;
  }
  for (auto& s : *pruned) std::printf("pruned %s\n", s.str().c_str());
  std::printf("%zu scope(s) pruned\n", pruned->size());
  return 0;
}

}  // namespace hssjw
