// The SQLite state store (SPEC §8, docs/STATE.md): opening state.db (its
// schema, checks and migrations are in sqlite_schema.cpp), the
// one-transaction commit of a walk's delta with its events, journal
// retention, the job readers of list and sync, and the directory lock.
#include "state/sqlite_store.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>

#include "core/utc.hpp"
#include "state/sqlite_db.hpp"
#include "state/sqlite_job_reader.hpp"
#include "state/sqlite_schema.hpp"
#include "state/state_dir.hpp"

namespace hssjw {

using sqlite::as_stored;
using sqlite::read_key;

namespace {

std::int64_t clamp_i64(std::uint64_t v) {
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(v, max));
}

// ------------------------------------------------------ test-only hooks

// TEST ONLY. The crash tests (tests/integration/durability_test.cpp) SIGKILL
// a real daemon inside and right after a commit; a commit of a small delta
// takes well under a millisecond, too short to hit at random. Two delays
// of sqlite_options (hss-jobwatchd's main sets them from
// HSSJW_TEST_COMMIT_DELAY_MS and HSSJW_TEST_AFTER_COMMIT_DELAY_MS) widen
// the two windows that matter:
//   before_commit  sleep after the journal rows are written, before COMMIT
//                  (kill = rollback)
//   after_commit   sleep after COMMIT, before commit() returns
//                  (kill = committed, not released)
// Each sleep is announced on stderr first, so a test can aim its kill.
// In production both are 0 and nothing is printed or slept.
struct test_hooks {
  std::chrono::milliseconds before_commit{0};
  std::chrono::milliseconds after_commit{0};

  static void pause(std::chrono::milliseconds d, const char* where, std::size_t events) {
    if (d.count() <= 0) return;
    std::fprintf(stderr, "hssjw test hook: %s (%zu events), sleeping %lld ms\n", where, events,
                 static_cast<long long>(d.count()));
    std::this_thread::sleep_for(d);
  }
};

// ------------------------------------------------------------------ store

class sqlite_store_impl final : public sqlite_store {
 public:
  sqlite_store_impl(std::string dir, sqlite_options opts)
      : dir_(std::move(dir)), path_(dir_ + "/state.db"), opts_(std::move(opts)) {
    if (!opts_.now_ms) opts_.now_ms = unix_now_ms;
  }

  result<void> open();

  const std::string& db_path() const override { return path_; }
  std::uint64_t last_seq() const override { return last_seq_; }
  std::uint64_t oldest_seq() const override { return oldest_seq_; }

  result<std::vector<stored_scope>> load_all() override;
  result<std::optional<stored_job>> find_job(const scope_id& scope, std::uint64_t key_hash,
                                             bool with_body) override;
  result<void> for_each_job(const scope_id& scope, const stored_job_visitor& visit) override;
  result<std::unique_ptr<job_reader>> read_jobs(const std::vector<scope_id>& scopes) override;
  result<void> commit(const scope_id& scope, const scope_delta& delta,
                      std::vector<change_event>& events) override;
  result<std::vector<journal_entry>> read_journal(std::uint64_t after, std::size_t max) override;
  result<std::vector<scope_id>> prune(const std::vector<scope_id>& keep) override;
  result<std::size_t> prune_journal_step() override;
  std::string fingerprint_basis() override;
  result<void> rewrite_fingerprints(
      const std::string& basis,
      const std::function<std::uint64_t(std::string_view)>& fingerprint_of) override;

 private:
  // Opening, in order.
  result<void> open_db();
  result<void> prepare_all();
  result<void> load_counters();
  result<std::int64_t> query_int(const char* sql, const char* what) {
    return sqlite::query_int(db_, path_, sql, what);
  }

  // Writing.
  result<void> write_delta(const std::string& id, const scope_id& scope, const scope_delta& delta);
  result<void> write_events(const scope_id& scope, const std::string& id,
                            std::vector<change_event>& events);
  result<std::uint64_t> prune_in_tx(std::uint64_t last, std::size_t& deleted);
  result<std::uint64_t> age_boundary(std::uint64_t from, std::uint64_t cap);
  result<void> run(sqlite::statement& s, const char* what);
  result<void> begin();
  result<void> finish();
  void rollback();
  error fail(int rc, const char* what) const;
  error collision(const scope_id& scope, const job_key& key, std::uint64_t hash);

  std::string dir_;
  std::string path_;
  sqlite_options opts_;
  std::uint64_t last_seq_ = 0;
  std::uint64_t oldest_seq_ = 1;
  test_hooks hooks_;         // TEST ONLY, see test_hooks
  std::string line_buffer_;  // write_events of a big commit
  // Job readers (read_jobs) opened while no job changed share one read
  // transaction; a commit or prune that changes jobs counts here.
  std::weak_ptr<sqlite::read_view> view_;
  std::uint64_t job_writes_ = 0;

  // Declaration order is teardown order reversed: statements are finalized
  // before the connection closes, and the lock is released last.
  dir_lock lock_;
  sqlite::database db_;
  sqlite::statement begin_, commit_, rollback_;
  sqlite::statement upsert_scope_, upsert_job_, delete_job_, upsert_pending_, delete_pending_;
  sqlite::statement insert_event_, set_last_seq_;
  sqlite::statement journal_head_, delete_journal_before_, read_journal_;
  sqlite::statement find_job_;
};

// ------------------------------------------------------------- opening

result<void> sqlite_store_impl::open() {
  hooks_ = {opts_.test_commit_delay, opts_.test_after_commit_delay};
  if (auto r = ensure_state_dir(dir_); !r) return r.error();
  auto lock = lock_state_dir(dir_);
  if (!lock) return lock.error();
  lock_ = std::move(*lock);
  if (auto r = open_db(); !r) return r;
  if (auto r = sqlite::check_and_migrate(db_, path_); !r) return r;
  if (auto r = prepare_all(); !r) return r;
  return load_counters();
}

result<void> sqlite_store_impl::open_db() {
  sqlite3* raw = nullptr;
  // No SQLITE_OPEN_FULLMUTEX: the store lives on the one io_context thread.
  const int rc = sqlite3_open_v2(
      path_.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      nullptr);
  db_ = sqlite::database(raw);  // owns the handle even when open failed
  if (rc != SQLITE_OK) return sqlite::open_failure(path_, db_.get(), rc, "cannot open");
  // SQLite silently opens a file it cannot write read-only; the daemon
  // would then fail on its first commit instead of at start.
  if (sqlite3_db_readonly(db_.get(), "main") == 1) {
    return error(errc::state_io, path_ +
                                     ": not writable (read-only file or file system); make it "
                                     "writable by the daemon's user");
  }
  sqlite3_busy_timeout(db_.get(), static_cast<int>(opts_.busy_timeout.count()));
  const int fn = sqlite::register_schema_functions(db_.get());
  if (fn != SQLITE_OK)
    return sqlite::open_failure(path_, db_.get(), fn, "cannot register the key hash function");
  return {};
}

result<void> sqlite_store_impl::prepare_all() {
  const std::pair<sqlite::statement*, const char*> all[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&upsert_scope_,
       "INSERT INTO scopes(id, project_id, eps, filters, has_baseline, last_total_num, "
       "last_update_time, walks_since_full) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
       "ON CONFLICT(id) DO UPDATE SET has_baseline = excluded.has_baseline, "
       "last_total_num = excluded.last_total_num, last_update_time = excluded.last_update_time, "
       "walks_since_full = excluded.walks_since_full"},
      // The WHERE makes a key hash stored under another key a no-op, which
      // write_delta reports as a collision (sqlite3_changes 0).
      {&upsert_job_,
       "INSERT INTO jobs(scope, key_hash, cluster, ns, name, create_time, fingerprint, body) "
       "VALUES(?1, ?5, ?2, ?3, ?4, ?6, ?7, ?8) ON CONFLICT(scope, key_hash) DO UPDATE SET "
       "create_time = excluded.create_time, fingerprint = excluded.fingerprint, "
       "body = excluded.body WHERE cluster = excluded.cluster AND ns = excluded.ns AND "
       "name = excluded.name"},
      {&delete_job_,
       "DELETE FROM jobs WHERE scope = ?1 AND key_hash = ?5 AND cluster = ?2 AND ns = ?3 AND "
       "name = ?4"},
      {&upsert_pending_,
       "INSERT INTO pending(scope, cluster, ns, name, misses, held) VALUES(?1, ?2, ?3, ?4, ?5, ?6) "
       "ON CONFLICT(scope, cluster, ns, name) DO UPDATE SET misses = excluded.misses, "
       "held = excluded.held"},
      {&delete_pending_,
       "DELETE FROM pending WHERE scope = ?1 AND cluster = ?2 AND ns = ?3 AND name = ?4"},
      {&insert_event_,
       "INSERT INTO journal(seq, time_ms, scope, type, cluster, ns, name, line) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
      {&set_last_seq_, "UPDATE meta SET value = ?1 WHERE key = 'last_seq'"},
      {&journal_head_, "SELECT seq, time_ms FROM journal WHERE seq >= ?1 ORDER BY seq LIMIT ?2"},
      {&delete_journal_before_, "DELETE FROM journal WHERE seq < ?1"},
      {&read_journal_, "SELECT seq, line FROM journal WHERE seq > ?1 ORDER BY seq LIMIT ?2"},
      {&find_job_, "SELECT cluster, ns, name, body FROM jobs WHERE scope = ?1 AND key_hash = ?2"},
  };
  for (const auto& [stmt, sql] : all) {
    const int rc = stmt->prepare(db_.get(), sql);
    // A statement that does not compile against a schema we just checked
    // means the tables were altered behind our back.
    if (rc != SQLITE_OK) {
      return error(errc::state_corrupt,
                   path_ + ": unexpected schema (" + sqlite::detail(db_.get(), rc) +
                       "); the file is left as it is: restore a backup or move it away");
    }
  }
  return {};
}

result<void> sqlite_store_impl::load_counters() {
  auto rows = query_int("SELECT count(*) FROM meta WHERE key = 'last_seq'", "cannot read meta");
  if (!rows) return rows.error();
  if (*rows != 1) {
    // Without it a pruned-empty journal would restart seqs at 1.
    return error(errc::state_corrupt, path_ +
                                          ": meta.last_seq is missing; the file is left as it is: "
                                          "restore a backup or move it away");
  }
  auto stored = query_int("SELECT value FROM meta WHERE key = 'last_seq'", "cannot read meta");
  if (!stored) return stored.error();
  auto max_seq = query_int("SELECT coalesce(max(seq), 0) FROM journal", "cannot read the journal");
  if (!max_seq) return max_seq.error();
  auto min_seq = query_int("SELECT coalesce(min(seq), 0) FROM journal", "cannot read the journal");
  if (!min_seq) return min_seq.error();
  if (*stored < 0 || *min_seq < 0) {
    return error(errc::state_corrupt, path_ +
                                          ": negative seq in meta or journal; the file "
                                          "is left as it is: restore a backup or move "
                                          "it away");
  }
  // Both are written in the same transaction; taking the larger one means a
  // seq is never handed out twice even if they ever disagreed.
  last_seq_ = static_cast<std::uint64_t>(std::max(*stored, *max_seq));
  oldest_seq_ = *min_seq > 0 ? static_cast<std::uint64_t>(*min_seq) : last_seq_ + 1;
  return {};
}

// ------------------------------------------------------------- writing

// A transaction of many rows (a baseline writes every job and as many
// events) gets 64 MiB of page cache for its duration: with SQLite's 2 MiB
// it spills dirty pages to the WAL and reads them back over and over.
// Afterwards the cache goes back to the default and its memory is freed,
// so a daemon holding a large snapshot does not keep 64 MiB it rarely uses.
class big_transaction {
 public:
  static constexpr std::size_t rows = 20'000;
  big_transaction(sqlite3* db, std::size_t rows_written)
      : db_(rows_written >= rows ? db : nullptr) {
    if (db_) sqlite3_exec(db_, "PRAGMA cache_size=-65536", nullptr, nullptr, nullptr);
  }
  ~big_transaction() {
    if (!db_) return;
    sqlite3_exec(db_, "PRAGMA cache_size=-2000", nullptr, nullptr, nullptr);
    sqlite3_db_release_memory(db_);
  }
  big_transaction(const big_transaction&) = delete;
  big_transaction& operator=(const big_transaction&) = delete;

 private:
  sqlite3* db_;
};

// A job whose key hash is stored under another key: refused, named, and
// never merged with it (docs/STATE.md "Key hashes").
error sqlite_store_impl::collision(const scope_id& scope, const job_key& key, std::uint64_t hash) {
  const auto stored = find_job(scope, hash, false);
  const std::string other = stored && *stored ? "job " + (*stored)->key.str() : "another job";
  return error(errc::key_hash_collision,
               path_ + ": scope " + scope.str() + ": job " + key.str() + " and the stored " +
                   other + " share key hash " + key_hash_hex(hash) +
                   "; nothing of this walk is committed (docs/STATE.md \"Key hashes\")");
}

error sqlite_store_impl::fail(int rc, const char* what) const {
  return error(sqlite::classify(rc), path_ + ": " + what + ": " + sqlite::detail(db_.get(), rc));
}

result<void> sqlite_store_impl::run(sqlite::statement& s, const char* what) {
  sqlite::reset_guard guard(s);
  const int rc = s.step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return fail(rc, what);
  return {};
}

result<void> sqlite_store_impl::begin() { return run(begin_, "begin transaction"); }
result<void> sqlite_store_impl::finish() { return run(commit_, "commit transaction"); }

void sqlite_store_impl::rollback() {
  // Some errors (disk full, I/O) already rolled the transaction back.
  if (sqlite3_get_autocommit(db_.get()) != 0) return;
  sqlite::reset_guard guard(rollback_);
  rollback_.step();
}

result<void> sqlite_store_impl::commit(const scope_id& scope, const scope_delta& delta,
                                       std::vector<change_event>& events) {
  big_transaction big(db_.get(), delta.upserts.size() + delta.deletions.size() + events.size());
  const std::string id = scope.str();
  std::size_t pruned = 0;
  auto attempt = [&]() -> result<std::uint64_t> {
    if (auto r = begin(); !r) return r.error();
    if (auto r = write_delta(id, scope, delta); !r) return r.error();
    if (auto r = write_events(scope, id, events); !r) return r.error();
    // Retention rides along in the same transaction (and fsync): bounded
    // by prune_batch, so commit cost stays proportional to the change.
    auto oldest = prune_in_tx(last_seq_ + events.size(), pruned);
    if (!oldest) return oldest.error();
    test_hooks::pause(hooks_.before_commit, "transaction written, before COMMIT", events.size());
    if (auto r = finish(); !r) return r.error();
    test_hooks::pause(hooks_.after_commit, "committed, before release", events.size());
    return oldest;
  };
  // to_json_line may throw (bad_alloc): the contract holds then too.
  auto done = [&] {
    try {
      return attempt();
    } catch (...) {
      rollback();
      unstamp(events);
      throw;
    }
  }();
  if (!done) {
    rollback();
    unstamp(events);
    return done.error();
  }
  last_seq_ += events.size();
  oldest_seq_ = *done;
  if (!delta.empty_of_jobs()) ++job_writes_;
  return {};
}

result<void> sqlite_store_impl::write_delta(const std::string& id, const scope_id& scope,
                                            const scope_delta& delta) {
  auto& s = upsert_scope_;
  s.bind(1, id);
  s.bind(2, scope.project_id);
  s.bind(3, scope.enterprise_project_id);
  s.bind(4, scope.filters);
  s.bind(5, std::int64_t{delta.meta.has_baseline});
  s.bind(6, delta.meta.last_total_num);
  s.bind(7, delta.meta.last_update_time);
  s.bind(8, std::int64_t{delta.meta.walks_since_full});
  if (auto r = run(s, "write scope"); !r) return r;

  auto bind_key = [&](sqlite::statement& st, const job_key& k) {
    st.bind(1, id);
    st.bind(2, k.cluster);
    st.bind(3, k.ns);
    st.bind(4, k.name);
  };
  // In key hash order, the primary key's: SQLite then fills its B-tree
  // from left to right instead of splitting pages all over it (a baseline
  // inserts every job at once). Integers sort cheaper than three strings.
  std::vector<std::pair<std::uint64_t, const keyed_job*>> upserts;
  upserts.reserve(delta.upserts.size());
  for (const auto& j : delta.upserts) upserts.emplace_back(key_hash_of(j), &j);
  std::sort(upserts.begin(), upserts.end(),
            [](const auto& a, const auto& b) { return as_stored(a.first) < as_stored(b.first); });
  for (const auto& [hash, job] : upserts) {
    const keyed_job& j = *job;
    bind_key(upsert_job_, j.key);
    upsert_job_.bind(5, as_stored(hash));
    upsert_job_.bind(6, j.record.create_time);
    upsert_job_.bind(7, as_stored(j.record.fingerprint));
    upsert_job_.bind(8, j.record.body);
    if (auto r = run(upsert_job_, "write job"); !r) return r;
    if (sqlite3_changes(db_.get()) == 0) return collision(scope, j.key, hash);
  }
  for (const auto& k : delta.deletions) {
    bind_key(delete_job_, k);
    delete_job_.bind(5, as_stored(key_hash_of(k)));
    if (auto r = run(delete_job_, "delete job"); !r) return r;
  }
  for (const auto& [k, p] : delta.pending_set) {
    bind_key(upsert_pending_, k);
    upsert_pending_.bind(5, std::int64_t{p.misses});
    upsert_pending_.bind(6, std::int64_t{p.held});
    if (auto r = run(upsert_pending_, "write pending removal"); !r) return r;
  }
  for (const auto& k : delta.pending_cleared) {
    bind_key(delete_pending_, k);
    if (auto r = run(delete_pending_, "clear pending removal"); !r) return r;
  }
  return {};
}

// Each line is rendered once and bound without SQLite's copy (it outlives
// the step). A commit of ordinary size keeps its lines in the events for
// the sinks; a big one (a baseline: a million lines) renders each into one
// reused buffer instead of keeping them (change_event::line).
result<void> sqlite_store_impl::write_events(const scope_id& scope, const std::string& id,
                                             std::vector<change_event>& events) {
  std::uint64_t seq = last_seq_;
  const bool keep_lines = events.size() < big_transaction::rows;
  for (auto& e : events) {
    // The seq is part of the line, so it is set before rendering.
    e.seq = ++seq;
    std::string& line = keep_lines ? e.line : line_buffer_;
    render_json_line(e, line);
    auto& s = insert_event_;
    s.bind(1, static_cast<std::int64_t>(e.seq));
    s.bind(2, e.time_ms);
    std::string other;  // an event of another scope than the commit's (tests)
    s.bind_static(3, e.scope == scope ? id : (other = e.scope.str()));
    s.bind_static(4, to_string(e.type));
    s.bind_static(5, e.key.cluster);
    s.bind_static(6, e.key.ns);
    s.bind_static(7, e.key.name);
    s.bind_static(8, line);
    if (auto r = run(s, "append event"); !r) return r;
  }
  if (events.empty()) return {};
  set_last_seq_.bind(1, static_cast<std::int64_t>(seq));
  return run(set_last_seq_, "record last seq");
}

// Deletes journal rows from the head while they are beyond max_events or
// older than max_age, at most prune_batch of them; `last` is the last seq
// as of this transaction. Returns the new oldest seq. The journal always
// holds consecutive seqs (appended at the tail, pruned at the head), so
// its size is last - oldest + 1 without counting.
result<std::uint64_t> sqlite_store_impl::prune_in_tx(std::uint64_t last, std::size_t& deleted) {
  deleted = 0;
  const std::uint64_t oldest = oldest_seq_;
  if (oldest > last || opts_.prune_batch == 0) return oldest;
  const std::uint64_t count = last - oldest + 1;
  const std::uint64_t cap = oldest + std::min<std::uint64_t>(opts_.prune_batch, count);
  std::uint64_t boundary = oldest;  // rows with seq < boundary go
  if (opts_.max_events != 0 && count > opts_.max_events) {
    boundary = std::min(cap, last - opts_.max_events + 1);
  }
  if (opts_.max_age.count() > 0 && boundary < cap) {
    auto aged = age_boundary(boundary, cap);
    if (!aged) return aged.error();
    boundary = *aged;
  }
  if (boundary == oldest) return oldest;
  delete_journal_before_.bind(1, static_cast<std::int64_t>(boundary));
  if (auto r = run(delete_journal_before_, "prune journal"); !r) return r.error();
  deleted = static_cast<std::size_t>(sqlite3_changes64(db_.get()));
  return boundary;
}

// The first seq in [from, cap) whose event is younger than max_age (cap if
// none). Stops at the first young row: time_ms follows seq closely, and a
// clock step back must not punch holes in the journal.
result<std::uint64_t> sqlite_store_impl::age_boundary(std::uint64_t from, std::uint64_t cap) {
  const std::int64_t cutoff = opts_.now_ms() - opts_.max_age.count();
  auto& s = journal_head_;
  sqlite::reset_guard guard(s);
  s.bind(1, static_cast<std::int64_t>(from));
  s.bind(2, static_cast<std::int64_t>(cap - from));
  std::uint64_t boundary = from;
  for (;;) {
    const int rc = s.step();
    if (rc == SQLITE_DONE) return cap;
    if (rc != SQLITE_ROW) return fail(rc, "scan journal for retention");
    if (s.column_int64(1) >= cutoff) return boundary;
    boundary = static_cast<std::uint64_t>(s.column_int64(0)) + 1;
  }
}

result<std::size_t> sqlite_store_impl::prune_journal_step() {
  std::size_t deleted = 0;
  auto attempt = [&]() -> result<std::uint64_t> {
    if (auto r = begin(); !r) return r.error();
    auto oldest = prune_in_tx(last_seq_, deleted);
    if (!oldest) return oldest.error();
    if (auto r = finish(); !r) return r.error();
    return oldest;
  };
  auto done = attempt();
  if (!done) {
    rollback();
    return done.error();
  }
  oldest_seq_ = *done;
  return deleted;
}

// ------------------------------------------------------------- reading

result<std::vector<journal_entry>> sqlite_store_impl::read_journal(std::uint64_t after,
                                                                   std::size_t max) {
  std::vector<journal_entry> out;
  auto& s = read_journal_;
  sqlite::reset_guard guard(s);
  s.bind(1, clamp_i64(after));
  s.bind(2, clamp_i64(max));
  for (;;) {
    const int rc = s.step();
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return fail(rc, "read journal");
    out.push_back({static_cast<std::uint64_t>(s.column_int64(0)), std::string(s.column_text(1))});
  }
}

// Steps a freshly prepared (rc == SQLITE_OK) or running query; false at
// the end or on an error, which is then left in rc.
bool next_row(sqlite::statement& s, int& rc) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW) rc = s.step();
  return rc == SQLITE_ROW;
}

// Rows come ordered by scope, so the scope of the previous row is almost
// always the answer; the map is consulted once per scope, not per job.
class scope_cursor {
 public:
  scope_cursor(const std::unordered_map<std::string, std::size_t>& index,
               std::vector<stored_scope>& out)
      : index_(index), out_(out) {}

  scope_state* find(std::string_view id) {
    if (current_ == nullptr || id != id_) {
      id_ = id;
      auto it = index_.find(id_);
      current_ = it == index_.end() ? nullptr : &out_[it->second].state;
    }
    return current_;
  }

 private:
  const std::unordered_map<std::string, std::size_t>& index_;
  std::vector<stored_scope>& out_;
  std::string id_;
  scope_state* current_ = nullptr;
};

result<std::vector<stored_scope>> sqlite_store_impl::load_all() {
  // One ordered query per table; rows find their scope by id.
  std::vector<stored_scope> out;
  std::unordered_map<std::string, std::size_t> index;
  sqlite::statement s;
  int rc = s.prepare(db_.get(),
                     "SELECT id, project_id, eps, filters, has_baseline, last_total_num, "
                     "last_update_time, walks_since_full FROM scopes ORDER BY id");
  while (next_row(s, rc)) {
    stored_scope st;
    st.scope = {std::string(s.column_text(1)), std::string(s.column_text(2)),
                std::string(s.column_text(3))};
    st.state.meta.has_baseline = s.column_int64(4) != 0;
    st.state.meta.last_total_num = s.column_opt_int64(5);
    st.state.meta.last_update_time = s.column_opt_int64(6);
    st.state.meta.walks_since_full = static_cast<std::uint32_t>(s.column_int64(7));
    index.emplace(std::string(s.column_text(0)), out.size());
    out.push_back(std::move(st));
  }
  if (rc != SQLITE_DONE) return fail(rc, "load scopes");

  // Sized first: a million keys rehashed on the way cost more than reading them.
  rc = s.prepare(db_.get(), "SELECT scope, count(*) FROM jobs GROUP BY scope");
  while (next_row(s, rc)) {
    if (auto it = index.find(std::string(s.column_text(0))); it != index.end())
      out[it->second].state.jobs.reserve(static_cast<std::size_t>(s.column_int64(1)));
  }
  if (rc != SQLITE_DONE) return fail(rc, "count jobs");

  // No key strings: the snapshot is keyed by the stored key hash.
  rc = s.prepare(db_.get(),
                 "SELECT scope, key_hash, create_time, fingerprint FROM jobs "
                 "ORDER BY scope, key_hash");
  scope_cursor jobs_of(index, out);
  while (next_row(s, rc)) {
    scope_state* st = jobs_of.find(s.column_text(0));
    if (st == nullptr) continue;  // unreachable: jobs are written with their scope
    st->jobs.emplace(
        static_cast<std::uint64_t>(s.column_int64(1)),
        job_digest{s.column_opt_int64(2), static_cast<std::uint64_t>(s.column_int64(3))});
  }
  if (rc != SQLITE_DONE) return fail(rc, "load jobs");

  rc = s.prepare(db_.get(),
                 "SELECT scope, cluster, ns, name, misses, held FROM pending "
                 "ORDER BY scope, cluster, ns, name");
  scope_cursor pending_of(index, out);
  while (next_row(s, rc)) {
    scope_state* st = pending_of.find(s.column_text(0));
    if (st == nullptr) continue;
    pending_removal p{static_cast<std::uint32_t>(s.column_int64(4)), s.column_int64(5) != 0};
    st->pending.emplace(read_key(s), p);
  }
  if (rc != SQLITE_DONE) return fail(rc, "load pending removals");
  return out;
}

result<std::optional<stored_job>> sqlite_store_impl::find_job(const scope_id& scope,
                                                              std::uint64_t key_hash,
                                                              bool with_body) {
  sqlite::reset_guard guard(find_job_);
  find_job_.bind(1, scope.str());
  find_job_.bind(2, as_stored(key_hash));
  const int rc = find_job_.step();
  if (rc == SQLITE_DONE) return std::optional<stored_job>();
  if (rc != SQLITE_ROW) return fail(rc, "read a job");
  stored_job out{read_key(find_job_, 0), {}};
  if (with_body) out.body = find_job_.column_text(3);
  return std::optional<stored_job>(std::move(out));
}

result<void> sqlite_store_impl::for_each_job(const scope_id& scope,
                                             const stored_job_visitor& visit) {
  sqlite::statement s;
  int rc = s.prepare(db_.get(),
                     "SELECT scope, cluster, ns, name, body FROM jobs WHERE scope = ?1 "
                     "ORDER BY key_hash");
  if (rc != SQLITE_OK) return fail(rc, "list jobs");
  s.bind(1, scope.str());
  while (next_row(s, rc)) visit(read_key(s), s.column_text(4));
  if (rc != SQLITE_DONE) return fail(rc, "list jobs");
  return {};
}

// --------------------------------------------- job readers (list, sync)

result<std::unique_ptr<job_reader>> sqlite_store_impl::read_jobs(
    const std::vector<scope_id>& scopes) {
  auto view = view_.lock();
  if (!view || view->seq != last_seq_ || view->job_writes != job_writes_) {
    // The writer is this thread and between transactions: the view is of
    // the state as of last_seq_.
    auto opened = sqlite::open_read_view(path_, last_seq_, job_writes_);
    if (!opened) return opened.error();
    view = std::move(*opened);
    view_ = view;
  }
  return sqlite::make_job_reader(std::move(view), scopes);
}

std::string sqlite_store_impl::fingerprint_basis() {
  sqlite::statement s;
  int rc = s.prepare(db_.get(), "SELECT value FROM meta WHERE key = 'fingerprint_basis'");
  std::string basis;
  if (next_row(s, rc)) basis = std::string(s.column_text(0));
  return basis;  // unreadable reads as unknown: the caller recomputes
}

namespace {

// hssjw_fingerprint(body): the application's fingerprint as an SQL
// function, so one UPDATE rewrites every row without reading the table
// into memory.
void sql_fingerprint(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto& fn =
      *static_cast<const std::function<std::uint64_t(std::string_view)>*>(sqlite3_user_data(ctx));
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const std::string_view body(text ? text : "",
                              static_cast<std::size_t>(sqlite3_value_bytes(argv[0])));
  sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(fn(body)));
}

}  // namespace

result<void> sqlite_store_impl::rewrite_fingerprints(
    const std::string& basis,
    const std::function<std::uint64_t(std::string_view)>& fingerprint_of) {
  int rc = sqlite3_create_function(db_.get(), "hssjw_fingerprint", 1, SQLITE_UTF8,
                                   const_cast<void*>(static_cast<const void*>(&fingerprint_of)),
                                   sql_fingerprint, nullptr, nullptr);
  if (rc != SQLITE_OK) return fail(rc, "register the fingerprint function");
  auto attempt = [&]() -> result<void> {
    if (auto r = begin(); !r) return r;
    for (const char* sql : {"UPDATE jobs SET fingerprint = hssjw_fingerprint(body)",
                            "INSERT INTO meta(key, value) VALUES('fingerprint_basis', ?1) "
                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value"}) {
      sqlite::statement s;
      rc = s.prepare(db_.get(), sql);
      if (rc != SQLITE_OK) return fail(rc, "rewrite fingerprints");
      if (std::string_view(sql).starts_with("INSERT")) s.bind(1, basis);
      if (auto r = run(s, "rewrite fingerprints"); !r) return r;
    }
    return finish();
  };
  auto r = attempt();
  if (!r) rollback();
  // The function points at `fingerprint_of`, which does not outlive us.
  sqlite3_create_function(db_.get(), "hssjw_fingerprint", 1, SQLITE_UTF8, nullptr, nullptr, nullptr,
                          nullptr);
  return r;
}

result<std::vector<scope_id>> sqlite_store_impl::prune(const std::vector<scope_id>& keep) {
  std::set<std::string> kept;
  for (const auto& k : keep) kept.insert(k.str());
  std::vector<scope_id> gone;
  auto attempt = [&]() -> result<void> {
    if (auto r = begin(); !r) return r;
    sqlite::statement list;
    int rc = list.prepare(db_.get(), "SELECT id, project_id, eps, filters FROM scopes ORDER BY id");
    std::vector<std::string> ids;
    while (next_row(list, rc)) {
      if (kept.contains(std::string(list.column_text(0)))) continue;
      ids.emplace_back(list.column_text(0));
      gone.push_back({std::string(list.column_text(1)), std::string(list.column_text(2)),
                      std::string(list.column_text(3))});
    }
    if (rc != SQLITE_DONE) return fail(rc, "list scopes");
    // The journal keeps their events: seqs and history stay intact.
    for (const char* sql :
         {"DELETE FROM jobs WHERE scope = ?1", "DELETE FROM pending WHERE scope = ?1",
          "DELETE FROM scopes WHERE id = ?1"}) {
      sqlite::statement del;
      rc = del.prepare(db_.get(), sql);
      if (rc != SQLITE_OK) return fail(rc, "prune scopes");
      for (const auto& id : ids) {
        del.bind(1, id);
        if (auto r = run(del, "prune scopes"); !r) return r;
      }
    }
    return finish();
  };
  if (auto r = attempt(); !r) {
    rollback();
    return r.error();
  }
  if (!gone.empty()) ++job_writes_;
  return gone;
}

}  // namespace

result<std::unique_ptr<sqlite_store>> open_sqlite_store(const std::string& state_dir,
                                                        sqlite_options opts) {
  // SQLite's memory statistics take a global mutex on every allocation
  // (3 % of a 1M-job baseline) and nothing here reads them. Only possible
  // before SQLite initialises; if something used it first, it stays on.
  static std::once_flag no_memstatus;
  std::call_once(no_memstatus, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  auto store = std::make_unique<sqlite_store_impl>(state_dir, std::move(opts));
  if (auto r = store->open(); !r) return r.error();
  return std::unique_ptr<sqlite_store>(std::move(store));
}

}  // namespace hssjw
