// The job model (lib/model: the bottom layer, used by every other part)
// shared by the decoder, the differ, the state store and the
// sinks. A job is kept as its canonical JSON text (as received, labels
// sorted) plus the few facts the differ needs without parsing it again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hssjw {

// (cluster_name, namespace_name, name): the identity of a job in a scope.
struct job_key {
  std::string cluster;
  std::string ns;
  std::string name;
  friend bool operator==(const job_key&, const job_key&) = default;
  friend auto operator<=>(const job_key&, const job_key&) = default;
  // "cluster/namespace/name", for messages.
  std::string str() const;
};

// The same identity as views into someone else's strings (a page being
// decoded, an SQL function's arguments): hashed without building a job_key.
struct job_key_view {
  std::string_view cluster;
  std::string_view ns;
  std::string_view name;
};

// The key hash: a fixed 64-bit hash of (cluster, namespace, name). The
// snapshot in memory is keyed by it (8 bytes instead of three strings),
// the walk planner's listing identities start from it, and state.db
// stores it (jobs.key_hash): its values must never change (core/hash.hpp).
// Two keys sharing one (about 3e-8 for a scope of 1M jobs) are detected,
// never merged: docs/STATE.md "Key hashes".
std::uint64_t key_hash_of(const job_key_view& k) noexcept;
std::uint64_t key_hash_of(const job_key& k) noexcept;
// "0x0123456789abcdef", for messages about a key hash.
std::string key_hash_hex(std::uint64_t key_hash);

// For maps keyed by job_key (pending removals).
struct job_key_hash {
  using is_avalanching = void;  // key_hash_of mixes fully
  std::size_t operator()(const job_key& k) const noexcept { return key_hash_of(k); }
};

// For maps keyed by a key hash: it is already mixed, so it is its own hash.
struct prehashed {
  using is_avalanching = void;
  std::size_t operator()(std::uint64_t h) const noexcept { return h; }
};

// A job as decoded from a page, and as written to the state store.
struct job_record {
  std::optional<std::int64_t> create_time;  // a different value means "replaced"
  std::uint64_t fingerprint = 0;            // over every field not in poll.ignore_fields
  std::string body;                         // canonical JSON object text
};

// What a snapshot holds of a job in memory: enough to tell whether it
// changed. Its body stays in the state store, read back only for an
// event that needs it (modified, replaced, removed) and for `list`.
// 24 bytes (a million of them are the daemon's memory): create_time is
// kept without std::optional's 8 bytes of flag, INT64_MIN meaning none.
struct job_digest {
  static constexpr std::int64_t no_create_time = std::numeric_limits<std::int64_t>::min();

  std::uint64_t fingerprint = 0;
  std::int64_t created = no_create_time;
  // Bookkeeping of the walk in progress, not part of the value: the walk
  // number (scope_state::begin_walk) that last saw this job unchanged.
  std::uint32_t seen_in_walk = 0;

  job_digest() = default;
  job_digest(std::optional<std::int64_t> create_time, std::uint64_t fp)
      : fingerprint(fp), created(create_time.value_or(no_create_time)) {}

  std::optional<std::int64_t> create_time() const {
    return created == no_create_time ? std::nullopt : std::optional<std::int64_t>(created);
  }
  friend bool operator==(const job_digest& a, const job_digest& b) {
    return a.fingerprint == b.fingerprint && a.created == b.created;
  }
};

inline job_digest digest_of(const job_record& r) { return {r.create_time, r.fingerprint}; }

struct keyed_job {
  job_key key;
  job_record record;
  std::uint64_t key_hash = 0;  // key_hash_of(key) when the decoder set it; 0: not set
};

// The key hash of a job, computed once per walk (by the decoder) however
// many maps and tables it goes through.
inline std::uint64_t key_hash_of(const keyed_job& j) noexcept {
  return j.key_hash != 0 ? j.key_hash : key_hash_of(j.key);
}

}  // namespace hssjw
