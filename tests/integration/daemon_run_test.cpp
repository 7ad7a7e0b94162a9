// The long-running daemon as a real process: liveness under continuous
// churn (removals are not starved), and prompt shutdown even while a
// request hangs upstream.
#include <gtest/gtest.h>

#include <csignal>
#include <set>
#include <sstream>
#include <thread>

#include "common/daemon_fixture.hpp"

namespace {

using namespace hssjw::test;
using namespace std::chrono_literals;

struct daemon_run : daemon_fixture {
  // `poll` is all of poll:, retries and all.
  void write_config(const std::string& poll) {
    cfg.poll = poll;
    daemon_fixture::write_config();
  }

  std::size_t requests() const { return fake.requests().size(); }
};

std::set<std::string> names_logged(const std::string& log, const std::string& type) {
  std::set<std::string> out;
  std::istringstream in(log);
  std::string line;
  const std::string marker = " " + type + " ";
  while (std::getline(in, line)) {
    auto at = line.find(marker);
    if (at == std::string::npos) continue;
    auto path = line.substr(at + marker.size());
    path = path.substr(0, path.find(' '));
    out.insert(path.substr(path.rfind('/') + 1));
  }
  return out;
}

TEST_F(daemon_run, churn_never_starves_removals) {
  fake.populate("p1", "0", 150, 5);
  write_config("interval: 1s, jitter: 0%, rate: unlimited, page_size: 20, pages_in_flight: 2");
  std::set<std::string> baseline;
  for (auto& j : fake.jobs("p1", "0")) baseline.insert(j.name);
  launch();
  ASSERT_TRUE(eventually([&] { return daemon->err().find("baseline of") != std::string::npos; }))
      << daemon->err();

  // A busy CronJob cluster: jobs appear, change and disappear between and
  // during walks for a few seconds.
  std::set<std::string> removed;
  fake_hss::churn_options churn;
  churn.adds = 2;
  churn.modifies = 2;
  churn.removes = 2;
  for (int step = 0; step < 30; ++step) {
    churn.seed = 100 + step;
    for (auto& c : fake.churn_step(churn))
      if (c.what == fake_hss::churn_change::kind::removed) removed.insert(c.before.name);
    std::this_thread::sleep_for(150ms);
  }
  // Churn stops; within two walks every deletion must have been reported.
  std::this_thread::sleep_for(2500ms);
  daemon->signal(SIGTERM);
  ASSERT_EQ(daemon->wait(15s), 0) << daemon->err();
  const auto log = daemon->err();
  const auto reported_removed = names_logged(log, "removed");
  const auto reported_added = names_logged(log, "added");
  for (auto& name : removed) {
    // A job created and deleted between two walks was never seen: no event owed.
    if (baseline.contains(name) || reported_added.contains(name))
      EXPECT_TRUE(reported_removed.contains(name)) << "removal of " << name << " never reported";
  }
  for (auto& name : reported_removed)
    EXPECT_TRUE(removed.contains(name)) << "false removal " << name;
  EXPECT_GT(reported_removed.size(), 10u);

  // The daemon had converged: a fresh walk finds nothing new.
  auto r = run_daemon({"--once"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(parse_ndjson(r.out).empty()) << r.out.substr(0, 400);
}

TEST_F(daemon_run, sigterm_stops_promptly_while_a_request_hangs) {
  fake.populate("p1", "0", 30, 6);
  fake.inject(fake_hss::fault::stall().forever());  // never answers
  write_config("interval: 1s, rate: unlimited, timeout: 10m");
  launch();
  ASSERT_TRUE(eventually([&] { return requests() >= 1; }));
  std::this_thread::sleep_for(200ms);
  const auto t0 = std::chrono::steady_clock::now();
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(20s), 0) << daemon->err();
  // Cancellation, not the 10-minute request timeout, ended the walk.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s);
  EXPECT_NE(daemon->err().find("stopping"), std::string::npos);
}

// The stop guard gives up on walks that did not end after 10 s. The test
// hooks make that happen at once: the stop does not cancel the walks (as
// if they ignored cancellation) and the guard is 200 ms, so the loop stops
// with coroutine frames still suspended: a walk mid-request holding a
// request_gate permit, a sleeping scope, a subscriber.
// Those frames refer to the scopes, the gate, the walker and the socket
// server; they must be destroyed while all of that is still alive.
// MALLOC_PERTURB_ fills freed memory with junk, so that a frame destroyed
// after what it refers to crashes instead of passing by luck.
TEST_F(daemon_run, a_stop_that_gives_up_on_stuck_walks_exits_cleanly) {
  fake.populate("p1", "0", 30, 6);
  fake.populate("p2", "0", 30, 7);
  cfg.projects = "  - id: p1\n  - id: p2\n";
  write_config("interval: 1s, jitter: 0%, rate: unlimited, page_size: 10, timeout: 10m");
  daemon_env = {{"HSSJW_TEST_STOP_GUARD_MS", "200"},
                {"HSSJW_TEST_STOP_IGNORED", "1"},
                {"MALLOC_PERTURB_", "165"}};
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    fake.clear_faults();
    fake.clear_requests();
    launch();
    ASSERT_TRUE(eventually([&] {
      return daemon->err().find("watching 2 scope(s)") != std::string::npos;
    })) << daemon->err();
    // p2 walks and sleeps; p1's next request never gets an answer.
    ASSERT_TRUE(eventually([&] { return requests() >= 8; })) << daemon->err();
    fake.inject(fake_hss::fault::stall().on_project("p1").forever());
    ASSERT_TRUE(eventually([&] {
      for (const auto& r : fake.requests())
        if (r.project_id == "p1" && r.status == 0) return true;
      return false;
    })) << daemon->err();
    // A subscriber in the middle of a watch.
    auto watcher = run_process({HSSJW_CLI_PATH, "--socket", socket_path(), "status"}, 10s);
    EXPECT_EQ(watcher.exit_code, 0) << watcher.err;
    background_process watch({HSSJW_CLI_PATH, "--socket", socket_path(), "watch"}, dir.path());
    std::this_thread::sleep_for(300ms);
    const auto t0 = std::chrono::steady_clock::now();
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(20s), 0) << daemon->err();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
    EXPECT_NE(daemon->err().find("stopped"), std::string::npos) << daemon->err();
    // The case under test: the loop stopped with the walk still suspended.
    EXPECT_NE(daemon->err().find("2 scope(s) still running after 200 ms"), std::string::npos)
        << daemon->err();
    watch.signal(SIGTERM);
    watch.wait(5s);
  }
}

}  // namespace
