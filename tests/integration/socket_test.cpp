// Protocol conformance of the events socket (SPEC §5) against a real
// hss-jobwatchd over a real Unix socket, with the fake HSS as upstream:
// every op and error, filters, bookmarks, scope_status, since across a
// restart, sync racing with commits, 100 clients with one stuck, garbage
// and half-sent requests, the socket file's life cycle.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "integration/socket_support.hpp"

namespace {

using namespace hssjw::test;
using namespace std::chrono_literals;

struct socket_fixture : socket_daemon_fixture {};

std::vector<std::uint64_t> event_seqs(const std::vector<json::object>& lines) {
  std::vector<std::uint64_t> out;
  for (auto& l : lines)
    if (is_event(l)) out.push_back(seq_of(l));
  return out;
}

void expect_consecutive(const std::vector<std::uint64_t>& seqs, std::uint64_t first) {
  for (std::size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], first + i) << "at index " << i;
}

TEST_F(socket_fixture, hello_status_and_list) {
  fake.populate("p1", "0", 30, 1);
  start_daemon(30);
  socket_client c;
  ASSERT_TRUE(c.open(socket_path()));
  EXPECT_EQ(type_of(c.hello), "hello");
  EXPECT_EQ(c.hello.at("v"), 1);
  EXPECT_EQ(std::string(c.hello.at("server").as_string()).rfind("hss-jobwatch/", 0), 0u);
  EXPECT_EQ(seq_of(c.hello), 30u);
  EXPECT_EQ(c.hello.at("oldest_seq"), 1);

  auto status = request(R"({"op":"status"})");
  auto s = status->next();
  ASSERT_TRUE(s);
  EXPECT_EQ(type_of(*s), "status");
  EXPECT_EQ(s->at("seq"), 30);
  EXPECT_EQ(s->at("oldest_seq"), 1);
  ASSERT_EQ(s->at("scopes").as_array().size(), 1u);
  const auto& scope = s->at("scopes").as_array()[0].as_object();
  EXPECT_EQ(scope.at("jobs"), 30);
  EXPECT_EQ(scope.at("state"), "ok");
  EXPECT_TRUE(scope.at("last_complete").is_string());
  EXPECT_TRUE(scope.at("last_attempt").is_string());
  EXPECT_TRUE(scope.at("last_error").is_null());
  EXPECT_EQ(scope.at("scope"), (json::object{{"project_id", "p1"}, {"enterprise_project_id", ""}}));
  EXPECT_FALSE(status->next(5s)) << "status closes after its line";

  auto list = request(R"({"op":"list"})");
  auto lines = list->until([](auto& o) { return type_of(o) == "end"; });
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(type_of(lines.back()), "end");
  EXPECT_EQ(lines.back().at("seq"), 30);
  EXPECT_EQ(lines.size(), 31u);
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    EXPECT_EQ(type_of(lines[i]), "existing");
    EXPECT_TRUE(lines[i].at("job").is_object());
    EXPECT_EQ(lines[i].at("scope").at("project_id"), "p1");
  }
  EXPECT_FALSE(list->next(5s)) << "list closes after end";

  // A filtered list holds exactly the matching jobs.
  const auto one = fake.jobs("p1")[3];
  auto filtered = request(R"({"op":"list","filter":{"cluster":")" + one.cluster + R"(","name":")" +
                          one.name + R"("}})");
  lines = filtered->until([](auto& o) { return type_of(o) == "end"; });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].at("key").at("name"), one.name.c_str());
}

TEST_F(socket_fixture, watch_live_since_and_filters) {
  fake.populate("p1", "0", 20, 2);
  start_daemon(20);
  auto live = request(R"({"op":"watch"})");
  const auto live_from = seq_of(live->hello);
  auto replay = request(R"({"op":"watch","since":10})");
  auto removed_only = request(R"({"op":"watch","filter":{"types":["removed"]}})");

  auto jobs = fake.jobs("p1");
  auto changed = jobs[0];
  changed.status = "Failed";
  fake.upsert(changed);
  fake.erase("p1", "0", jobs[1].cluster, jobs[1].ns, jobs[1].name);

  auto got = live->until([](auto& o) { return is_event(o) && o.at("type") == "removed"; });
  auto seqs = event_seqs(got);
  ASSERT_EQ(seqs.size(), 2u);
  expect_consecutive(seqs, live_from + 1);

  got = replay->until([](auto& o) { return is_event(o) && o.at("type") == "removed"; });
  seqs = event_seqs(got);
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.front(), 11u) << "since 10 starts at 11";
  expect_consecutive(seqs, 11);
  EXPECT_EQ(seqs.back(), live_from + 2);

  got = removed_only->until([](auto& o) { return is_event(o); });
  ASSERT_EQ(event_seqs(got).size(), 1u);
  EXPECT_EQ(got.back().at("type"), "removed");
  EXPECT_EQ(got.back().at("key").at("name"), jobs[1].name.c_str());
  EXPECT_FALSE(got.back().contains("job"));
  EXPECT_TRUE(got.back().contains("previous"));
}

TEST_F(socket_fixture, bookmarks_when_quiet_carry_the_cursor) {
  fake.populate("p1", "0", 5, 3);
  start_daemon(5);
  // Nothing matches this filter, yet the bookmark tells how far it got.
  auto c = request(R"({"op":"watch","since":0,"filter":{"name":"no-such-job"}})");
  auto lines = c->until([](auto& o) { return type_of(o) == "bookmark"; }, 10s);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(type_of(lines.back()), "bookmark");
  EXPECT_EQ(lines.back().at("seq"), 5);
  EXPECT_TRUE(event_seqs(lines).empty());
  lines = c->until([](auto& o) { return type_of(o) == "bookmark"; }, 10s);
  EXPECT_EQ(type_of(lines.back()), "bookmark") << "and again after another quiet interval";
}

TEST_F(socket_fixture, scope_status_when_a_scope_fails_and_recovers) {
  fake.populate("p1", "0", 5, 4);
  start_daemon(5);
  auto c = request(R"({"op":"watch"})");
  fake.inject(fake_hss::fault::internal_error().forever());
  auto lines = c->until([](auto& o) { return type_of(o) == "scope_status"; });
  ASSERT_EQ(type_of(lines.back()), "scope_status");
  EXPECT_EQ(lines.back().at("state"), "failing");
  EXPECT_TRUE(lines.back().at("error").is_string());
  EXPECT_EQ(lines.back().at("scope").at("project_id"), "p1");
  auto status = request(R"({"op":"status"})")->next();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->at("scopes").as_array()[0].at("state"), "failing");
  fake.clear_faults();
  lines = c->until([](auto& o) { return type_of(o) == "scope_status"; });
  ASSERT_EQ(type_of(lines.back()), "scope_status");
  EXPECT_EQ(lines.back().at("state"), "ok");
  EXPECT_TRUE(lines.back().at("error").is_null());
}

TEST_F(socket_fixture, bad_requests_are_answered_then_closed) {
  fake.populate("p1", "0", 3, 5);
  start_daemon(3);
  for (const char* line : {"hello there", R"({"op":"subscribe"})", R"({"op":"watch","since":"5"})",
                           R"({"op":"watch","filter":{"types":["deleted"]}})", R"([])"}) {
    auto c = request(line);
    auto answer = c->next();
    ASSERT_TRUE(answer) << line;
    EXPECT_EQ(type_of(*answer), "error") << line;
    EXPECT_EQ(answer->at("code"), "bad_request") << line;
    EXPECT_TRUE(answer->at("message").is_string());
    EXPECT_FALSE(c->next(5s)) << "closed after the error: " << line;
  }
}

TEST_F(socket_fixture, a_one_mebibyte_garbage_line_is_refused) {
  fake.populate("p1", "0", 3, 6);
  start_daemon(3);
  socket_client c;
  ASSERT_TRUE(c.open(socket_path()));
  // Written from another thread: the server stops reading after 64 KiB,
  // so the rest may never be taken (send fails once it closes).
  std::thread writer([&] {
    std::string garbage(1 << 20, 'x');
    c.conn.send_line(garbage, 10s);
  });
  auto answer = c.next(20s);
  writer.join();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->at("code"), "bad_request");
  EXPECT_NE(std::string(answer->at("message").as_string()).find("64 KiB"), std::string::npos);
  EXPECT_FALSE(c.next(5s));
  EXPECT_EQ(daemon_seq(), 3u) << "the daemon is still serving";
}

TEST_F(socket_fixture, clients_that_leave_mid_line_or_send_nothing_harm_nobody) {
  fake.populate("p1", "0", 3, 7);
  start_daemon(3);
  for (int i = 0; i < 20; ++i) {  // half a request, then gone
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, socket_path().c_str());
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const char half[] = R"({"op":"watch","si)";
    ASSERT_GT(::send(fd, half, sizeof half - 1, MSG_NOSIGNAL), 0);
    ::close(fd);
  }
  // A client that says nothing is told so after stall_timeout.
  socket_client silent;
  ASSERT_TRUE(silent.open(socket_path()));
  auto answer = silent.next(10s);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->at("code"), "bad_request");

  auto status = request(R"({"op":"status"})")->next();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->at("seq"), 3);
  EXPECT_TRUE(eventually(
      [&] {
        auto s = request(R"({"op":"status"})")->next();
        return s && s->at("clients") == 1 && s->at("subscribers") == 0;
      },
      10s))
      << "every departed client was let go";
}

// `echo '{"op":"watch"}' | socat …` half-closes after its request and
// keeps reading: EOF from a watcher is not a departure.
TEST_F(socket_fixture, a_half_closed_watcher_keeps_receiving) {
  fake.populate("p1", "0", 3, 15);
  start_daemon(3);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, socket_path().c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string req = "{\"op\":\"watch\"}\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  ASSERT_EQ(::shutdown(fd, SHUT_WR), 0);
  std::this_thread::sleep_for(300ms);
  const auto gone = fake.jobs("p1")[0];
  fake.erase("p1", "0", gone.cluster, gone.ns, gone.name);
  std::string got;
  const auto end = std::chrono::steady_clock::now() + 20s;
  while (got.find("\"removed\"") == std::string::npos && std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) != 1) continue;
    char buf[4096];
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_NE(got.find("\"removed\""), std::string::npos) << got;
}

TEST_F(socket_fixture, busy_over_max_clients) {
  cfg.socket = ", stall_timeout: 30s, bookmark_interval: 30s, max_clients: 3";
  fake.populate("p1", "0", 3, 8);
  start_daemon(3);
  std::vector<std::unique_ptr<socket_client>> held;
  for (int i = 0; i < 3; ++i) held.push_back(request(R"({"op":"watch"})"));
  ASSERT_TRUE(eventually(
      [&] {
        socket_client probe;
        if (!probe.open(socket_path())) return false;
        auto l = probe.next(2s);
        return l && type_of(*l) == "error" && l->at("code") == "busy";
      },
      10s));
  held.pop_back();
  // Until the daemon has noticed the departure, an attempt is still
  // answered busy and closed, and sending the request may then fail
  // (EPIPE): that is a retry, not a failure (request() would EXPECT it).
  EXPECT_TRUE(eventually(
      [&] {
        socket_client c;
        if (!c.open(socket_path()) || !c.send(R"({"op":"status"})")) return false;
        auto l = c.next(2s);
        return l && type_of(*l) == "status";
      },
      10s))
      << "a slot frees when a client leaves";
}

TEST_F(socket_fixture, gone_when_since_is_older_than_the_journal) {
  cfg.extra = "journal: {max_events: 5}\n";
  fake.populate("p1", "0", 20, 9);
  start_daemon(20);
  socket_client c;
  ASSERT_TRUE(c.open(socket_path()));
  EXPECT_EQ(c.hello.at("oldest_seq"), 16);
  auto gone = request(R"({"op":"watch","since":0})")->next();
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->at("code"), "gone");
  EXPECT_EQ(gone->at("oldest_seq"), 16);
  // since = oldest - 1 is still complete.
  auto ok = request(R"({"op":"watch","since":15})");
  auto lines = ok->until([](auto& o) { return is_event(o) && seq_of(o) == 20; });
  expect_consecutive(event_seqs(lines), 16);
  // A seq this journal never had (state reset) is gone too, not silence.
  auto future = request(R"({"op":"watch","since":1000})")->next();
  ASSERT_TRUE(future);
  EXPECT_EQ(future->at("code"), "gone");
}

TEST_F(socket_fixture, since_across_a_daemon_restart_has_no_gap_and_no_duplicate) {
  fake.populate("p1", "0", 10, 10);
  start_daemon(10);
  auto c = request(R"({"op":"watch","since":0})");
  auto lines = c->until([](auto& o) { return is_event(o) && seq_of(o) == 10; });
  expect_consecutive(event_seqs(lines), 1);

  daemon->signal(SIGTERM);
  auto last = c->until([](auto& o) { return type_of(o) == "error"; });
  ASSERT_FALSE(last.empty());
  EXPECT_EQ(last.back().at("code"), "shutting_down");
  ASSERT_EQ(daemon->wait(15s), 0);
  struct stat st {};
  EXPECT_NE(::stat(socket_path().c_str(), &st), 0) << "the socket file is removed on a clean stop";

  fake.erase("p1", "0", fake.jobs("p1")[0].cluster, fake.jobs("p1")[0].ns, fake.jobs("p1")[0].name);
  start_daemon(11);
  c = request(R"({"op":"watch","since":10})");
  lines = c->until([](auto& o) { return is_event(o); });
  auto seqs = event_seqs(lines);
  ASSERT_EQ(seqs.size(), 1u);
  EXPECT_EQ(seqs[0], 11u);
  EXPECT_EQ(lines.back().at("type"), "removed");
}

// sync while the inventory churns and walks commit: the state it sends
// plus the events after `synced` must equal the daemon's final state.
TEST_F(socket_fixture, sync_racing_with_commits_has_no_gap) {
  // This reader pauses for seconds while events pile up: not a stall.
  cfg.socket = ", stall_timeout: 60s, bookmark_interval: 1s";
  fake.populate("p1", "0", 3000, 11);
  start_daemon(3000);
  fake_hss::churn_options churn;
  churn.interval = 150ms;
  churn.adds = 3;
  churn.modifies = 3;
  churn.removes = 2;
  fake.start_churn(churn);
  ASSERT_TRUE(eventually([&] { return daemon_seq() > 3000; }, 20s));

  using key_t = std::tuple<std::string, std::string, std::string>;
  auto key_of = [](const json::object& o) {
    const auto& k = o.at("key").as_object();
    return key_t{std::string(k.at("cluster").as_string()),
                 std::string(k.at("namespace").as_string()), std::string(k.at("name").as_string())};
  };
  std::map<key_t, json::value> state;
  auto c = request(R"({"op":"watch","sync":true})");
  std::uint64_t synced = 0, seq_at_synced = 0;
  std::size_t read = 0;
  for (;;) {  // read the snapshot slowly (over 3 s), so that walks commit meanwhile
    auto l = c->next(20s);
    ASSERT_TRUE(l);
    if (++read % 100 == 0) std::this_thread::sleep_for(100ms);
    if (type_of(*l) == "synced") {
      synced = seq_of(*l);
      seq_at_synced = daemon_seq();
      break;
    }
    ASSERT_EQ(type_of(*l), "existing");
    ASSERT_TRUE(state.emplace(key_of(*l), l->at("job")).second) << "a job sent twice";
  }
  // The snapshot is streamed from the store as the client reads: walks
  // committed while it was fed, and it is still exactly the state as of
  // `synced`: the journal replayed up to it.
  EXPECT_GT(seq_at_synced, synced) << "no commit landed while the snapshot was fed";
  {
    std::map<key_t, json::value> replayed;
    auto journal = request(R"({"op":"watch","since":0})");
    for (std::uint64_t expected = 1; expected <= synced;) {
      auto l = journal->next(20s);
      ASSERT_TRUE(l);
      if (!is_event(*l)) continue;
      ASSERT_EQ(seq_of(*l), expected++);
      if (l->at("type") == "removed")
        replayed.erase(key_of(*l));
      else
        replayed[key_of(*l)] = l->at("job");
    }
    EXPECT_EQ(state.size(), replayed.size());
    EXPECT_TRUE(state == replayed)
        << "the existing lines are not the state as of synced " << synced;
  }
  std::this_thread::sleep_for(2500ms);
  fake.stop_churn();
  // Wait for the daemon to settle (two walks without change), then read up to its seq.
  std::uint64_t final_seq = 0;
  ASSERT_TRUE(eventually(
      [&] {
        auto a = daemon_seq();
        std::this_thread::sleep_for(2500ms);
        final_seq = daemon_seq();
        return a == final_seq;
      },
      60s));
  std::uint64_t expected = synced + 1;
  while (expected <= final_seq) {
    auto l = c->next(20s);
    ASSERT_TRUE(l);
    if (!is_event(*l)) continue;
    ASSERT_EQ(seq_of(*l), expected) << "a gap or a duplicate after synced " << synced;
    ++expected;
    if (l->at("type") == "removed")
      state.erase(key_of(*l));
    else
      state[key_of(*l)] = l->at("job");
  }
  EXPECT_GT(final_seq, synced) << "commits happened after the snapshot";

  auto list = request(R"({"op":"list"})");
  auto lines = list->until([](auto& o) { return type_of(o) == "end"; }, 60s);
  ASSERT_EQ(type_of(lines.back()), "end");
  ASSERT_EQ(seq_of(lines.back()), final_seq);
  std::map<key_t, json::value> truth;
  for (auto& l : lines)
    if (type_of(l) == "existing") truth.emplace(key_of(l), l.at("job"));
  EXPECT_EQ(state.size(), truth.size());
  EXPECT_TRUE(state == truth) << "sync + events != the daemon's state";
}

// 40 clients ask for list or sync at 20k jobs and never read: the daemon
// reads the state for them as they take it (docs/SOCKET.md), so they cost
// it a chunk and a read transaction each, not a copy of the state (which
// was 16 MB a client). Then one of each reads its answer whole, and a
// filtered list among the 20k holds exactly its job.
TEST_F(socket_fixture, list_and_sync_to_clients_that_never_read_cost_bounded_memory) {
  cfg.socket = ", stall_timeout: 60s, bookmark_interval: 30s, max_clients: 300";
  constexpr std::size_t jobs = 20000;
  fake.populate("p1", "0", jobs, 31);
  start_daemon(jobs, 120s);
  ASSERT_FALSE(HasFatalFailure());
  const auto before = daemon_rss_kib();
  ASSERT_GT(before, 0u);
  std::vector<std::unique_ptr<socket_client>> stuck;
  for (int i = 0; i < 40; ++i)
    stuck.push_back(request(i % 2 ? R"({"op":"list"})" : R"({"op":"watch","sync":true})"));
  std::size_t peak = before;
  for (int i = 0; i < 30; ++i) {  // the daemon fills every socket it can meanwhile
    std::this_thread::sleep_for(100ms);
    peak = std::max(peak, daemon_rss_kib());
  }
  RecordProperty("rss_before_kib", std::to_string(before));
  RecordProperty("rss_peak_kib", std::to_string(peak));
  // Under AddressSanitizer freed memory sits in its quarantine (up to
  // 256 MiB) and every allocation carries red zones, so RSS grows more for
  // the same bounded work; a copy of the state per client still takes it
  // far beyond either bound.
#if defined(__SANITIZE_ADDRESS__)
  constexpr std::size_t bound_kib = 256u * 1024;
#else
  constexpr std::size_t bound_kib = 64u * 1024;
#endif
  EXPECT_LT(peak - before, bound_kib) << "RSS went from " << before << " KiB to " << peak << " KiB";

  // The answers are whole for a client that reads after all.
  for (int i : {0, 1}) {
    auto lines = stuck[i]->until(
        [](auto& o) { return type_of(o) == "end" || type_of(o) == "synced"; }, 120s);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(type_of(lines.back()), i == 0 ? "synced" : "end");
    EXPECT_EQ(seq_of(lines.back()), jobs);
    EXPECT_EQ(lines.size(), jobs + 1);
    std::set<std::string> names;
    for (std::size_t k = 0; k + 1 < lines.size(); ++k) {
      EXPECT_EQ(type_of(lines[k]), "existing");
      names.insert(json::serialize(lines[k].at("key")));
    }
    EXPECT_EQ(names.size(), jobs) << "every job once";
  }
  stuck.clear();

  const auto one = fake.jobs("p1")[jobs / 2];
  auto filtered = request(R"({"op":"list","filter":{"cluster":")" + one.cluster +
                          R"(","namespace":")" + one.ns + R"(","name":")" + one.name + R"("}})");
  auto lines = filtered->until([](auto& o) { return type_of(o) == "end"; }, 60s);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].at("key"),
            (json::object{{"cluster", one.cluster}, {"namespace", one.ns}, {"name", one.name}}));
  EXPECT_EQ(type_of(lines[1]), "end");
  EXPECT_EQ(seq_of(lines[1]), jobs);
}

// A list or sync client that stops reading in the middle of the state is
// cut off with overflow after stall_timeout, its stream whole lines.
TEST_F(socket_fixture, list_and_sync_clients_that_stop_reading_are_cut_off_with_overflow) {
  cfg.socket = ", stall_timeout: 1s, bookmark_interval: 30s";
  fake.populate("p1", "0", 3000, 14);
  start_daemon(3000);
  ASSERT_FALSE(HasFatalFailure());
  auto list = request(R"({"op":"list"})");
  auto sync = request(R"({"op":"watch","sync":true})");
  const auto cut_off = [&] {  // clients the daemon reported cut off
    const auto log = daemon->err();
    std::size_t n = 0;
    for (auto at = log.find("(overflow)"); at != std::string::npos;
         at = log.find("(overflow)", at + 1))
      ++n;
    return n;
  };
  EXPECT_TRUE(eventually([&] { return cut_off() == 2; }, 20s)) << daemon->err();
  for (auto* c : {list.get(), sync.get()}) {
    std::vector<std::string> raw;
    while (auto l = c->next_raw(5s)) raw.push_back(*l);
    ASSERT_GT(raw.size(), 1u);
    for (std::size_t i = 0; i + 1 < raw.size(); ++i)
      ASSERT_EQ(type_of(json::parse(raw[i]).as_object()), "existing")
          << "whole existing lines only";
    auto last = json::parse(raw.back()).as_object();
    EXPECT_EQ(type_of(last), "error");
    EXPECT_EQ(last.at("code"), "overflow");
    EXPECT_LT(raw.size(), 3001u) << "cut off before the end of the state";
  }
}

// A client that reads its snapshot steadily but too slowly holds the
// store's read transaction, which keeps SQLite from rewinding the WAL: it
// is cut off (overflow) once the snapshot took 10 x stall_timeout, though
// it never stalled.
TEST_F(socket_fixture, a_snapshot_read_too_slowly_is_cut_off_though_it_never_stalls) {
  cfg.socket = ", stall_timeout: 2s, bookmark_interval: 30s";
  fake.populate("p1", "0", 30000, 15);
  start_daemon(30000);
  ASSERT_FALSE(HasFatalFailure());
  auto c = request(R"({"op":"list"})");
  std::size_t existing = 0;
  std::optional<std::string> last;
  const auto end = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < end) {
    // About 100 lines every 100 ms: far more than a stall allows, far less
    // than the whole state within the limit.
    std::optional<std::string> l;
    for (int i = 0; i < 100 && (l = c->next_raw(5s)); ++i) {
      last = l;
      if (type_of(json::parse(*l).as_object()) != "existing") break;
      ++existing;
    }
    if (!l || type_of(json::parse(*last).as_object()) != "existing") break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(last.has_value());
  auto final_line = json::parse(*last).as_object();
  EXPECT_EQ(type_of(final_line), "error") << *last;
  EXPECT_EQ(final_line.at("code"), "overflow") << *last;
  EXPECT_NE(std::string(final_line.at("message").as_string()).find("to read the current state"),
            std::string::npos)
      << *last;
  EXPECT_GT(existing, 1000u) << "the client kept reading";
  EXPECT_LT(existing, 30000u) << "cut off before the end of the state";
}

// The in-memory store (--memory-state) gives sync the same guarantee: a client
// that takes its snapshot late, after walks changed the jobs, gets the
// state as of `synced` (the journal replayed to it), then every later
// event once.
TEST_F(socket_fixture, sync_in_memory_mode_is_the_state_as_of_synced) {
  cfg.socket = ", stall_timeout: 60s, bookmark_interval: 30s";
  extra_args = {"--memory-state"};
  fake.populate("p1", "0", 3000, 13);
  start_daemon(3000);
  ASSERT_FALSE(HasFatalFailure());
  auto c = request(R"({"op":"watch","sync":true})");
  // Not read for a while: the daemon holds its reader while walks commit.
  for (int i = 0; i < 3; ++i) {
    fake.churn_step();
    const auto seq = daemon_seq();
    ASSERT_TRUE(eventually([&] { return daemon_seq() > seq; }, 20s));
  }
  const auto last = daemon_seq();
  std::map<std::string, json::value> state;
  auto lines = c->until([](auto& o) { return type_of(o) == "synced"; }, 60s);
  ASSERT_EQ(type_of(lines.back()), "synced");
  const auto synced = seq_of(lines.back());
  EXPECT_LT(synced, last) << "the walks committed after the snapshot's seq";
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    ASSERT_EQ(type_of(lines[i]), "existing");
    ASSERT_TRUE(state.emplace(json::serialize(lines[i].at("key")), lines[i].at("job")).second);
  }
  std::map<std::string, json::value> replayed;
  auto journal = request(R"({"op":"watch","since":0})");
  for (std::uint64_t expected = 1; expected <= last;) {
    auto l = journal->next(20s);
    ASSERT_TRUE(l);
    if (!is_event(*l)) continue;
    ASSERT_EQ(seq_of(*l), expected++);
    if (seq_of(*l) > synced) {  // the sync client gets the same events after synced, once
      auto ev = c->next(20s);
      while (ev && !is_event(*ev)) ev = c->next(20s);
      ASSERT_TRUE(ev);
      EXPECT_EQ(*ev, *l);
      continue;
    }
    if (l->at("type") == "removed")
      replayed.erase(json::serialize(l->at("key")));
    else
      replayed[json::serialize(l->at("key"))] = l->at("job");
  }
  EXPECT_EQ(state.size(), replayed.size());
  EXPECT_TRUE(state == replayed) << "the existing lines are not the state as of synced " << synced;
}

// 100 readers and one client that never reads: the readers get everything
// (the backlog and new events), the stuck one is cut off with overflow
// after stall_timeout, its stream ending in whole lines.
TEST_F(socket_fixture, hundred_clients_and_one_that_never_reads) {
  cfg.socket = ", stall_timeout: 1s, bookmark_interval: 30s, max_clients: 200";
  fake.populate("p1", "0", 2000, 12);
  start_daemon(2000);

  auto stuck = request(R"({"op":"watch","since":0})");  // never read until the end
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan every line costs several times more: the release run checks
  // 100 readers; the sanitizer run checks the same behaviour with 25.
  constexpr int readers = 25;
#else
  constexpr int readers = 100;
#endif
  std::vector<std::unique_ptr<socket_client>> clients;
  for (int i = 0; i < readers; ++i) clients.push_back(request(R"({"op":"watch","since":0})"));
  const auto victim = fake.jobs("p1")[5];
  std::atomic<int> backlog_done{0};
  std::vector<std::string> failures(readers);
  std::vector<std::thread> threads;
  for (int i = 0; i < readers; ++i) {
    threads.emplace_back([&, i] {
      std::uint64_t expected = 1;
      while (expected <= 2001) {
        auto l = clients[i]->next(60s);
        if (!l) {
          failures[i] = "stream ended at seq " + std::to_string(expected);
          return;
        }
        if (!is_event(*l)) continue;
        if (seq_of(*l) != expected) {
          failures[i] =
              "seq " + std::to_string(seq_of(*l)) + " instead of " + std::to_string(expected);
          return;
        }
        if (expected == 2000) ++backlog_done;
        ++expected;
      }
    });
  }
  // EXPECT, not ASSERT: the reader threads must be joined either way.
  EXPECT_TRUE(eventually([&] { return backlog_done == readers; }, 180s));
  // The stuck client is cut off by now or soon; new events still flow.
  EXPECT_TRUE(eventually([&] { return daemon->err().find("overflow") != std::string::npos; }, 20s))
      << daemon->err();
  fake.erase("p1", "0", victim.cluster, victim.ns, victim.name);
  for (auto& t : threads) t.join();
  for (int i = 0; i < readers; ++i) EXPECT_EQ(failures[i], "") << "client " << i;

  std::vector<std::string> raw;
  while (auto l = stuck->next_raw(5s)) raw.push_back(*l);
  ASSERT_FALSE(raw.empty());
  std::uint64_t expected = 1;
  for (std::size_t i = 0; i + 1 < raw.size(); ++i) {
    auto o = json::parse(raw[i]).as_object();  // whole lines only
    ASSERT_TRUE(is_event(o));
    ASSERT_EQ(seq_of(o), expected++);
  }
  auto last = json::parse(raw.back()).as_object();
  EXPECT_EQ(type_of(last), "error");
  EXPECT_EQ(last.at("code"), "overflow");
  EXPECT_LT(expected, 2000u) << "it was cut off before the end of the backlog";
}

// One commit far larger than every shared buffer of the server (the ring
// of recent lines, the journal batches the clients share, a write's chunk)
// reaches every watcher exactly once and in order, in whole lines: live
// watchers, one that reads slowly (so it falls behind the others), one
// replaying from the journal, and a filtered one that gets exactly its
// events. One that stops reading in the middle is cut off with overflow
// after whole lines, and only it.
TEST_F(socket_fixture, a_burst_larger_than_every_buffer_reaches_every_watcher_once_in_order) {
  cfg.socket = ", stall_timeout: 2s, bookmark_interval: 30s, max_clients: 200";
  fake.populate("p1", "0", 5, 21);
  start_daemon(5);
#if defined(__SANITIZE_ADDRESS__)
  constexpr int readers = 8;
  constexpr std::size_t burst = 6000;
#else
  constexpr int readers = 30;
  constexpr std::size_t burst = 10000;
#endif
  std::vector<std::unique_ptr<socket_client>> clients;
  for (int i = 0; i < readers; ++i) clients.push_back(request(R"({"op":"watch"})"));
  const auto from = seq_of(clients[0]->hello);
  ASSERT_EQ(from, 5u);
  const auto before = fake.jobs("p1");
  fake.populate("p1", "0", burst, 22);  // the next walk commits `burst` added events at once
  std::string cluster;
  std::size_t in_cluster = 0;
  {
    std::set<std::string> old;
    for (const auto& j : before) old.insert(j.cluster + "/" + j.ns + "/" + j.name);
    for (const auto& j : fake.jobs("p1")) {
      if (old.count(j.cluster + "/" + j.ns + "/" + j.name)) continue;
      if (cluster.empty()) cluster = j.cluster;
      if (j.cluster == cluster) ++in_cluster;
    }
  }
  ASSERT_GT(in_cluster, 0u);
  auto filtered = request(R"({"op":"watch","filter":{"cluster":")" + cluster + R"("}})");
  auto stalled = request(R"({"op":"watch"})");  // reads 100 lines, then nothing until it is cut off
  const std::uint64_t last = from + burst;

  std::vector<std::string> failures(readers + 2);
  auto read_all = [&](socket_client& c, std::uint64_t first, bool slow, std::string& failure) {
    std::uint64_t expected = first;
    while (expected <= last) {
      auto l = c.next_raw(60s);
      if (!l) {
        failure = "stream ended before seq " + std::to_string(expected);
        return;
      }
      json::object o;
      try {
        o = json::parse(*l).as_object();
      } catch (const std::exception& e) {
        failure = "not a whole line before seq " + std::to_string(expected) + ": " + e.what();
        return;
      }
      if (type_of(o) == "error") {
        failure = "error " + json::serialize(o);
        return;
      }
      if (!is_event(o)) continue;
      if (seq_of(o) != expected) {
        failure = "seq " + std::to_string(seq_of(o)) + " instead of " + std::to_string(expected);
        return;
      }
      ++expected;
      if (slow && expected % 200 == 0) std::this_thread::sleep_for(5ms);
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < readers; ++i)
    threads.emplace_back([&, i] { read_all(*clients[i], from + 1, i == 0, failures[i]); });
  // Joins while the burst is being sent: replays the whole journal.
  std::unique_ptr<socket_client> replay;
  threads.emplace_back([&] {
    EXPECT_TRUE(eventually([&] { return daemon_seq() > from; }, 60s));
    replay = request(R"({"op":"watch","since":0})");
    read_all(*replay, 1, false, failures[readers]);
  });
  std::size_t filtered_got = 0;
  threads.emplace_back([&] {
    std::uint64_t prev = from;
    while (filtered_got < in_cluster) {
      auto o = filtered->next(60s);
      if (!o) {
        failures[readers + 1] = "filtered stream ended after " + std::to_string(filtered_got);
        return;
      }
      if (!is_event(*o)) continue;
      if (seq_of(*o) <= prev || o->at("key").at("cluster") != cluster.c_str()) {
        failures[readers + 1] = "unexpected " + json::serialize(*o);
        return;
      }
      prev = seq_of(*o);
      ++filtered_got;
    }
  });
  std::vector<std::string> stalled_lines;
  threads.emplace_back([&] {
    while (stalled_lines.size() < 100)
      if (auto l = stalled->next_raw(60s))
        stalled_lines.push_back(*l);
      else
        break;
  });
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < failures.size(); ++i) EXPECT_EQ(failures[i], "") << "client " << i;
  EXPECT_EQ(filtered_got, in_cluster);
  EXPECT_EQ(daemon_seq(), last) << "one commit of the whole burst";

  EXPECT_TRUE(
      eventually([&] { return daemon->err().find("(overflow)") != std::string::npos; }, 20s));
  const auto err = daemon->err();
  EXPECT_EQ(err.find("(overflow)"), err.rfind("(overflow)"))
      << "only the client that stopped reading:\n"
      << err;
  while (auto l = stalled->next_raw(5s)) stalled_lines.push_back(*l);
  ASSERT_GT(stalled_lines.size(), 100u);
  std::uint64_t expected = from + 1;
  for (std::size_t i = 0; i + 1 < stalled_lines.size(); ++i) {
    auto o = json::parse(stalled_lines[i]).as_object();  // whole lines only
    ASSERT_TRUE(is_event(o)) << stalled_lines[i];
    ASSERT_EQ(seq_of(o), expected++);
  }
  auto end = json::parse(stalled_lines.back()).as_object();
  EXPECT_EQ(type_of(end), "error");
  EXPECT_EQ(end.at("code"), "overflow");
  EXPECT_LT(expected, last) << "cut off before the end of the burst";
}

TEST_F(socket_fixture, socket_file_mode_stale_file_and_a_live_daemon) {
  cfg.socket = ", mode: \"0600\"";
  // A stale socket file, as a crash leaves it: bound, nobody listening.
  std::filesystem::create_directories(dir.file("run"));
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, socket_path().c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  fake.populate("p1", "0", 2, 13);
  start_daemon(2);
  struct stat st {};
  ASSERT_EQ(::stat(socket_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // A second daemon (own state) on the same socket path is refused.
  auto second = cfg;
  second.state_dir = dir.file("state2");
  dir.write("second.yaml", config_text(second));
  auto r = run_process(daemon_argv({}, dir.file("second.yaml")), 30s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("in use by another process"), std::string::npos) << r.err;
  EXPECT_EQ(daemon_seq(), 2u) << "the first daemon keeps its socket";

  // A path that is not a socket is never removed.
  auto third = cfg;
  third.state_dir = dir.file("state3");
  third.socket = "";
  std::string text = config_text(third);
  text.replace(text.find(socket_path()), socket_path().size(), dir.file("not-a-socket"));
  dir.write("third.yaml", text);
  dir.write("not-a-socket", "data");
  r = run_process(daemon_argv({}, dir.file("third.yaml")), 30s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is not a socket"), std::string::npos) << r.err;
}

TEST_F(socket_fixture, systemd_socket_activation_is_used) {
  if (::access("/usr/bin/systemd-socket-activate", X_OK) != 0)
    GTEST_SKIP() << "systemd-socket-activate is not installed";
  fake.populate("p1", "0", 4, 14);
  const std::string activated = dir.file("activated.sock");
  write_config();
  auto argv = daemon_argv();
  argv.insert(argv.begin(), {"/usr/bin/systemd-socket-activate", "-l", activated});
  launch(argv);
  // The daemon starts on the first connection and serves on the passed fd.
  ASSERT_TRUE(eventually(
      [&] {
        socket_client c;
        return c.open(activated) && seq_of(c.hello) >= 4;
      },
      30s))
      << daemon->err();
  struct stat st {};
  EXPECT_NE(::stat(socket_path().c_str(), &st), 0) << "socket.path is not created under activation";
}

}  // namespace
