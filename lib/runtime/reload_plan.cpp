// plan_reload: compares two configs key by key.
#include "runtime/reload_plan.hpp"

#include <set>
#include <tuple>

#include "runtime/scope_list.hpp"

namespace hssjw {

namespace {

auto auth_tuple(const config::auth_config& a) {
  return std::tie(a.method, a.token_file, a.iam_endpoint, a.domain, a.user, a.password_file,
                  a.access_key, a.secret_key_file);
}

bool clients_differ(const config::config& a, const config::config& b) {
  return a.endpoint != b.endpoint || a.tls_ca_file != b.tls_ca_file || a.proxy != b.proxy ||
         a.poll.timeout != b.poll.timeout || a.poll.max_in_flight != b.poll.max_in_flight ||
         a.allow_insecure_http != b.allow_insecure_http || a.region != b.region ||
         auth_tuple(a.auth) != auth_tuple(b.auth);
}

std::vector<std::string> restart_keys(const config::config& a, const config::config& b) {
  std::vector<std::string> out;
  if (a.state_dir != b.state_dir) out.push_back("state_dir");
  if (a.socket.path != b.socket.path || a.socket.mode != b.socket.mode ||
      a.socket.max_clients != b.socket.max_clients ||
      a.socket.stall_timeout != b.socket.stall_timeout ||
      a.socket.bookmark_interval != b.socket.bookmark_interval)
    out.push_back("socket");
  if (a.metrics.listen != b.metrics.listen) out.push_back("metrics.listen");
  if (a.log.target != b.log.target || a.log.format != b.log.format)
    out.push_back("log.target/log.format");
  if (a.journal.max_events != b.journal.max_events || a.journal.max_age != b.journal.max_age)
    out.push_back("journal");
  return out;
}

}  // namespace

reload_plan plan_reload(const config::config& old_cfg, const config::config& new_cfg) {
  reload_plan plan;
  std::set<scope_id> before, after;
  for (auto& t : scope_targets(old_cfg)) before.insert(t.scope);
  for (auto& t : scope_targets(new_cfg)) {
    after.insert(t.scope);
    if (!before.contains(t.scope)) plan.added.push_back(std::move(t));
  }
  for (auto& s : scope_targets(old_cfg))
    if (!after.contains(s.scope)) plan.removed.push_back(s.scope);
  plan.rebuild_clients = clients_differ(old_cfg, new_cfg);
  plan.budget = old_cfg.poll.rate.count != new_cfg.poll.rate.count ||
                old_cfg.poll.rate.per != new_cfg.poll.rate.per ||
                old_cfg.poll.max_in_flight != new_cfg.poll.max_in_flight;
  plan.timing =
      old_cfg.poll.interval != new_cfg.poll.interval || old_cfg.poll.jitter != new_cfg.poll.jitter;
  plan.fingerprints = old_cfg.poll.ignore_fields != new_cfg.poll.ignore_fields;
  plan.log_level = old_cfg.log.level != new_cfg.log.level;
  plan.restart_needed = restart_keys(old_cfg, new_cfg);
  return plan;
}

void keep_restart_only(const config::config& running, config::config& next) {
  next.state_dir = running.state_dir;
  next.socket = running.socket;
  next.metrics = running.metrics;
  next.log.target = running.log.target;
  next.log.format = running.log.format;
  next.journal = running.journal;
}

}  // namespace hssjw
