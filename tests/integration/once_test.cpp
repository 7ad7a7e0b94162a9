// hss-jobwatchd --once as a real process against the fake HSS over TLS:
// baselines, exact changes after mutations, minimal request counts, lists
// that shift during a walk, faults, and config errors (SPEC §3, §4, §7).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>

#include "common/daemon_fixture.hpp"

namespace {

namespace json = boost::json;
using namespace hssjw::test;

struct once_fixture : daemon_fixture {
  // Pages of 50, one quick retry; `poll` adds to poll:.
  std::string config(const std::string& projects, const std::string& poll = "") {
    auto c = cfg;
    c.projects = projects;
    c.poll = "rate: unlimited, page_size: 50, retry: {attempts: 1, initial: 10ms, max: 20ms}" +
             (poll.empty() ? "" : ", " + poll);
    return config_text(c);
  }

  process_result once(const std::string& text) {
    dir.write("config.yaml", text);
    return daemon_fixture::once();
  }

  static std::multiset<std::string> summary(const std::vector<json::object>& events) {
    std::multiset<std::string> out;
    for (auto& e : events) {
      auto& k = e.at("key").as_object();
      out.insert(std::string(e.at("type").as_string()) + " " +
                 std::string(k.at("name").as_string()));
    }
    return out;
  }

  fake_hss::job job(std::string project, std::string eps, std::string name, std::int64_t created) {
    fake_hss::job j;
    j.project_id = std::move(project);
    j.eps = std::move(eps);
    j.cluster = "c1";
    j.ns = "default";
    j.name = std::move(name);
    j.create_time = created;
    j.labels = {{"app", "x"}, {"tier", "batch"}};
    return j;
  }

  std::size_t jobs_requests() const {
    std::size_t n = 0;
    for (auto& r : fake.requests())
      if (r.path.find("/kubernetes/jobs") != std::string::npos) ++n;
    return n;
  }
};

constexpr const char* two_projects =
    "  - id: p1\n    enterprise_projects: [all_granted_eps]\n"
    "  - id: p2\n    enterprise_projects: [\"\", team-a]\n"
    "  - id: p3\n    filters: {cluster_name: prod}\n";

TEST_F(once_fixture, baseline_then_exact_changes_with_minimal_requests) {
  fake.populate("p1", "0", 1200, 1);
  fake.populate("p1", "ep-x", 300, 2);
  fake.populate("p2", "0", 777, 3);
  fake.populate("p2", "team-a", 49, 4);
  fake.populate("p3", "0", 100, 5);
  auto prod = job("p3", "0", "prod-job", 1'700'000'000'000);
  prod.cluster = "prod";
  fake.upsert(prod);
  const std::size_t expected = 1200 + 300 + 777 + 49 + 1;

  auto r = once(config(two_projects));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto events = parse_ndjson(r.out);
  ASSERT_EQ(events.size(), expected);
  std::set<std::uint64_t> seqs;
  for (auto& e : events) {
    EXPECT_EQ(e.at("type"), "added");
    EXPECT_EQ(e.at("v"), 1);
    seqs.insert(e.at("seq").as_int64());
  }
  EXPECT_EQ(*seqs.begin(), 1u);
  EXPECT_EQ(*seqs.rbegin(), expected);
  EXPECT_EQ(seqs.size(), expected);
  // ceil((n-1)/(page-1)) per scope: 1500 -> 31, 777 -> 16, 49 -> 1, 1 -> 1
  EXPECT_EQ(jobs_requests(), 31u + 16u + 1u + 1u);
  for (auto& req : fake.requests()) {
    EXPECT_EQ(req.headers.at("x-auth-token"), token);
    EXPECT_EQ(req.headers.at("user-agent").rfind("hss-jobwatch/", 0), 0u);
    if (req.project_id == "p3") EXPECT_EQ(req.query.at("cluster_name"), "prod");
    if (req.project_id == "p1") EXPECT_EQ(req.query.at("enterprise_project_id"), "all_granted_eps");
  }
  // The scope with eps "" sends no enterprise_project_id and reports "".
  bool saw_default = false;
  for (auto& e : events) {
    auto& s = e.at("scope").as_object();
    if (s.at("project_id") == "p2" && s.at("enterprise_project_id") == "") saw_default = true;
  }
  EXPECT_TRUE(saw_default);

  // Restart with nothing changed: nothing emitted.
  fake.clear_requests();
  r = once(config(two_projects));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out.substr(0, 500);

  // Real changes: one of each kind, plus label reorder (no event).
  auto jobs = fake.jobs("p2", "team-a");
  auto reordered = jobs[0];
  std::reverse(reordered.labels.begin(), reordered.labels.end());
  fake.upsert(reordered);
  auto modified = jobs[1];
  modified.status = "Failed";
  fake.upsert(modified);
  auto replaced = jobs[2];
  replaced.create_time += 1000;
  fake.upsert(replaced);
  fake.erase("p2", "team-a", jobs[3].cluster, jobs[3].ns, jobs[3].name);
  fake.upsert(job("p2", "team-a", "brand-new", 1'800'000'000'000));

  r = once(config(two_projects));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  events = parse_ndjson(r.out);
  EXPECT_EQ(summary(events),
            (std::multiset<std::string>{"modified " + modified.name, "replaced " + replaced.name,
                                        "removed " + jobs[3].name, "added brand-new"}));
  for (auto& e : events) {
    EXPECT_GT(e.at("seq").as_int64(), static_cast<std::int64_t>(expected));
    if (e.at("type") == "modified") {
      EXPECT_EQ(serialize(e.at("changed")), R"(["status"])");
      EXPECT_EQ(e.at("previous").as_object().at("status"), "Running");
    }
    if (e.at("type") == "removed") EXPECT_FALSE(e.contains("job"));
  }
}

TEST_F(once_fixture, ignored_fields_do_not_emit) {
  fake.populate("p1", "0", 30, 9);
  const std::string projects = "  - id: p1\n";
  ASSERT_EQ(once(config(projects, "ignore_fields: [execute_time]")).exit_code, 0);
  auto j = fake.jobs("p1", "0")[0];
  j.execute_time += 5000;
  fake.upsert(j);
  auto r = once(config(projects, "ignore_fields: [execute_time]"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

// Stored fingerprints are trusted at start while poll.ignore_fields is
// unchanged (no stored body is parsed) and rewritten once when it
// changes. Either way only a change to a watched field is an event: a
// field changed while ignored is reported once it is watched again.
TEST_F(once_fixture, stored_fingerprints_are_rewritten_only_when_ignore_fields_change) {
  fake.populate("p1", "0", 30, 9);
  const std::string projects = "  - id: p1\n";
  const std::string rewritten = "stored fingerprints rewritten";
  auto r = once(config(projects, "ignore_fields: [execute_time]"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = once(config(projects, "ignore_fields: [execute_time]"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find(rewritten), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;

  r = once(config(projects, "ignore_fields: [pods_num, execute_time]"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(rewritten), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  auto j = fake.jobs("p1", "0")[3];
  j.pods_num += 2;
  fake.upsert(j);
  r = once(config(projects, "ignore_fields: [execute_time, pods_num]"));  // the same set
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find(rewritten), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;

  r = once(config(projects, ""));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(rewritten), std::string::npos) << r.err;
  auto events = parse_ndjson(r.out);
  ASSERT_EQ(events.size(), 1u) << r.out;
  EXPECT_EQ(summary(events), std::multiset<std::string>{"modified " + j.name});
  EXPECT_EQ(serialize(events[0].at("changed")), R"(["pods_num"])");
}

// The list shifts between page requests, at the front and in the middle:
// no job that existed for the whole walk may be reported removed.
TEST_F(once_fixture, shifting_list_produces_no_false_removals) {
  fake.populate("p1", "0", 600, 11);
  const std::string projects = "  - id: p1\n";
  ASSERT_EQ(once(config(projects, "pages_in_flight: 2")).exit_code, 0);

  std::atomic<int> page{0};
  std::mutex m;
  std::vector<std::string> deleted, added;
  fake.on_request([&](const fake_hss::request_record& r) {
    if (r.path.find("/kubernetes/jobs") == std::string::npos) return;
    int n = page++;
    if (n < 1 || n > 8) return;
    auto jobs = fake.jobs("p1", "0");
    std::lock_guard lock(m);
    // Delete two near the front, one in the middle; add one new job.
    for (std::size_t pos : {std::size_t{1}, std::size_t{2}, jobs.size() / 2}) {
      auto& v = jobs[pos];
      fake.erase("p1", "0", v.cluster, v.ns, v.name);
      deleted.push_back(v.name);
    }
    auto fresh = job("p1", "0", "fresh-" + std::to_string(n), 1'900'000'000'000 + n);
    fake.upsert(fresh);
    added.push_back(fresh.name);
  });
  auto r = once(config(projects, "pages_in_flight: 2"));
  fake.on_request(nullptr);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> deleted_set(deleted.begin(), deleted.end());
  for (auto& e : parse_ndjson(r.out)) {
    if (e.at("type") == "removed") {
      auto name = std::string(e.at("key").as_object().at("name").as_string());
      EXPECT_TRUE(deleted_set.contains(name)) << "false removal of " << name;
    }
  }
  // The next walk, with the list still, reports exactly what is left.
  r = once(config(projects));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto events = parse_ndjson(r.out);
  std::set<std::string> still_to_remove, still_to_add;
  for (auto& e : events) {
    auto name = std::string(e.at("key").as_object().at("name").as_string());
    EXPECT_NE(e.at("type"), "modified") << name;
    if (e.at("type") == "removed") EXPECT_TRUE(deleted_set.contains(name)) << name;
    if (e.at("type") == "added")
      EXPECT_NE(std::find(added.begin(), added.end(), name), added.end()) << name;
  }
  // A third walk: nothing.
  r = once(config(projects));
  EXPECT_TRUE(r.out.empty()) << r.out.substr(0, 400);
}

TEST_F(once_fixture, failed_page_emits_nothing_and_next_walk_reports_only_real_changes) {
  fake.populate("p1", "0", 200, 21);
  const std::string projects = "  - id: p1\n";
  ASSERT_EQ(once(config(projects)).exit_code, 0);
  auto jobs = fake.jobs("p1", "0");
  fake.erase("p1", "0", jobs[10].cluster, jobs[10].ns, jobs[10].name);
  fake.inject(fake_hss::fault::internal_error().on_offset(98).repeat(2));  // first try and retry
  auto r = once(config(projects));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("HSS.0041"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("request id "), std::string::npos) << r.err;
  r = once(config(projects));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto events = parse_ndjson(r.out);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].at("type"), "removed");
}

TEST_F(once_fixture, rejected_job_makes_the_walk_incomplete_without_removals) {
  fake.populate("p1", "0", 120, 31);
  const std::string projects = "  - id: p1\n";
  ASSERT_EQ(once(config(projects)).exit_code, 0);
  auto jobs = fake.jobs("p1", "0");
  fake.erase("p1", "0", jobs[100].cluster, jobs[100].ns, jobs[100].name);
  auto changed = jobs[5];
  changed.status = "Failed";
  fake.upsert(changed);
  fake.inject(fake_hss::fault::missing_field("name", 3).on_offset(0));
  auto r = once(config(projects));
  EXPECT_EQ(r.exit_code, 1);  // not complete
  auto events = parse_ndjson(r.out);
  ASSERT_EQ(events.size(), 1u);  // the modification it saw; no removal
  EXPECT_EQ(events[0].at("type"), "modified");
  EXPECT_NE(r.err.find("rejected"), std::string::npos) << r.err;
  r = once(config(projects));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  events = parse_ndjson(r.out);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].at("type"), "removed");
}

TEST_F(once_fixture, wrong_token_fails_with_the_gateway_code) {
  fake.populate("p1", "0", 10, 41);
  dir.write("token", "not-the-token\n");
  auto r = once(config("  - id: p1\n"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("APIGW.0301"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("not-the-token"), std::string::npos) << "secret leaked: " << r.err;
}

TEST_F(once_fixture, bad_config_names_file_line_column_and_exits_78) {
  dir.write("config.yaml",
            "endpoint: https://x\nauth: {method: token, token_file: t}\nprojects:\n  - id: "
            "p1\npoll:\n  page_size: 500\n");
  auto r = run_daemon({"--once"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find(dir.file("config.yaml") + ":6:14"), std::string::npos) << r.err;
}

}  // namespace
