// Applying a committed delta to the in-memory scope state.
#include "state/scope_state.hpp"

namespace hssjw {

std::uint32_t scope_state::begin_walk() {
  if (++walk_number == 0) {  // wrapped after 4 billion walks: old marks could match
    for (auto& [hash, digest] : jobs) digest.seen_in_walk = 0;
    walk_number = 1;
  }
  return walk_number;
}

bool mark_if_unchanged(scope_state& state, std::uint32_t walk, std::uint64_t key_hash,
                       const job_digest& digest, std::size_t& marked) {
  auto it = state.jobs.find(key_hash);
  if (it == state.jobs.end() || !(it->second == digest)) return false;
  if (it->second.seen_in_walk != walk) {
    it->second.seen_in_walk = walk;
    ++marked;
  }
  return true;
}

void apply(scope_state& state, const scope_delta& delta) {
  for (const auto& j : delta.upserts)
    state.jobs.insert_or_assign(key_hash_of(j), digest_of(j.record));
  for (const auto& k : delta.deletions) state.jobs.erase(key_hash_of(k));
  for (const auto& [k, p] : delta.pending_set) state.pending.insert_or_assign(k, p);
  for (const auto& k : delta.pending_cleared) state.pending.erase(k);
  state.meta = delta.meta;
}

}  // namespace hssjw
