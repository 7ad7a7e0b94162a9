// The job model shared by the decoder, the differ, the state store and the
// sinks. A job is kept as its canonical JSON text (as received, labels
// sorted) plus the few facts the differ needs without parsing it again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
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
};

// The same identity as views into someone else's strings (a page being
// decoded): looked up without building a job_key.
struct job_key_view {
  std::string_view cluster;
  std::string_view ns;
  std::string_view name;
};

// Hash and equality for maps keyed by job_key that a job_key_view can
// search (heterogeneous lookup); both hash a key and its view alike.
struct job_key_hash {
  using is_transparent = void;
  std::size_t operator()(const job_key& k) const noexcept;
  std::size_t operator()(const job_key_view& k) const noexcept;
};

struct job_key_equal {
  using is_transparent = void;
  bool operator()(const job_key& a, const job_key& b) const noexcept { return a == b; }
  bool operator()(const job_key& a, const job_key_view& b) const noexcept {
    return a.name == b.name && a.ns == b.ns && a.cluster == b.cluster;
  }
  bool operator()(const job_key_view& a, const job_key& b) const noexcept { return (*this)(b, a); }
};

// A job as decoded from a page, and as written to the state store.
struct job_record {
  std::optional<std::int64_t> create_time;  // a different value means "replaced"
  std::uint64_t fingerprint = 0;  // over every field not in poll.ignore_fields
  std::string body;               // canonical JSON object text
};

// What a snapshot holds of a job in memory: enough to tell whether it
// changed. Its body stays in the state store, read back only for an
// event that needs it (modified, replaced, removed) and for `list`.
struct job_digest {
  std::optional<std::int64_t> create_time;
  std::uint64_t fingerprint = 0;
  friend bool operator==(const job_digest&, const job_digest&) = default;
};

inline job_digest digest_of(const job_record& r) { return {r.create_time, r.fingerprint}; }

struct keyed_job {
  job_key key;
  job_record record;
};

// A scope: one (project, enterprise project) pair with its filters.
struct scope_id {
  std::string project_id;
  std::string enterprise_project_id;  // "" = parameter omitted
  std::string filters;                // canonical "k=v&k=v", "" = none
  friend bool operator==(const scope_id&, const scope_id&) = default;
  friend auto operator<=>(const scope_id&, const scope_id&) = default;
  // A stable, human-readable identity used in state and logs.
  std::string str() const;
};

}  // namespace hssjw
