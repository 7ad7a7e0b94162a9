// conclude_walk: diff, one commit, apply, and the notes the daemon logs
// (their text is part of the product: docs/LOGGING.md, SPEC §9).
#include "walk/conclude.hpp"

#include <spdlog/fmt/fmt.h>

#include <utility>

namespace hssjw {

namespace {

template <class... Args>
walk_note note(note_level level, fmt::format_string<Args...> format, Args&&... args) {
  return {level, fmt::format(format, std::forward<Args>(args)...), false, std::nullopt};
}

// A walk that reached no conclusion because of the state store.
walk_note state_failure(std::string text) {
  return {note_level::error, std::move(text), true, std::nullopt};
}

// Turns a walk that saw something into its commit: the diff, then one
// transaction. Returns what to release, or nothing: with `c.error` set the
// walk failed (the stored state could not be read or written; the
// snapshot is kept and nothing is released), without it there was nothing
// to commit (a baseline waiting for a complete walk).
std::optional<walk_release> commit_walk(state_store& store, const scope_id& id,
                                        scope_state& snapshot, walk_outcome& outcome,
                                        const diff_options& opts, std::int64_t now_ms,
                                        walk_conclusion& c, const note_fn& log) {
  diff_outcome diff;
  if (outcome.status == walk_status::unchanged) {
    diff.delta.meta = snapshot.meta;
    ++diff.delta.meta.walks_since_full;
  } else {
    std::string read_error;  // of the last read: the store's detail for the log line
    diff = diff_scope(id, snapshot, std::move(outcome.observation), opts, now_ms,
                      [&](std::uint64_t key_hash, bool with_body) -> std::optional<stored_job> {
                        auto job = store.find_job(id, key_hash, with_body);
                        read_error = job ? std::string() : job.error().message();
                        return job ? std::move(*job) : std::nullopt;
                      });
    if (!diff.error.empty()) {
      c.error = "state: " + diff.error + " (" + read_error + ")";
      log(state_failure(fmt::format(
          "scope {}: walk failed: {}; nothing committed or released, retrying next walk", id.str(),
          c.error)));
      return std::nullopt;
    }
    if (diff.baseline && !outcome.observation.complete) {
      log(note(note_level::info,
               "scope {}: walk incomplete ({}); the baseline waits for a complete walk", id.str(),
               outcome.reason));
      return std::nullopt;
    }
    if (outcome.status == walk_status::complete) diff.delta.meta.walks_since_full = 0;
  }
  if (auto committed = store.commit(id, diff.delta, diff.events); !committed) {
    c.error = "state: could not commit the walk (" + committed.error().code().message() + ": " +
              committed.error().message() + ")";
    log(state_failure(
        fmt::format("scope {}: walk failed: {}; state kept, nothing released, retrying next walk",
                    id.str(), c.error)));
    return std::nullopt;
  }
  apply(snapshot, diff.delta);
  walk_release r{std::move(diff.events), diff.baseline, diff.held_removals, {}};
  if (r.held_removals)
    r.notes.push_back(
        note(note_level::warn,
             "scope {}: removal guard holds {} removals (more than {}% of {} jobs); they "
             "are emitted only if the next complete walk confirms them",
             id.str(), r.held_removals, opts.removal_guard * 100, snapshot.jobs.size()));
  return r;
}

}  // namespace

const char* status_name(walk_status s) {
  switch (s) {
    case walk_status::complete:
      return "complete";
    case walk_status::incomplete:
      return "incomplete";
    case walk_status::unchanged:
      return "unchanged";
    case walk_status::failed:
      return "failed";
  }
  return "failed";
}

walk_conclusion conclude_walk(state_store& store, const scope_id& scope, scope_state& snapshot,
                              walk_outcome&& outcome, const diff_options& opts, std::int64_t now_ms,
                              bool failing, const note_fn& log) {
  walk_conclusion c;
  switch (outcome.status) {
    case walk_status::failed: {
      walk_note debug = note(note_level::debug, "scope {}: walk failed after {} requests: {}",
                             scope.str(), outcome.requests, outcome.reason);
      debug.failure_fields = true;
      debug.api = outcome.api;
      log(debug);
      if (!failing) {
        walk_note warn =
            note(note_level::warn, "scope {}: walk failed: {}", scope.str(), outcome.reason);
        warn.failure_fields = true;
        warn.api = outcome.api;
        log(warn);
      }
      c.error = outcome.reason;
      break;
    }
    case walk_status::incomplete:
      log(note(note_level::warn,
               "scope {}: walk incomplete after {} requests ({}); no removals inferred",
               scope.str(), outcome.requests, outcome.reason));
      c.released = commit_walk(store, scope, snapshot, outcome, opts, now_ms, c, log);
      break;
    case walk_status::complete:
    case walk_status::unchanged:
      log(note(note_level::debug, "scope {}: walk {} ({} jobs, {} requests, {} repairs)",
               scope.str(), outcome.status == walk_status::complete ? "complete" : "unchanged",
               outcome.observation.total_num, outcome.requests, outcome.repairs));
      c.released = commit_walk(store, scope, snapshot, outcome, opts, now_ms, c, log);
      break;
  }
  c.status = c.failed() ? "failed" : status_name(outcome.status);
  c.complete = !c.failed() && (outcome.status == walk_status::complete ||
                               outcome.status == walk_status::unchanged);
  return c;
}

}  // namespace hssjw
