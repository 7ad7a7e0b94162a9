// Where committed state lives: snapshots, the event journal and the seq
// counter. Two implementations: memory_store (tests, and nothing durable)
// and sqlite_store (state_dir/state.db, SPEC §8).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "model/event.hpp"
#include "state/scope_state.hpp"

namespace hssjw {

struct stored_scope {
  scope_id scope;
  scope_state state;  // the snapshot's keys and digests; bodies stay stored
};

using stored_job_visitor = std::function<void(const job_key&, std::string_view body)>;

// One job of a job_reader; returns false to stop the read after it.
using listed_job_visitor =
    std::function<bool(const scope_id&, const job_key&, std::string_view body)>;

// Every job of some scopes as of one seq, read a bounded number at a time
// (the socket's list and sync, docs/SOCKET.md): commits made while it is
// open change nothing it reads. It holds what it reads from on its own
// (a read transaction on its own connection, or the store's maps as they
// were), so it may outlive the store.
class job_reader {
 public:
  virtual ~job_reader() = default;
  // The last seq of the state it reads: the state is exactly the journal
  // up to and including it.
  virtual std::uint64_t seq() const = 0;
  // Visits the next jobs, scope by scope in the order asked and each scope
  // in key hash order, until `max` have been visited or `visit` returns
  // false. false once every job has been visited.
  virtual result<bool> read(std::size_t max, const listed_job_visitor& visit) = 0;
};

struct journal_entry {
  std::uint64_t seq = 0;
  std::string line;  // the event as emitted (to_json_line)
};

// Every failure is an error (core/error.hpp) whose code says what kind
// (errc::state_io, state_corrupt, key_hash_collision) and whose message
// names the file, the scope or the job and what went wrong (e.g. the
// SQLite message), for the log line.
class state_store {
 public:
  virtual ~state_store() = default;

  // Every scope with stored state.
  virtual result<std::vector<stored_scope>> load_all() = 0;

  // The stored body of one job of a scope's snapshot; nullopt when there
  // is no such job (a job stored under its key hash with another key is
  // not it). One definition for every store, on find_job.
  result<std::optional<std::string>> job_body(const scope_id& scope, const job_key& key) {
    auto job = find_job(scope, key_hash_of(key), true);
    if (!job) return job.error();
    if (!*job || (*job)->key != key) return std::optional<std::string>();
    return std::optional<std::string>(std::move((*job)->body));
  }
  // The job of a scope's snapshot with this key hash (key_hash_of), its
  // body only when `with_body`; nullopt when there is none.
  virtual result<std::optional<stored_job>> find_job(const scope_id& scope, std::uint64_t key_hash,
                                                     bool with_body) = 0;
  // Every job of a scope's snapshot with its body, in key hash order.
  virtual result<void> for_each_job(const scope_id& scope, const stored_job_visitor& visit) = 0;

  // A reader of the jobs of `scopes` (those not stored have none) as of
  // now, that is as of last_seq().
  virtual result<std::unique_ptr<job_reader>> read_jobs(const std::vector<scope_id>& scopes) = 0;

  // One transaction: applies `delta` to `scope`, assigns consecutive seqs
  // to `events` (in order, continuing from last_seq()) and appends them to
  // the journal. An upsert whose key hash is stored under another key (a
  // key hash collision) fails it. On failure nothing is changed, seqs are
  // not consumed, and the events keep seq 0.
  virtual result<void> commit(const scope_id& scope, const scope_delta& delta,
                              std::vector<change_event>& events) = 0;

  virtual std::uint64_t last_seq() const = 0;
  // The oldest seq still in the journal; last_seq()+1 when it is empty.
  virtual std::uint64_t oldest_seq() const = 0;

  // Up to `max` journal entries with seq > after, in seq order.
  virtual result<std::vector<journal_entry>> read_journal(std::uint64_t after, std::size_t max) = 0;

  // Deletes the state of every stored scope not in `keep`; returns them.
  virtual result<std::vector<scope_id>> prune(const std::vector<scope_id>& keep) = 0;

  // Stored fingerprints depend on poll.ignore_fields. The basis names the
  // ignore set they were all computed under ("" = unknown: recompute).
  virtual std::string fingerprint_basis() { return {}; }
  // One transaction: recomputes every stored fingerprint, of every scope
  // (configured or not), with `fingerprint_of(body)` and records `basis`.
  virtual result<void> rewrite_fingerprints(
      const std::string& basis,
      const std::function<std::uint64_t(std::string_view)>& fingerprint_of) {
    (void)basis;
    (void)fingerprint_of;
    return {};
  }
};

// What a failed commit leaves on its events: no seq, no line (the store's
// commit contract; both stores call it).
inline void unstamp(std::vector<change_event>& events) {
  for (auto& e : events) {
    e.seq = 0;
    e.line.clear();
  }
}

// Nothing durable: seq starts at 1 each run. For tests and the in-memory mode.
std::unique_ptr<state_store> make_memory_store();
// The same, keeping at most `max_events` journal entries (0 = unbounded),
// so a long-running in-memory daemon does not grow without limit.
std::unique_ptr<state_store> make_memory_store(std::uint64_t max_events);

}  // namespace hssjw
