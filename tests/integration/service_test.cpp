// hss-jobwatchd as a service, out of systemd: /metrics scraped during a
// churning run (counters move with events; the text passes a strict
// exposition-format check), /healthz 200 and 503, SIGHUP reloads (scope
// added and removed, bad config kept out) and a bounded SIGTERM.
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/daemon_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using namespace hssjw::test;

// A connected Unix-socket client (fd), or -1.
int unix_connect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string read_some(int fd) {
  char buf[4096];
  auto n = ::recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// ---------------------------------------------------------------- parser

// One sample: the full name, its labels and value.
struct sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct exposition {
  std::map<std::string, std::string> type;  // family -> counter|gauge|histogram|...
  std::vector<sample> samples;
  double get(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples)
      if (s.name == name && s.labels == labels) return s.value;
    return NAN;
  }
  double sum(const std::string& name) const {
    double t = 0;
    for (const auto& s : samples)
      if (s.name == name) t += s.value;
    return t;
  }
};

// A strict reading of the text format 0.0.4: every line is HELP, TYPE or a
// sample; names and label names are valid; label values use only the three
// escapes; each family has one HELP and one TYPE before its samples, and
// its samples are contiguous; no series twice; histograms have cumulative
// buckets ending in +Inf equal to _count, and _sum; counters end in _total.
// Failures are reported as test failures naming the line.
void parse_strict(const std::string& text, exposition& out) {
  static const std::regex name_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex label_re("[a-zA-Z_][a-zA-Z0-9_]*");
  EXPECT_TRUE(!text.empty() && text.back() == '\n') << "must end with a newline";
  std::set<std::string> helped, seen_series, finished;
  std::string current;  // the family whose samples we are in
  auto family_of = [&](const std::string& n) {
    for (auto suffix : {"_bucket", "_sum", "_count"}) {
      std::string s = suffix;
      if (n.size() > s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0) {
        auto base = n.substr(0, n.size() - s.size());
        if (out.type.count(base) && out.type[base] == "histogram") return base;
      }
    }
    return n;
  };
  std::istringstream in(text);
  std::string line;
  int no = 0;
  while (std::getline(in, line)) {
    ++no;
    SCOPED_TRACE("line " + std::to_string(no) + ": " + line);
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      auto sp = rest.find(' ');
      ASSERT_NE(sp, std::string::npos) << "HELP/TYPE without text";
      std::string name = rest.substr(0, sp), what = rest.substr(sp + 1);
      EXPECT_TRUE(std::regex_match(name, name_re));
      EXPECT_FALSE(finished.count(name)) << "family split";
      if (line[2] == 'H') {
        EXPECT_TRUE(helped.insert(name).second) << "second HELP";
        for (std::size_t i = 0; i < what.size(); ++i)
          if (what[i] == '\\')
            EXPECT_TRUE(i + 1 < what.size() && (what[i + 1] == '\\' || what[i + 1] == 'n')), ++i;
      } else {
        EXPECT_FALSE(out.type.count(name)) << "second TYPE";
        EXPECT_TRUE(what == "counter" || what == "gauge" || what == "histogram" ||
                    what == "summary" || what == "untyped");
        out.type[name] = what;
        if (what == "counter")
          EXPECT_TRUE(name.size() > 6 && name.substr(name.size() - 6) == "_total") << name;
      }
      if (current != name && !current.empty()) finished.insert(current);
      current = name;
      continue;
    }
    ASSERT_FALSE(line.empty() || line[0] == '#') << "stray comment or blank line";
    sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    EXPECT_TRUE(std::regex_match(s.name, name_re));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        auto eq = line.find('=', i);
        ASSERT_NE(eq, std::string::npos);
        std::string lname = line.substr(i, eq - i);
        EXPECT_TRUE(std::regex_match(lname, label_re)) << lname;
        ASSERT_EQ(line[eq + 1], '"');
        std::string v;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            ++j;
            ASSERT_TRUE(j < line.size() && (line[j] == '\\' || line[j] == '"' || line[j] == 'n'))
                << "bad escape";
            v += line[j] == 'n' ? '\n' : line[j];
          } else {
            v += line[j];
          }
        }
        ASSERT_LT(j, line.size()) << "unterminated label value";
        EXPECT_TRUE(s.labels.emplace(lname, v).second) << "label twice";
        i = j + 1;
        if (line[i] == ',') ++i;
      }
      ASSERT_LT(i, line.size());
      ++i;  // '}'
    }
    ASSERT_EQ(line[i], ' ') << "no value";
    std::string value = line.substr(i + 1);
    if (auto sp = value.find(' '); sp != std::string::npos)
      value = value.substr(0, sp);  // timestamp
    if (value == "+Inf")
      s.value = INFINITY;
    else if (value == "-Inf")
      s.value = -INFINITY;
    else if (value == "NaN")
      s.value = NAN;
    else {
      std::size_t used = 0;
      s.value = std::stod(value, &used);
      EXPECT_EQ(used, value.size()) << "bad value";
    }
    const auto family = family_of(s.name);
    EXPECT_EQ(family, current) << "sample outside its family's block";
    EXPECT_TRUE(helped.count(family) && out.type.count(family)) << "sample before HELP/TYPE";
    std::string key = s.name;
    for (auto& [k, v] : s.labels) key += "|" + k + "=" + v;
    EXPECT_TRUE(seen_series.insert(key).second) << "series twice";
    out.samples.push_back(std::move(s));
  }
  // Histograms: cumulative buckets, +Inf == _count, a _sum.
  for (const auto& [family, type] : out.type) {
    if (type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
    for (const auto& s : out.samples) {
      if (s.name != family + "_bucket") continue;
      auto l = s.labels;
      EXPECT_TRUE(l.count("le")) << family;
      double le = l["le"] == "+Inf" ? INFINITY : std::stod(l["le"]);
      l.erase("le");
      buckets[l].push_back({le, s.value});
    }
    for (auto& [labels, bs] : buckets) {
      for (std::size_t k = 1; k < bs.size(); ++k) {
        EXPECT_LT(bs[k - 1].first, bs[k].first) << family << " bucket order";
        EXPECT_LE(bs[k - 1].second, bs[k].second) << family << " not cumulative";
      }
      ASSERT_FALSE(bs.empty());
      EXPECT_TRUE(std::isinf(bs.back().first)) << family << " has no +Inf bucket";
      EXPECT_EQ(bs.back().second, out.get(family + "_count", labels)) << family;
      EXPECT_FALSE(std::isnan(out.get(family + "_sum", labels))) << family << " has no _sum";
    }
  }
}

exposition parse(const std::string& text) {
  exposition out;
  parse_strict(text, out);
  return out;
}

// ---------------------------------------------------------------- fixture

// What systemd would hear: a datagram socket at $NOTIFY_SOCKET, read
// without blocking. Keeps every STATUS= the daemon sent.
struct notify_listener {
  int fd = -1;
  std::string path;
  std::vector<std::string> statuses;
  explicit notify_listener(std::string p) : path(std::move(p)) {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  ~notify_listener() { ::close(fd); }
  // Reads what has arrived; returns the last STATUS= ("" when none yet).
  std::string last_status() {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
      std::istringstream in(std::string(buf, static_cast<std::size_t>(n)));
      for (std::string line; std::getline(in, line);)
        if (line.rfind("STATUS=", 0) == 0) statuses.push_back(line.substr(7));
    }
    return statuses.empty() ? std::string() : statuses.back();
  }
};

// The daemon's `status` answer, as `hss-jobwatch status -o json` prints it.
boost::json::object status_of(const std::string& socket) {
  auto r = run_process({HSSJW_CLI_PATH, "--socket", socket, "status", "-o", "json"}, 20s);
  auto lines = parse_ndjson(r.out);
  return r.exit_code == 0 && !lines.empty() ? lines[0] : boost::json::object{};
}

std::size_t open_fds(int pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

// The daemon bench with /metrics and /healthz on a free port; start()
// waits until /healthz answers.
struct service_fixture : daemon_fixture {
  std::uint16_t metrics_port = free_tcp_port();
  std::string socket_extra;  // more socket: keys
  std::string poll_extra;    // more poll: keys

  void write_config(const std::string& projects, const std::string& extra = "") {
    cfg.projects = projects;
    cfg.poll =
        "interval: 1s, jitter: 0%, rate: unlimited, page_size: 10,"
        " retry: {attempts: 1, initial: 10ms, max: 20ms}" +
        poll_extra;
    cfg.socket = socket_extra;
    cfg.extra = "metrics: {listen: 127.0.0.1:" + std::to_string(metrics_port) + "}\n" + extra;
    daemon_fixture::write_config("config.yaml", 0640);
  }

  void start() {
    launch();
    eventually(
        [&] { return !daemon->running() || http_get(metrics_port, "/healthz").status == 200; },
        20s);
    ASSERT_TRUE(daemon->running()) << daemon->err();
    ASSERT_EQ(http_get(metrics_port, "/healthz").status, 200) << daemon->err();
  }

  exposition scrape() {
    auto r = http_get(metrics_port, "/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.headers.find("text/plain; version=0.0.4"), std::string::npos) << r.headers;
    return parse(r.body);
  }
};

TEST_F(service_fixture, metrics_move_with_a_churning_inventory_and_parse_strictly) {
  fake.populate("p1", "0", 35, 21);
  write_config("  - id: p1\n");
  start();
  ASSERT_TRUE(eventually(
      [&] {
        return scrape().get("hss_jobwatch_jobs", {{"scope", "p1/-"}}) == 35;
      },
      20s));
  auto first = scrape();
  EXPECT_EQ(first.type.at("hss_jobwatch_walk_duration_seconds"), "histogram");
  EXPECT_EQ(first.type.at("hss_jobwatch_request_duration_seconds"), "histogram");
  EXPECT_EQ(first.get("hss_jobwatch_events_total", {{"type", "added"}}), 35);
  EXPECT_EQ(first.get("hss_jobwatch_scope_failing", {{"scope", "p1/-"}}), 0);
  EXPECT_GE(first.get("hss_jobwatch_pages_total", {{"scope", "p1/-"}}), 4);
  EXPECT_GE(first.get("hss_jobwatch_requests_total", {{"status", "200"}}), 4);
  EXPECT_EQ(first.get("hss_jobwatch_last_seq"), 35);
  EXPECT_EQ(first.get("hss_jobwatch_journal_events"), 35);
  EXPECT_GT(first.get("hss_jobwatch_state_db_bytes"), 0);
  EXPECT_GT(first.get("hss_jobwatch_last_complete_walk_timestamp_seconds", {{"scope", "p1/-"}}),
            1.6e9);
  EXPECT_EQ(first.get("hss_jobwatch_subscribers"), 0);

  // Churn: every kind of change, several steps; counters follow.
  for (int step = 0; step < 3; ++step)
    fake.churn_step({.seed = 7u + step, .adds = 2, .modifies = 2, .removes = 1});
  ASSERT_TRUE(eventually(
      [&] {
        return scrape().get("hss_jobwatch_events_total", {{"type", "removed"}}) >= 3;
      },
      20s));
  auto second = scrape();
  EXPECT_EQ(second.get("hss_jobwatch_events_total", {{"type", "added"}}), 35 + 6);
  EXPECT_GE(second.get("hss_jobwatch_events_total", {{"type", "modified"}}), 1);
  EXPECT_EQ(second.get("hss_jobwatch_jobs", {{"scope", "p1/-"}}), 35 + 6 - 3);
  EXPECT_EQ(second.get("hss_jobwatch_last_seq"), second.sum("hss_jobwatch_events_total"));
  EXPECT_GT(second.get("hss_jobwatch_walks_total", {{"scope", "p1/-"}, {"outcome", "complete"}}),
            first.get("hss_jobwatch_walks_total", {{"scope", "p1/-"}, {"outcome", "complete"}}));
  EXPECT_GT(second.get("hss_jobwatch_walk_duration_seconds_count", {{"scope", "p1/-"}}),
            first.get("hss_jobwatch_walk_duration_seconds_count", {{"scope", "p1/-"}}));
  EXPECT_GT(second.get("hss_jobwatch_request_duration_seconds_count"),
            first.get("hss_jobwatch_request_duration_seconds_count"));

  // Failures are counted by status and as retries.
  fake.set_token("rotated-elsewhere");
  ASSERT_TRUE(eventually(
      [&] {
        return scrape().get("hss_jobwatch_scope_failing", {{"scope", "p1/-"}}) == 1;
      },
      20s));
  auto third = scrape();
  EXPECT_GE(third.get("hss_jobwatch_requests_total", {{"status", "401"}}), 1);
  EXPECT_GE(third.sum("hss_jobwatch_retries_total"), 1);
  EXPECT_GE(third.get("hss_jobwatch_walks_total", {{"scope", "p1/-"}, {"outcome", "failed"}}), 1);

  EXPECT_EQ(http_get(metrics_port, "/nope").status, 404);
}

TEST_F(service_fixture, healthz_turns_503_naming_the_scope_and_back_to_200) {
  fake.populate("p1", "0", 12, 3);
  fake.populate("p2", "0", 12, 4);
  write_config("  - id: p1\n  - id: p2\n");
  start();
  auto ok = http_get(metrics_port, "/healthz");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "ok\n");
  // p2 starts failing: after 3 x 1s without a complete walk it is unhealthy.
  fake.set_auth_check([](const fake_hss::request_view& r) -> std::optional<fake_hss::error_reply> {
    if (r.project_id != "p2") return std::nullopt;
    return fake_hss::error_reply{500, "HSS.0001", "internal error"};
  });
  ASSERT_TRUE(eventually([&] { return http_get(metrics_port, "/healthz").status == 503; }, 20s));
  auto bad = http_get(metrics_port, "/healthz");
  EXPECT_NE(bad.body.find("p2/-"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("HSS.0001"), std::string::npos) << bad.body;
  EXPECT_EQ(bad.body.find("p1/-"), std::string::npos) << bad.body;
  fake.set_auth_check({});
  EXPECT_TRUE(eventually([&] { return http_get(metrics_port, "/healthz").status == 200; }, 20s));
}

TEST_F(service_fixture, sighup_adds_and_removes_scopes_and_keeps_the_old_config_when_bad) {
  fake.populate("p1", "0", 15, 5);
  fake.populate("p2", "0", 25, 6);
  write_config("  - id: p1\n");
  start();
  ASSERT_TRUE(eventually(
      [&] {
        return scrape().get("hss_jobwatch_jobs", {{"scope", "p1/-"}}) == 15;
      },
      20s));

  write_config("  - id: p1\n  - id: p2\n");
  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually(
      [&] {
        return scrape().get("hss_jobwatch_jobs", {{"scope", "p2/-"}}) == 25;
      },
      20s))
      << daemon->err();
  EXPECT_EQ(scrape().get("hss_jobwatch_events_total", {{"type", "added"}}),
            15 + 25);  // p2 baselined
  EXPECT_EQ(scrape().get("hss_jobwatch_reloads_total", {{"result", "ok"}}), 1);

  dir.write("config.yaml", "projects: [{id: p1}\n", 0640);  // broken YAML
  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually(
      [&] {
        return scrape().get("hss_jobwatch_reloads_total", {{"result", "rejected"}}) == 1;
      },
      20s));
  EXPECT_NE(daemon->err().find("config.yaml:"), std::string::npos);
  EXPECT_NE(daemon->err().find("keeping the running config"), std::string::npos);
  EXPECT_EQ(scrape().get("hss_jobwatch_jobs", {{"scope", "p2/-"}}), 25);  // still watched

  // p2 removed: its walks stop, nothing is emitted for it, its gauge goes.
  write_config("  - id: p1\n");
  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually(
      [&] {
        return std::isnan(scrape().get("hss_jobwatch_jobs", {{"scope", "p2/-"}}));
      },
      20s));
  const auto events = scrape().sum("hss_jobwatch_events_total");
  fake.clear_requests();
  for (const auto& j : fake.jobs("p2", "0"))
    fake.erase("p2", "0", j.cluster, j.ns, j.name);  // p2 emptied upstream
  ASSERT_TRUE(eventually([&] { return fake.requests().size() >= 3; }, 20s));
  for (const auto& r : fake.requests())
    EXPECT_NE(r.project_id, "p2") << "removed scope still walked";
  EXPECT_EQ(scrape().sum("hss_jobwatch_events_total"), events) << "no removal flood for p2";

  // SIGTERM: a clean exit, promptly.
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(15s), 0) << daemon->err();
  EXPECT_NE(daemon->err().find("stopped"), std::string::npos);
}

// A reload that changes poll.ignore_fields while walks run: the stored
// fingerprints are rewritten and the running snapshot takes them in place
// (a walk in flight holds pointers into it). Afterwards a change to the
// newly ignored field is no event, a change to a watched one is.
TEST_F(service_fixture, sighup_changing_ignore_fields_rewrites_fingerprints_under_running_walks) {
  fake.populate("p1", "0", 15, 5);
  write_config("  - id: p1\n");
  start();
  ASSERT_TRUE(eventually(
      [&] {
        return scrape().get("hss_jobwatch_events_total", {{"type", "added"}}) == 15;
      },
      20s));

  poll_extra = ", ignore_fields: [execute_time]";
  write_config("  - id: p1\n");
  daemon->signal(SIGHUP);
  ASSERT_TRUE(eventually(
      [&] {
        return scrape().get("hss_jobwatch_reloads_total", {{"result", "ok"}}) == 1;
      },
      20s));
  ASSERT_TRUE(eventually(
      [&] { return daemon->err().find("stored fingerprints rewritten") != std::string::npos; }, 5s))
      << daemon->err();

  auto jobs = fake.jobs("p1", "0");
  jobs[0].execute_time += 60'000;
  fake.upsert(jobs[0]);
  fake.clear_requests();
  ASSERT_TRUE(
      eventually([&] { return fake.requests().size() >= 6; }, 20s));  // three walks and more
  EXPECT_EQ(scrape().sum("hss_jobwatch_events_total"), 15) << "an ignored field changed: no event";

  jobs[1].status = jobs[1].status == "Failed" ? "Succeeded" : "Failed";
  fake.upsert(jobs[1]);
  ASSERT_TRUE(eventually(
      [&] {
        return scrape().get("hss_jobwatch_events_total", {{"type", "modified"}}) == 1;
      },
      20s))
      << daemon->err();
  EXPECT_EQ(scrape().sum("hss_jobwatch_events_total"), 16);
}

TEST_F(service_fixture, subscribers_and_refused_clients_are_counted) {
  fake.populate("p1", "0", 5, 8);
  socket_extra = ", max_clients: 1";
  write_config("  - id: p1\n");
  start();
  int watcher = unix_connect(socket_path());
  ASSERT_GE(watcher, 0);
  EXPECT_NE(read_some(watcher).find("\"hello\""), std::string::npos);
  const std::string watch = "{\"op\":\"watch\"}\n";
  ASSERT_EQ(::send(watcher, watch.data(), watch.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(watch.size()));
  EXPECT_TRUE(eventually([&] { return scrape().get("hss_jobwatch_subscribers") == 1; }, 10s));
  int second = unix_connect(socket_path());
  ASSERT_GE(second, 0);
  std::string got;
  eventually([&] { return (got += read_some(second)).find("busy") != std::string::npos; }, 10s);
  EXPECT_NE(got.find("\"busy\""), std::string::npos) << got;
  EXPECT_TRUE(eventually(
      [&] {
        return scrape().get("hss_jobwatch_subscribers_dropped_total", {{"reason", "busy"}}) == 1;
      },
      10s));
  ::close(second);
  ::close(watcher);
  EXPECT_TRUE(eventually([&] { return scrape().get("hss_jobwatch_subscribers") == 0; }, 10s));
}

// A rejected reload must not look like a good one: `systemctl reload`
// returns 0 whatever happens, so STATUS= and `hss-jobwatch status` say it
// (with the error's file:line:col) until a reload succeeds.
TEST_F(service_fixture, a_rejected_reload_stays_visible_in_status_until_a_good_one) {
  fake.populate("p1", "0", 6, 3);
  notify_listener notify(dir.file("notify.sock"));
  daemon_env["NOTIFY_SOCKET"] = notify.path;
  write_config("  - id: p1\n");
  start();
  ASSERT_TRUE(
      eventually([&] { return notify.last_status().find("1 scope") != std::string::npos; }, 10s));
  EXPECT_TRUE(status_of(socket_path()).at("config_error").is_null());

  dir.write("config.yaml", "projects:\n  - id: p1\npoll: {interval: 1s, colour: red}\n", 0640);
  daemon->signal(SIGHUP);
  const std::regex where("config\\.yaml:[0-9]+:[0-9]+");
  boost::json::object st;
  ASSERT_TRUE(eventually(
      [&] {
        st = status_of(socket_path());
        return st.contains("config_error") && st.at("config_error").is_string();
      },
      20s))
      << daemon->err();
  const std::string error(st.at("config_error").as_string());
  EXPECT_TRUE(std::regex_search(error, where)) << error;
  EXPECT_NE(error.find("colour"), std::string::npos) << error;
  ASSERT_TRUE(eventually(
      [&] { return notify.last_status().find("reload rejected") != std::string::npos; }, 10s))
      << notify.last_status();
  EXPECT_TRUE(std::regex_search(notify.last_status(), where)) << notify.last_status();
  // Still there after the walks that follow (each walk refreshes STATUS=).
  fake.clear_requests();
  ASSERT_TRUE(eventually([&] { return fake.requests().size() >= 2; }, 10s));
  std::this_thread::sleep_for(300ms);
  EXPECT_NE(notify.last_status().find("reload rejected"), std::string::npos)
      << notify.last_status();
  auto cli = run_process({HSSJW_CLI_PATH, "--socket", socket_path(), "status"}, 20s);
  EXPECT_NE(cli.out.find("reload rejected"), std::string::npos) << cli.out;

  write_config("  - id: p1\n");
  daemon->signal(SIGHUP);
  ASSERT_TRUE(
      eventually([&] { return status_of(socket_path()).at("config_error").is_null(); }, 20s));
  EXPECT_TRUE(eventually(
      [&] { return notify.last_status().find("reload rejected") == std::string::npos; }, 10s))
      << notify.last_status();
}

// Until its first walk ends a scope is "starting": "ok" with no walk
// attempted would claim what nobody has checked.
TEST_F(service_fixture, a_scope_is_starting_until_its_first_walk_ends) {
  fake.populate("p1", "0", 6, 3);
  fake.inject(fake_hss::fault::stall(4s));  // the first request answers after 4 s
  poll_extra = ", timeout: 30s";
  write_config("  - id: p1\n");
  start();
  ASSERT_TRUE(eventually([&] { return fake.requests().size() >= 1; }, 10s));
  auto st = status_of(socket_path());
  ASSERT_FALSE(st.empty());
  const auto& scope = st.at("scopes").as_array().at(0).as_object();
  EXPECT_EQ(scope.at("state"), "starting") << boost::json::serialize(st);
  EXPECT_TRUE(scope.at("last_attempt").is_null());
  auto table = run_process({HSSJW_CLI_PATH, "--socket", socket_path(), "status"}, 20s);
  EXPECT_NE(table.out.find("starting"), std::string::npos) << table.out;
  // The walk ends: ok.
  EXPECT_TRUE(eventually(
      [&] {
        auto s = status_of(socket_path());
        return !s.empty() && s.at("scopes").as_array().at(0).at("state") == "ok";
      },
      20s))
      << daemon->err();
}

// Logged only when it did something: a fresh state has nothing to rewrite.
TEST_F(service_fixture, fingerprints_rewritten_is_logged_only_when_something_was_rewritten) {
  fake.populate("p1", "0", 9, 3);
  write_config("  - id: p1\n");
  start();
  ASSERT_TRUE(eventually(
      [&] {
        return scrape().get("hss_jobwatch_jobs", {{"scope", "p1/-"}}) == 9;
      },
      20s));
  EXPECT_EQ(daemon->err().find("fingerprints rewritten"), std::string::npos) << daemon->err();
  daemon->signal(SIGTERM);
  ASSERT_EQ(daemon->wait(15s), 0);
  // A restart with the same ignore_fields: nothing to rewrite either.
  start();
  ASSERT_TRUE(eventually(
      [&] {
        return scrape().get("hss_jobwatch_jobs", {{"scope", "p1/-"}}) == 9;
      },
      20s));
  EXPECT_EQ(daemon->err().find("fingerprints rewritten"), std::string::npos) << daemon->err();
  daemon->signal(SIGTERM);
  ASSERT_EQ(daemon->wait(15s), 0);
  // Other ignore_fields over 9 stored jobs: said once, with the count.
  poll_extra = ", ignore_fields: [execute_time]";
  write_config("  - id: p1\n");
  start();
  EXPECT_NE(daemon->err().find("state: 9 stored fingerprints rewritten"), std::string::npos)
      << daemon->err();
}

// Each reload that changes the client settings replaces the client: the
// replaced one (its TLS context and pooled connection) must go when its
// last walk ends, not stay until exit.
TEST_F(service_fixture, reloads_that_replace_the_client_do_not_accumulate_connections) {
  fake.populate("p1", "0", 6, 3);
  write_config("  - id: p1\n");
  start();
  ASSERT_TRUE(eventually(
      [&] {
        return scrape().get("hss_jobwatch_jobs", {{"scope", "p1/-"}}) == 6;
      },
      20s));
  const auto settle = [&] {  // two walks after the reload: the old client's walk has ended
    fake.clear_requests();
    return eventually([&] { return fake.requests().size() >= 2; }, 20s);
  };
  ASSERT_TRUE(settle());
  const auto before = open_fds(daemon->pid);
  for (int i = 0; i < 12; ++i) {
    poll_extra = i % 2 ? ", timeout: 10s" : ", timeout: 11s";  // poll.timeout: a new client
    write_config("  - id: p1\n");
    daemon->signal(SIGHUP);
    ASSERT_TRUE(eventually(
        [&] {
          return scrape().get("hss_jobwatch_reloads_total", {{"result", "ok"}}) == i + 1;
        },
        20s));
    ASSERT_TRUE(settle());
  }
  const auto after = open_fds(daemon->pid);
  EXPECT_LE(after, before + 2) << "fds before " << before << ", after 12 reloads " << after;
  EXPECT_EQ(scrape().get("hss_jobwatch_scope_failing", {{"scope", "p1/-"}}), 0);
}

// A renewed CA file at the same path: the config does not change, the
// file does. SIGHUP must make new connections trust the new content.
// The fake closes idle connections after 1 s: each walk opens a new one.
struct service_ca : daemon_fixture {
  service_ca()
      : daemon_fixture(default_token, [](fake_hss::server::options& o) { o.idle_timeout = 1s; }) {}
};

TEST_F(service_ca, a_ca_file_replaced_at_the_same_path_takes_effect_on_reload) {
  fake.populate("p1", "0", 6, 3);
  const auto metrics_port = free_tcp_port();
  auto install_ca = [&] {
    std::ifstream in(fake.ca_file(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    dir.write("ca.pem", text.str(), 0644);  // by rename, as a package update does
  };
  install_ca();
  cfg.ca_file = "ca.pem";
  cfg.poll =
      "interval: 2s, jitter: 0%, rate: unlimited, retry: {attempts: 1, initial: 10ms, max: 20ms}";
  cfg.extra = "metrics: {listen: 127.0.0.1:" + std::to_string(metrics_port) + "}\n";
  write_config("config.yaml", 0640);
  launch();
  auto gauge = [&](const char* name) {
    auto page = http_get(metrics_port, "/metrics");
    if (page.status != 200) return double(NAN);  // not up yet
    return parse(page.body).get(name, {{"scope", "p1/-"}});
  };
  ASSERT_TRUE(eventually([&] { return gauge("hss_jobwatch_jobs") == 6; }, 20s)) << daemon->err();

  // The server now presents a certificate from another CA: walks fail.
  fake.rotate_ca();
  ASSERT_TRUE(eventually([&] { return gauge("hss_jobwatch_scope_failing") == 1; }, 20s))
      << daemon->err();

  install_ca();  // the renewed CA, same path, same config
  daemon->signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return gauge("hss_jobwatch_scope_failing") == 0; }, 20s))
      << daemon->err();
  EXPECT_NE(daemon->err().find("ca.pem changed on disk"), std::string::npos) << daemon->err();
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait(15s), 0) << daemon->err();
}

}  // namespace
