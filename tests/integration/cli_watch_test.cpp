// hss-jobwatch as a real process against a real daemon (SPEC §7): watch
// survives the daemon being killed and restarted while events keep coming
// and prints every seq exactly once; list/status tables and JSON; the
// messages and exit codes for a missing socket, a refused one, bad usage.
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "integration/socket_support.hpp"

namespace {

using namespace hssjw::test;
using namespace std::chrono_literals;

struct cli_fixture : socket_daemon_fixture {
  std::vector<std::uint64_t> printed_seqs(const std::string& out) {
    std::vector<std::uint64_t> seqs;
    // The CLI may be in the middle of writing a line: only whole ones count.
    const auto whole = out.substr(0, out.rfind('\n') + 1);
    for (auto& o : parse_ndjson(whole))
      if (is_event(o)) seqs.push_back(seq_of(o));
    return seqs;
  }
  std::uint64_t last_printed(background_process& p) {
    auto s = printed_seqs(p.out());
    return s.empty() ? 0 : s.back();
  }
  void kill_and_restart() {
    daemon->signal(SIGKILL);
    daemon->wait(10s);
    std::this_thread::sleep_for(700ms);  // events keep happening upstream meanwhile
    start_daemon();
  }
};

TEST_F(cli_fixture, watch_resumes_across_daemon_kills_without_loss_or_repeat) {
  fake.populate("p1", "0", 50, 21);
  start_daemon(50);
  fake_hss::churn_options churn;
  churn.interval = 300ms;
  fake.start_churn(churn);

  background_process cli(
      {HSSJW_CLI_PATH, "watch", "--since", "0", "-o", "json", "--socket", socket_path()},
      dir.path());
  ASSERT_TRUE(eventually([&] { return last_printed(cli) >= 60; }, 30s)) << cli.err();
  kill_and_restart();
  const auto after_first = last_printed(cli);
  ASSERT_TRUE(eventually([&] { return last_printed(cli) >= after_first + 10; }, 40s)) << cli.err();
  kill_and_restart();
  const auto after_second = last_printed(cli);
  ASSERT_TRUE(eventually([&] { return last_printed(cli) >= after_second + 10; }, 40s)) << cli.err();
  fake.stop_churn();

  std::uint64_t final_seq = 0;
  ASSERT_TRUE(eventually(
      [&] {
        auto a = daemon_seq();
        std::this_thread::sleep_for(2500ms);
        final_seq = daemon_seq();
        return a == final_seq && last_printed(cli) == final_seq;
      },
      60s))
      << "daemon at " << final_seq << ", CLI at " << last_printed(cli) << "\n"
      << cli.err();
  cli.signal(SIGTERM);
  cli.wait(10s);

  const auto seqs = printed_seqs(cli.out());
  ASSERT_EQ(seqs.size(), final_seq);
  for (std::size_t i = 0; i < seqs.size(); ++i)
    ASSERT_EQ(seqs[i], i + 1) << "printed seqs must be exactly 1..N";
  EXPECT_NE(cli.err().find("reconnect"), std::string::npos) << cli.err();
}

TEST_F(cli_fixture, list_status_and_watch_output) {
  fake.populate("p1", "0", 12, 22);
  start_daemon(12);
  const std::map<std::string, std::string> env{{"HSS_JOBWATCH_SOCKET", socket_path()}};

  auto r = run_process({HSSJW_CLI_PATH, "list"}, 30s, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("SCOPE"), std::string::npos);
  EXPECT_NE(r.out.find("12 job(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(fake.jobs("p1")[0].name), std::string::npos);

  r = run_process({HSSJW_CLI_PATH, "list", "-o", "json"}, 30s, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = parse_ndjson(r.out);
  ASSERT_EQ(lines.size(), 13u);
  EXPECT_EQ(type_of(lines.back()), "end");

  r = run_process({HSSJW_CLI_PATH, "status"}, 30s, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("seq 12"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("p1/-"), std::string::npos) << r.out;
  r = run_process({HSSJW_CLI_PATH, "status", "-o", "json", "--socket", socket_path()}, 30s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(type_of(parse_ndjson(r.out).at(0)), "status");

  background_process watch(
      {HSSJW_CLI_PATH, "watch", "--filter", "type=removed", "--socket", socket_path()}, dir.path());
  std::this_thread::sleep_for(500ms);
  const auto gone = fake.jobs("p1")[2];
  fake.erase("p1", "0", gone.cluster, gone.ns, gone.name);
  ASSERT_TRUE(eventually([&] { return watch.out().find(" removed ") != std::string::npos; }, 20s))
      << watch.err();
  EXPECT_NE(watch.out().find("#13 removed " + gone.cluster + "/" + gone.ns + "/" + gone.name),
            std::string::npos)
      << watch.out();
}

TEST_F(cli_fixture, clear_failures_and_exit_codes) {
  auto r = run_process({HSSJW_CLI_PATH, "status", "--socket", dir.file("nowhere.sock")}, 30s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no socket at " + dir.file("nowhere.sock")), std::string::npos) << r.err;
  r = run_process({HSSJW_CLI_PATH, "watch", "--socket", dir.file("nowhere.sock")}, 30s);
  EXPECT_EQ(r.exit_code, 1) << "a first connection failure is reported, not retried forever";

  r = run_process({HSSJW_CLI_PATH, "watch", "--since", "1", "--sync"}, 30s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot be combined"), std::string::npos) << r.err;
  r = run_process({HSSJW_CLI_PATH}, 30s);
  EXPECT_EQ(r.exit_code, 2);
  r = run_process({HSSJW_CLI_PATH, "--help"}, 30s);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Usage"), std::string::npos);

  fake.populate("p1", "0", 3, 23);
  cfg.socket = ", mode: \"0600\"";
  start_daemon(3);
  auto gone =
      run_process({HSSJW_CLI_PATH, "watch", "--since", "999", "--socket", socket_path()}, 30s);
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("gone"), std::string::npos) << gone.err;

  if (::geteuid() != 0 || ::access("/usr/bin/setpriv", X_OK) != 0) {
    GTEST_SKIP() << "permission check needs root and setpriv (to run the CLI as nobody)";
  }
  r = run_process({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                   HSSJW_CLI_PATH, "status", "--socket", socket_path()},
                  30s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;

  // The directories open to nobody, the socket not: the message names the
  // socket's owner, group and mode as they are.
  ASSERT_EQ(::chmod(dir.path().c_str(), 0711), 0);
  ASSERT_EQ(::chmod(dir.file("run").c_str(), 0711), 0);
  const auto as_nobody = [&] {
    return run_process({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        HSSJW_CLI_PATH, "status", "--socket", socket_path()},
                       30s);
  };
  r = as_nobody();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(
      r.err.find("permission denied: " + socket_path() + " is owner root, group root, mode 0600"),
      std::string::npos)
      << r.err;
  // Group access, nobody not in the group: join that group, named by the
  // group the file really has (gid 1 here, whatever it is called).
  const auto* g = ::getgrgid(1);
  ASSERT_NE(g, nullptr);
  const std::string group = g->gr_name;
  ASSERT_EQ(::chown(socket_path().c_str(), static_cast<uid_t>(-1), 1), 0);
  ASSERT_EQ(::chmod(socket_path().c_str(), 0660), 0);
  r = as_nobody();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("permission denied: " + socket_path() + " is group " + group +
                       ", mode 0660; join that group "
                       "(usermod -aG " +
                       group + " nobody"),
            std::string::npos)
      << r.err;
}

}  // namespace
