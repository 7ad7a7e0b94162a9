// Shared fixtures of the micro-benchmarks: realistic HSS pages (the fake
// HSS's synthetic CronJob inventory, ~420 bytes per job) and the decoded
// snapshots the differ and the store work on, built once per process.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "hss/page_decoder.hpp"
#include "state/scope_state.hpp"
#include "walk/differ.hpp"

namespace hssjw::bench {

inline const scope_id bench_scope{"p1", "", ""};

// The body of one ListK8sJobs page: `per_page` jobs starting at `offset`
// of an inventory of `total` synthetic jobs, as the fake renders it.
std::string page_body(std::size_t total, std::size_t offset, std::size_t per_page);

// `n` decoded jobs (through page_decoder, as a walk sees them), cached per n.
const std::vector<keyed_job>& decoded_jobs(std::size_t n);

// A snapshot holding `jobs` with a baseline, as after a complete walk.
scope_state snapshot_of(const std::vector<keyed_job>& jobs);

// The stored keys and bodies of `jobs` by key hash, from a map in memory
// (the daemon reads them from SQLite, and only for jobs that changed or
// went away).
stored_job_fn bodies_of(const std::vector<keyed_job>& jobs);

// `jobs` with every 1/`every`-th job's status flipped (a real change: new
// fingerprint, new body), re-decoded so the records are what a walk yields.
std::vector<keyed_job> with_changes(const std::vector<keyed_job>& jobs, std::size_t every);

}  // namespace hssjw::bench
