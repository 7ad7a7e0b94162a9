// Scopes from the config: one per (project, enterprise project).
#include "runtime/scope_list.hpp"

#include <algorithm>

#include "model/scope.hpp"

namespace hssjw {

std::vector<walk_target> scope_targets(const config::config& cfg) {
  std::vector<walk_target> out;
  for (const auto& p : cfg.projects) {
    for (const auto& eps : p.enterprise_projects) {
      walk_target t;
      t.scope = scope_id{p.id, eps, canonical_filters(p.filters)};
      t.filters = p.filters;
      t.resource = &jobs_resource();
      out.push_back(std::move(t));
    }
  }
  return out;
}

walk_settings walk_settings_of(const config::config& cfg) {
  walk_settings s;
  s.page_size = cfg.poll.page_size;
  s.pages_in_flight = std::min(cfg.poll.pages_in_flight, cfg.poll.max_in_flight);
  s.retry = cfg.poll.retry;
  s.trust_last_update_time = cfg.poll.trust_last_update_time;
  s.full_walk_every = cfg.poll.full_walk_every;
  s.ignore_fields = cfg.poll.ignore_fields;
  return s;
}

}  // namespace hssjw
