// Secret files and secrets in the process, as the operator meets them
// (issue #12 items 3, 10, 12): a FIFO as token_file makes the daemon exit 78
// at once instead of hanging; --check-config checks the secret file the way
// the daemon will (exit 78 naming the file and the reason); a proxy URL no
// parser accepts never shows its password; the running daemon is not
// dumpable.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "common/process.hpp"
#include "common/temp_dir.hpp"

namespace {

using namespace hssjw::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

struct secret_files : ::testing::Test {
  temp_dir dir;

  // A config whose endpoint refuses connections: these tests are about
  // what happens before (and apart from) any request.
  std::string config(const std::string& auth, const std::string& extra = "") const {
    return "endpoint: https://127.0.0.1:9\n"
           "auth: " +
           auth + "\n" + extra +
           "projects:\n  - id: p1\n"
           "poll: {interval: 1s, rate: unlimited, timeout: 2s}\n"
           "log: {level: info, target: stderr}\n"
           "state_dir: " +
           dir.file("state") +
           "\n"
           "socket: {path: " +
           dir.file("events.sock") + "}\n";
  }
  std::string token_auth() const {
    return "{method: token, token_file: " + dir.file("token") + "}";
  }

  process_result check(const std::string& cfg, const std::map<std::string, std::string>& env = {}) {
    dir.write("config.yaml", cfg);
    return run_process({HSSJWD_PATH, "--config", dir.file("config.yaml"), "--check-config"}, 20s,
                       env);
  }
};

TEST_F(secret_files, fifo_as_token_file_exits_78_at_once) {
  ASSERT_EQ(::mkfifo(dir.file("token").c_str(), 0600), 0);
  dir.write("config.yaml", config(token_auth()));
  const auto t0 = steady::now();
  auto r = run_process({HSSJWD_PATH, "--config", dir.file("config.yaml")}, 20s);
  EXPECT_EQ(r.exit_code, 78) << r.err;  // -1: killed at the deadline, i.e. it hung
  EXPECT_LT(steady::now() - t0, 10s);
  EXPECT_NE(r.err.find(dir.file("token")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;

  // --check-config says the same, as promptly.
  auto c = check(config(token_auth()));
  EXPECT_EQ(c.exit_code, 78) << c.err;
  EXPECT_NE(c.err.find("not a regular file"), std::string::npos) << c.err;
}

TEST_F(secret_files, check_config_refuses_a_secret_file_the_daemon_would_refuse) {
  // World-readable: the daemon exits 78 at start, so must --check-config.
  dir.write("token", "tok-check-config\n", 0644);
  auto too_open = check(config(token_auth()));
  EXPECT_EQ(too_open.exit_code, 78) << too_open.out << too_open.err;
  EXPECT_TRUE(too_open.out.empty()) << too_open.out;
  EXPECT_NE(too_open.err.find(dir.file("token")), std::string::npos) << too_open.err;
  EXPECT_NE(too_open.err.find("mode 0644"), std::string::npos) << too_open.err;
  EXPECT_NE(too_open.err.find("chmod 600"), std::string::npos) << too_open.err;
  EXPECT_EQ(too_open.err.find("tok-check-config"), std::string::npos) << "the secret leaked";
  auto daemon = run_process({HSSJWD_PATH, "--config", dir.file("config.yaml"), "--once"}, 20s);
  EXPECT_EQ(daemon.exit_code, 78) << daemon.err;

  // Missing.
  std::filesystem::remove(dir.file("token"));
  auto missing = check(config(token_auth()));
  EXPECT_EQ(missing.exit_code, 78) << missing.out << missing.err;
  EXPECT_NE(missing.err.find(dir.file("token")), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("No such file"), std::string::npos) << missing.err;

  // The other methods' files are checked too.
  dir.write("sk", "sk-value\n", 0640);
  auto sk =
      check(config("{method: aksk, access_key: AK1, secret_key_file: " + dir.file("sk") + "}"));
  EXPECT_EQ(sk.exit_code, 78) << sk.err;
  EXPECT_NE(sk.err.find(dir.file("sk")), std::string::npos) << sk.err;

  // Fixed: the effective config is printed as before, exit 0.
  dir.write("token", "tok-check-config\n", 0600);
  auto good = check(config(token_auth()));
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_NE(good.out.find("token_file: " + dir.file("token")), std::string::npos) << good.out;
  EXPECT_EQ(good.out.find("tok-check-config"), std::string::npos);
}

TEST_F(secret_files, check_config_and_credentials) {
  const std::string cred_auth = "{method: token, token_file: \"credential:hss_token\"}";
  // From a shell ($CREDENTIALS_DIRECTORY unset) a credential cannot be
  // checked: said on stderr, not a failure.
  auto shell = check(config(cred_auth), {{"CREDENTIALS_DIRECTORY", ""}});
  EXPECT_EQ(shell.exit_code, 0) << shell.err;
  EXPECT_NE(shell.err.find("not checked"), std::string::npos) << shell.err;

  // Inside the unit: checked like the daemon does it. systemd's 0440 with an
  // ACL passes (tests/unit/auth_secret_test.cpp has the ACL); a missing
  // credential does not.
  std::filesystem::create_directory(dir.file("creds"));
  dir.write("creds/hss_token", "tok\n", 0400);
  auto unit = check(config(cred_auth), {{"CREDENTIALS_DIRECTORY", dir.file("creds")}});
  EXPECT_EQ(unit.exit_code, 0) << unit.err;
  std::filesystem::remove(dir.file("creds/hss_token"));
  auto gone = check(config(cred_auth), {{"CREDENTIALS_DIRECTORY", dir.file("creds")}});
  EXPECT_EQ(gone.exit_code, 78) << gone.err;
  EXPECT_NE(gone.err.find(dir.file("creds/hss_token")), std::string::npos) << gone.err;
}

// Item 10: proxy URLs Boost.URL refuses, with a password in them.
TEST_F(secret_files, check_config_never_shows_the_password_of_an_unparsable_proxy) {
  dir.write("token", "tok\n", 0600);
  for (const char* proxy :
       {"\"http://jo:s3cr et@proxy.example:3128\"", "\"http://jo:s3cr/et#x@proxy.example:3128\"",
        "\"jo:s3cret@proxy.example:3128\"", "\"http://jo:s3cret@\""}) {
    SCOPED_TRACE(proxy);
    auto r = check(config(token_auth(), std::string("proxy: ") + proxy + "\n"));
    EXPECT_EQ(r.exit_code, 78) << r.err;
    EXPECT_NE(r.err.find("proxy"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("s3cr"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("s3cr"), std::string::npos) << r.out;
  }
}

// Item 12: the daemon is not dumpable. Not readable from outside directly,
// but it shows: a non-dumpable process's /proc/PID/environ (and status,
// mem, ...) belongs to root, a dumpable one's to its own uid. So run the
// daemon as nobody (execve makes a process dumpable again) and look.
TEST_F(secret_files, the_running_daemon_is_not_dumpable) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the daemon as nobody";
  const uid_t nobody = 65534;
  const gid_t nogroup = 65534;
  dir.write("token", "tok-dumpable\n", 0600);
  dir.write("config.yaml", config(token_auth()));
  for (auto& e : std::filesystem::recursive_directory_iterator(dir.path()))
    ASSERT_EQ(::chown(e.path().c_str(), nobody, nogroup), 0) << e.path();
  ASSERT_EQ(::chown(dir.path().c_str(), nobody, nogroup), 0);

  const std::string err_file = dir.file("daemon.err");
  // A copy beside the config: the build tree may sit below a directory
  // nobody cannot search (a root-only home, mktemp's 0700).
  const std::string daemon = dir.file("hss-jobwatchd");
  std::filesystem::copy_file(HSSJWD_PATH, daemon);
  ASSERT_EQ(::chmod(daemon.c_str(), 0755), 0);
  const std::string cfg = dir.file("config.yaml");
  int err_fd = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(err_fd, 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // only async-signal-safe calls until execv
    ::dup2(err_fd, 2);
    int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    if (::setgroups(0, nullptr) != 0 || ::setgid(nogroup) != 0 || ::setuid(nobody) != 0) _exit(126);
    const char* argv[] = {daemon.c_str(), "--config", cfg.c_str(), "--memory-state", nullptr};
    ::execv(daemon.c_str(), const_cast<char**>(argv));
    _exit(127);
  }
  ::close(err_fd);
  struct reap {
    pid_t pid;
    ~reap() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } guard{pid};

  // Running the daemon's own code: it has logged (prctl comes before that).
  auto slurp = [&] {
    std::ifstream in(err_file);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  ASSERT_TRUE(eventually([&] { return !slurp().empty(); }, 15s)) << "the daemon said nothing";
  std::this_thread::sleep_for(300ms);
  std::string status;
  {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    status.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_NE(status.find("Uid:\t65534"), std::string::npos) << status;
  ASSERT_EQ(status.find("State:\tZ"), std::string::npos) << "the daemon exited: " << slurp();
  struct stat st {};
  // (The /proc/PID directory itself keeps the task's uid; the files in it
  // follow the dumpable flag.)
  ASSERT_EQ(::stat(("/proc/" + std::to_string(pid) + "/environ").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u) << "/proc/PID/environ belongs to the process's uid: it is dumpable";
  EXPECT_EQ(slurp().find("tok-dumpable"), std::string::npos);
}

}  // namespace
