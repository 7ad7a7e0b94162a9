// The differ: turns what one walk saw into change events and the delta to
// commit, against the scope's previous state. Pure logic, no I/O (SPEC §3).
#pragma once

#include "state/scope_state.hpp"
#include "walk/event.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hssjw {

struct diff_options {
  std::vector<std::string> ignore_fields;
  double removal_guard = 0.5;            // fraction of the scope
  std::uint32_t removal_confirmations = 1;
  bool baseline_events = true;
};

// What a walk saw. `jobs` holds each new or changed key once (the last
// version fetched); `unchanged` the snapshot entries of the jobs seen
// exactly as the snapshot has them (pointers into the `previous` state the
// walk was given: valid while nothing is inserted into or erased from its
// snapshot, which only a commit does). A job in both was seen changed and
// unchanged during the walk (it changed back and forth): it counts as
// changed, a change that really happened.
struct walk_observation {
  bool complete = false;  // removals are only inferred from complete walks
  std::vector<keyed_job> jobs;
  std::int64_t total_num = 0;
  std::optional<std::int64_t> last_update_time;
  std::vector<const job_digest*> unchanged;
};

// The stored body of a job of the previous snapshot (the snapshot in
// memory holds digests only); nullopt when the store has none, or cannot
// read it.
using stored_body_fn = std::function<std::optional<std::string>(const job_key&)>;

struct diff_outcome {
  // Set when a stored body the events need could not be read: nothing
  // else is set then, and nothing may be committed.
  std::string error;
  std::vector<change_event> events;  // seq 0: the store assigns them
  scope_delta delta;
  bool baseline = false;              // this walk is the scope's baseline
  std::size_t held_removals = 0;      // newly held by the removal guard
  std::size_t confirmations_pending = 0;  // missing, awaiting confirmations
};

// `now_ms` stamps the events. An incomplete walk of a scope without a
// baseline yields nothing to commit (the baseline waits for a complete
// walk); callers check `delta` / `events` and commit them together.
// `stored_body` is asked only for jobs that changed or went away.
diff_outcome diff_scope(const scope_id& scope, const scope_state& previous,
                        const walk_observation& seen, const diff_options& opts,
                        std::int64_t now_ms, const stored_body_fn& stored_body);

}  // namespace hssjw
