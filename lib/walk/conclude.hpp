// The conclusion of one walk of one scope: what the walker saw becomes a
// diff, the diff one commit, the commit the scope's new snapshot and what
// may be released. Synchronous and free of scheduling, sinks and logging,
// so the rules the daemon lives by are tested step by step with the
// memory store (tests/unit/conclude_test.cpp):
//   - a failed walk concludes nothing: no commit, the snapshot stays;
//   - an incomplete walk never baselines: a scope without a baseline
//     waits for a complete walk, with nothing to commit;
//   - a walk whose stored state cannot be read or written is a failed
//     walk: nothing is committed or released, the snapshot stays;
//   - only a committed walk releases events, and they carry their seqs;
//   - a complete walk resets walks_since_full, an unchanged one bumps it.
// The caller is told the log lines as they arise, then records the
// scope's status and hands the release to the sinks, in that order
// (lib/runtime/walk_runner.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/event.hpp"
#include "state/scope_state.hpp"
#include "state/store.hpp"
#include "walk/differ.hpp"
#include "walk/walker.hpp"

namespace hssjw {

enum class note_level { debug, info, warn, error };

// A log line the conclusion asks for. The walk layer does not log: the
// daemon writes these as they are, so the tests can read them too.
struct walk_note {
  note_level level = note_level::info;
  std::string text;
  // Logged with the walk-failure journald fields (MESSAGE_ID, scope, and
  // the API error's request id when `api` is set: SPEC §9).
  bool failure_fields = false;
  std::optional<api_error> api;
};

// A committed walk: what the sinks are told, after the commit.
struct walk_release {
  std::vector<change_event> events;  // in seq order, seqs assigned by the store
  bool baseline = false;             // the scope's baseline
  std::size_t held_removals = 0;     // newly held back by the removal guard
  std::vector<walk_note> notes;      // logged just before the sinks hear of it

  // Nothing happened that a sink needs to hear of (no event, no baseline).
  bool quiet() const { return events.empty() && !baseline; }
};

struct walk_conclusion {
  // The walk as the metrics count it: "complete", "incomplete",
  // "unchanged" or "failed" (a failed commit makes a failed walk).
  const char* status = "failed";
  // Why the walk failed, the scope's last error; empty when it did not.
  std::string error;
  // A complete or unchanged walk that did not fail: /healthz, --once.
  bool complete = false;
  std::optional<walk_release> released;  // set when (and only when) it committed

  bool failed() const { return !error.empty(); }
};

const char* status_name(walk_status s);

// Told each log line when it arises: a line about the walk comes before
// its commit, as it always has, so a crash inside the commit keeps it.
using note_fn = std::function<void(const walk_note&)>;

// Concludes `outcome`, a walk of `scope` that started from `snapshot`
// (the scope's state as of its last commit, which the walk marked). On a
// commit, applies it to `snapshot`; otherwise leaves `snapshot` as it is.
// `failing`: the scope failed its previous walk (a failure is then only
// logged at debug level again). `now_ms` stamps the events. `log` hears
// the lines to log before the scope's status is set.
walk_conclusion conclude_walk(state_store& store, const scope_id& scope, scope_state& snapshot,
                              walk_outcome&& outcome, const diff_options& opts, std::int64_t now_ms,
                              bool failing, const note_fn& log);

}  // namespace hssjw
