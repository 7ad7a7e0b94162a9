// The durable state store (SPEC §8): state_dir/state.db in SQLite WAL mode
// with synchronous=FULL, so that an event released after commit() survives
// kill -9 and power loss, and a seq is never handed out twice. Also guards
// the state directory against a second daemon with an flock on
// state_dir/lock. Schema, errors and operator actions: docs/STATE.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "state/store.hpp"

namespace hssjw {

struct sqlite_options {
  // Journal retention (config journal.max_events / journal.max_age);
  // 0 disables that bound.
  std::uint64_t max_events = 1'000'000;
  std::chrono::milliseconds max_age = std::chrono::hours(24 * 7);
  // At most this many journal rows are deleted per pruning step, so a
  // large backlog (a lowered max_events) never blocks the event loop long.
  std::size_t prune_batch = 10'000;
  // How long a write waits for a reader (e.g. a CLI inspecting state.db).
  std::chrono::milliseconds busy_timeout = std::chrono::milliseconds(2000);
  // Wall clock in epoch milliseconds, for max_age; empty = system_clock.
  std::function<std::int64_t()> now_ms;
  // TEST ONLY (docs/STATE.md, "The test hook"): a sleep inside each commit
  // transaction before COMMIT, and one after COMMIT before commit()
  // returns, each announced on stderr. 0 (production): none.
  std::chrono::milliseconds test_commit_delay{0};
  std::chrono::milliseconds test_after_commit_delay{0};
};

class sqlite_store : public state_store {
 public:
  static constexpr std::int32_t application_id = 0x48535357;  // "HSSW"
  static constexpr std::int32_t schema_version = 2;

  // state_dir/state.db
  virtual const std::string& db_path() const = 0;

  // Deletes up to prune_batch of the oldest journal rows that are beyond
  // max_events or older than max_age; returns how many it deleted. commit()
  // already runs one step inside its transaction; the daemon calls this on
  // a timer (and repeatedly while it returns a full batch) so age-based
  // retention also happens while nothing changes.
  virtual result<std::size_t> prune_journal_step() = 0;
};

// Opens (creating or migrating if needed) state_dir/state.db and locks
// state_dir. Never deletes, truncates or rewrites a database it does not
// recognise: a damaged, foreign or newer database is an error.
result<std::unique_ptr<sqlite_store>> open_sqlite_store(const std::string& state_dir,
                                                        sqlite_options opts = {});

}  // namespace hssjw
