// The daemon's wiring and its scheduler: one coroutine per scope on one
// io_context thread; each walks, diffs, commits and publishes, then sleeps
// for poll.interval (with jitter) counted from the start of its walk.
#include "runtime/daemon.hpp"

#include "auth/factory.hpp"
#include "config/loader.hpp"
#include "core/version.hpp"
#include "hss/client.hpp"
#include "hss/page_decoder.hpp"
#include "runtime/client_setup.hpp"
#include "runtime/reload_plan.hpp"
#include "logging/log_fields.hpp"
#include "walk/request_gate.hpp"
#include "runtime/scope_list.hpp"
#include "runtime/service.hpp"
#include "sinks/log_sink.hpp"
#include "sinks/ndjson_sink.hpp"
#include "sinks/socket_server.hpp"
#include "state/sqlite_store.hpp"
#include "state/store.hpp"
#include "walk/differ.hpp"
#include "walk/walker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace hssjw {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

std::string describe_rate(const config::rate& r) {
  if (r.unlimited()) return "unlimited";
  if (r.per == std::chrono::minutes(1)) return std::to_string(r.count) + "/min";
  if (r.per == std::chrono::seconds(1)) return std::to_string(r.count) + "/s";
  return std::to_string(r.count) + " per " + std::to_string(r.per.count()) + "ms";
}

struct scope_runtime {
  walk_target target;
  scope_state state;
  bool failing = false;
  bool completed = false;  // completed a walk in this run (--once exit code)
  bool removed = false;    // by a reload: cancelled, freed when its coroutine ends
  std::string last_error;
  std::int64_t last_attempt_ms = 0;   // when the last walk ended, whatever its outcome
  std::int64_t last_complete_ms = 0;  // when the last complete walk ended
  std::int64_t watched_since_ms = 0;  // start or reload that added it (/healthz grace)
  asio::cancellation_signal cancel;
  // The timer of the sleep between walks, while sleeping: a reload that
  // changes poll.interval re-arms it from `walk_started`.
  asio::steady_timer* sleep = nullptr;
  std::chrono::steady_clock::time_point walk_started;
};

const char* status_name(walk_status s) {
  switch (s) {
    case walk_status::complete: return "complete";
    case walk_status::incomplete: return "incomplete";
    case walk_status::unchanged: return "unchanged";
    case walk_status::failed: return "failed";
  }
  return "failed";
}

// What the stored fingerprints were computed under: the fingerprint's
// version and poll.ignore_fields as a set. Equal to the store's basis,
// the stored fingerprints are used as they are (no body is parsed at
// start); otherwise every one is recomputed.
std::string fingerprint_basis(const config::config& c) {
  std::vector<std::string> ignore = c.poll.ignore_fields;
  std::sort(ignore.begin(), ignore.end());
  ignore.erase(std::unique(ignore.begin(), ignore.end()), ignore.end());
  std::string basis = "v1";
  for (const auto& f : ignore) basis += "\n" + f;
  return basis;
}

std::size_t pages_for(std::int64_t total, std::uint32_t page_size) {
  if (total <= page_size) return 1;
  return static_cast<std::size_t>((total - 1 + page_size - 2) / (page_size - 1));
}

// What identifies the content of the CA file a client was built with: a
// file replaced at the same path (a renewed CA) has another identity, so
// a reload rebuilds the client even though tls.ca_file did not change.
struct file_identity {
  std::string content;  // CA bundles are small; "" when none or unreadable
  bool operator==(const file_identity&) const = default;
};

file_identity identity_of(const std::string& path) {
  if (path.empty()) return {};
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return {text.str()};
}

// The HTTPS client, authenticator and walker of one config. Every walk
// holds the bundle it started with (shared ownership), so a reload that
// replaces it frees the old one (its TLS context and pooled connections)
// when the last walk that uses it ends, and never before. Declaration
// order: the walker refers to the client and the authenticator.
struct upstream {
  std::unique_ptr<https_client> client;
  std::unique_ptr<authenticator> auth;
  std::unique_ptr<walker> walk;
  file_identity ca;
};

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
      : cfg_(cfg), opts_(opts), log_(std::move(log)), log_sink_(log_), stdout_sink_(stdout) {
    if (opts_.once)
      sinks_.push_back(&stdout_sink_);
    else
      sinks_.push_back(&log_sink_);
    if (extra) sinks_.push_back(extra);
    sinks_.push_back(&service_.metrics());
  }

  // Every frame still suspended (a stop that hit the 10 s guard, a walk
  // stuck upstream, a background TLS close) is destroyed here, while the
  // scopes, gate, store, walkers and sinks it refers to are still alive.
  ~daemon_runtime() override { ioc_.destroy_pending(); }
  daemon_runtime(const daemon_runtime&) = delete;
  daemon_runtime& operator=(const daemon_runtime&) = delete;

  int run();

  // socket_source: what the events socket reads from the daemon.
  proto::scope_reports report() const override;

 private:
  bool open_socket();
  bool open_state();
  bool build_clients();
  void load_scopes(std::vector<stored_scope> stored);
  void refresh_stored_fingerprints();
  void reload_fingerprints();
  void check_budget(bool force);
  asio::awaitable<void> async_run_scope(scope_runtime& s);
  asio::awaitable<void> async_walk_once(scope_runtime& s);
  std::optional<diff_outcome> commit_walk(scope_runtime& s, walk_outcome& outcome, std::string& error);
  void publish(scope_runtime& s, const diff_outcome& diff);
  void set_failing(scope_runtime& s, bool failing, const std::string& error);
  asio::awaitable<void> async_wait_signals();
  asio::awaitable<void> async_prune_journal();
  void stop_all();
  // SIGHUP (lib/runtime/reload_plan.hpp decides what changes).
  void start_scope(scope_runtime& s);
  void reload();
  bool rebuild_clients(const config::config& next);
  void reject_reload(std::string error);
  std::shared_ptr<upstream> make_upstream(const config::config& c, std::string& error);
  void add_scopes(std::vector<walk_target> targets);
  void remove_scopes(const std::vector<scope_id>& ids);
  asio::awaitable<void> async_sleep(scope_runtime& s, std::chrono::steady_clock::time_point started);
  service_facts facts() const;
  std::chrono::milliseconds next_delay(std::chrono::steady_clock::time_point started);

  config::config cfg_;
  run_options opts_;
  std::shared_ptr<spdlog::logger> log_;
  log_sink log_sink_;
  ndjson_sink stdout_sink_;
  std::vector<event_sink*> sinks_;

  loop_context ioc_{1};
  service service_{log_, opts_.test.stall_on_sigusr2};  // systemd, SIGHUP, metrics: after ioc_, before the sinks use it
  std::unique_ptr<socket_server> socket_;  // destroyed before ioc_
  std::unique_ptr<state_store> store_;
  sqlite_store* sqlite_ = nullptr;  // store_ when persistent: journal retention
  std::unique_ptr<request_gate> gate_;
  std::shared_ptr<upstream> upstream_;  // the current one; walks in flight may hold older ones
  std::vector<std::unique_ptr<scope_runtime>> scopes_;
  // Removed by a reload, cancelled, until their coroutine has ended.
  std::vector<std::unique_ptr<scope_runtime>> retiring_;
  // The error of the last rejected reload, until a reload succeeds: the
  // daemon runs the previous config meanwhile (STATUS=, `status`).
  std::string config_error_;
  asio::signal_set signals_{ioc_, SIGINT, SIGTERM};
  asio::cancellation_signal housekeeping_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  boost::system::error_code open_error_;  // why open_state failed
  std::chrono::milliseconds warned_interval_{0};
  std::mt19937_64 rng_{std::random_device{}()};
};

bool daemon_runtime::open_state() {
  if (!opts_.persistent) {
    store_ = make_memory_store();
    return true;
  }
  sqlite_options so;
  so.max_events = cfg_.journal.max_events;
  so.max_age = cfg_.journal.max_age;
  so.test_commit_delay = opts_.test.commit_delay;
  so.test_after_commit_delay = opts_.test.after_commit_delay;
  auto opened = open_sqlite_store(cfg_.state_dir, so);
  if (!opened) {
    log_->critical("state: {}", opened.error().message);
    open_error_ = opened.error().code;
    return false;
  }
  sqlite_ = opened->get();
  store_ = std::move(*opened);
  return true;
}

// Before stored snapshots are loaded: when poll.ignore_fields is not the
// one the stored fingerprints were computed under (or the state is from
// before the basis was recorded), every stored fingerprint, of every scope,
// is recomputed from its body in the store. On failure the old
// fingerprints and basis stay; the next start tries again, and meanwhile
// the differ compares the watched fields themselves before it reports a
// change.
void daemon_runtime::refresh_stored_fingerprints() {
  const std::string basis = fingerprint_basis(cfg_);
  if (store_->fingerprint_basis() == basis) return;
  page_decoder decoder(jobs_resource(), cfg_.poll.ignore_fields);
  const auto started = std::chrono::steady_clock::now();
  std::size_t rewritten = 0;
  auto r = store_->rewrite_fingerprints(basis, [&](std::string_view body) {
    ++rewritten;
    return decoder.fingerprint_of(body);
  });
  if (!r) {
    log_->warn("state: could not store fingerprints for this poll.ignore_fields ({}); they are "
               "recomputed at the next start: {}",
               r.error().message(), store_->last_error());
    return;
  }
  // Only news when there was something to rewrite (not on every fresh start).
  log_->log(rewritten ? spdlog::level::info : spdlog::level::debug,
            "state: {} stored fingerprints rewritten for this poll.ignore_fields in {} ms", rewritten,
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
}

// poll.ignore_fields changed by a reload: the stored fingerprints are
// recomputed, then the running scopes take them (their snapshots equal
// what is stored: every commit is applied to both). In place: a walk in
// flight has marked entries of its scope's snapshot (walk_observation).
void daemon_runtime::reload_fingerprints() {
  refresh_stored_fingerprints();
  auto all = store_->load_all();
  if (!all) {
    log_->warn("reload: cannot read the recomputed fingerprints ({}); the differ checks fields "
               "until the next start",
               store_->last_error());
    return;
  }
  std::map<scope_id, job_map> stored;
  for (auto& st : *all) stored.emplace(st.scope, std::move(st.state.jobs));
  for (auto& s : scopes_) {
    auto it = stored.find(s->target.scope);
    if (it == stored.end()) continue;
    for (auto& [hash, digest] : s->state.jobs)
      if (auto found = it->second.find(hash); found != it->second.end()) digest.fingerprint = found->second.fingerprint;
  }
}

void daemon_runtime::load_scopes(std::vector<stored_scope> stored) {
  std::map<scope_id, scope_state> by_id;
  for (auto& s : stored) by_id.emplace(s.scope, std::move(s.state));
  for (auto& target : scope_targets(cfg_)) {
    auto s = std::make_unique<scope_runtime>();
    s->target = std::move(target);
    if (auto it = by_id.find(s->target.scope); it != by_id.end()) {
      s->state = std::move(it->second);
      log_->info("scope {}: {} jobs loaded from state", s->target.scope.str(), s->state.jobs.size());
    }
    scopes_.push_back(std::move(s));
  }
  std::size_t unconfigured = by_id.size();
  for (auto& s : scopes_)
    if (by_id.contains(s->target.scope)) --unconfigured;
  if (unconfigured)
    log_->info("{} stored scope(s) are no longer configured; their state is kept (hss-jobwatchd --prune deletes it)",
               unconfigured);
}

// Null (with `error`) when a secret file the config names cannot be used.
std::shared_ptr<upstream> daemon_runtime::make_upstream(const config::config& c, std::string& error) {
  auto up = std::make_shared<upstream>();
  // Read before the client loads it: a file swapped in between is then
  // seen as changed at the next reload, not missed.
  up->ca = identity_of(c.tls_ca_file);
  up->auth = make_authenticator(c, ioc_.get_executor(), log_, error);
  if (!up->auth) return nullptr;
  up->client = std::make_unique<https_client>(ioc_.get_executor(), client_options_for(c, c.endpoint));
  up->walk = std::make_unique<walker>(*up->client, *up->auth, *gate_, log_);
  up->walk->set_observer(&service_.metrics());
  return up;
}

bool daemon_runtime::build_clients() {
  gate_ = std::make_unique<request_gate>(ioc_.get_executor(), cfg_.poll.rate, cfg_.poll.max_in_flight);
  std::string error;
  upstream_ = make_upstream(cfg_, error);
  if (!upstream_) {
    log_->critical("auth: {}", error);
    return false;
  }
  return true;
}

// SPEC §3: when the budget cannot sustain poll.interval for all scopes,
// say so (with the interval it can sustain) and keep going at that pace.
void daemon_runtime::check_budget(bool force) {
  std::size_t requests = 0;
  for (auto& s : scopes_)
    requests += pages_for(s->state.meta.last_total_num.value_or(0), cfg_.poll.page_size);
  const auto sustainable = gate_->budget().sustainable_interval(requests);
  if (sustainable <= cfg_.poll.interval) return;
  if (!force && sustainable == warned_interval_) return;
  warned_interval_ = sustainable;
  log_->warn("poll.rate {} cannot sustain poll.interval {}s for {} scope(s) (~{} requests per round); "
             "polling at the sustainable pace of one round every {}s",
             describe_rate(cfg_.poll.rate), cfg_.poll.interval.count() / 1000.0,
             scopes_.size(), requests, sustainable.count() / 1000.0);
}

std::chrono::milliseconds daemon_runtime::next_delay(std::chrono::steady_clock::time_point started) {
  const double j = cfg_.poll.jitter;
  std::uniform_real_distribution<double> d(-j, j);
  auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.poll.interval * (1.0 + d(rng_)));
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return std::max(0ms, interval - elapsed);
}

void daemon_runtime::set_failing(scope_runtime& s, bool failing, const std::string& error) {
  s.last_error = error;
  if (s.failing == failing) return;
  s.failing = failing;
  for (auto* sink : sinks_) sink->on_scope_status(s.target.scope, failing, error);
}

// Turns a walk into its commit: the diff, then one transaction. Returns
// what to release, or nothing: with `error` set the walk failed (the
// stored state could not be read or written; the previous state is kept
// and nothing is released), without it there was nothing to commit (a
// baseline waiting for a complete walk).
std::optional<diff_outcome> daemon_runtime::commit_walk(scope_runtime& s, walk_outcome& outcome,
                                                        std::string& error) {
  const auto& id = s.target.scope;
  diff_outcome diff;
  if (outcome.status == walk_status::unchanged) {
    diff.delta.meta = s.state.meta;
    ++diff.delta.meta.walks_since_full;
  } else {
    diff_options dopts{cfg_.poll.ignore_fields, cfg_.poll.removal_guard,
                       cfg_.poll.removal_confirmations, cfg_.poll.baseline_events};
    diff = diff_scope(id, s.state, std::move(outcome.observation), dopts, now_ms(),
                      [&](std::uint64_t key_hash, bool with_body) -> std::optional<stored_job> {
                        auto job = store_->find_job(id, key_hash, with_body);
                        return job ? std::move(*job) : std::nullopt;
                      });
    if (!diff.error.empty()) {
      error = "state: " + diff.error + " (" + store_->last_error() + ")";
      log_fields_scope fields(walk_failure_fields(id, nullptr));
      log_->error("scope {}: walk failed: {}; nothing committed or released, retrying next walk", id.str(), error);
      return std::nullopt;
    }
    if (diff.baseline && !outcome.observation.complete) {
      log_->info("scope {}: walk incomplete ({}); the baseline waits for a complete walk", id.str(),
                 outcome.reason);
      return std::nullopt;
    }
    if (outcome.status == walk_status::complete) diff.delta.meta.walks_since_full = 0;
  }
  if (auto committed = store_->commit(id, diff.delta, diff.events); !committed) {
    error = "state: could not commit the walk (" + committed.error().message() + ": " + store_->last_error() + ")";
    log_fields_scope fields(walk_failure_fields(id, nullptr));
    log_->error("scope {}: walk failed: {}; state kept, nothing released, retrying next walk", id.str(), error);
    return std::nullopt;
  }
  apply(s.state, diff.delta);
  return diff;
}

// Releases a committed walk's events to the sinks.
void daemon_runtime::publish(scope_runtime& s, const diff_outcome& diff) {
  const auto& id = s.target.scope;
  if (diff.held_removals)
    log_->warn("scope {}: removal guard holds {} removals (more than {}% of {} jobs); they are emitted "
               "only if the next complete walk confirms them",
               id.str(), diff.held_removals, cfg_.poll.removal_guard * 100, s.state.jobs.size());
  if (!diff.events.empty() || diff.baseline)
    for (auto* sink : sinks_) sink->on_events(id, diff.events, diff.baseline);
  if (diff.baseline) check_budget(false);
}

// The walk's outcome is decided only after its commit (SPEC §10): a walk
// whose commit failed is a failed walk for the status, the metrics,
// /healthz, scope_status and the log, exactly like one the API failed.
asio::awaitable<void> daemon_runtime::async_walk_once(scope_runtime& s) {
  const auto& id = s.target.scope;
  // This walk's upstream stays alive until the walk ends, even if a reload
  // replaces it meanwhile.
  const std::shared_ptr<upstream> up = upstream_;
  auto outcome = co_await up->walk->async_walk(s.target, walk_settings_of(cfg_), s.state);
  s.last_attempt_ms = now_ms();
  std::string error;
  std::optional<diff_outcome> committed;
  switch (outcome.status) {
    case walk_status::failed: {
      // MESSAGE_ID, scope and request id as journald fields (SPEC §9)
      log_fields_scope fields(walk_failure_fields(id, outcome.api ? &*outcome.api : nullptr));
      log_->debug("scope {}: walk failed after {} requests: {}", id.str(), outcome.requests, outcome.reason);
      if (!s.failing) log_->warn("scope {}: walk failed: {}", id.str(), outcome.reason);
      error = outcome.reason;
      break;
    }
    case walk_status::incomplete:
      log_->warn("scope {}: walk incomplete after {} requests ({}); no removals inferred", id.str(),
                 outcome.requests, outcome.reason);
      committed = commit_walk(s, outcome, error);
      break;
    case walk_status::complete:
    case walk_status::unchanged:
      log_->debug("scope {}: walk {} ({} jobs, {} requests, {} repairs)", id.str(),
                  outcome.status == walk_status::complete ? "complete" : "unchanged",
                  outcome.observation.total_num, outcome.requests, outcome.repairs);
      committed = commit_walk(s, outcome, error);
      break;
  }
  const bool failed = !error.empty();
  service_.metrics().on_walk(id, failed ? "failed" : status_name(outcome.status),
                             std::chrono::steady_clock::now() - s.walk_started);
  if (!failed && (outcome.status == walk_status::complete || outcome.status == walk_status::unchanged)) {
    s.last_complete_ms = s.last_attempt_ms;
    s.completed = true;
  }
  set_failing(s, failed, error);
  if (committed) publish(s, *committed);
}

asio::awaitable<void> daemon_runtime::async_run_scope(scope_runtime& s) {
  for (;;) {
    const auto started = std::chrono::steady_clock::now();
    s.walk_started = started;
    try {
      co_await async_walk_once(s);
    } catch (const boost::system::system_error& e) {
      if (e.code() == asio::error::operation_aborted) throw;
      log_->error("scope {}: unexpected error: {}", s.target.scope.str(), e.what());
      set_failing(s, true, e.what());
    } catch (const std::exception& e) {
      log_->error("scope {}: unexpected error: {}", s.target.scope.str(), e.what());
      set_failing(s, true, e.what());
    }
    if (opts_.once) co_return;
    release_walk_memory();
    service_.update_status();
    co_await async_sleep(s, started);
  }
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
        log_->warn("state: journal pruning failed: {}", sqlite_->last_error());
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
  stopping_ = true;
  service_.stopping();
  if (socket_) socket_->shutdown();  // clients hear shutting_down now, before the loop stops
  housekeeping_.emit(asio::cancellation_type::terminal);
  if (!opts_.test.stop_ignored)
    for (auto& s : scopes_) s->cancel.emit(asio::cancellation_type::terminal);
  // Cancellation reaches every pending operation at once; bound the wait
  // anyway so that a stuck peer can never hold the exit.
  auto guard = std::make_shared<asio::steady_timer>(ioc_, opts_.test.stop_guard);
  guard->async_wait([this, guard](boost::system::error_code ec) {
    if (ec) return;
    log_->warn("stop: {} scope(s) still running after {} ms; stopping without them", running_,
               opts_.test.stop_guard.count());
    ioc_.stop();
  });
}

proto::scope_reports daemon_runtime::report() const {
  proto::scope_reports out;
  for (const auto& s : scopes_)
    out.push_back({s->target.scope, s->last_attempt_ms, s->last_complete_ms, s->state.jobs.size(), s->failing,
                   s->last_error});
  out.config_error = config_error_;
  return out;
}

bool daemon_runtime::open_socket() {
  socket_server_options so{cfg_.socket, std::string("hss-jobwatch/") + version,
                           [this](std::string_view reason) { service_.metrics().on_subscriber_dropped(reason); }};
  auto opened = socket_server::open(ioc_, std::move(so), *store_, *this, log_);
  if (!opened) {
    log_->critical("socket: {}", opened.error());
    return false;
  }
  socket_ = std::move(*opened);
  sinks_.push_back(socket_.get());
  socket_->start();
  return true;
}

void daemon_runtime::start_scope(scope_runtime& s) {
  ++running_;
  s.watched_since_ms = now_ms();
  asio::co_spawn(ioc_, async_run_scope(s),
                 asio::bind_cancellation_slot(s.cancel.slot(), [this, &s](std::exception_ptr e) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const boost::system::system_error& se) {
                       if (se.code() != asio::error::operation_aborted)
                         log_->error("scope {}: stopped: {}", s.target.scope.str(), se.what());
                     } catch (const std::exception& ex) {
                       log_->error("scope {}: stopped: {}", s.target.scope.str(), ex.what());
                     }
                   }
                   // A removed scope is freed once this handler, which lives in it, has returned.
                   if (s.removed)
                     asio::post(ioc_, [this, p = &s] { std::erase_if(retiring_, [p](auto& r) { return r.get() == p; }); });
                   // Only --once and a stop end the loop when no scope runs; a reload
                   // starts the new scopes before it cancels the removed ones.
                   if (--running_ == 0 && (opts_.once || stopping_)) {
                     signals_.cancel();
                     housekeeping_.emit(asio::cancellation_type::terminal);
                     ioc_.stop();
                   }
                 }));
}

// Sleeps until the next walk of `s` is due. A reload that changes the
// interval re-arms the timer, which ends this wait early; the loop then
// waits for the new expiry. Cancellation (stop, removal) ends it for good.
asio::awaitable<void> daemon_runtime::async_sleep(scope_runtime& s, std::chrono::steady_clock::time_point started) {
  asio::steady_timer timer(ioc_, next_delay(started));
  s.sleep = &timer;
  struct clear_on_exit {
    scope_runtime& s;
    ~clear_on_exit() { s.sleep = nullptr; }
  } guard{s};
  for (;;) {
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!ec) co_return;
    if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none)
      throw boost::system::system_error(asio::error::operation_aborted);
  }
}

service_facts daemon_runtime::facts() const {
  service_facts f;
  for (const auto& s : scopes_)
    f.scopes.push_back({s->target.scope, s->failing, s->state.jobs.size(), s->last_complete_ms, s->watched_since_ms,
                        s->last_error});
  f.interval = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.poll.interval), warned_interval_);
  f.last_seq = store_->last_seq();
  f.oldest_seq = store_->oldest_seq();
  f.subscribers = socket_ ? socket_->subscribers() : 0;
  if (sqlite_) f.state_dir = cfg_.state_dir;
  f.config_error = config_error_;
  return f;
}

// A new client, authenticator and walker for a changed endpoint, TLS
// (also a CA file replaced under the same path), proxy or auth. The old
// bundle goes when the last walk using it ends. A bad secret file rejects
// the whole reload.
bool daemon_runtime::rebuild_clients(const config::config& next) {
  std::string error;
  auto up = make_upstream(next, error);
  if (!up) {
    reject_reload("auth: " + error);
    return false;
  }
  upstream_ = std::move(up);
  return true;
}

// The running config stays; the error stays visible (STATUS=, `status`)
// until a reload succeeds.
void daemon_runtime::reject_reload(std::string error) {
  log_->error("reload: {}; keeping the running config", error);
  config_error_ = std::move(error);
  service_.reloaded(false);
}

// Added scopes resume from their stored state if they have one (a scope
// removed and added back needs no new baseline), else they baseline.
void daemon_runtime::add_scopes(std::vector<walk_target> targets) {
  if (targets.empty()) return;
  std::map<scope_id, scope_state> stored;
  refresh_stored_fingerprints();
  if (auto all = store_->load_all())
    for (auto& st : *all) stored.emplace(st.scope, std::move(st.state));
  for (auto& target : targets) {
    auto s = std::make_unique<scope_runtime>();
    s->target = std::move(target);
    if (auto it = stored.find(s->target.scope); it != stored.end()) s->state = std::move(it->second);
    log_->info("reload: scope {} added ({})", s->target.scope.str(),
               s->state.jobs.empty() ? "it baselines" : std::to_string(s->state.jobs.size()) + " jobs from state");
    scopes_.push_back(std::move(s));
    start_scope(*scopes_.back());
  }
}

// Removed scopes stop at once: a walk in flight is cancelled before it
// commits, nothing is emitted, and their stored state is kept (SPEC §3).
void daemon_runtime::remove_scopes(const std::vector<scope_id>& ids) {
  for (const auto& id : ids) {
    auto it = std::find_if(scopes_.begin(), scopes_.end(), [&](auto& s) { return s->target.scope == id; });
    if (it == scopes_.end()) continue;
    log_->info("reload: scope {} removed; its state is kept (hss-jobwatchd --prune deletes it)", id.str());
    auto& s = **it;
    s.removed = true;
    retiring_.push_back(std::move(*it));
    scopes_.erase(it);
    s.cancel.emit(asio::cancellation_type::terminal);
  }
}

void daemon_runtime::reload() {
  service_.reloading();
  auto loaded = config::load_file(cfg_.source_path);
  if (!loaded) {
    reject_reload(loaded.error().to_string());
    return;
  }
  auto next = std::move(*loaded);
  auto plan = plan_reload(cfg_, next);
  for (const auto& key : plan.restart_needed)
    log_->warn("reload: {} changed; that takes effect at the next restart", key);
  keep_restart_only(cfg_, next);
  if (!plan.rebuild_clients && !(identity_of(next.tls_ca_file) == upstream_->ca)) {
    log_->info("reload: {} changed on disk; new connections trust its new content", next.tls_ca_file);
    plan.rebuild_clients = true;
  }
  if (plan.rebuild_clients && !rebuild_clients(next)) return;
  config_error_.clear();
  cfg_ = std::move(next);
  if (plan.log_level) log_->set_level(spdlog::level::from_str(cfg_.log.level));
  if (plan.budget) gate_->reconfigure(cfg_.poll.rate, cfg_.poll.max_in_flight);
  if (plan.fingerprints) reload_fingerprints();
  add_scopes(std::move(plan.added));
  remove_scopes(plan.removed);
  if (plan.timing)
    for (auto& s : scopes_)
      if (s->sleep) s->sleep->expires_after(next_delay(s->walk_started));
  log_->info("reload: done: {} scope(s) at {} every {}s (budget: {})", scopes_.size(), cfg_.endpoint,
             cfg_.poll.interval.count() / 1000.0, describe_rate(cfg_.poll.rate));
  check_budget(true);
  service_.reloaded(true);
}

int daemon_runtime::run() {
  // A damaged, foreign or newer state.db needs an operator (SPEC §8): 78,
  // so that systemd does not restart into it forever. I/O trouble and a
  // lock held elsewhere may pass: 1, restarted.
  if (!open_state()) return open_error_ == make_error_code(errc::state_corrupt) ? 78 : 1;
  refresh_stored_fingerprints();
  auto stored = store_->load_all();
  if (!stored) {
    log_->critical("state: cannot load: {}", stored.error().message());
    return 1;
  }
  load_scopes(std::move(*stored));
  // A secret file the config names that cannot be used is a config error:
  // exit 78 so that systemd does not restart into the same failure.
  if (!build_clients()) return 78;
  if (!opts_.once && !open_socket()) return 1;
  log_->info("watching {} scope(s) at {} every {}s (budget: {})", scopes_.size(), cfg_.endpoint,
             cfg_.poll.interval.count() / 1000.0, describe_rate(cfg_.poll.rate));
  check_budget(true);
  asio::co_spawn(ioc_, async_wait_signals(), asio::detached);
  if (sqlite_ && !opts_.once)
    asio::co_spawn(ioc_, async_prune_journal(),
                   asio::bind_cancellation_slot(housekeeping_.slot(), asio::detached));
  for (auto& sp : scopes_) start_scope(*sp);
  if (!opts_.once) {
    if (!service_.open_metrics(ioc_, cfg_.metrics.listen)) return 1;
    // READY=1 only now: config valid, state loaded, socket listening.
    service_.start(ioc_, [this] { return facts(); }, [this] { reload(); });
  }
  ioc_.run();
  if (stopping_) {
    log_->info("stopped");
    return 0;
  }
  bool all = true;
  for (auto& s : scopes_) all = all && s->completed;
  return all ? 0 : 1;
}

}  // namespace

int run_daemon(const config::config& cfg, const run_options& opts, std::shared_ptr<spdlog::logger> log,
               event_sink* extra_sink) {
  daemon_runtime rt(cfg, opts, std::move(log), extra_sink);
  return rt.run();
}

int prune_state(const config::config& cfg, std::shared_ptr<spdlog::logger> log) {
  auto opened = open_sqlite_store(cfg.state_dir, {});
  if (!opened) {
    log->critical("state: {}", opened.error().message);
    return opened.error().code == make_error_code(errc::state_corrupt) ? 78 : 1;
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
