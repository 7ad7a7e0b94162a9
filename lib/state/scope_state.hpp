// What the daemon knows about one scope between walks: the last snapshot
// (keys and digests; the bodies live in the state store) and the
// bookkeeping the walker and differ need. The state store persists it as
// deltas.
#pragma once

#include "hss/job.hpp"

#include <boost/unordered/unordered_flat_map.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace hssjw {

struct scope_meta {
  bool has_baseline = false;  // a complete walk has been committed
  std::optional<std::int64_t> last_total_num;         // of the last complete walk
  std::optional<std::int64_t> last_update_time;       // of the last complete walk
  std::uint32_t walks_since_full = 0;  // for poll.trust_last_update_time
  friend bool operator==(const scope_meta&, const scope_meta&) = default;
};

// A job missing from complete walks but not yet reported removed.
struct pending_removal {
  std::uint32_t misses = 0;  // consecutive complete walks it was missing from
  bool held = false;         // held back by the removal guard
  friend bool operator==(const pending_removal&, const pending_removal&) = default;
};

// Open addressing: a lookup checks one-byte hash tags in a cache line
// instead of chasing a node per candidate and comparing its key strings
// (the node map's find was the largest item of a steady 1M-job walk).
// Elements move on rehash: hold no pointer across an insert.
using job_map = boost::unordered_flat_map<job_key, job_digest, job_key_hash, job_key_equal>;
using pending_map = boost::unordered_flat_map<job_key, pending_removal, job_key_hash, job_key_equal>;

struct scope_state {
  job_map jobs;
  pending_map pending;
  scope_meta meta;
};

// The change one committed walk makes to a scope's state.
struct scope_delta {
  std::vector<keyed_job> upserts;      // added, modified, replaced
  std::vector<job_key> deletions;      // removed
  std::vector<std::pair<job_key, pending_removal>> pending_set;
  std::vector<job_key> pending_cleared;
  scope_meta meta;                     // the scope's meta after the walk

  bool empty_of_jobs() const { return upserts.empty() && deletions.empty(); }
};

// Applies a delta to the in-memory state (after a successful commit).
void apply(scope_state& state, const scope_delta& delta);

}  // namespace hssjw
