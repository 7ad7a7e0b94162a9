// The service pieces that decide without I/O: the Prometheus registry's
// text, the reload plan, /healthz rules and the STATUS= line.
#include "runtime/service.hpp"

#include <gtest/gtest.h>

#include "metrics/registry.hpp"
#include "runtime/reload_plan.hpp"
#include "runtime/systemd.hpp"

namespace {

using namespace hssjw;
using metrics::kind;
using metrics::registry;

TEST(metrics_registry, renders_help_type_and_series_in_declaration_order) {
  registry r;
  r.describe("b_total", kind::counter, "Second.\nline \\ two");
  r.describe("a", kind::gauge, "First.");
  r.add("b_total", {{"scope", "p\"1\\x\ny"}}, 2);
  r.add("b_total", {{"scope", "p\"1\\x\ny"}});
  r.set("a", {}, 0.25);
  EXPECT_EQ(r.render(),
            "# HELP b_total Second.\\nline \\\\ two\n"
            "# TYPE b_total counter\n"
            "b_total{scope=\"p\\\"1\\\\x\\ny\"} 3\n"
            "# HELP a First.\n"
            "# TYPE a gauge\n"
            "a 0.25\n");
  EXPECT_EQ(r.value("b_total", {{"scope", "p\"1\\x\ny"}}), 3);
}

TEST(metrics_registry, histograms_are_cumulative_with_inf_sum_and_count) {
  registry r;
  r.describe("d_seconds", kind::histogram, "Durations.", {1, 0.1, 10});  // sorted on describe
  for (double v : {0.05, 0.1, 0.5, 20.0}) r.observe("d_seconds", {{"s", "x"}}, v);
  EXPECT_EQ(r.render(),
            "# HELP d_seconds Durations.\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{s=\"x\",le=\"0.1\"} 2\n"
            "d_seconds_bucket{s=\"x\",le=\"1\"} 3\n"
            "d_seconds_bucket{s=\"x\",le=\"10\"} 3\n"
            "d_seconds_bucket{s=\"x\",le=\"+Inf\"} 4\n"
            "d_seconds_sum{s=\"x\"} 20.65\n"
            "d_seconds_count{s=\"x\"} 4\n");
}

TEST(metrics_registry, collectors_run_at_render_and_clear_drops_series) {
  registry r;
  r.describe("jobs", kind::gauge, "Jobs.");
  int n = 0;
  r.on_collect([&](registry& reg) {
    reg.clear("jobs");
    ++n;
    reg.set("jobs", {{"scope", "s" + std::to_string(n)}}, n);
  });
  r.render();
  EXPECT_EQ(r.render(), "# HELP jobs Jobs.\n# TYPE jobs gauge\njobs{scope=\"s2\"} 2\n");
}

TEST(metrics_registry, undeclared_or_wrong_kind_is_a_programming_error) {
  registry r;
  r.describe("c_total", kind::counter, "C.");
  EXPECT_THROW(r.add("nope_total"), std::logic_error);
  EXPECT_THROW(r.set("c_total", {}, 1), std::logic_error);
}

TEST(metrics_registry, values_are_spelled_as_prometheus_reads_them) {
  EXPECT_EQ(metrics::format_value(3), "3");
  EXPECT_EQ(metrics::format_value(0.1), "0.1");
  EXPECT_EQ(metrics::format_value(1795870940.915), "1795870940.915");
  EXPECT_EQ(metrics::format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(metrics::format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(metrics::format_value(0.0 / 0.0), "NaN");
}

config::config base_config() {
  config::config c;
  c.endpoint = "https://hss.example";
  c.projects = {{"p1", {""}, {}}, {"p2", {"all_granted_eps", "team-a"}, {}}};
  return c;
}

TEST(reload_plan, same_config_changes_nothing) {
  auto c = base_config();
  auto plan = plan_reload(c, c);
  EXPECT_TRUE(plan.added.empty());
  EXPECT_TRUE(plan.removed.empty());
  EXPECT_FALSE(plan.rebuild_clients || plan.budget || plan.timing || plan.fingerprints ||
               plan.log_level);
  EXPECT_TRUE(plan.restart_needed.empty());
}

TEST(reload_plan, scopes_added_and_removed_by_identity) {
  auto before = base_config();
  auto after = before;
  after.projects[1].enterprise_projects = {"team-a", "team-b"};  // all_granted_eps out, team-b in
  after.projects.push_back({"p3", {""}, {{"cluster_name", "prod"}}});
  auto plan = plan_reload(before, after);
  std::vector<std::string> added, removed;
  for (auto& t : plan.added) added.push_back(t.scope.str());
  for (auto& s : plan.removed) removed.push_back(s.str());
  EXPECT_EQ(added, (std::vector<std::string>{scope_id{"p2", "team-b", ""}.str(),
                                             scope_id{"p3", "", "cluster_name=prod"}.str()}));
  EXPECT_EQ(removed, (std::vector<std::string>{scope_id{"p2", "all_granted_eps", ""}.str()}));
  // A changed filter is another scope: the old one goes, the new one comes.
  auto filtered = after;
  filtered.projects[2].filters = {{"cluster_name", "dev"}};
  plan = plan_reload(after, filtered);
  ASSERT_EQ(plan.added.size(), 1u);
  ASSERT_EQ(plan.removed.size(), 1u);
  EXPECT_EQ(plan.added[0].filters.at("cluster_name"), "dev");
}

TEST(reload_plan, each_kind_of_change_is_flagged) {
  auto c = base_config();
  auto n = c;
  n.auth.token_file = "/other";
  EXPECT_TRUE(plan_reload(c, n).rebuild_clients);
  n = c;
  n.tls_ca_file = "/ca.pem";
  EXPECT_TRUE(plan_reload(c, n).rebuild_clients);
  n = c;
  n.poll.rate.count = 10;
  EXPECT_TRUE(plan_reload(c, n).budget);
  EXPECT_FALSE(plan_reload(c, n).rebuild_clients);
  n = c;
  n.poll.interval = std::chrono::seconds(5);
  EXPECT_TRUE(plan_reload(c, n).timing);
  n = c;
  n.poll.ignore_fields = {"execute_time"};
  EXPECT_TRUE(plan_reload(c, n).fingerprints);
  n = c;
  n.log.level = "debug";
  EXPECT_TRUE(plan_reload(c, n).log_level);
}

TEST(reload_plan, restart_only_keys_are_named_and_kept) {
  auto c = base_config();
  auto n = c;
  n.state_dir = "/elsewhere";
  n.socket.path = "/run/other.sock";
  n.metrics.listen = "127.0.0.1:1";
  n.log.format = config::log_format::json;
  n.journal.max_events = 5;
  n.poll.interval = std::chrono::seconds(7);
  auto plan = plan_reload(c, n);
  EXPECT_EQ(plan.restart_needed, (std::vector<std::string>{"state_dir", "socket", "metrics.listen",
                                                           "log.target/log.format", "journal"}));
  keep_restart_only(c, n);
  EXPECT_EQ(n.state_dir, c.state_dir);
  EXPECT_EQ(n.socket.path, c.socket.path);
  EXPECT_EQ(n.metrics.listen, c.metrics.listen);
  EXPECT_EQ(n.log.format, c.log.format);
  EXPECT_EQ(n.journal.max_events, c.journal.max_events);
  EXPECT_EQ(n.poll.interval, std::chrono::seconds(7));  // the rest applies
}

TEST(healthz, a_scope_is_healthy_within_three_intervals_of_its_last_complete_walk) {
  service_facts f;
  f.interval = std::chrono::seconds(60);
  const std::int64_t now = 10'000'000;
  f.scopes.push_back({scope_id{"fresh", "", ""}, false, 1, now - 179'000, now - 900'000, ""});
  f.scopes.push_back(
      {scope_id{"stale", "", ""}, true, 1, now - 181'000, now - 900'000, "HSS.0001 (HTTP 500)"});
  f.scopes.push_back({scope_id{"starting", "", ""}, false, 0, 0, now - 10'000, ""});  // grace
  f.scopes.push_back({scope_id{"never", "", ""}, true, 0, 0, now - 200'000, "APIGW.0301"});
  auto bad = unhealthy_scopes(f, now);
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[0], "stale/- (no complete walk for 181s: HSS.0001 (HTTP 500))");
  EXPECT_EQ(bad[1], "never/- (no complete walk yet: APIGW.0301)");
}

TEST(sd_status, says_scopes_failures_last_walk_and_jobs) {
  EXPECT_EQ(sd::status_line({{"p1/-", false, 3}}, 0),
            "1 scope, all ok; first walk in progress, 3 jobs");
  EXPECT_EQ(sd::status_line(
                {{"a", true, 1}, {"b", false, 2}, {"c", true, 0}, {"d", true, 0}, {"e", true, 0}},
                1'700'000'000'123),
            "5 scopes, 4 failing (a, c, d, ...); last walk 22:13:20Z, 3 jobs");
}

}  // namespace
