// The state stores: the behaviour both must share (commit, seqs, journal,
// retention, prune) run against each, then what only the SQLite store
// promises (durability across reopen, refusing damaged / foreign / newer
// databases without touching them, the directory lock, atomic failure).
// Real SQLite files in a fresh temporary directory per test.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include "state/sqlite_store.hpp"
#include "state/store.hpp"

namespace hssjw {
namespace {

namespace fs = std::filesystem;

// ------------------------------------------------------------ fixtures

scope_id make_scope(std::string project, std::string eps = "", std::string filters = "") {
  return {std::move(project), std::move(eps), std::move(filters)};
}

keyed_job make_job(std::string name, std::uint64_t fp, std::optional<std::int64_t> created = 1000) {
  job_key key{"cluster-a", "default", std::move(name)};
  std::string body = R"({"name":")" + key.name + R"(","fp":)" + std::to_string(fp) + "}";
  return {key, job_record{created, fp, body}};
}

change_event make_event(const scope_id& scope, std::string name, std::int64_t time_ms = 1000,
                        event_type type = event_type::added) {
  change_event e;
  e.type = type;
  e.time_ms = time_ms;
  e.scope = scope;
  e.key = {"cluster-a", "default", std::move(name)};
  e.job = R"({"name":")" + e.key.name + R"("})";
  return e;
}

std::vector<change_event> make_events(const scope_id& scope, int n, std::int64_t time_ms = 1000) {
  std::vector<change_event> out;
  for (int i = 0; i < n; ++i) out.push_back(make_event(scope, "job-" + std::to_string(i), time_ms));
  return out;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Runs SQL on a database through a connection of its own, as another
// program (or an operator with the sqlite3 shell) would.
void run_sql(const fs::path& db, const std::string& sql) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &err);
  const std::string msg = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(raw);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "hssjw-state-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// State as the daemon would rebuild it: scope string -> state.
std::map<std::string, scope_state> by_scope(const std::vector<stored_scope>& all) {
  std::map<std::string, scope_state> out;
  for (const auto& s : all) out.emplace(s.scope.str(), s.state);
  return out;
}

bool same_jobs(const job_map& a, const job_map& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) return false;
    if (v != it->second) return false;
  }
  return true;
}

void expect_same_state(const scope_state& got, const scope_state& want) {
  EXPECT_TRUE(same_jobs(got.jobs, want.jobs));
  EXPECT_EQ(got.pending, want.pending);
  EXPECT_EQ(got.meta, want.meta);
}

// Commits, and on failure says why (the error's code and message).
::testing::AssertionResult committed(state_store& store, const scope_id& scope,
                                     const scope_delta& delta, std::vector<change_event>& events) {
  auto r = store.commit(scope, delta, events);
  if (r) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.error().code().message() << ": " << r.error().message();
}

// ------------------------------------------- behaviour shared by both stores

struct store_kind {
  std::string name;
  // Opens a store in `dir` keeping at most `max_events` journal entries.
  std::function<std::unique_ptr<state_store>(const fs::path& dir, std::uint64_t max_events)> open;
};

std::unique_ptr<state_store> open_sqlite(const fs::path& dir, std::uint64_t max_events) {
  sqlite_options opts;
  opts.max_events = max_events;
  opts.max_age = std::chrono::milliseconds(0);
  auto r = open_sqlite_store(dir.string(), opts);
  if (!r) ADD_FAILURE() << r.error().message();
  return r ? std::move(*r) : nullptr;
}

void PrintTo(const store_kind& k, std::ostream* os) { *os << k.name; }

class state_store_test : public ::testing::TestWithParam<store_kind> {
 protected:
  std::unique_ptr<state_store> open(std::uint64_t max_events = 0) {
    return GetParam().open(dir_.path(), max_events);
  }
  temp_dir dir_;
};

TEST_P(state_store_test, empty_store_has_nothing) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->last_seq(), 0u);
  EXPECT_EQ(store->oldest_seq(), 1u);
  EXPECT_TRUE(store->load_all().value().empty());
  EXPECT_TRUE(store->read_journal(0, 100).value().empty());
}

TEST_P(state_store_test, commit_then_load_returns_what_was_committed) {
  auto store = open();
  ASSERT_TRUE(store);
  const auto scope = make_scope("p1", "eps-1", "cluster_name=a");
  scope_delta d1;
  d1.upserts = {make_job("a", 1), make_job("b", 0xFFFF'FFFF'FFFF'FFFFull, std::nullopt),
                make_job("c", 0x8000'0000'0000'0001ull)};
  d1.pending_set = {{job_key{"cluster-a", "default", "x"}, pending_removal{2, true}},
                    {job_key{"cluster-a", "default", "y"}, pending_removal{1, false}}};
  d1.meta = {true, 3, 1'700'000'000'000, 4};
  std::vector<change_event> none;
  ASSERT_TRUE(committed(*store, scope, d1, none));

  scope_state want;
  apply(want, d1);
  auto all = store->load_all().value();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].scope, scope);
  expect_same_state(all[0].state, want);

  scope_delta d2;
  d2.upserts = {make_job("a", 7, 2000)};
  d2.deletions = {make_job("b", 0).key};
  d2.pending_cleared = {job_key{"cluster-a", "default", "x"}};
  d2.pending_set = {{job_key{"cluster-a", "default", "y"}, pending_removal{2, false}}};
  d2.meta = {true, std::nullopt, std::nullopt, 0};
  ASSERT_TRUE(committed(*store, scope, d2, none));
  apply(want, d2);
  all = store->load_all().value();
  ASSERT_EQ(all.size(), 1u);
  expect_same_state(all[0].state, want);

  // The bodies stay in the store: one by key or key hash, or all of a
  // scope in key hash order (signed, as SQLite orders integers).
  EXPECT_EQ(store->job_body(scope, make_job("a", 0).key).value(),
            make_job("a", 7, 2000).record.body);
  EXPECT_EQ(store->job_body(scope, make_job("b", 0).key).value(), std::nullopt);
  EXPECT_EQ(store->job_body(make_scope("p2"), make_job("a", 0).key).value(), std::nullopt);
  std::vector<std::string> listed;
  ASSERT_TRUE(store->for_each_job(scope, [&](const job_key& key, std::string_view body) {
    listed.push_back(key.name + " " + std::string(body));
  }));
  std::vector<std::string> want_listed{"a " + make_job("a", 7).record.body,
                                       "c " + make_job("c", 0x8000'0000'0000'0001ull).record.body};
  const auto signed_hash = [](const char* name) {
    return static_cast<std::int64_t>(key_hash_of(make_job(name, 0).key));
  };
  if (signed_hash("c") < signed_hash("a")) std::swap(want_listed[0], want_listed[1]);
  EXPECT_EQ(listed, want_listed);
  auto found = store->find_job(scope, key_hash_of(make_job("c", 0).key), false).value();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->key, make_job("c", 0).key);
  EXPECT_EQ(found->body, "");
  found = store->find_job(scope, key_hash_of(make_job("a", 0).key), true).value();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->body, make_job("a", 7, 2000).record.body);
  EXPECT_FALSE(store->find_job(scope, key_hash_of(make_job("b", 0).key), true).value());
}

TEST_P(state_store_test, scopes_stay_apart) {
  auto store = open();
  ASSERT_TRUE(store);
  const auto s1 = make_scope("p1");
  const auto s2 = make_scope("p1", "eps-2");
  scope_delta d1, d2;
  d1.upserts = {make_job("a", 1)};
  d2.upserts = {make_job("a", 2), make_job("b", 3)};
  std::vector<change_event> none;
  ASSERT_TRUE(committed(*store, s1, d1, none));
  ASSERT_TRUE(committed(*store, s2, d2, none));
  auto all = by_scope(store->load_all().value());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[s1.str()].jobs.size(), 1u);
  EXPECT_EQ(all[s1.str()].jobs.begin()->second.fingerprint, 1u);
  EXPECT_EQ(all[s2.str()].jobs.size(), 2u);
}

TEST_P(state_store_test, seqs_are_consecutive_and_lines_rendered_with_them) {
  auto store = open();
  ASSERT_TRUE(store);
  const auto scope = make_scope("p1");
  std::vector<change_event> all_events;
  for (int batch : {3, 0, 2, 1}) {
    auto events = make_events(scope, batch);
    ASSERT_TRUE(committed(*store, scope, scope_delta{}, events));
    for (auto& e : events) all_events.push_back(e);
  }
  ASSERT_EQ(all_events.size(), 6u);
  for (std::size_t i = 0; i < all_events.size(); ++i) EXPECT_EQ(all_events[i].seq, i + 1);
  EXPECT_EQ(store->last_seq(), 6u);
  EXPECT_EQ(store->oldest_seq(), 1u);

  auto journal = store->read_journal(0, 100).value();
  ASSERT_EQ(journal.size(), 6u);
  for (std::size_t i = 0; i < journal.size(); ++i) {
    EXPECT_EQ(journal[i].seq, i + 1);
    EXPECT_EQ(journal[i].line, to_json_line(all_events[i]));
    EXPECT_NE(journal[i].line.find("\"seq\":" + std::to_string(i + 1) + ","), std::string::npos);
  }
}

TEST_P(state_store_test, read_journal_pages) {
  auto store = open();
  ASSERT_TRUE(store);
  const auto scope = make_scope("p1");
  auto events = make_events(scope, 25);
  ASSERT_TRUE(committed(*store, scope, scope_delta{}, events));

  std::vector<std::uint64_t> seen;
  std::uint64_t after = 0;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store->read_journal(after, 10).value();
    if (page.empty()) break;
    EXPECT_LE(page.size(), 10u);
    for (const auto& e : page) seen.push_back(e.seq);
    after = page.back().seq;
  }
  ASSERT_EQ(seen.size(), 25u);
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i + 1);
  EXPECT_EQ(store->read_journal(12, 3).value().front().seq, 13u);
  EXPECT_TRUE(store->read_journal(25, 10).value().empty());
  EXPECT_TRUE(store->read_journal(1000, 10).value().empty());
  EXPECT_TRUE(store->read_journal(0, 0).value().empty());
  EXPECT_EQ(store->read_journal(0, std::numeric_limits<std::size_t>::max()).value().size(), 25u);
}

TEST_P(state_store_test, retention_keeps_the_newest_max_events) {
  auto store = open(5);
  ASSERT_TRUE(store);
  const auto scope = make_scope("p1");
  for (int batch : {4, 4, 4}) {
    auto events = make_events(scope, batch);
    ASSERT_TRUE(committed(*store, scope, scope_delta{}, events));
  }
  EXPECT_EQ(store->last_seq(), 12u);
  EXPECT_EQ(store->oldest_seq(), 8u);
  auto journal = store->read_journal(0, 100).value();
  ASSERT_EQ(journal.size(), 5u);
  EXPECT_EQ(journal.front().seq, 8u);
  EXPECT_EQ(journal.back().seq, 12u);
  // Asking from before the oldest returns from the oldest: the caller
  // compares with oldest_seq() to know it missed some.
  EXPECT_EQ(store->read_journal(2, 2).value().front().seq, 8u);
}

TEST_P(state_store_test, prune_deletes_state_of_scopes_not_kept_but_not_their_journal) {
  auto store = open();
  ASSERT_TRUE(store);
  const auto keep = make_scope("p1");
  const auto drop1 = make_scope("p2");
  const auto drop2 = make_scope("p1", "eps", "namespace_name=x");
  for (const auto& s : {keep, drop1, drop2}) {
    scope_delta d;
    d.upserts = {make_job("a", 1)};
    d.pending_set = {{job_key{"c", "n", "gone"}, pending_removal{1, false}}};
    auto events = make_events(s, 1);
    ASSERT_TRUE(committed(*store, s, d, events));
  }
  auto gone = store->prune({keep, make_scope("never-stored")}).value();
  std::sort(gone.begin(), gone.end());
  std::vector<scope_id> want{drop1, drop2};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(gone, want);

  auto all = store->load_all().value();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].scope, keep);
  EXPECT_EQ(all[0].state.jobs.size(), 1u);
  EXPECT_EQ(all[0].state.pending.size(), 1u);
  EXPECT_EQ(store->read_journal(0, 100).value().size(), 3u);
  EXPECT_TRUE(store->prune({keep}).value().empty());
}

// Everything a job reader yields, `max` jobs per read; "scope key body".
std::vector<std::string> read_all(job_reader& r, std::size_t max, std::size_t* reads = nullptr) {
  std::vector<std::string> out;
  for (bool more = true; more;) {
    std::size_t n = 0;
    auto got = r.read(max, [&](const scope_id& s, const job_key& k, std::string_view body) {
      out.push_back(s.project_id + " " + k.name + " " + std::string(body));
      ++n;
      return true;
    });
    EXPECT_TRUE(got) << got.error();
    if (!got) break;
    EXPECT_LE(n, max);
    more = *got;
    if (reads) ++*reads;
  }
  return out;
}

// What for_each_job lists of the scopes, in the same form.
std::vector<std::string> listed(state_store& store, const std::vector<scope_id>& scopes) {
  std::vector<std::string> out;
  for (const auto& s : scopes)
    EXPECT_TRUE(store.for_each_job(s, [&](const job_key& k, std::string_view body) {
      out.push_back(s.project_id + " " + k.name + " " + std::string(body));
    }));
  return out;
}

// A job reader reads the jobs as they were when it opened, in bounded
// reads, whatever commits (and prunes) after: the socket's list and sync
// stream from it while the walks go on.
TEST_P(state_store_test, job_reader_reads_the_state_as_of_its_seq_in_bounded_reads) {
  auto store = open();
  ASSERT_TRUE(store);
  const auto s1 = make_scope("p1"), s2 = make_scope("p2"), absent = make_scope("p3");
  scope_delta d1, d2;
  for (int i = 0; i < 50; ++i) d1.upserts.push_back(make_job("a" + std::to_string(i), i));
  for (int i = 0; i < 7; ++i) d2.upserts.push_back(make_job("b" + std::to_string(i), i));
  auto ev1 = make_events(s1, 3);
  std::vector<change_event> none;
  ASSERT_TRUE(committed(*store, s1, d1, ev1));
  ASSERT_TRUE(committed(*store, s2, d2, none));
  const std::vector<scope_id> scopes{s2, absent, s1};
  const auto before = listed(*store, scopes);
  ASSERT_EQ(before.size(), 57u);

  auto first = store->read_jobs(scopes);
  ASSERT_TRUE(first) << first.error();
  auto shared = store->read_jobs(scopes);  // nothing changed: same seq, same state
  ASSERT_TRUE(shared);
  EXPECT_EQ((*first)->seq(), 3u);
  // A first read, then the state changes under the open readers.
  std::vector<std::string> got;
  auto part = (*first)->read(5, [&](const scope_id& s, const job_key& k, std::string_view body) {
    got.push_back(s.project_id + " " + k.name + " " + std::string(body));
    return true;
  });
  ASSERT_TRUE(part && *part);
  ASSERT_EQ(got.size(), 5u);

  scope_delta d3;
  d3.upserts = {make_job("a1", 1000), make_job("new", 1)};
  d3.deletions = {make_job("a2", 0).key, make_job("a3", 0).key};
  auto ev3 = make_events(s1, 2);
  ASSERT_TRUE(committed(*store, s1, d3, ev3));
  ASSERT_TRUE(store->prune({s1}));  // s2 goes
  auto later = store->read_jobs(scopes);
  ASSERT_TRUE(later);
  EXPECT_EQ((*later)->seq(), 5u);

  std::size_t reads = 0;
  auto rest = read_all(**first, 7, &reads);
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, before) << "the first reader sees the state as of seq 3";
  EXPECT_GE(reads, 8u) << "52 jobs, 7 a read";
  EXPECT_EQ(read_all(**shared, 1000), before);
  const auto after = listed(*store, scopes);
  EXPECT_EQ(after.size(), 49u);
  EXPECT_EQ(read_all(**later, 3), after);
  EXPECT_NE(after, before);

  // A visitor that says stop ends the read after that job.
  auto again = store->read_jobs({s1});
  ASSERT_TRUE(again);
  std::size_t n = 0;
  auto one = (*again)->read(
      100, [&](const scope_id&, const job_key&, std::string_view) { return ++n < 2; });
  ASSERT_TRUE(one && *one);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(read_all(**again, 100).size(), 47u);

  // It may outlive the store.
  auto orphan = store->read_jobs({s1});
  ASSERT_TRUE(orphan);
  store.reset();
  EXPECT_EQ(read_all(**orphan, 10), after);
}

std::string kind_name(const ::testing::TestParamInfo<store_kind>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(stores, state_store_test,
                         ::testing::Values(store_kind{"memory",
                                                      [](const fs::path&,
                                                         std::uint64_t max_events) {
                                                        return make_memory_store(max_events);
                                                      }},
                                           store_kind{"sqlite", open_sqlite}),
                         kind_name);

// ------------------------------------------------- the SQLite store only

class sqlite_store_test : public ::testing::Test {
 protected:
  fs::path db() const { return dir_.path() / "state.db"; }

  result<std::unique_ptr<sqlite_store>> open(sqlite_options opts = {}) {
    if (!opts.now_ms) opts.now_ms = [this] { return now_ms_; };
    return open_sqlite_store(dir_.path().string(), std::move(opts));
  }

  std::unique_ptr<sqlite_store> open_ok(sqlite_options opts = {}) {
    auto r = open(std::move(opts));
    if (!r) {
      ADD_FAILURE() << r.error().message();
      return nullptr;
    }
    return std::move(*r);
  }

  // Opening must fail with `code`, name the file, and leave it byte for
  // byte as it was.
  error expect_refused(errc code) {
    const std::string before = read_bytes(db());
    auto r = open();
    EXPECT_FALSE(r);
    if (r) return {};
    EXPECT_EQ(r.error().code(), make_error_code(code)) << r.error().message();
    EXPECT_NE(r.error().message().find(db().string()), std::string::npos) << r.error().message();
    EXPECT_EQ(read_bytes(db()), before);
    return r.error();
  }

  temp_dir dir_;
  std::int64_t now_ms_ = 1'000'000;
  scope_id scope_ = make_scope("p1");
};

TEST_F(sqlite_store_test, state_survives_reopen_and_seqs_continue) {
  scope_delta d;
  d.upserts = {make_job("a", 42)};
  d.meta.has_baseline = true;
  {
    auto store = open_ok();
    ASSERT_TRUE(store);
    auto events = make_events(scope_, 3);
    ASSERT_TRUE(committed(*store, scope_, d, events));
  }
  auto store = open_ok();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->last_seq(), 3u);
  EXPECT_EQ(store->oldest_seq(), 1u);
  auto all = store->load_all().value();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].state.meta.has_baseline);
  EXPECT_EQ(all[0].state.jobs.size(), 1u);
  auto events = make_events(scope_, 2);
  ASSERT_TRUE(committed(*store, scope_, scope_delta{}, events));
  EXPECT_EQ(events[0].seq, 4u);
  EXPECT_EQ(events[1].seq, 5u);
}

// Fingerprints are rewritten in the database for a new basis (every
// scope's, in one transaction), and the basis survives a reopen.
TEST_F(sqlite_store_test, rewritten_fingerprints_and_their_basis_survive_reopen) {
  {
    auto store = open_ok();
    ASSERT_TRUE(store);
    EXPECT_EQ(store->fingerprint_basis(), "");
    for (const auto& scope : {scope_, make_scope("p2")}) {
      scope_delta d;
      d.upserts = {make_job("a", 42), make_job("bb", 43)};
      d.meta.has_baseline = true;
      std::vector<change_event> none;
      ASSERT_TRUE(committed(*store, scope, d, none));
    }
    auto r = store->rewrite_fingerprints("v1\nexecute_time",
                                         [](std::string_view body) { return body.size() * 1000; });
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(store->fingerprint_basis(), "v1\nexecute_time");
  }
  auto store = open_ok();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->fingerprint_basis(), "v1\nexecute_time");
  auto all = store->load_all().value();
  ASSERT_EQ(all.size(), 2u);
  for (const auto& s : all) {
    ASSERT_EQ(s.state.jobs.size(), 2u);
    for (const auto& [hash, digest] : s.state.jobs)
      EXPECT_EQ(digest.fingerprint,
                store->find_job(s.scope, hash, true).value()->body.size() * 1000)
          << hash;
  }
}

TEST_F(sqlite_store_test, creates_the_database_with_our_identity_in_wal_mode) {
  { ASSERT_TRUE(open_ok()); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  auto pragma = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(raw, sql, -1, &s, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(s), SQLITE_ROW);
    std::string v = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return v;
  };
  EXPECT_EQ(pragma("PRAGMA application_id"), std::to_string(sqlite_store::application_id));
  EXPECT_EQ(pragma("PRAGMA user_version"), std::to_string(sqlite_store::schema_version));
  EXPECT_EQ(pragma("PRAGMA journal_mode"), "wal");
  sqlite3_close(raw);
}

TEST_F(sqlite_store_test, creates_a_missing_state_dir_with_mode0750) {
  const fs::path nested = dir_.path() / "a" / "b" / "state";
  auto r = open_sqlite_store(nested.string());
  ASSERT_TRUE(r) << r.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(nested.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_TRUE(fs::exists(nested / "state.db"));
}

TEST_F(sqlite_store_test, migrates_an_empty_version0_database) {
  // A database stamped as ours but with no schema yet (user_version 0).
  run_sql(db(), "PRAGMA application_id=" + std::to_string(sqlite_store::application_id) + ";");
  ASSERT_GT(fs::file_size(db()), 0u);
  auto store = open_ok();
  ASSERT_TRUE(store);
  auto events = make_events(scope_, 1);
  ASSERT_TRUE(committed(*store, scope_, scope_delta{}, events));
  EXPECT_EQ(events[0].seq, 1u);
}

// A state.db written by the first release (schema 1: jobs keyed by their
// three key strings) opens as schema 2 with every job, body, pending
// removal and seq kept, each job now under its key hash. The schema is the
// shipped migration 1, spelled out: it is a file format in the field.
TEST_F(sqlite_store_test, migrates_a_version1_database_keeping_every_job) {
  run_sql(db(), std::string(R"sql(
CREATE TABLE scopes(id TEXT PRIMARY KEY NOT NULL, project_id TEXT NOT NULL, eps TEXT NOT NULL,
  filters TEXT NOT NULL, has_baseline INTEGER NOT NULL, last_total_num INTEGER,
  last_update_time INTEGER, walks_since_full INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE jobs(scope TEXT NOT NULL, cluster TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL,
  create_time INTEGER, fingerprint INTEGER NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY(scope, cluster, ns, name)) WITHOUT ROWID;
CREATE TABLE pending(scope TEXT NOT NULL, cluster TEXT NOT NULL, ns TEXT NOT NULL,
  name TEXT NOT NULL, misses INTEGER NOT NULL, held INTEGER NOT NULL,
  PRIMARY KEY(scope, cluster, ns, name)) WITHOUT ROWID;
CREATE TABLE journal(seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, scope TEXT NOT NULL,
  type TEXT NOT NULL, cluster TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL,
  line TEXT NOT NULL);
CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES('last_seq', 7);
INSERT INTO scopes VALUES('p1/-', 'p1', '', '', 1, 3, NULL, 0);
INSERT INTO jobs VALUES('p1/-', 'cluster-a', 'default', 'a', 1000, 11, '{"name":"a"}');
INSERT INTO jobs VALUES('p1/-', 'cluster-a', 'default', 'b', NULL, -5, '{"name":"b"}');
INSERT INTO jobs VALUES('p1/-', 'cluster-b', 'kube', 'c', 2000, 13, '{"name":"c"}');
INSERT INTO pending VALUES('p1/-', 'cluster-a', 'default', 'b', 1, 0);
PRAGMA user_version=1;
PRAGMA application_id=)sql") +
                    std::to_string(sqlite_store::application_id) + ";");
  auto store = open_ok();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->last_seq(), 7u);
  auto all = store->load_all().value();
  ASSERT_EQ(all.size(), 1u);
  const scope_state& st = all[0].state;
  ASSERT_EQ(st.jobs.size(), 3u);
  const job_key a{"cluster-a", "default", "a"}, b{"cluster-a", "default", "b"},
      c{"cluster-b", "kube", "c"};
  EXPECT_EQ(st.jobs.at(key_hash_of(a)), (job_digest{1000, 11}));
  EXPECT_EQ(st.jobs.at(key_hash_of(b)), (job_digest{std::nullopt, static_cast<std::uint64_t>(-5)}));
  EXPECT_EQ(st.jobs.at(key_hash_of(c)), (job_digest{2000, 13}));
  EXPECT_EQ(st.pending.at(b), (pending_removal{1, false}));
  EXPECT_EQ(store->job_body(all[0].scope, c).value(),
            std::optional<std::string>(R"({"name":"c"})"));
  auto found = store->find_job(all[0].scope, key_hash_of(b), true).value();
  ASSERT_TRUE(found);
  EXPECT_EQ(found->key, b);
  EXPECT_EQ(found->body, R"({"name":"b"})");
}

// Two keys with one key hash (made here by storing another key under a
// job's hash by hand): the commit of that job is refused with its own
// code, names both keys, and changes nothing; it is never merged into the
// other job's row (docs/STATE.md "Key hashes").
TEST_F(sqlite_store_test, key_hash_collision_fails_the_commit_naming_both_keys) {
  auto store = open_ok();
  ASSERT_TRUE(store);
  const keyed_job job = make_job("x", 1);
  run_sql(db(),
          "INSERT INTO jobs(scope, key_hash, cluster, ns, name, create_time, fingerprint, body) "
          "VALUES('" +
              scope_.str() + "', " +
              std::to_string(static_cast<std::int64_t>(key_hash_of(job.key))) +
              ", 'cluster-z', 'other', 'y', NULL, 5, '{}');");
  scope_delta d;
  d.upserts = {make_job("ok", 2), job};
  auto events = make_events(scope_, 2);
  auto r = store->commit(scope_, d, events);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::key_hash_collision));
  EXPECT_NE(r.error().message().find(
                "job cluster-a/default/x and the stored job cluster-z/other/y share key hash 0x"),
            std::string::npos)
      << r.error();
  for (const auto& e : events) EXPECT_EQ(e.seq, 0u);
  EXPECT_EQ(store->last_seq(), 0u);
  EXPECT_EQ(store->job_body(scope_, make_job("ok", 0).key).value(), std::nullopt);
  auto other = store->find_job(scope_, key_hash_of(job.key), true).value();
  ASSERT_TRUE(other);
  EXPECT_EQ(other->key, (job_key{"cluster-z", "other", "y"}));
  EXPECT_EQ(other->body, "{}");
  EXPECT_EQ(store->job_body(scope_, job.key).value(), std::nullopt)
      << "the other key's body is not x's";
}

TEST_F(sqlite_store_test, a_zero_byte_file_is_a_new_database) {
  write_bytes(db(), "");
  auto store = open_ok();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->last_seq(), 0u);
}

TEST_F(sqlite_store_test, garbage_is_refused_and_left_untouched) {
  std::string garbage(8192, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 31 + 7);
  write_bytes(db(), garbage);
  expect_refused(errc::state_corrupt);
  write_bytes(db(), "not a database\n");
  expect_refused(errc::state_corrupt);
}

TEST_F(sqlite_store_test, damaged_pages_are_refused_and_left_untouched) {
  {
    auto store = open_ok();
    ASSERT_TRUE(store);
    scope_delta d;
    for (int i = 0; i < 200; ++i) d.upserts.push_back(make_job("job-" + std::to_string(i), i));
    auto events = make_events(scope_, 50);
    ASSERT_TRUE(committed(*store, scope_, d, events));
  }
  // Keep the header page, scribble over everything after it.
  std::string bytes = read_bytes(db());
  ASSERT_GT(bytes.size(), 3 * 4096u);
  for (std::size_t i = 4096; i < bytes.size(); ++i) bytes[i] = static_cast<char>(0xA5 ^ i);
  write_bytes(db(), bytes);
  auto err = expect_refused(errc::state_corrupt);
  EXPECT_NE(err.message().find("move it away"), std::string::npos) << err.message();
}

TEST_F(sqlite_store_test, foreign_database_is_refused_and_left_untouched) {
  run_sql(db(), "PRAGMA application_id=305419896; CREATE TABLE t(x); INSERT INTO t VALUES(1);");
  auto err = expect_refused(errc::state_corrupt);
  EXPECT_NE(err.message().find("not an hss-jobwatch database"), std::string::npos) << err.message();
  EXPECT_NE(err.message().find("0x12345678"), std::string::npos) << err.message();
}

TEST_F(sqlite_store_test, plain_sqlite_database_with_tables_is_refused) {
  run_sql(db(), "CREATE TABLE jobs(x); INSERT INTO jobs VALUES(1);");
  auto err = expect_refused(errc::state_corrupt);
  EXPECT_NE(err.message().find("not an hss-jobwatch database"), std::string::npos) << err.message();
}

TEST_F(sqlite_store_test, newer_schema_is_refused_and_left_untouched) {
  { ASSERT_TRUE(open_ok()); }
  run_sql(db(), "PRAGMA user_version=" + std::to_string(sqlite_store::schema_version + 1) + ";");
  auto err = expect_refused(errc::state_corrupt);
  EXPECT_NE(err.message().find("newer"), std::string::npos) << err.message();
}

TEST_F(sqlite_store_test, missing_last_seq_is_refused) {
  // Without meta.last_seq a pruned-empty journal would restart seqs at 1.
  { ASSERT_TRUE(open_ok()); }
  run_sql(db(), "DELETE FROM meta WHERE key = 'last_seq';");
  auto err = expect_refused(errc::state_corrupt);
  EXPECT_NE(err.message().find("last_seq"), std::string::npos) << err.message();
}

TEST_F(sqlite_store_test, second_open_of_the_same_dir_is_locked) {
  auto first = open_ok();
  ASSERT_TRUE(first);
  auto second = open();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), make_error_code(errc::state_locked));
  EXPECT_NE(second.error().message().find("pid " + std::to_string(::getpid())), std::string::npos)
      << second.error().message();
  first.reset();
  EXPECT_TRUE(open_ok());
}

TEST_F(sqlite_store_test, state_dir_that_is_a_file_is_an_io_error) {
  const fs::path file = dir_.path() / "plain-file";
  write_bytes(file, "x");
  auto r = open_sqlite_store(file.string());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), make_error_code(errc::state_io));
  EXPECT_NE(r.error().message().find(file.string()), std::string::npos) << r.error().message();
}

TEST_F(sqlite_store_test, state_db_that_is_a_directory_is_an_io_error) {
  fs::create_directory(db());
  auto r = open();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), make_error_code(errc::state_io)) << r.error().message();
  EXPECT_TRUE(fs::is_directory(db()));
}

TEST_F(sqlite_store_test, read_only_database_is_an_io_error) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores file permissions";
  { ASSERT_TRUE(open_ok()); }
  fs::permissions(db(), fs::perms::owner_read | fs::perms::group_read);
  auto r = open();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), make_error_code(errc::state_io)) << r.error().message();
}

TEST_F(sqlite_store_test, read_only_state_dir_is_an_io_error) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores file permissions";
  { ASSERT_TRUE(open_ok()); }
  fs::permissions(dir_.path(), fs::perms::owner_read | fs::perms::owner_exec);
  auto r = open();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), make_error_code(errc::state_io)) << r.error().message();
  EXPECT_NE(r.error().message().find("writable"), std::string::npos) << r.error().message();
}

TEST_F(sqlite_store_test, failed_commit_rolls_back_and_consumes_no_seq) {
  auto store = open_ok();
  ASSERT_TRUE(store);
  scope_delta d;
  d.upserts = {make_job("a", 1)};
  d.meta.walks_since_full = 1;
  auto first = make_events(scope_, 2);
  ASSERT_TRUE(committed(*store, scope_, d, first));

  // Another connection adds a trigger that fails the third event's insert,
  // after the delta and two events of the commit were already written.
  run_sql(db(),
          "CREATE TRIGGER fail_commit BEFORE INSERT ON journal WHEN NEW.seq = 5 "
          "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
  scope_delta d2;
  d2.upserts = {make_job("a", 2), make_job("b", 3)};
  d2.deletions = {};
  d2.meta.walks_since_full = 2;
  auto second = make_events(scope_, 3);
  auto r = store->commit(scope_, d2, second);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::state_io));
  EXPECT_NE(r.error().message().find("injected failure"), std::string::npos) << r.error();
  for (const auto& e : second) {
    EXPECT_EQ(e.seq, 0u);
    EXPECT_EQ(e.line, "") << "a failed commit leaves no line for the sinks";
  }
  EXPECT_EQ(store->last_seq(), 2u);
  EXPECT_EQ(store->read_journal(0, 100).value().size(), 2u);
  auto all = store->load_all().value();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state.jobs.size(), 1u);
  EXPECT_EQ(all[0].state.jobs.begin()->second.fingerprint, 1u);
  EXPECT_EQ(all[0].state.meta.walks_since_full, 1u);

  run_sql(db(), "DROP TRIGGER fail_commit;");
  ASSERT_TRUE(committed(*store, scope_, d2, second));
  EXPECT_EQ(second[0].seq, 3u);
  EXPECT_EQ(second[2].seq, 5u);
  // The line the journal has is the one the sinks are given.
  EXPECT_EQ(second[2].line, to_json_line(second[2]));
  EXPECT_EQ(store->read_journal(4, 1).value().at(0).line, second[2].line);
  store.reset();
  store = open_ok();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->last_seq(), 5u);
  EXPECT_EQ(by_scope(store->load_all().value())[scope_.str()].jobs.size(), 2u);
}

// A big commit (a baseline) does not keep its lines in the events (they
// would all be in memory at once); the sinks render them again, to the
// same bytes the journal has.
TEST_F(sqlite_store_test, big_commit_journals_lines_without_keeping_them) {
  auto store = open_ok();
  ASSERT_TRUE(store);
  auto small = make_events(scope_, 3);
  ASSERT_TRUE(committed(*store, scope_, scope_delta{}, small));
  for (const auto& e : small) EXPECT_EQ(e.line, to_json_line(e));
  auto big = make_events(scope_, 20'000);
  ASSERT_TRUE(committed(*store, scope_, scope_delta{}, big));
  const auto journal = store->read_journal(3, 20'000).value();
  ASSERT_EQ(journal.size(), big.size());
  for (std::size_t i = 0; i < big.size(); i += 997) {
    EXPECT_EQ(big[i].line, "");
    EXPECT_EQ(event_line(big[i]), journal[i].line);
    EXPECT_EQ(journal[i].seq, 4 + i);
  }
  EXPECT_EQ(event_line(big.back()), journal.back().line);
}

TEST_F(sqlite_store_test, failed_delta_write_rolls_back) {
  auto store = open_ok();
  ASSERT_TRUE(store);
  run_sql(db(),
          "CREATE TRIGGER fail_job BEFORE INSERT ON jobs WHEN NEW.name = 'bad' "
          "BEGIN SELECT RAISE(ABORT, 'job write failed'); END;");
  scope_delta d;
  d.upserts = {make_job("ok", 1), make_job("bad", 2)};
  auto events = make_events(scope_, 2);
  ASSERT_FALSE(store->commit(scope_, d, events));
  EXPECT_EQ(events[0].seq, 0u);
  EXPECT_EQ(store->last_seq(), 0u);
  EXPECT_TRUE(store->load_all().value().empty());
  EXPECT_TRUE(store->read_journal(0, 10).value().empty());
}

TEST_F(sqlite_store_test, retention_by_age_and_seq_never_reused_after_pruning_all) {
  sqlite_options opts;
  opts.max_events = 0;
  opts.max_age = std::chrono::milliseconds(1000);
  auto store = open_ok(opts);
  ASSERT_TRUE(store);
  auto old_events = make_events(scope_, 3, now_ms_);
  ASSERT_TRUE(committed(*store, scope_, scope_delta{}, old_events));
  now_ms_ += 600;
  auto newer = make_events(scope_, 2, now_ms_);
  ASSERT_TRUE(committed(*store, scope_, scope_delta{}, newer));
  EXPECT_EQ(store->prune_journal_step().value(), 0u);

  now_ms_ += 500;  // the first three are now older than max_age
  EXPECT_EQ(store->prune_journal_step().value(), 3u);
  EXPECT_EQ(store->oldest_seq(), 4u);
  EXPECT_EQ(store->read_journal(0, 10).value().front().seq, 4u);

  now_ms_ += 10'000;  // everything is old
  EXPECT_EQ(store->prune_journal_step().value(), 2u);
  EXPECT_TRUE(store->read_journal(0, 10).value().empty());
  EXPECT_EQ(store->last_seq(), 5u);
  EXPECT_EQ(store->oldest_seq(), 6u);

  store.reset();
  store = open_ok(opts);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->last_seq(), 5u);
  EXPECT_EQ(store->oldest_seq(), 6u);
  auto next = make_events(scope_, 1, now_ms_);
  ASSERT_TRUE(committed(*store, scope_, scope_delta{}, next));
  EXPECT_EQ(next[0].seq, 6u);
  EXPECT_EQ(store->oldest_seq(), 6u);
}

TEST_F(sqlite_store_test, pruning_is_bounded_per_step) {
  sqlite_options opts;
  opts.max_events = 2;
  opts.max_age = std::chrono::milliseconds(0);
  opts.prune_batch = 3;
  auto store = open_ok(opts);
  ASSERT_TRUE(store);
  auto events = make_events(scope_, 10);
  ASSERT_TRUE(committed(*store, scope_, scope_delta{}, events));
  // The commit pruned one batch; the rest takes further steps.
  EXPECT_EQ(store->oldest_seq(), 4u);
  EXPECT_EQ(store->prune_journal_step().value(), 3u);
  EXPECT_EQ(store->prune_journal_step().value(), 2u);
  EXPECT_EQ(store->prune_journal_step().value(), 0u);
  EXPECT_EQ(store->oldest_seq(), 9u);
  EXPECT_EQ(store->read_journal(0, 100).value().size(), 2u);
}

TEST_F(sqlite_store_test, age_pruning_stops_at_the_first_young_event) {
  sqlite_options opts;
  opts.max_events = 0;
  opts.max_age = std::chrono::milliseconds(1000);
  auto store = open_ok(opts);
  ASSERT_TRUE(store);
  // A clock step back: seq 2 has an earlier time than seq 1.
  std::vector<change_event> events{make_event(scope_, "a", now_ms_),
                                   make_event(scope_, "b", now_ms_ - 5000),
                                   make_event(scope_, "c", now_ms_)};
  ASSERT_TRUE(committed(*store, scope_, scope_delta{}, events));
  EXPECT_EQ(store->prune_journal_step().value(), 0u);  // no hole at seq 2
  EXPECT_EQ(store->oldest_seq(), 1u);
  EXPECT_EQ(store->read_journal(0, 10).value().size(), 3u);
}

}  // namespace
}  // namespace hssjw
