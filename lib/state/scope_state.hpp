// What the daemon knows about one scope between walks: the last snapshot
// (keys and digests; the bodies live in the state store) and the
// bookkeeping the walker and differ need. The state store persists it as
// deltas.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/job.hpp"
#include "model/scope.hpp"

namespace hssjw {

struct scope_meta {
  bool has_baseline = false;                     // a complete walk has been committed
  std::optional<std::int64_t> last_total_num;    // of the last complete walk
  std::optional<std::int64_t> last_update_time;  // of the last complete walk
  std::uint32_t walks_since_full = 0;            // for poll.trust_last_update_time
  friend bool operator==(const scope_meta&, const scope_meta&) = default;
};

// A job missing from complete walks but not yet reported removed.
struct pending_removal {
  std::uint32_t misses = 0;  // consecutive complete walks it was missing from
  bool held = false;         // held back by the removal guard
  friend bool operator==(const pending_removal&, const pending_removal&) = default;
};

// The snapshot: key hash -> digest, 32 bytes a slot (about 64 bytes a job
// at the map's load factor). The key strings and bodies stay in the state
// store, read back by key hash for the few jobs a walk did not see or saw
// changed. Open addressing: a lookup checks one-byte hash tags in a cache
// line. Elements move on rehash: hold no pointer across an insert.
using job_map = boost::unordered_flat_map<std::uint64_t, job_digest, prehashed>;
using pending_map = boost::unordered_flat_map<job_key, pending_removal, job_key_hash>;

struct scope_state {
  job_map jobs;
  pending_map pending;
  scope_meta meta;
  // The number of the walk in progress: it marks the snapshot entries it
  // sees unchanged (job_digest::seen_in_walk), so a walk needs no set of
  // them. Not stored; only one walk of a scope runs at a time.
  std::uint32_t walk_number = 0;

  // Starts a walk: a number no entry carries yet.
  std::uint32_t begin_walk();
};

// The change one committed walk makes to a scope's state.
struct scope_delta {
  std::vector<keyed_job> upserts;  // added, modified, replaced
  std::vector<job_key> deletions;  // removed
  std::vector<std::pair<job_key, pending_removal>> pending_set;
  std::vector<job_key> pending_cleared;
  scope_meta meta;  // the scope's meta after the walk

  bool empty_of_jobs() const { return upserts.empty() && deletions.empty(); }
};

// During walk number `walk` (scope_state::begin_walk): true when the
// snapshot has the job exactly so (same key hash, fingerprint and
// create_time). Marks the entry seen, counting each entry once in
// `marked`. The decoder's known_job_fn of a walk.
bool mark_if_unchanged(scope_state& state, std::uint32_t walk, std::uint64_t key_hash,
                       const job_digest& digest, std::size_t& marked);

// A job of a snapshot as the state store has it; `body` is empty when only
// the key was asked for.
struct stored_job {
  job_key key;
  std::string body;
};

// Applies a delta to the in-memory state (after a successful commit).
void apply(scope_state& state, const scope_delta& delta);

}  // namespace hssjw
