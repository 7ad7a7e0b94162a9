// Applying a committed delta to the in-memory scope state.
#include "state/scope_state.hpp"

namespace hssjw {

void apply(scope_state& state, const scope_delta& delta) {
  for (const auto& j : delta.upserts) state.jobs.insert_or_assign(j.key, digest_of(j.record));
  for (const auto& k : delta.deletions) state.jobs.erase(k);
  for (const auto& [k, p] : delta.pending_set) state.pending.insert_or_assign(k, p);
  for (const auto& k : delta.pending_cleared) state.pending.erase(k);
  state.meta = delta.meta;
}

}  // namespace hssjw
