// A state store for unit tests: the memory store, with reads and commits
// that fail on demand (a full disk, an I/O error), as the state store's
// contract allows: a failed commit changes nothing.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "state/store.hpp"

namespace hssjw::test_support {

class flaky_store final : public state_store {
 public:
  bool fail_commit = false;
  bool fail_reads = false;

  result<std::vector<stored_scope>> load_all() override { return inner_->load_all(); }
  result<std::optional<stored_job>> find_job(const scope_id& scope, std::uint64_t key_hash,
                                             bool with_body) override {
    if (fail_reads) return error(errc::state_io, "disk I/O error");
    return inner_->find_job(scope, key_hash, with_body);
  }
  result<void> for_each_job(const scope_id& scope, const stored_job_visitor& visit) override {
    return inner_->for_each_job(scope, visit);
  }
  result<std::unique_ptr<job_reader>> read_jobs(const std::vector<scope_id>& scopes) override {
    return inner_->read_jobs(scopes);
  }
  result<void> commit(const scope_id& scope, const scope_delta& delta,
                      std::vector<change_event>& events) override {
    if (fail_commit) return error(errc::state_io, "disk I/O error");
    return inner_->commit(scope, delta, events);
  }
  std::uint64_t last_seq() const override { return inner_->last_seq(); }
  std::uint64_t oldest_seq() const override { return inner_->oldest_seq(); }
  result<std::vector<journal_entry>> read_journal(std::uint64_t after, std::size_t max) override {
    return inner_->read_journal(after, max);
  }
  result<std::vector<scope_id>> prune(const std::vector<scope_id>& keep) override {
    return inner_->prune(keep);
  }

 private:
  std::unique_ptr<state_store> inner_ = make_memory_store();
};

}  // namespace hssjw::test_support
