// journald records for real (SPEC §9). The daemon runs in a private mount
// namespace whose /run/systemd/journal is a directory of ours holding a
// datagram socket bound by this test: what sd_journal_sendv sends there
// is decoded (native protocol: KEY=VALUE\n, or KEY\n + 64-bit LE length +
// value + \n) and its fields checked. Needs root (unshare -m); skipped
// otherwise. Another does the same against a real journald in a systemd
// booted by tests/systemd/sandbox.sh, reading it back with
// `journalctl -o json HSS_EVENT=removed`.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "integration/socket_support.hpp"
#include "logging/log_fields.hpp"

namespace {

using namespace hssjw::test;
using namespace std::chrono_literals;
using record = std::map<std::string, std::string>;

// One native-protocol datagram into its fields; nothing if malformed.
std::optional<record> decode_native(std::string_view d) {
  record r;
  while (!d.empty()) {
    const auto nl = d.find('\n');
    const auto eq = d.find('=');
    if (nl == std::string_view::npos) return std::nullopt;
    if (eq != std::string_view::npos && eq < nl) {
      r[std::string(d.substr(0, eq))] = std::string(d.substr(eq + 1, nl - eq - 1));
      d.remove_prefix(nl + 1);
      continue;
    }
    // Binary form, for values that hold a newline.
    const std::string key(d.substr(0, nl));
    d.remove_prefix(nl + 1);
    if (d.size() < 8) return std::nullopt;
    std::uint64_t len = 0;
    for (int i = 7; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>(d[i]);
    d.remove_prefix(8);
    if (d.size() < len + 1 || d[len] != '\n') return std::nullopt;
    r[key] = std::string(d.substr(0, len));
    d.remove_prefix(len + 1);
  }
  return r;
}

TEST(journald_decoder, both_forms) {
  std::string d = "MESSAGE_ID=abc\nMESSAGE\n";
  const std::string value = "two\nlines";
  for (int i = 0; i < 8; ++i) d += static_cast<char>((value.size() >> (8 * i)) & 0xff);
  d += value + "\nPRIORITY=6\n";
  auto r = decode_native(d);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("MESSAGE"), value);
  EXPECT_EQ(r->at("PRIORITY"), "6");
  EXPECT_EQ(r->at("MESSAGE_ID"), "abc");
}

// A datagram socket standing in for journald.
struct fake_journal {
  std::string dir;
  int fd = -1;
  std::atomic<bool> stop{false};
  std::thread reader;
  std::mutex m;
  std::vector<record> records;
  std::vector<std::string> raw;

  explicit fake_journal(std::string d) : dir(std::move(d)) {
    std::filesystem::create_directories(dir);
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const auto path = dir + "/socket";
    std::strcpy(addr.sun_path, path.c_str());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("bind");
    int size = 8 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    reader = std::thread([this] { run(); });
  }
  ~fake_journal() {
    stop = true;
    reader.join();
    ::close(fd);
  }
  void run() {
    std::vector<char> buf(1 << 20);
    while (!stop) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) continue;
      auto n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0) continue;
      std::string d(buf.data(), static_cast<std::size_t>(n));
      std::lock_guard lock(m);
      raw.push_back(d);
      if (auto r = decode_native(d)) records.push_back(*r);
    }
  }
  std::optional<record> find(const std::map<std::string, std::string>& want) {
    std::lock_guard lock(m);
    for (auto& r : records) {
      bool all = true;
      for (auto& [k, v] : want) all = all && r.contains(k) && r.at(k) == v;
      if (all) return r;
    }
    return std::nullopt;
  }
};

struct journald_fixture : socket_daemon_fixture {
  std::string ns_script(const std::string& journal_dir) const {
    return "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && mount --bind '" +
           journal_dir + "' /run/systemd/journal && exec \"$0\" \"$@\"";
  }
};

TEST_F(journald_fixture, native_records_carry_the_spec_fields) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root: the daemon runs in a private mount namespace (unshare -m)";
  if (::access("/usr/bin/unshare", X_OK) != 0)
    GTEST_SKIP() << "needs /usr/bin/unshare (util-linux)";
  fake_journal journal(dir.file("journal"));
  auto probe =
      run_process({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                   ns_script(journal.dir), "/usr/bin/test", "-S", "/run/systemd/journal/socket"},
                  30s);
  if (probe.exit_code != 0)
    GTEST_SKIP()
        << "cannot mount in a private mount namespace here (container without CAP_SYS_ADMIN?): "
        << probe.err;

  cfg.extra = "log: {target: journal, level: info}\n";
  fake.populate("p1", "0", 4, 31);
  write_config();
  auto argv = daemon_argv();
  argv.insert(argv.begin(), {"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                             ns_script(journal.dir)});
  launch(argv);
  ASSERT_TRUE(eventually(
      [&] {
        return journal.find({{"MESSAGE_ID", hssjw::message_ids::baseline}}).has_value();
      },
      30s))
      << daemon->err();
  auto baseline = *journal.find({{"MESSAGE_ID", hssjw::message_ids::baseline}});
  EXPECT_EQ(baseline.at("HSS_EVENT_COUNT"), "4");
  EXPECT_EQ(baseline.at("HSS_PROJECT_ID"), "p1");
  EXPECT_EQ(baseline.at("SYSLOG_IDENTIFIER"), "hss-jobwatchd");

  const auto gone = fake.jobs("p1")[1];
  fake.erase("p1", "0", gone.cluster, gone.ns, gone.name);
  ASSERT_TRUE(eventually(
      [&] {
        return journal.find({{"HSS_EVENT", "removed"}}).has_value();
      },
      30s));
  auto r = *journal.find({{"HSS_EVENT", "removed"}});
  EXPECT_EQ(r.at("MESSAGE_ID"), hssjw::message_ids::removed);
  EXPECT_EQ(r.at("HSS_SEQ"), "5");
  EXPECT_EQ(r.at("HSS_PROJECT_ID"), "p1");
  EXPECT_EQ(r.at("HSS_EPS_ID"), "");
  EXPECT_EQ(r.at("HSS_CLUSTER"), gone.cluster);
  EXPECT_EQ(r.at("HSS_NAMESPACE"), gone.ns);
  EXPECT_EQ(r.at("HSS_JOB"), gone.name);
  EXPECT_EQ(r.at("PRIORITY"), "6");
  EXPECT_NE(r.at("MESSAGE").find(gone.name), std::string::npos);

  fake.inject(fake_hss::fault::internal_error().forever());
  ASSERT_TRUE(eventually(
      [&] {
        return journal.find({{"MESSAGE_ID", hssjw::message_ids::walk_failed}}).has_value();
      },
      30s));
  auto failed = *journal.find({{"MESSAGE_ID", hssjw::message_ids::walk_failed}});
  EXPECT_EQ(failed.at("PRIORITY"), "4");
  EXPECT_EQ(failed.at("HSS_PROJECT_ID"), "p1");
  EXPECT_EQ(failed.at("HSS_ERROR_CODE"), "HSS.0041");
  ASSERT_TRUE(failed.contains("HSS_REQUEST_ID"));
  EXPECT_FALSE(failed.at("HSS_REQUEST_ID").empty());
  bool request_id_is_real = false;
  for (auto& req : fake.requests())
    request_id_is_real = request_id_is_real || req.request_id == failed.at("HSS_REQUEST_ID");
  EXPECT_TRUE(request_id_is_real) << "the X-Request-Id the fake sent";
  fake.clear_faults();

  std::lock_guard lock(journal.m);
  for (auto& d : journal.raw)
    EXPECT_EQ(d.find(token), std::string::npos) << "a secret reached the journal";
  EXPECT_TRUE(daemon->err().empty()) << "nothing falls back to stderr: " << daemon->err();
}

// Runs wherever a sandbox can (root and systemd-nspawn, as in CI): it is
// the one check that journalctl itself selects by our fields. A few
// seconds to boot; HSSJW_SYSTEMD_SANDBOX=0 leaves it out.
TEST_F(journald_fixture, journalctl_selects_removed_events_in_a_systemd_sandbox) {
  if (const char* opt = std::getenv("HSSJW_SYSTEMD_SANDBOX"); opt && std::string_view(opt) == "0")
    GTEST_SKIP() << "HSSJW_SYSTEMD_SANDBOX=0";
  // Its own name: other tests (and their sandboxes) may run at the same time.
  const std::string name = "hssjw-journald-" + std::to_string(::getpid());
  auto sandbox = [&](std::vector<std::string> args, std::chrono::milliseconds deadline = 120s) {
    args.insert(args.begin(), {"/usr/bin/env", "HSSJW_SANDBOX_NAME=" + name, HSSJW_SANDBOX});
    return run_process(args, deadline);
  };
  if (auto check = sandbox({"check"}, 10s); check.exit_code == 77) GTEST_SKIP() << check.out;
  auto up = sandbox({"up"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  struct down_guard {
    std::function<void()> f;
    ~down_guard() { f(); }
  } down{[&] { sandbox({"down"}); }};

  fake.populate("p1", "0", 3, 32);
  const std::string etc = dir.file("etc");
  std::filesystem::create_directories(etc);
  dir.write("etc/token", token + "\n");
  std::filesystem::copy_file(fake.ca_file(), etc + "/ca.pem");
  dir.write("etc/config.yaml",
            "endpoint: " + fake.endpoint() +
                "\nauth: {method: token, token_file: /etc/hss-jobwatch/token}\n"
                "tls: {ca_file: /etc/hss-jobwatch/ca.pem}\nprojects:\n  - id: p1\n"
                "poll: {interval: 1s, rate: unlimited}\nstate_dir: /var/lib/hss-jobwatch-test\n"
                "socket: {path: /run/hss-jobwatch-test/events.sock}\n",
            0644);
  ASSERT_EQ(sandbox({"install", "--to", "/usr/local/bin", HSSJWD_PATH}).exit_code, 0);
  ASSERT_EQ(sandbox({"install", "--to", "/etc/hss-jobwatch", etc + "/config.yaml", etc + "/token",
                     etc + "/ca.pem"})
                .exit_code,
            0);
  auto run = sandbox({"exec", "systemd-run", "--unit", "hss-jobwatch-test",
                      "/usr/local/bin/hss-jobwatchd", "--config", "/etc/hss-jobwatch/config.yaml"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_TRUE(eventually(
      [&] {
        auto j = sandbox({"exec", "journalctl", "-o", "json", "--no-pager",
                          "MESSAGE_ID=" + std::string(hssjw::message_ids::baseline)},
                         30s);
        return !j.out.empty();
      },
      60s));
  const auto gone = fake.jobs("p1")[0];
  fake.erase("p1", "0", gone.cluster, gone.ns, gone.name);
  std::vector<json::object> found;
  ASSERT_TRUE(eventually(
      [&] {
        auto j =
            sandbox({"exec", "journalctl", "-o", "json", "--no-pager", "HSS_EVENT=removed"}, 30s);
        found = parse_ndjson(j.out);
        return !found.empty();
      },
      60s));
  EXPECT_EQ(found[0].at("HSS_JOB"), gone.name.c_str());
  EXPECT_EQ(found[0].at("HSS_CLUSTER"), gone.cluster.c_str());
  EXPECT_EQ(found[0].at("MESSAGE_ID"), hssjw::message_ids::removed);
  EXPECT_EQ(found[0].at("HSS_SEQ"), "4");
}

}  // namespace
