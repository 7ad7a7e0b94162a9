// What the daemon takes from the state store at start and at a reload:
// the scopes' snapshots, and stored fingerprints that match the running
// poll.ignore_fields (a fingerprint covers every field but the ignored
// ones, so a changed ignore set changes every fingerprint).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "runtime/scope_runtime.hpp"
#include "state/store.hpp"

namespace spdlog {
class logger;
}

namespace hssjw {

// What the stored fingerprints were computed under: the fingerprint's
// version and poll.ignore_fields as a set. Equal to the store's basis,
// the stored fingerprints are used as they are (no body is parsed at
// start); otherwise every one is recomputed.
std::string fingerprint_basis(const config::config& c);

// Before stored snapshots are loaded: when poll.ignore_fields is not the
// one the stored fingerprints were computed under (or the state is from
// before the basis was recorded), every stored fingerprint, of every
// scope, is recomputed from its body in the store. On failure the old
// fingerprints and basis stay; the next start tries again, and meanwhile
// the differ compares the watched fields themselves before it reports a
// change.
void refresh_stored_fingerprints(state_store& store, const config::config& c, spdlog::logger& log);

// poll.ignore_fields changed by a reload: the stored fingerprints are
// recomputed, then the running scopes take them (their snapshots equal
// what is stored: every commit is applied to both). In place: a walk in
// flight has marked entries of its scope's snapshot (walk_observation).
void reload_fingerprints(state_store& store, const config::config& c, spdlog::logger& log,
                         const std::vector<std::unique_ptr<scope_runtime>>& scopes);

// The configured scopes at start, each with its stored snapshot if it has
// one; stored scopes no longer configured are counted in the log.
std::vector<std::unique_ptr<scope_runtime>> load_scopes(const config::config& c,
                                                        std::vector<stored_scope> stored,
                                                        spdlog::logger& log);

}  // namespace hssjw
