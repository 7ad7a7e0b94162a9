// The job readers of list and sync over state.db (job_reader, store.hpp):
// a read transaction on a read-only connection of its own, which in WAL
// mode reads the database as of the moment it began, whatever commits
// after, without delaying them. The store shares one such view among the
// readers opened while no job changed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "state/sqlite_db.hpp"
#include "state/store.hpp"

namespace hssjw::sqlite {

// The read transaction; ends (and the connection closes) with the last
// reader of it.
struct read_view {
  database db;
  std::uint64_t seq = 0;         // the state is the journal up to it
  std::uint64_t job_writes = 0;  // the store's count of job changes when it began
  std::string path;
};

// Opens `path` read-only and begins a read transaction, fixed by its
// first read: with the writer between transactions, the state as of
// `seq`.
result<std::shared_ptr<read_view>> open_read_view(const std::string& path, std::uint64_t seq,
                                                  std::uint64_t job_writes);

// Reads the jobs of `scopes` in `view`: each scope's jobs in key hash
// order, a bounded number of rows per read() on its own statement.
std::unique_ptr<job_reader> make_job_reader(std::shared_ptr<read_view> view,
                                            std::vector<scope_id> scopes);

}  // namespace hssjw::sqlite
