// Durable state (SPEC §4 seq, §8; issue #3) proven from outside with real
// hss-jobwatchd processes, real SIGKILL and the real state.db: restarts
// report only what changed while down; kills at random points during walks,
// inside commits and between commit and release never lose a released
// event, never reuse a seq and leave a snapshot that equals what the
// journal implies; damaged, foreign, newer, read-only and full state is
// refused or survived without touching the file; one daemon per
// state_dir; --prune; journal retention. state.db is inspected read-only
// with the sqlite3 C API, never through the store under test.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "common/daemon_fixture.hpp"

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace hssjw::test;

// ------------------------------------------------- reading state.db

using job_key3 = std::tuple<std::string, std::string, std::string>;         // cluster, ns, name
using scope_jobs = std::map<std::string, std::map<job_key3, json::value>>;  // scope id -> jobs

struct journal_row {
  std::int64_t seq = 0;
  std::string scope, type, cluster, ns, name, line;
};

// Everything in state.db that the durability contract speaks about.
struct db_snapshot {
  bool exists = false;
  std::int64_t application_id = 0;
  std::int64_t user_version = 0;
  std::optional<std::int64_t> last_seq;                               // meta.last_seq
  std::vector<journal_row> journal;                                   // by seq
  scope_jobs jobs;                                                    // the stored snapshot
  std::map<std::string, std::pair<std::string, std::string>> scopes;  // id -> project, eps
  std::int64_t last_seq_or_0() const { return last_seq.value_or(0); }
};

// A read-only connection: the test must not be able to repair what it checks.
class ro_db {
 public:
  explicit ro_db(const std::string& path) {
    const int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr);
    if (rc != SQLITE_OK) throw std::runtime_error(path + ": open: " + sqlite3_errstr(rc));
    sqlite3_busy_timeout(db_, 5000);
  }
  ~ro_db() { sqlite3_close_v2(db_); }
  ro_db(const ro_db&) = delete;
  ro_db& operator=(const ro_db&) = delete;

  template <class F>
  void each(const char* sql, F row) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &s, nullptr);
    if (rc != SQLITE_OK) throw std::runtime_error(std::string(sql) + ": " + sqlite3_errmsg(db_));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) row(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) throw std::runtime_error(std::string(sql) + ": " + sqlite3_errmsg(db_));
  }

  std::int64_t one(const char* sql) {
    std::int64_t v = 0;
    each(sql, [&](sqlite3_stmt* s) { v = sqlite3_column_int64(s, 0); });
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string text(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

db_snapshot read_state(const std::string& path);

// SQLite resolves symbolic links in a database path, so a file reached
// through /proc/<pid>/root (another mount namespace) cannot be opened in
// place: copy state.db and its WAL out and read the copy, which is what a
// crash at that moment would leave.
db_snapshot read_state_copy(const std::string& src_dir, const std::string& dst_dir) {
  fs::create_directories(dst_dir);
  for (const char* f : {"state.db-shm", "state.db-wal", "state.db"}) fs::remove(dst_dir + "/" + f);
  for (const char* f : {"state.db", "state.db-wal"})
    if (fs::exists(src_dir + "/" + f)) fs::copy_file(src_dir + "/" + f, dst_dir + "/" + f);
  return read_state(dst_dir + "/state.db");
}

db_snapshot read_state(const std::string& path) {
  db_snapshot out;
  if (!fs::exists(path)) return out;
  out.exists = true;
  ro_db db(path);
  out.application_id = db.one("PRAGMA application_id");
  out.user_version = db.one("PRAGMA user_version");
  if (out.user_version == 0) return out;  // created, not yet migrated
  db.each("SELECT value FROM meta WHERE key = 'last_seq'",
          [&](sqlite3_stmt* s) { out.last_seq = sqlite3_column_int64(s, 0); });
  db.each("SELECT seq, scope, type, cluster, ns, name, line FROM journal ORDER BY seq",
          [&](sqlite3_stmt* s) {
            out.journal.push_back({sqlite3_column_int64(s, 0), text(s, 1), text(s, 2), text(s, 3),
                                   text(s, 4), text(s, 5), text(s, 6)});
          });
  db.each("SELECT scope, cluster, ns, name, body FROM jobs", [&](sqlite3_stmt* s) {
    out.jobs[text(s, 0)][{text(s, 1), text(s, 2), text(s, 3)}] = json::parse(text(s, 4));
  });
  db.each("SELECT id, project_id, eps FROM scopes", [&](sqlite3_stmt* s) {
    out.scopes[text(s, 0)] = {text(s, 1), text(s, 2)};
  });
  return out;
}

std::string key_str(const job_key3& k) {
  return std::get<0>(k) + "/" + std::get<1>(k) + "/" + std::get<2>(k);
}

// Collects what is wrong, so one failure report shows the whole picture.
struct problems {
  std::vector<std::string> list;
  void add(std::string p) {
    if (list.size() < 25) list.push_back(std::move(p));
  }
  bool empty() const { return list.empty(); }
  std::string str() const {
    std::string out;
    for (auto& p : list) out += "\n  " + p;
    return out;
  }
};

// Seqs: consecutive from `first`, none twice, the last one = meta.last_seq.
void check_seqs(const db_snapshot& s, std::int64_t first, problems& p) {
  if (!s.last_seq) return p.add("meta.last_seq is missing");
  for (std::size_t i = 0; i < s.journal.size(); ++i) {
    const auto want = first + static_cast<std::int64_t>(i);
    if (s.journal[i].seq != want) {
      p.add("journal row " + std::to_string(i) + " has seq " + std::to_string(s.journal[i].seq) +
            ", expected " + std::to_string(want) + " (gap or duplicate)");
      return;
    }
  }
  const auto last = s.journal.empty() ? first - 1 : s.journal.back().seq;
  if (last != *s.last_seq)
    p.add("journal ends at seq " + std::to_string(last) + " but meta.last_seq is " +
          std::to_string(*s.last_seq));
}

// Replays the whole journal from the baseline (it must start at seq 1) and
// compares the result with the stored snapshot. Also checks each event's
// `previous` against the replayed state: a lost or duplicated event shows
// up there even when the final snapshot happens to agree.
scope_jobs replay(const db_snapshot& s, problems& p) {
  scope_jobs state;
  for (const auto& row : s.journal) {
    const auto ev = json::parse(row.line).as_object();
    const std::string where = "seq " + std::to_string(row.seq) + " (" + row.type + " " +
                              row.cluster + "/" + row.ns + "/" + row.name + "): ";
    const auto& k = ev.at("key").as_object();
    if (ev.at("seq").to_number<std::int64_t>() != row.seq || ev.at("type") != row.type.c_str() ||
        k.at("cluster") != row.cluster.c_str() || k.at("namespace") != row.ns.c_str() ||
        k.at("name") != row.name.c_str())
      p.add(where + "the stored line disagrees with its columns: " + row.line.substr(0, 200));
    auto& jobs = state[row.scope];
    const job_key3 key{row.cluster, row.ns, row.name};
    const auto it = jobs.find(key);
    if (row.type == "added") {
      if (it != jobs.end()) p.add(where + "added while already present");
      jobs[key] = ev.at("job");
      continue;
    }
    if (it == jobs.end()) {
      p.add(where + "for a job the journal does not hold");
    } else if (it->second != ev.at("previous")) {
      p.add(where + "`previous` differs from the replayed job");
    }
    if (row.type == "removed")
      jobs.erase(key);
    else
      jobs[key] = ev.at("job");
  }
  for (auto it = state.begin(); it != state.end();)
    it = it->second.empty() ? state.erase(it) : std::next(it);
  return state;
}

void compare_jobs(const scope_jobs& want, const scope_jobs& got, const std::string& what,
                  problems& p) {
  std::set<std::string> scopes;
  for (auto& [id, _] : want) scopes.insert(id);
  for (auto& [id, _] : got) scopes.insert(id);
  static const std::map<job_key3, json::value> none;
  for (const auto& id : scopes) {
    const auto& w = want.contains(id) ? want.at(id) : none;
    const auto& g = got.contains(id) ? got.at(id) : none;
    for (auto& [k, v] : w) {
      auto it = g.find(k);
      if (it == g.end())
        p.add(id + " " + key_str(k) + ": in " + what + " but not in the jobs table");
      else if (it->second != v)
        p.add(id + " " + key_str(k) + ": jobs table body differs from " + what + ": " +
              json::serialize(it->second).substr(0, 160) + " vs " +
              json::serialize(v).substr(0, 160));
    }
    for (auto& [k, v] : g)
      if (!w.contains(k)) p.add(id + " " + key_str(k) + ": in the jobs table but not in " + what);
  }
}

// The journal, replayed, is the snapshot: seqs consecutive from 1, no
// duplicates, and jobs == replay(journal).
std::string consistency_problems(const db_snapshot& s) {
  problems p;
  if (!s.exists || s.user_version == 0) return {};  // killed before the first migration
  check_seqs(s, 1, p);
  auto replayed = replay(s, p);
  compare_jobs(replayed, s.jobs, "the replayed journal", p);
  return p.str();
}

// What a killed --once process printed (its stdout) must be exactly the
// journal's lines for seqs after `seq_before`, consecutive; a line cut by
// the kill must be the beginning of the next one. Returns the last
// complete seq printed (seq_before if none).
std::int64_t check_released(const std::string& out, const db_snapshot& s, std::int64_t seq_before,
                            std::set<std::int64_t>& all_released, problems& p) {
  std::map<std::int64_t, const std::string*> by_seq;
  for (auto& r : s.journal) by_seq[r.seq] = &r.line;
  std::int64_t expected = seq_before + 1;
  std::size_t pos = 0;
  while (pos < out.size()) {
    const auto nl = out.find('\n', pos);
    const std::string line =
        out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? out.size() : nl + 1;
    const auto it = by_seq.find(expected);
    if (nl == std::string::npos) {  // cut by SIGKILL in the middle of a write
      if (it == by_seq.end() || it->second->rfind(line, 0) != 0)
        p.add("a cut line is not the start of journal seq " + std::to_string(expected) + ": " +
              line.substr(0, 120));
      break;
    }
    std::int64_t seq = -1;
    try {
      seq = json::parse(line).as_object().at("seq").to_number<std::int64_t>();
    } catch (const std::exception&) {
      p.add("released line is not an event: " + line.substr(0, 120));
      break;
    }
    if (seq != expected)
      p.add("released seq " + std::to_string(seq) + ", expected " + std::to_string(expected));
    if (!all_released.insert(seq).second) p.add("seq " + std::to_string(seq) + " released twice");
    if (!by_seq.contains(seq))
      p.add("released seq " + std::to_string(seq) + " is not in the journal");
    else if (*by_seq.at(seq) != line)
      p.add("released seq " + std::to_string(seq) + " differs from the journal's line");
    expected = seq + 1;
  }
  return expected - 1;
}

// The fake's inventory as the daemon should have stored it (labels sorted,
// as events carry them), keyed like the jobs table.
std::map<job_key3, json::value> expected_jobs(const fake_hss::server& fake,
                                              const std::string& project) {
  std::map<job_key3, json::value> out;
  for (auto j : fake.jobs(project, "0")) {
    std::sort(j.labels.begin(), j.labels.end());
    out[{j.cluster, j.ns, j.name}] = j.to_json();
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t count_of(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

bool unshare_mount_works(const std::string& dir) {
  if (::geteuid() != 0) return false;
  fs::create_directories(dir);
  auto r = run_process({"/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c",
                        "mount -t tmpfs -o size=64k hssjw-probe \"$0\"", dir},
                       10s);
  return r.exit_code == 0;
}

// One sample of a Prometheus text page; -1 when absent.
double metric(const std::string& page, const std::string& series) {
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

// ------------------------------------------------------------ fixture

struct durability : daemon_fixture {
  std::string state_dir = dir.file("state");
  std::string db_path = state_dir + "/state.db";

  // Pages of 200, two quick retries, the log on stderr; `state` replaces
  // state_dir, `extra` adds top-level lines.
  std::string config(const std::vector<std::string>& projects, const std::string& extra = "",
                     const std::string& state = "") {
    auto c = cfg;
    c.projects.clear();
    for (auto& p : projects) c.projects += "  - id: " + p + "\n";
    c.poll =
        "rate: unlimited, page_size: 200, interval: 1s, jitter: 0%,"
        " retry: {attempts: 2, initial: 10ms, max: 20ms}";
    c.state_dir = state.empty() ? state_dir : state;
    c.extra = "log: {level: info, target: stderr}\n" + extra;
    return config_text(c);
  }

  // Writes `text` as <dir>/<name>; returns its path.
  std::string write_config_text(const std::string& text, const std::string& name = "config.yaml") {
    return dir.write(name, text);
  }

  process_result once(const std::string& cfg_file,
                      const std::map<std::string, std::string>& env = {}) {
    return run_process(daemon_argv({"--once"}, cfg_file), 90s, env);
  }

  fake_hss::job make_job(const std::string& project, const std::string& name,
                         std::int64_t created) {
    fake_hss::job j;
    j.project_id = project;
    j.cluster = "c1";
    j.ns = "default";
    j.name = name;
    j.create_time = created;
    j.labels = {{"tier", "batch"}, {"app", "x"}};
    return j;
  }
};

std::multiset<std::string> summary(const std::vector<json::object>& events) {
  std::multiset<std::string> out;
  for (auto& e : events)
    out.insert(std::string(e.at("type").as_string()) + " " +
               std::string(e.at("key").at("name").as_string()));
  return out;
}

// ------------------------------------------------------------ restarts

TEST_F(durability, restart_reports_only_the_changes_made_while_down_once) {
  fake.populate("p1", "0", 400, 11);
  fake.populate("p2", "0", 100, 12);
  const auto cfg = write_config_text(config({"p1", "p2"}));

  auto r = once(cfg);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto events = parse_ndjson(r.out);
  ASSERT_EQ(events.size(), 500u);
  EXPECT_EQ(events.front().at("seq"), 1);
  EXPECT_EQ(events.back().at("seq"), 500);

  r = once(cfg);  // restart, nothing changed upstream
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "") << "a restart with nothing changed must emit nothing";

  // Changes while the daemon is down: one of each kind in both scopes.
  auto p1 = fake.jobs("p1", "0");
  auto p2 = fake.jobs("p2", "0");
  auto m = p1[10];
  m.status = m.status == "Failed" ? "Running" : "Failed";
  fake.upsert(m);
  auto rep = p2[5];
  rep.create_time += 1000;
  fake.upsert(rep);
  fake.erase("p1", "0", p1[20].cluster, p1[20].ns, p1[20].name);
  fake.erase("p2", "0", p2[30].cluster, p2[30].ns, p2[30].name);
  fake.upsert(make_job("p1", "new-while-down-1", 1'800'000'000'000));
  fake.upsert(make_job("p2", "new-while-down-2", 1'800'000'000'001));

  r = once(cfg);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  events = parse_ndjson(r.out);
  EXPECT_EQ(summary(events),
            (std::multiset<std::string>{"modified " + m.name, "replaced " + rep.name,
                                        "removed " + p1[20].name, "removed " + p2[30].name,
                                        "added new-while-down-1", "added new-while-down-2"}));
  for (std::size_t i = 0; i < events.size(); ++i)
    EXPECT_EQ(events[i].at("seq"), 501 + static_cast<std::int64_t>(i))
        << "seq continues across restarts";

  r = once(cfg);  // reported once: the next restart is silent again
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");

  auto s = read_state(db_path);
  EXPECT_EQ(s.last_seq_or_0(), 506);
  auto bad = consistency_problems(s);
  EXPECT_TRUE(bad.empty()) << bad;
  problems p;
  compare_jobs({{"p1/-", expected_jobs(fake, "p1")}, {"p2/-", expected_jobs(fake, "p2")}}, s.jobs,
               "the fake inventory", p);
  EXPECT_TRUE(p.empty()) << p.str();
}

// ------------------------------------------------- SIGKILL at random points

// Mutations of the fake inventory from a seeded generator: new runs (at the
// front of the listing, so later pages shift), status / pod changes,
// recreated jobs (replaced) and deletions.
class mutator {
 public:
  mutator(fake_hss::server& fake, std::vector<std::string> projects, std::uint64_t seed)
      : fake_(fake), projects_(std::move(projects)), rng_(seed) {}

  void step(std::size_t adds, std::size_t modifies, std::size_t replaces, std::size_t removes) {
    std::lock_guard lock(mu_);
    const auto& project = projects_[rng_() % projects_.size()];
    auto jobs = fake_.jobs(project, "0");
    if (jobs.size() < 10) return;
    for (std::size_t i = 0; i < adds; ++i) {
      auto j = jobs[rng_() % jobs.size()];
      j.name = "run-" + std::to_string(next_++);
      j.create_time = 0;  // "now": the newest, first in the listing
      j.execute_time = 0;
      fake_.upsert(j);
    }
    for (std::size_t i = 0; i < modifies; ++i) {
      auto j = jobs[rng_() % jobs.size()];
      if (rng_() % 2)
        j.status = j.status == "Failed" ? "Running" : "Failed";
      else
        j.pods_num += 1;
      fake_.upsert(j);
    }
    for (std::size_t i = 0; i < replaces; ++i) {
      auto j = jobs[rng_() % jobs.size()];
      j.create_time += 1 + static_cast<std::int64_t>(rng_() % 1000);
      fake_.upsert(j);
    }
    for (std::size_t i = 0; i < removes; ++i) {
      const auto& j = jobs[rng_() % jobs.size()];
      fake_.erase(j.project_id, j.eps, j.cluster, j.ns, j.name);
    }
  }

  // Many modifications at once: a big commit and a long release.
  void bulk_modify(std::size_t n) {
    std::lock_guard lock(mu_);
    const auto& project = projects_[rng_() % projects_.size()];
    auto jobs = fake_.jobs(project, "0");
    std::vector<fake_hss::job> changed;
    for (std::size_t i = 0; i < std::min(n, jobs.size()); ++i) {
      jobs[i].pods_num += 3;
      changed.push_back(jobs[i]);
    }
    fake_.upsert_many(std::move(changed));
  }

 private:
  fake_hss::server& fake_;
  std::vector<std::string> projects_;
  std::mutex mu_;  // the hook runs on the server thread
  std::mt19937_64 rng_;
  std::uint64_t next_ = 1;
};

enum class kill_at { walk, in_commit, after_commit };

const char* describe(kill_at k) {
  switch (k) {
    case kill_at::walk:
      return "during the walk";
    case kill_at::in_commit:
      return "inside a commit (before COMMIT)";
    case kill_at::after_commit:
      return "after COMMIT, while releasing";
  }
  return "?";
}

// Waits until `err_file` holds `n` occurrences of `marker`, or the process
// ended, or the deadline passed; true when the marker count was reached.
bool wait_for_marker(background_process& proc, const std::string& marker, std::size_t n,
                     std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (count_of(proc.err(), marker) >= n) return true;
    if (!proc.running()) return false;
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

TEST_F(durability, sigkill_at_random_points_loses_nothing_released_and_never_reuses_a_seq) {
  // A few thousand jobs over three scopes; every --once run commits three
  // times (once per scope), each commit held open by the test hook.
  const std::vector<std::string> projects{"p1", "p2", "p3"};
  fake.populate("p1", "0", 1500, 21);
  fake.populate("p2", "0", 1000, 22);
  fake.populate("p3", "0", 500, 23);
  fake.set_latency(2ms);
  const auto cfg = write_config_text(config(projects));
  constexpr int hold_ms = 120, after_ms = 60;
  const std::map<std::string, std::string> env{
      {"HSSJW_TEST_COMMIT_DELAY_MS", std::to_string(hold_ms)},
      {"HSSJW_TEST_AFTER_COMMIT_DELAY_MS", std::to_string(after_ms)}};

  std::mt19937_64 rng(20240712);  // the kill schedule replays
  mutator mut(fake, projects, 7);
  // Churn also while walks run: lists shift under the walker.
  std::atomic<int> hook_calls{0};
  fake.on_request([&](const fake_hss::request_record&) {
    if (++hook_calls % 4 == 0) mut.step(1, 1, 0, 1);
  });

  std::set<std::int64_t> released;
  std::map<kill_at, int> kills;
  int clean_exits = 0;
  constexpr int rounds = 20;
  for (int round = 0; round < rounds; ++round) {
    const auto before = read_state(db_path);
    const auto mode = static_cast<kill_at>(rng() % 3);
    background_process proc(daemon_argv({"--once"}, cfg), dir.path(), env);
    bool killed = false;
    if (mode == kill_at::walk) {
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 900));
      killed = proc.running();
    } else {
      const std::string marker =
          mode == kill_at::in_commit ? "before COMMIT" : "committed, before release";
      const std::size_t nth = 1 + rng() % projects.size();
      const auto window = mode == kill_at::in_commit ? hold_ms : after_ms + 20;
      killed = wait_for_marker(proc, marker, nth, 60s);
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % window));
      killed = killed && proc.running();
    }
    if (killed) proc.signal(SIGKILL);
    const int code = proc.wait(60s);
    SCOPED_TRACE("round " + std::to_string(round) + ", kill " + describe(mode) +
                 (killed ? "" : " (the run ended first)") + ", exit " + std::to_string(code));
    if (killed) {
      ASSERT_EQ(code, 128 + SIGKILL) << proc.err();
      ++kills[mode];
    } else {
      // Lists shifting mid-walk may leave a walk incomplete (exit 1); that
      // is the walker's business, not a durability failure.
      ASSERT_TRUE(code == 0 || (code == 1 && proc.err().find("incomplete") != std::string::npos))
          << proc.err();
      ++clean_exits;
    }

    const auto after = read_state(db_path);
    const auto bad = consistency_problems(after);
    ASSERT_TRUE(bad.empty()) << "state.db after the kill:" << bad;
    problems p;
    check_released(proc.out(), after, before.last_seq_or_0(), released, p);
    ASSERT_TRUE(p.empty()) << "released events vs the journal:" << p.str();
    EXPECT_GE(after.last_seq_or_0(), before.last_seq_or_0()) << "seqs never go back";

    // Changes while down; now and then a burst that makes a long commit.
    mut.step(2 + rng() % 20, 5 + rng() % 40, rng() % 4, rng() % 10);
    if (round % 5 == 4) mut.bulk_modify(400);
  }
  EXPECT_GE(kills[kill_at::walk] + kills[kill_at::in_commit] + kills[kill_at::after_commit], 12)
      << "too few runs were actually killed to prove anything";
  EXPECT_GE(kills[kill_at::in_commit], 3);
  EXPECT_GE(kills[kill_at::after_commit], 3);
  std::printf(
      "[ kills ] walk %d, in commit %d, after commit %d, clean exits %d, seqs released %zu\n",
      kills[kill_at::walk], kills[kill_at::in_commit], kills[kill_at::after_commit], clean_exits,
      released.size());

  // A clean run converges: the snapshot is the fake's inventory.
  fake.on_request({});
  const auto before = read_state(db_path);
  auto r = once(cfg);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto s = read_state(db_path);
  auto bad = consistency_problems(s);
  ASSERT_TRUE(bad.empty()) << bad;
  problems p;
  check_released(r.out, s, before.last_seq_or_0(), released, p);
  scope_jobs want;
  for (auto& proj : projects) want[proj + "/-"] = expected_jobs(fake, proj);
  compare_jobs(want, s.jobs, "the fake inventory", p);
  EXPECT_TRUE(p.empty()) << p.str();
  r = once(cfg);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "") << "after converging, a restart emits nothing";
}

// The long-running daemon (not --once): the scheduler's loop, the log sink
// and a fake that churns on its own timer, killed at random moments.
TEST_F(durability, sigkill_of_the_running_daemon_keeps_log_and_journal_in_agreement) {
  fake.populate("p1", "0", 600, 31);
  fake.populate("p2", "0", 300, 32);
  const auto cfg = write_config_text(config({"p1", "p2"}));
  const std::map<std::string, std::string> env{{"HSSJW_TEST_COMMIT_DELAY_MS", "40"},
                                               {"HSSJW_TEST_AFTER_COMMIT_DELAY_MS", "40"}};
  fake_hss::churn_options churn;
  churn.interval = 150ms;
  churn.seed = 99;
  churn.adds = 3;
  churn.modifies = 4;
  churn.removes = 2;
  fake.start_churn(churn);

  // "modified c/ns/name in p1/- (seq 12...": what the log released.
  const std::regex event_line(R"((added|removed|modified|replaced) (\S+) in (\S+) \(seq (\d+))");
  std::mt19937_64 rng(77);
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    background_process proc(daemon_argv({}, cfg), dir.path(), env);
    std::this_thread::sleep_for(std::chrono::milliseconds(700 + rng() % 2300));
    proc.signal(SIGKILL);
    proc.wait(10s);
    const auto s = read_state(db_path);
    const auto bad = consistency_problems(s);
    ASSERT_TRUE(bad.empty()) << bad;
    std::map<std::int64_t, const journal_row*> by_seq;
    for (auto& row : s.journal) by_seq[row.seq] = &row;
    const auto log = proc.err();
    std::istringstream lines(log);
    std::string line;
    while (std::getline(lines, line)) {
      std::smatch m;
      if (!std::regex_search(line, m, event_line)) continue;
      const auto seq = std::stoll(m[4]);
      ASSERT_TRUE(by_seq.contains(seq)) << "logged but not in the journal: " << line;
      const auto& row = *by_seq.at(seq);
      EXPECT_EQ(m[1].str(), row.type) << line;
      EXPECT_EQ(m[2].str(), row.cluster + "/" + row.ns + "/" + row.name) << line;
      EXPECT_EQ(m[3].str(), row.scope) << line;
    }
  }
  fake.stop_churn();

  // Converges once the churn stops: the next walks bring the snapshot to the
  // fake's inventory.
  background_process proc(daemon_argv({}, cfg), dir.path());
  scope_jobs want{{"p1/-", expected_jobs(fake, "p1")}, {"p2/-", expected_jobs(fake, "p2")}};
  const bool converged = eventually(
      [&] {
        problems p;
        compare_jobs(want, read_state(db_path).jobs, "the fake inventory", p);
        return p.empty();
      },
      20s);
  proc.signal(SIGTERM);
  EXPECT_EQ(proc.wait(15s), 0) << proc.err();
  EXPECT_TRUE(converged) << proc.err();
  const auto bad = consistency_problems(read_state(db_path));
  EXPECT_TRUE(bad.empty()) << bad;
}

// -------------------------------------------- refusing a database untouched

void write_garbage(const std::string& path, std::size_t n) {
  std::mt19937 rng(5);
  std::string bytes(n, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng());
  std::ofstream(path, std::ios::binary) << bytes;
}

void sql(const std::string& path, const std::string& statements) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, statements.c_str(), nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

void expect_refused_untouched(durability& t, const std::vector<std::string>& parts) {
  const auto cfg = t.write_config_text(t.config({"p1"}));
  std::map<std::string, std::string> files;
  for (auto& e : fs::directory_iterator(t.state_dir))
    if (e.path().filename() != "lock") files[e.path().string()] = read_file(e.path().string());
  auto r = t.once(cfg);
  // 78: it needs an operator; systemd (RestartPreventExitStatus=78) must
  // not restart into the same refusal forever.
  EXPECT_EQ(r.exit_code, 78) << r.err;
  EXPECT_EQ(r.out, "") << "nothing may be released";
  EXPECT_NE(r.err.find(t.db_path), std::string::npos) << "the message names the file: " << r.err;
  for (auto& part : parts)
    EXPECT_NE(r.err.find(part), std::string::npos) << part << " in: " << r.err;
  for (auto& [path, bytes] : files)
    EXPECT_TRUE(read_file(path) == bytes) << path << " was modified";
  for (auto& e : fs::directory_iterator(t.state_dir))
    EXPECT_TRUE(e.path().filename() == "lock" || files.contains(e.path().string()))
        << e.path() << " was created next to a database the daemon refused";
}

TEST_F(durability, garbage_database_is_refused_and_left_byte_identical) {
  fs::create_directories(state_dir);
  write_garbage(db_path, 16384);
  expect_refused_untouched(*this, {"not a database", "left as it is"});
}

TEST_F(durability, damaged_pages_are_refused_and_left_byte_identical) {
  fake.populate("p1", "0", 300, 3);
  auto r = once(write_config_text(config({"p1"})));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(fs::exists(db_path + "-wal") && fs::file_size(db_path + "-wal") > 0)
      << "a clean exit checkpoints the WAL";
  // Overwrite the middle of the file (b-tree pages of the jobs and journal).
  const auto size = fs::file_size(db_path);
  ASSERT_GT(size, 8 * 4096u);
  std::fstream f(db_path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(size / 2 / 4096 * 4096));
  const std::string junk(3 * 4096, '\x5a');
  f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  f.close();
  expect_refused_untouched(*this, {"restore a backup"});
}

// A copy cut short (a full disk during a backup, a partial rsync): the
// header promises more pages than the file has.
TEST_F(durability, truncated_database_is_refused_and_left_byte_identical) {
  fake.populate("p1", "0", 300, 3);
  auto r = once(write_config_text(config({"p1"})));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto size = fs::file_size(db_path);
  ASSERT_GT(size, 8 * 4096u);
  fs::resize_file(db_path, size / 2 / 4096 * 4096);
  expect_refused_untouched(*this, {"restore a backup"});
  // The long-running daemon exits the same way (what systemd sees).
  auto d = run_process(daemon_argv(), 30s);
  EXPECT_EQ(d.exit_code, 78) << d.err;
  EXPECT_NE(d.err.find(db_path), std::string::npos) << d.err;
}

TEST_F(durability, newer_schema_version_is_refused_and_left_byte_identical) {
  fake.populate("p1", "0", 20, 3);
  auto r = once(write_config_text(config({"p1"})));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  sql(db_path, "PRAGMA user_version = 99");
  expect_refused_untouched(*this, {"newer", "99", "upgrade"});
}

TEST_F(durability, foreign_database_is_refused_and_left_byte_identical) {
  fs::create_directories(state_dir);
  sql(db_path,
      "CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT);"
      "INSERT INTO accounts(owner) VALUES('someone else');");
  expect_refused_untouched(*this, {"not an hss-jobwatch database"});
}

// ------------------------------------------------ read-only, full, locked

TEST_F(durability, database_locked_by_another_program_is_reported_and_left_alone) {
  fake.populate("p1", "0", 20, 3);
  const auto cfg = write_config_text(config({"p1"}));
  auto r = once(cfg);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // An operator's sqlite3 shell holding a write transaction open.
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;", nullptr,
                         nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(holder);
  fake.upsert(make_job("p1", "while-locked", 1'800'000'000'000));
  r = once(cfg);
  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "") << "nothing may be released";
  EXPECT_NE(r.err.find(db_path), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("locked"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("another program holds a lock"), std::string::npos)
      << "says what to do, not \"check permissions and disk space\": " << r.err;

  // Lock gone: the change made meanwhile is reported, seq continuing.
  r = once(cfg);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto events = parse_ndjson(r.out);
  ASSERT_EQ(events.size(), 1u) << r.out;
  EXPECT_EQ(events[0].at("seq"), 21);
}

TEST_F(durability, read_only_state_dir_is_refused_with_the_path) {
  fake.populate("p1", "0", 50, 4);
  const auto cfg = write_config_text(config({"p1"}));
  auto r = once(cfg);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto bytes = read_file(db_path);
  fake.upsert(make_job("p1", "while-read-only", 1'800'000'000'000));
  if (::geteuid() == 0) {
    // root ignores permission bits: make the directory read-only for real.
    if (!unshare_mount_works(dir.file("probe")))
      GTEST_SKIP() << "running as root but `unshare -m` + mount are unavailable, so a read-only "
                      "state_dir cannot be made";
    r = run_process({"/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c",
                     "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" && "
                     "exec \"$0\" --config \"$2\" --once",
                     HSSJWD_PATH, state_dir, cfg},
                    60s);
  } else {
    ::chmod(state_dir.c_str(), 0500);
    r = once(cfg);
    ::chmod(state_dir.c_str(), 0750);
  }
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "") << "nothing may be released";
  EXPECT_NE(r.err.find(state_dir), std::string::npos) << r.err;
  EXPECT_TRUE(r.err.find("Read-only file system") != std::string::npos ||
              r.err.find("Permission denied") != std::string::npos ||
              r.err.find("not writable") != std::string::npos ||
              r.err.find("readonly") != std::string::npos)
      << r.err;
  EXPECT_TRUE(read_file(db_path) == bytes) << "state.db changed";

  // Writable again: the change made meanwhile is reported, seq continuing.
  r = once(cfg);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto events = parse_ndjson(r.out);
  ASSERT_EQ(events.size(), 1u) << r.out;
  EXPECT_EQ(events[0].at("seq"), 51);
}

TEST_F(durability, full_disk_fails_the_commit_keeps_state_releases_nothing_and_recovers) {
  const std::string mnt = dir.file("fs");
  fs::create_directories(mnt);
  if (!unshare_mount_works(mnt))
    GTEST_SKIP() << "needs root with `unshare -m` and mount -t tmpfs to fill a file system "
                    "(running as uid "
                 << ::geteuid() << ")";
  fake.populate("p1", "0", 300, 8);
  const std::string small_state = mnt + "/state";
  const auto port = free_tcp_port();
  const auto cfg = write_config_text(
      config({"p1"}, "metrics: {listen: 127.0.0.1:" + std::to_string(port) + "}\n", small_state));
  const auto walks = [&](const char* outcome) {
    return metric(
        http_get(port, "/metrics").body,
        std::string("hss_jobwatch_walks_total{scope=\"p1/-\",outcome=\"") + outcome + "\"}");
  };
  // The daemon's status as `hss-jobwatch status -o json` prints it.
  const auto scope_status = [&]() -> json::object {
    auto r = run_process({HSSJW_CLI_PATH, "--socket", socket_path(), "status", "-o", "json"}, 20s);
    auto lines = parse_ndjson(r.out);
    if (r.exit_code != 0 || lines.empty()) return {};
    return lines[0].at("scopes").as_array().at(0).as_object();
  };
  // The daemon runs in its own mount namespace on a 4 MiB tmpfs; the test
  // reaches that file system through /proc/<pid>/root.
  background_process proc(
      {"/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c",
       "mount -t tmpfs -o size=4m hssjw-full \"$1\" && exec \"$0\" --config \"$2\"", HSSJWD_PATH,
       mnt, cfg},
      dir.path());
  ASSERT_TRUE(eventually(
      [&] { return proc.err().find("baseline of p1/-: 300 jobs") != std::string::npos; }, 30s))
      << proc.err();
  const std::string inside = "/proc/" + std::to_string(proc.pid) + "/root" + mnt;
  const auto inside_state = [&] { return read_state_copy(inside + "/state", dir.file("copy")); };
  ASSERT_EQ(inside_state().last_seq_or_0(), 300);

  // Fill the file system to the last byte.
  {
    const std::string filler = inside + "/filler";
    FILE* f = std::fopen(filler.c_str(), "wb");
    ASSERT_NE(f, nullptr) << filler << ": " << std::strerror(errno);
    std::setvbuf(f, nullptr, _IONBF, 0);
    const std::string chunk(4096, 'f');
    int err = 0;
    for (int i = 0; i < 100'000; ++i) {
      if (std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size()) {
        err = errno;
        break;
      }
    }
    std::fclose(f);
    ASSERT_EQ(err, ENOSPC) << "the tmpfs did not fill up";
  }
  // Every job changes: the commit needs far more than the bytes left.
  const auto before_log = proc.err().size();
  std::vector<fake_hss::job> changed = fake.jobs("p1", "0");
  for (auto& j : changed) j.pods_num += 7;
  fake.upsert_many(changed);
  ASSERT_TRUE(eventually(
      [&] { return count_of(proc.err().substr(before_log), "could not commit the walk") >= 2; },
      30s))
      << proc.err().substr(before_log);
  // A failed commit is a failed walk for every signal (SPEC §10).
  EXPECT_TRUE(eventually([&] { return http_get(port, "/healthz").status == 503; }, 20s));
  const auto health = http_get(port, "/healthz");
  EXPECT_NE(health.body.find("p1/-"), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("could not commit"), std::string::npos) << health.body;
  const auto failing = scope_status();
  EXPECT_EQ(failing.at("state"), "failing") << json::serialize(failing);
  EXPECT_NE(json::value_to<std::string>(failing.at("last_error")).find("full"), std::string::npos)
      << json::serialize(failing);
  const double complete_while_full = walks("complete");
  EXPECT_GE(walks("failed"), 2) << "a failed commit counts as a failed walk";
  ASSERT_TRUE(eventually(
      [&] { return count_of(proc.err().substr(before_log), "could not commit the walk") >= 4; },
      30s));
  EXPECT_EQ(walks("complete"), complete_while_full)
      << "no walk counted complete while nothing commits";
  const auto during = proc.err().substr(before_log);
  EXPECT_EQ(count_of(during, "modified "), 0u) << "nothing is released when the commit fails:\n"
                                               << during;
  EXPECT_NE(during.find("full"), std::string::npos) << "the reason is logged: " << during;
  EXPECT_NE(during.find("walk failed: state: could not commit"), std::string::npos) << during;
  auto s = inside_state();
  EXPECT_EQ(s.last_seq_or_0(), 300) << "no seq was consumed";
  EXPECT_EQ(s.journal.size(), 300u);
  problems p;
  auto bad = consistency_problems(s);
  EXPECT_TRUE(bad.empty()) << bad;
  for (auto& [key, body] : s.jobs["p1/-"])
    if (body.at("pods_num").to_number<std::int64_t>() >= 7)
      p.add(key_str(key) + " changed while full");
  EXPECT_TRUE(p.empty()) << "the previous state is kept:" << p.str();

  // Space again: the next walk commits and releases every change, once.
  fs::remove(inside + "/filler");
  const auto freed_log = proc.err().size();
  ASSERT_TRUE(
      eventually([&] { return count_of(proc.err().substr(freed_log), "modified ") >= 300; }, 30s))
      << proc.err().substr(freed_log);
  const auto recovered = proc.err().substr(freed_log);
  EXPECT_NE(recovered.find("(seq 301"), std::string::npos) << "seq continues after the failures";
  EXPECT_NE(recovered.find("(seq 600"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return http_get(port, "/healthz").status == 200; }, 20s));
  EXPECT_EQ(scope_status().at("state"), "ok");
  EXPECT_GT(walks("complete"), complete_while_full);
  s = inside_state();
  EXPECT_EQ(s.last_seq_or_0(), 600);
  bad = consistency_problems(s);
  EXPECT_TRUE(bad.empty()) << bad;
  proc.signal(SIGTERM);
  EXPECT_EQ(proc.wait(15s), 0) << proc.err();
  s = read_state(small_state + "/state.db");  // the tmpfs is gone with the namespace
  EXPECT_FALSE(s.exists) << "the tmpfs lived only in the daemon's mount namespace";
}

TEST_F(durability, second_daemon_on_the_same_state_dir_is_refused) {
  fake.populate("p1", "0", 30, 9);
  const auto cfg = write_config_text(config({"p1"}));
  background_process first(daemon_argv({}, cfg), dir.path());
  ASSERT_TRUE(
      eventually([&] { return first.err().find("baseline of p1/-") != std::string::npos; }, 30s))
      << first.err();
  const auto seq_before = read_state(db_path).last_seq_or_0();

  fake.upsert(make_job("p1", "seen-by-the-first-only", 1'800'000'000'000));
  auto second = once(cfg);
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_EQ(second.out, "");
  EXPECT_NE(second.err.find("in use by another hss-jobwatchd (pid " + std::to_string(first.pid)),
            std::string::npos)
      << second.err;
  EXPECT_NE(second.err.find(state_dir), std::string::npos) << second.err;
  // The first one carries on alone and hands out the next seq.
  ASSERT_TRUE(eventually(
      [&] {
        return first.err().find("added c1/default/seen-by-the-first-only in p1/- (seq " +
                                std::to_string(seq_before + 1) + ")") != std::string::npos;
      },
      20s))
      << first.err();
  first.signal(SIGTERM);
  EXPECT_EQ(first.wait(15s), 0) << first.err();
}

// ------------------------------------------------------- prune, retention

TEST_F(durability, prune_deletes_exactly_the_unconfigured_scopes_and_kept_ones_resume) {
  fake.populate("p1", "0", 40, 1);
  fake.populate("p2", "0", 30, 2);
  fake.populate("p3", "0", 20, 3);
  const auto all = write_config_text(config({"p1", "p2", "p3"}), "all.yaml");
  auto r = once(all);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(parse_ndjson(r.out).size(), 90u);

  // p2 and p3 leave the config: nothing is emitted for them, state kept.
  auto r1 = once(write_config_text(config({"p1"}), "only-p1.yaml"));
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_EQ(r1.out, "");
  EXPECT_EQ(read_state(db_path).scopes.size(), 3u);

  // --prune with p1 and p3 configured deletes p2 only, and says so.
  r = run_process(daemon_argv({"--prune"}, write_config_text(config({"p1", "p3"}), "p1-p3.yaml")),
                  60s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "pruned p2/-\n1 scope(s) pruned\n");
  auto s = read_state(db_path);
  EXPECT_EQ(s.scopes.size(), 2u);
  EXPECT_TRUE(s.scopes.contains("p1/-") && s.scopes.contains("p3/-"));
  EXPECT_FALSE(s.jobs.contains("p2/-")) << "p2's snapshot is deleted";
  EXPECT_EQ(s.jobs["p3/-"].size(), 20u) << "p3's snapshot is kept";
  EXPECT_EQ(s.journal.size(), 90u) << "the journal (history, seqs) is not rewritten";

  // Nothing left to prune.
  r = run_process(daemon_argv({"--prune"}, dir.file("p1-p3.yaml")), 60s);
  EXPECT_EQ(r.out, "0 scope(s) pruned\n");

  // All three again: p3 resumes silently (kept), p2 gets a new baseline.
  fake.upsert(make_job("p3", "new-in-p3", 1'800'000'000'000));
  r = once(all);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto events = parse_ndjson(r.out);
  std::multiset<std::string> scopes_seen;
  for (auto& e : events)
    scopes_seen.insert(std::string(e.at("scope").at("project_id").as_string()));
  EXPECT_EQ(scopes_seen.count("p2"), 30u) << "pruned scope starts over with a baseline";
  EXPECT_EQ(scopes_seen.count("p3"), 1u) << "kept scope resumes without a new baseline";
  EXPECT_EQ(scopes_seen.count("p1"), 0u);
  for (std::size_t i = 0; i < events.size(); ++i)
    EXPECT_EQ(events[i].at("seq"), 91 + static_cast<std::int64_t>(i));
}

TEST_F(durability, retention_keeps_max_events_and_the_oldest_seq_right) {
  fake.populate("p1", "0", 120, 6);
  const auto cfg = write_config_text(config({"p1"}, "journal: {max_events: 50}\n"));
  auto r = once(cfg);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(parse_ndjson(r.out).size(), 120u) << "retention never holds back a release";

  mutator mut(fake, {"p1"}, 3);
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const auto s = read_state(db_path);
    const auto last = s.last_seq_or_0();
    ASSERT_GT(last, 50);
    EXPECT_EQ(s.journal.size(), 50u) << "the bound holds";
    ASSERT_FALSE(s.journal.empty());
    EXPECT_EQ(s.journal.front().seq, last - 49) << "oldest seq = last - max_events + 1";
    problems p;
    check_seqs(s, last - 49, p);
    EXPECT_TRUE(p.empty()) << p.str();
    mut.step(3, 5, 1, 2);
    r = once(cfg);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto events = parse_ndjson(r.out);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front().at("seq"), last + 1);
  }
}

}  // namespace
