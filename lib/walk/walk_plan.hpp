// The walk planner: which offsets to request, and whether the pages seen
// so far cover the whole list. Pure logic, no I/O (SPEC §3).
//
// HSS pages by offset with no snapshot, so the list may shift between two
// page requests. Consecutive pages overlap by one job; two pages that share
// a job form one contiguous stretch of the list (jobs keep their relative
// order), so a chain of linked pages from offset 0 to a page that reaches
// the end covers every job that existed for the whole walk. When a link is
// missing (jobs deleted before the boundary shifted the list left), the
// planner re-reads the range around the break, further back each time.
// See docs/WALKER.md for the argument and its limits.
#pragma once

#include <boost/unordered/unordered_flat_set.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/job.hpp"
#include "model/scope.hpp"

namespace hssjw {

// The identity of one listed job within a walk: its key (key_hash_of) and
// create_time.
std::uint64_t listing_identity(std::uint64_t key_hash, std::optional<std::int64_t> create_time);

class walk_plan {
 public:
  static constexpr std::int64_t max_offset = 2'000'000;

  // `max_repairs`: extra requests the walk may spend on repairs and
  // continuations beyond the pages planned from the first total_num.
  explicit walk_plan(std::uint32_t page_size, std::uint32_t max_repairs = 0);

  // The next offset to request now, or nullopt (nothing to request until
  // an outstanding page answers, or the walk is finished).
  std::optional<std::int64_t> next_request();

  // A page answered: its total_num and the identities of its jobs in list
  // order (rejected jobs included as 0 so positions stay right).
  void on_page(std::int64_t offset, std::int64_t total_num, std::vector<std::uint64_t> ids);

  // Stop after the first page (poll.trust_last_update_time): the caller
  // decided nothing changed.
  void stop_after_first_page() { stopped_ = true; }

  bool finished() const;  // nothing outstanding and nothing more to ask
  bool complete() const;  // the chain covers the whole list
  bool exceeds_offset_limit() const { return too_large_; }
  bool stopped_early() const { return stopped_; }
  std::int64_t first_total() const { return first_total_.value_or(0); }
  std::int64_t latest_total() const { return latest_total_; }
  std::uint32_t requests_issued() const { return issued_; }
  std::uint32_t repairs_issued() const { return repairs_; }
  std::string describe() const;  // why incomplete, for the log

 private:
  struct page {
    std::int64_t total = 0;
    std::vector<std::uint64_t> ids;
    bool in_chain = false;
  };
  using page_it = std::multimap<std::int64_t, struct page>::iterator;
  void plan_from_first(std::int64_t total);
  void evaluate(page_it added);
  void join(page_it p);
  bool links(const page& p) const;
  bool reaches_end(std::int64_t offset, const page& p) const;
  void request_repair(std::int64_t frontier_offset, const page& frontier, bool gap);
  std::uint32_t repair_limit() const;

  std::uint32_t page_size_;
  std::uint32_t max_repairs_;
  std::deque<std::int64_t> planned_;  // not yet issued, ascending
  std::set<std::int64_t> outstanding_;
  std::multimap<std::int64_t, page> pages_;  // by offset; re-reads are kept too
  // The chain, grown as pages arrive (a full rebuild per page made a walk
  // quadratic in its pages): the first page at offset 0 and every page
  // sharing a job with it, transitively; `loose_` holds the others.
  boost::unordered_flat_set<std::uint64_t> chain_ids_;
  std::vector<page_it> loose_;
  bool chain_started_ = false;
  bool saw_empty_ = false;  // a page said the list was empty
  std::optional<std::int64_t> first_total_;
  std::int64_t latest_total_ = 0;
  std::uint32_t issued_ = 0;
  std::uint32_t repairs_ = 0;
  std::int64_t last_frontier_ = -1;  // the frontier the last repair was for
  std::uint32_t attempts_at_frontier_ = 0;
  bool complete_ = false;
  bool gave_up_ = false;
  bool stopped_ = false;
  bool too_large_ = false;
  std::string why_;
};

}  // namespace hssjw
