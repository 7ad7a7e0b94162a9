// The scenario the fault matrix and the hostile-response tests share:
// three real changes made upstream, one run of the daemon under a fault,
// and one clean run. Each check asserts no false event, the expected
// outcome, the log naming the fault, and exact recovery; each also
// records what it saw for docs/FAULTS.md (scripts/fault-table.sh).
#pragma once

#include <set>
#include <string>

#include "common/process.hpp"
#include "fake_hss/server.hpp"

namespace hssjw::test {

// What the faulty walk may conclude.
enum class expect {
  fails,       // the page fails after the retry: nothing emitted, exit 1
  incomplete,  // a job is rejected: changes it saw, never a removal, exit 1
  recovers,    // the walk copes (throttling, odd totals): everything, exit 0
};

struct fault_under_test {
  std::string name;
  std::string where;         // first / middle / last page
  std::string log_mentions;  // a fragment the daemon's log must contain ("" = none)
  expect outcome;
};

// One job removed, one modified, one added in project p1, EP "0".
struct real_changes {
  std::string removed;          // "removed <name>"
  std::set<std::string> truth;  // "<type> <name>" of all three
};
real_changes make_real_changes(fake_hss::server& fake, std::size_t remove_at,
                               std::size_t modify_at);

// "<type> <name>" of an event line.
std::string describe_event(const boost::json::object& e);

// Checks the run under the fault; returns the changes it reported.
std::set<std::string> check_faulty_run(const process_result& faulty, const real_changes& changes,
                                       const fault_under_test& fault);

// Checks the clean run after it: only true changes, none twice, all of them.
void check_recovery(const process_result& good, const real_changes& changes,
                    std::set<std::string> reported, const fault_under_test& fault);

}  // namespace hssjw::test
