// The differ: turns what one walk saw into change events and the delta to
// commit, against the scope's previous state. Pure logic, no I/O (SPEC §3).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/event.hpp"
#include "state/scope_state.hpp"

namespace hssjw {

struct diff_options {
  std::vector<std::string> ignore_fields;
  double removal_guard = 0.5;  // fraction of the scope
  std::uint32_t removal_confirmations = 1;
  bool baseline_events = true;
};

// What a walk saw. `jobs` holds each new or changed key once (the last
// version fetched); the jobs seen exactly as the snapshot has them are not
// listed: their snapshot entries carry the walk's number (marked by
// mark_if_unchanged on the `previous` state the walk was given), and
// `unchanged` counts those entries. A job in both was seen changed and
// unchanged during the walk (it changed back and forth): it counts as
// changed, a change that really happened.
struct walk_observation {
  bool complete = false;  // removals are only inferred from complete walks
  std::vector<keyed_job> jobs;
  std::int64_t total_num = 0;
  std::optional<std::int64_t> last_update_time;
  std::uint32_t walk_number = 0;  // scope_state::begin_walk; 0 = nothing marked
  std::size_t unchanged = 0;      // distinct snapshot entries marked
};

// A job of the previous snapshot as stored, by key hash (the snapshot in
// memory holds digests only); `with_body` false reads its key alone.
// nullopt when the store has none, or cannot read it.
using stored_job_fn =
    std::function<std::optional<stored_job>(std::uint64_t key_hash, bool with_body)>;

struct diff_outcome {
  // Set when a stored job the diff needs could not be read, or two keys
  // share a key hash: nothing else is set then, and nothing may be
  // committed.
  std::string error;
  std::vector<change_event> events;  // seq 0: the store assigns them
  scope_delta delta;
  bool baseline = false;                  // this walk is the scope's baseline
  std::size_t held_removals = 0;          // newly held by the removal guard
  std::size_t confirmations_pending = 0;  // missing, awaiting confirmations
};

// `now_ms` stamps the events. An incomplete walk of a scope without a
// baseline yields nothing to commit (the baseline waits for a complete
// walk); callers check `delta` / `events` and commit them together.
// `stored` is asked only for jobs that changed or went away.
diff_outcome diff_scope(const scope_id& scope, const scope_state& previous,
                        const walk_observation& seen, const diff_options& opts, std::int64_t now_ms,
                        const stored_job_fn& stored);
// The same, moving the jobs it keeps out of `seen` (which keeps its other
// members) instead of copying them.
diff_outcome diff_scope(const scope_id& scope, const scope_state& previous, walk_observation&& seen,
                        const diff_options& opts, std::int64_t now_ms, const stored_job_fn& stored);

}  // namespace hssjw
