// Applying a reload plan, step by step.
#include "runtime/reloader.hpp"

#include <spdlog/spdlog.h>

#include <map>

#include "config/loader.hpp"
#include "runtime/pacing.hpp"
#include "runtime/reload_plan.hpp"
#include "runtime/scope_scheduler.hpp"
#include "runtime/service.hpp"
#include "runtime/stored_state.hpp"
#include "runtime/walk_runner.hpp"
#include "state/store.hpp"
#include "walk/request_gate.hpp"

namespace hssjw {

reloader::reloader(parts p) : p_(std::move(p)) {}

void reloader::reload() {
  p_.svc.reloading();
  auto loaded = config::load_file(p_.cfg.source_path);
  if (!loaded) {
    reject_reload(loaded.error().message());
    return;
  }
  auto next = std::move(*loaded);
  auto plan = plan_reload(p_.cfg, next);
  for (const auto& key : plan.restart_needed)
    p_.log->warn("reload: {} changed; that takes effect at the next restart", key);
  keep_restart_only(p_.cfg, next);
  if (!plan.rebuild_clients && !(identity_of(next.tls_ca_file) == p_.walks.current().ca)) {
    p_.log->info("reload: {} changed on disk; new connections trust its new content",
                 next.tls_ca_file);
    plan.rebuild_clients = true;
  }
  if (plan.rebuild_clients && !rebuild_clients(next)) return;
  config_error_.clear();
  p_.cfg = std::move(next);
  const auto& cfg = p_.cfg;
  if (plan.log_level) p_.log->set_level(spdlog::level::from_str(cfg.log.level));
  if (plan.budget) p_.gate.reconfigure(cfg.poll.rate, cfg.poll.max_in_flight);
  if (plan.fingerprints) reload_fingerprints(p_.store, cfg, *p_.log, p_.scheduler.scopes());
  add_scopes(std::move(plan.added));
  remove_scopes(plan.removed);
  if (plan.timing) p_.scheduler.rearm();
  p_.log->info("reload: done: {} scope(s) at {} every {}s (budget: {})",
               p_.scheduler.scopes().size(), cfg.endpoint, cfg.poll.interval.count() / 1000.0,
               describe_rate(cfg.poll.rate));
  p_.scheduler.check_budget(p_.gate.budget(), true);
  p_.svc.reloaded(true);
}

// A new client, authenticator and walker for a changed endpoint, TLS
// (also a CA file replaced under the same path), proxy or auth. The old
// bundle goes when the last walk using it ends. A bad secret file rejects
// the whole reload.
bool reloader::rebuild_clients(const config::config& next) {
  auto up = p_.make_upstream(next);
  if (!up) {
    reject_reload("auth: " + up.error().message());
    return false;
  }
  p_.walks.use(std::move(*up));
  return true;
}

// The running config stays; the error stays visible (STATUS=, `status`)
// until a reload succeeds.
void reloader::reject_reload(std::string error) {
  p_.log->error("reload: {}; keeping the running config", error);
  config_error_ = std::move(error);
  p_.svc.reloaded(false);
}

// Added scopes resume from their stored state if they have one (a scope
// removed and added back needs no new baseline), else they baseline.
void reloader::add_scopes(std::vector<walk_target> targets) {
  if (targets.empty()) return;
  std::map<scope_id, scope_state> stored;
  refresh_stored_fingerprints(p_.store, p_.cfg, *p_.log);
  if (auto all = p_.store.load_all())
    for (auto& st : *all) stored.emplace(st.scope, std::move(st.state));
  for (auto& target : targets) {
    auto s = std::make_unique<scope_runtime>();
    s->target = std::move(target);
    if (auto it = stored.find(s->target.scope); it != stored.end())
      s->state = std::move(it->second);
    p_.log->info("reload: scope {} added ({})", s->target.scope.str(),
                 s->state.jobs.empty() ? "it baselines"
                                       : std::to_string(s->state.jobs.size()) + " jobs from state");
    p_.scheduler.add_started(std::move(s));
  }
}

// Removed scopes stop at once: a walk in flight is cancelled before it
// commits, nothing is emitted, and their stored state is kept (SPEC §3).
void reloader::remove_scopes(const std::vector<scope_id>& ids) {
  for (const auto& id : ids) {
    if (!p_.scheduler.contains(id)) continue;
    p_.log->info("reload: scope {} removed; its state is kept (hss-jobwatchd --prune deletes it)",
                 id.str());
    p_.scheduler.remove(id);
  }
}

}  // namespace hssjw
