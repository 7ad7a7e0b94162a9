// The decoder and the differ together: pages as HSS sends them in, events
// and deltas out (SPEC §3, §4).
#include "hss/page_decoder.hpp"
#include "walk/differ.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <map>
#include <optional>

namespace hssjw {
namespace {

namespace json = boost::json;

std::string job_json(std::string name, std::string status = "Running", std::int64_t create = 1000,
                     std::string labels = R"([{"key":"b","val":"2"},{"key":"a","val":"1"}])",
                     std::string extra = "") {
  return R"({"cluster_name":"c1","namespace_name":"ns","name":")" + name + R"(","status":")" +
         status + R"(","pods_num":1,"image_name":"img","match_labels":)" + labels +
         R"(,"create_time":)" + std::to_string(create) + R"(,"execute_time":5)" + extra + "}";
}

std::string page_json(const std::vector<std::string>& jobs, std::int64_t total = -1) {
  std::string out = R"({"total_num":)" + std::to_string(total < 0 ? jobs.size() : total) +
                    R"(,"last_update_time":77,"job_info_list":[)";
  for (std::size_t i = 0; i < jobs.size(); ++i) out += (i ? "," : "") + jobs[i];
  return out + "]}";
}

struct fixture : ::testing::Test {
  scope_id scope{"p1", "all_granted_eps", ""};
  diff_options opts;
  scope_state state;
  std::uint64_t seq = 0;

  // As the walker decodes: told the snapshot, so unchanged jobs come back
  // as snapshot entries (`with_snapshot` false: every job decoded whole).
  decoded_page decode(const std::string& body, bool with_snapshot = true) {
    page_decoder dec(jobs_resource(), opts.ignore_fields);
    const known_job_fn known = [this](const job_key_view& key, const job_digest& d) -> const job_digest* {
      auto it = state.jobs.find(key);
      return it != state.jobs.end() && it->second == d ? &it->second : nullptr;
    };
    decoded_page page;
    std::string err;
    EXPECT_TRUE(dec.decode(body, page, err, with_snapshot ? &known : nullptr)) << err;
    return page;
  }

  // What the state store holds beside the snapshot: the bodies.
  std::map<job_key, std::string> bodies;
  stored_body_fn stored_body = [this](const job_key& key) -> std::optional<std::string> {
    auto it = bodies.find(key);
    return it == bodies.end() ? std::nullopt : std::optional<std::string>(it->second);
  };

  std::vector<change_event> walk(const std::vector<std::string>& jobs, bool complete = true,
                                 bool with_snapshot = true) {
    auto page = decode(page_json(jobs), with_snapshot);
    walk_observation obs{complete, page.jobs, page.total_num, page.last_update_time, page.unchanged};
    auto out = diff_scope(scope, state, obs, opts, 1'764'326'400'123, stored_body);
    EXPECT_EQ(out.error, "");
    for (auto& e : out.events) e.seq = ++seq;
    apply(state, out.delta);
    for (const auto& j : out.delta.upserts) bodies[j.key] = j.record.body;
    for (const auto& k : out.delta.deletions) bodies.erase(k);
    return out.events;
  }
};

TEST_F(fixture, decoder_sorts_labels_keeps_unknown_fields_and_checks_types) {
  auto page = decode(page_json({job_json("a", "Running", 1, R"([{"key":"z","val":"1"},{"key":"a","val":"9"},{"key":"a","val":"2"}])", R"(,"future_field":{"x":[1,2]})")}));
  ASSERT_EQ(page.jobs.size(), 1u);
  auto v = json::parse(page.jobs[0].record.body).as_object();
  EXPECT_EQ(json::serialize(v["match_labels"]),
            R"([{"key":"a","val":"2"},{"key":"a","val":"9"},{"key":"z","val":"1"}])");
  EXPECT_EQ(json::serialize(v["future_field"]), R"({"x":[1,2]})");
  EXPECT_EQ(page.jobs[0].record.create_time, 1);
  EXPECT_EQ(page.last_update_time, 77);
}

TEST_F(fixture, decoder_rejects_missing_keys_and_wrong_types) {
  auto page = decode(page_json({R"({"cluster_name":"c","namespace_name":"n"})",
                                R"({"cluster_name":"c","namespace_name":"n","name":"x","pods_num":"3"})",
                                R"({"cluster_name":"c","namespace_name":"n","name":"y","create_time":1.5})",
                                R"({"cluster_name":"c","namespace_name":"n","name":"z","match_labels":[{"key":1}]})",
                                R"("not an object")", job_json("ok")}));
  EXPECT_EQ(page.rejected, 5u);
  ASSERT_EQ(page.jobs.size(), 1u);
  EXPECT_EQ(page.jobs[0].key.name, "ok");
  EXPECT_NE(page.reject_reason.find("name"), std::string::npos);
}

TEST_F(fixture, decoder_refuses_non_pages) {
  page_decoder dec(jobs_resource(), {});
  decoded_page page;
  std::string err;
  for (const std::string& body : std::vector<std::string>{"", "[]", "{\"job_info_list\":[]}", "{\"total_num\":\"3\"}",
                           "{\"total_num\":1,\"job_info_list\":{}}", "{\"total_num\":-1}",
                           std::string(100, '[') + std::string(100, ']')}) {
    EXPECT_FALSE(dec.decode(body, page, err)) << body;
    EXPECT_FALSE(err.empty());
  }
}

TEST_F(fixture, baseline_emits_one_added_per_job_then_nothing) {
  auto ev = walk({job_json("a"), job_json("b")});
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, event_type::added);
  EXPECT_TRUE(state.meta.has_baseline);
  EXPECT_TRUE(walk({job_json("b"), job_json("a")}).empty());
}

TEST_F(fixture, baseline_without_events) {
  opts.baseline_events = false;
  EXPECT_TRUE(walk({job_json("a")}).empty());
  EXPECT_EQ(state.jobs.size(), 1u);
  EXPECT_EQ(walk({job_json("a"), job_json("b")}).size(), 1u);
}

TEST_F(fixture, incomplete_first_walk_is_not_a_baseline) {
  EXPECT_TRUE(walk({job_json("a")}, false).empty());
  EXPECT_FALSE(state.meta.has_baseline);
}

TEST_F(fixture, label_order_is_not_a_change_but_values_are) {
  walk({job_json("a")});
  EXPECT_TRUE(walk({job_json("a", "Running", 1000, R"([{"key":"a","val":"1"},{"key":"b","val":"2"}])")}).empty());
  auto ev = walk({job_json("a", "Failed", 1000, R"([{"key":"a","val":"1"},{"key":"b","val":"3"}])")});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, event_type::modified);
  EXPECT_EQ(ev[0].changed, (std::vector<std::string>{"match_labels", "status"}));
  auto line = json::parse(to_json_line(ev[0])).as_object();
  EXPECT_EQ(line["previous"].as_object()["status"], "Running");
  EXPECT_EQ(line["job"].as_object()["status"], "Failed");
}

TEST_F(fixture, create_time_change_is_replaced) {
  walk({job_json("a")});
  auto ev = walk({job_json("a", "Running", 2000)});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, event_type::replaced);
  EXPECT_EQ(ev[0].changed, (std::vector<std::string>{"create_time"}));
}

TEST_F(fixture, ignored_fields_alone_emit_nothing_but_are_listed_when_an_event_happens) {
  opts.ignore_fields = {"execute_time", "pods_num"};
  walk({job_json("a")});
  std::string j = job_json("a");
  j.replace(j.find("\"execute_time\":5"), 16, "\"execute_time\":9");
  EXPECT_TRUE(walk({j}).empty());
  std::string k = job_json("a", "Failed");
  k.replace(k.find("\"execute_time\":5"), 16, "\"execute_time\":9");
  auto ev = walk({k});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].changed, (std::vector<std::string>{"execute_time", "status"}));
}

TEST_F(fixture, removals_only_from_complete_walks) {
  walk({job_json("a"), job_json("b")});
  EXPECT_TRUE(walk({job_json("a")}, false).empty());
  auto ev = walk({job_json("a")});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, event_type::removed);
  EXPECT_EQ(ev[0].key.name, "b");
  auto line = json::parse(to_json_line(ev[0])).as_object();
  EXPECT_FALSE(line.contains("job"));
  EXPECT_FALSE(line.contains("changed"));
  EXPECT_EQ(line["previous"].as_object()["name"], "b");
}

TEST_F(fixture, removal_confirmations) {
  opts.removal_confirmations = 2;
  walk({job_json("a"), job_json("b"), job_json("c")});
  EXPECT_TRUE(walk({job_json("a"), job_json("c")}).empty());
  EXPECT_EQ(state.pending.size(), 1u);
  EXPECT_TRUE(walk({job_json("a"), job_json("b"), job_json("c")}).empty());  // back: reset
  EXPECT_TRUE(state.pending.empty());
  EXPECT_TRUE(walk({job_json("a")}).empty());
  auto ev = walk({job_json("a")});
  EXPECT_EQ(ev.size(), 2u);
}

TEST_F(fixture, removal_guard_holds_then_releases_on_confirmation) {
  std::vector<std::string> all;
  for (int i = 0; i < 20; ++i) all.push_back(job_json("j" + std::to_string(i)));
  walk(all);
  std::vector<std::string> few(all.begin(), all.begin() + 5);
  EXPECT_TRUE(walk(few).empty());  // 15 of 20 missing: held
  EXPECT_EQ(state.jobs.size(), 20u);
  auto ev = walk(few);  // confirmed
  EXPECT_EQ(ev.size(), 15u);
  EXPECT_EQ(state.jobs.size(), 5u);
}

TEST_F(fixture, removal_guard_glitch_then_recovery_emits_nothing) {
  std::vector<std::string> all;
  for (int i = 0; i < 20; ++i) all.push_back(job_json("j" + std::to_string(i)));
  walk(all);
  EXPECT_TRUE(walk({}).empty());
  EXPECT_TRUE(walk(all).empty());
  EXPECT_TRUE(state.pending.empty());
}

// The snapshot in memory holds digests; the bodies an event needs come
// from the store. One that cannot be read fails the whole diff: no event,
// nothing to commit (the daemon retries with the next walk).
TEST_F(fixture, unreadable_stored_body_fails_the_diff_and_releases_nothing) {
  walk({job_json("a"), job_json("b"), job_json("c")});
  bodies.erase(job_key{"c1", "ns", "b"});
  auto page = decode(page_json({job_json("a"), job_json("b", "Succeeded"), job_json("c")}));
  walk_observation obs{true, page.jobs, page.total_num, page.last_update_time, page.unchanged};
  auto out = diff_scope(scope, state, obs, opts, 1, stored_body);
  EXPECT_EQ(out.error, "the stored body of job c1/ns/b cannot be read");
  EXPECT_TRUE(out.events.empty());
  EXPECT_TRUE(out.delta.upserts.empty());
  // Unchanged jobs need no body at all; a removal does.
  page = decode(page_json({job_json("a"), job_json("b")}));
  obs = walk_observation{true, page.jobs, page.total_num, page.last_update_time, page.unchanged};
  out = diff_scope(scope, state, obs, opts, 1, stored_body);
  EXPECT_EQ(out.error, "");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].type, event_type::removed);
  bodies.clear();
  out = diff_scope(scope, state, obs, opts, 1, stored_body);
  EXPECT_EQ(out.error, "the stored body of job c1/ns/c cannot be read");
  EXPECT_TRUE(out.events.empty());
}

// The same walks give the same events whether the decoder was told the
// snapshot (unchanged jobs arrive as snapshot entries) or not (every job
// decoded whole and compared by the differ): removals, pending removals
// cleared by a job seen again, modifications.
TEST_F(fixture, unchanged_as_snapshot_entries_or_whole_jobs_diff_alike) {
  auto run = [&](bool with_snapshot) {
    state = scope_state{};
    bodies.clear();
    seq = 0;
    opts.removal_confirmations = 2;
    std::vector<std::string> out;
    std::vector<std::string> jobs;
    for (int i = 0; i < 12; ++i) jobs.push_back(job_json("j" + std::to_string(i)));
    walk(jobs, true, with_snapshot);
    auto some = jobs;
    some.erase(some.begin() + 3, some.begin() + 5);   // j3, j4 missing once: pending
    some[0] = job_json("j0", "Failed");                // modified
    for (auto& e : walk(some, true, with_snapshot)) out.push_back(to_json_line(e));
    out.push_back("pending " + std::to_string(state.pending.size()));
    auto back = jobs;
    back[0] = job_json("j0", "Failed");
    back.erase(back.begin() + 4);                      // j3 back (unchanged), j4 still missing
    for (auto& e : walk(back, true, with_snapshot)) out.push_back(to_json_line(e));
    out.push_back("pending " + std::to_string(state.pending.size()));
    return out;
  };
  const auto told = run(true);
  const auto whole = run(false);
  EXPECT_EQ(told, whole);
  ASSERT_EQ(told.size(), 4u);
  EXPECT_NE(told[0].find(R"("type":"modified")"), std::string::npos) << told[0];
  EXPECT_EQ(told[1], "pending 2");
  EXPECT_NE(told[2].find(R"("type":"removed")"), std::string::npos) << told[2];
  EXPECT_NE(told[2].find(R"("name":"j4")"), std::string::npos) << told[2];
  EXPECT_EQ(told[3], "pending 0");
}

TEST_F(fixture, event_line_matches_spec_shape) {
  auto ev = walk({job_json("a")});
  ASSERT_EQ(ev.size(), 1u);
  auto line = to_json_line(ev[0]);
  EXPECT_EQ(line.rfind(R"({"v":1,"seq":1,"type":"added","time":"2025-11-28T10:40:00.123Z","scope":{"project_id":"p1","enterprise_project_id":"all_granted_eps"},"key":{"cluster":"c1","namespace":"ns","name":"a"},"job":{)", 0), 0u) << line;
  EXPECT_EQ(line.find("previous"), std::string::npos);
}

}  // namespace
}  // namespace hssjw
