// The decoder and the differ together: pages as HSS sends them in, events
// and deltas out (SPEC §3, §4).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <limits>
#include <map>
#include <optional>

#include "hss/page_decoder.hpp"
#include "walk/differ.hpp"

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

struct diff_fixture : ::testing::Test {
  scope_id scope{"p1", "all_granted_eps", ""};
  diff_options opts;
  scope_state state;
  std::uint64_t seq = 0;

  // As the walker decodes: told the snapshot, so unchanged jobs are only
  // marked in it (`with_snapshot` false: every job decoded whole).
  std::uint32_t walk_number = 0;
  std::size_t marked = 0;
  decoded_page decode(const std::string& body, bool with_snapshot = true) {
    page_decoder dec(jobs_resource(), opts.ignore_fields);
    walk_number = state.begin_walk();
    marked = 0;
    const known_job_fn known = [this](std::uint64_t key_hash, const job_digest& d) {
      return mark_if_unchanged(state, walk_number, key_hash, d, marked);
    };
    decoded_page page;
    auto decoded = dec.decode(body, page, with_snapshot ? &known : nullptr);
    EXPECT_TRUE(decoded) << (decoded ? std::string() : decoded.error().message());
    return page;
  }
  walk_observation observe(const std::string& body, bool complete = true,
                           bool with_snapshot = true) {
    auto page = decode(body, with_snapshot);
    return {complete, page.jobs, page.total_num, page.last_update_time, walk_number, marked};
  }

  // What the state store holds beside the snapshot: keys and bodies, by
  // key hash.
  std::map<std::uint64_t, stored_job> stored;
  stored_job_fn stored_fn = [this](std::uint64_t key_hash,
                                   bool with_body) -> std::optional<stored_job> {
    auto it = stored.find(key_hash);
    if (it == stored.end()) return std::nullopt;
    return stored_job{it->second.key, with_body ? it->second.body : std::string()};
  };

  std::vector<change_event> walk(const std::vector<std::string>& jobs, bool complete = true,
                                 bool with_snapshot = true) {
    auto obs = observe(page_json(jobs), complete, with_snapshot);
    auto out = diff_scope(scope, state, obs, opts, 1'764'326'400'123, stored_fn);
    EXPECT_EQ(out.error, "");
    for (auto& e : out.events) e.seq = ++seq;
    apply(state, out.delta);
    for (const auto& j : out.delta.upserts) stored[key_hash_of(j.key)] = {j.key, j.record.body};
    for (const auto& k : out.delta.deletions) stored.erase(key_hash_of(k));
    return out.events;
  }
};

TEST_F(diff_fixture, decoder_sorts_labels_keeps_unknown_fields_and_checks_types) {
  auto page = decode(page_json({job_json(
      "a", "Running", 1, R"([{"key":"z","val":"1"},{"key":"a","val":"9"},{"key":"a","val":"2"}])",
      R"(,"future_field":{"x":[1,2]})")}));
  ASSERT_EQ(page.jobs.size(), 1u);
  auto v = json::parse(page.jobs[0].record.body).as_object();
  EXPECT_EQ(json::serialize(v["match_labels"]),
            R"([{"key":"a","val":"2"},{"key":"a","val":"9"},{"key":"z","val":"1"}])");
  EXPECT_EQ(json::serialize(v["future_field"]), R"({"x":[1,2]})");
  EXPECT_EQ(page.jobs[0].record.create_time, 1);
  EXPECT_EQ(page.last_update_time, 77);
}

TEST_F(diff_fixture, decoder_rejects_missing_keys_and_wrong_types) {
  auto page = decode(page_json(
      {R"({"cluster_name":"c","namespace_name":"n"})",
       R"({"cluster_name":"c","namespace_name":"n","name":"x","pods_num":"3"})",
       R"({"cluster_name":"c","namespace_name":"n","name":"y","create_time":1.5})",
       R"({"cluster_name":"c","namespace_name":"n","name":"z","match_labels":[{"key":1}]})",
       R"("not an object")", job_json("ok")}));
  EXPECT_EQ(page.rejected, 5u);
  ASSERT_EQ(page.jobs.size(), 1u);
  EXPECT_EQ(page.jobs[0].key.name, "ok");
  EXPECT_NE(page.reject_reason.find("name"), std::string::npos);
}

TEST_F(diff_fixture, decoder_refuses_non_pages) {
  page_decoder dec(jobs_resource(), {});
  decoded_page page;
  for (const std::string& body :
       std::vector<std::string>{"", "[]", "{\"job_info_list\":[]}", "{\"total_num\":\"3\"}",
                                "{\"total_num\":1,\"job_info_list\":{}}", "{\"total_num\":-1}",
                                std::string(100, '[') + std::string(100, ']')}) {
    auto decoded = dec.decode(body, page);
    ASSERT_FALSE(decoded) << body;
    EXPECT_FALSE(decoded.error().message().empty());
  }
}

TEST_F(diff_fixture, baseline_emits_one_added_per_job_then_nothing) {
  auto ev = walk({job_json("a"), job_json("b")});
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, event_type::added);
  EXPECT_TRUE(state.meta.has_baseline);
  EXPECT_TRUE(walk({job_json("b"), job_json("a")}).empty());
}

TEST_F(diff_fixture, baseline_without_events) {
  opts.baseline_events = false;
  EXPECT_TRUE(walk({job_json("a")}).empty());
  EXPECT_EQ(state.jobs.size(), 1u);
  EXPECT_EQ(walk({job_json("a"), job_json("b")}).size(), 1u);
}

TEST_F(diff_fixture, incomplete_first_walk_is_not_a_baseline) {
  EXPECT_TRUE(walk({job_json("a")}, false).empty());
  EXPECT_FALSE(state.meta.has_baseline);
}

TEST_F(diff_fixture, label_order_is_not_a_change_but_values_are) {
  walk({job_json("a")});
  EXPECT_TRUE(
      walk({job_json("a", "Running", 1000, R"([{"key":"a","val":"1"},{"key":"b","val":"2"}])")})
          .empty());
  auto ev =
      walk({job_json("a", "Failed", 1000, R"([{"key":"a","val":"1"},{"key":"b","val":"3"}])")});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, event_type::modified);
  EXPECT_EQ(ev[0].changed, (std::vector<std::string>{"match_labels", "status"}));
  auto line = json::parse(to_json_line(ev[0])).as_object();
  EXPECT_EQ(line["previous"].as_object()["status"], "Running");
  EXPECT_EQ(line["job"].as_object()["status"], "Failed");
}

TEST_F(diff_fixture, create_time_change_is_replaced) {
  walk({job_json("a")});
  auto ev = walk({job_json("a", "Running", 2000)});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, event_type::replaced);
  EXPECT_EQ(ev[0].changed, (std::vector<std::string>{"create_time"}));
}

TEST_F(diff_fixture, ignored_fields_alone_emit_nothing_but_are_listed_when_an_event_happens) {
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

TEST_F(diff_fixture, removals_only_from_complete_walks) {
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

TEST_F(diff_fixture, removal_confirmations) {
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

TEST_F(diff_fixture, removal_guard_holds_then_releases_on_confirmation) {
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

TEST_F(diff_fixture, removal_guard_glitch_then_recovery_emits_nothing) {
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
TEST_F(diff_fixture, unreadable_stored_body_fails_the_diff_and_releases_nothing) {
  walk({job_json("a"), job_json("b"), job_json("c")});
  stored.erase(key_hash_of(job_key{"c1", "ns", "b"}));
  auto obs = observe(page_json({job_json("a"), job_json("b", "Succeeded"), job_json("c")}));
  auto out = diff_scope(scope, state, obs, opts, 1, stored_fn);
  EXPECT_EQ(out.error, "the stored body of job c1/ns/b cannot be read");
  EXPECT_TRUE(out.events.empty());
  EXPECT_TRUE(out.delta.upserts.empty());
  // Unchanged jobs need nothing from the store; a removal needs its key
  // and body (the snapshot has only the key hash).
  obs = observe(page_json({job_json("a"), job_json("b")}));
  out = diff_scope(scope, state, obs, opts, 1, stored_fn);
  EXPECT_EQ(out.error, "");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].type, event_type::removed);
  EXPECT_EQ(out.events[0].key.name, "c");
  stored.clear();
  out = diff_scope(scope, state, obs, opts, 1, stored_fn);
  EXPECT_EQ(out.error.rfind("the stored job with key hash 0x", 0), 0u) << out.error;
  EXPECT_TRUE(out.events.empty());
  EXPECT_TRUE(out.delta.deletions.empty());
}

// Two keys sharing a key hash are never taken for one job: the stored job
// under the hash names another key, so the diff fails, names both, and
// nothing is committed (docs/STATE.md "Key hashes").
TEST_F(diff_fixture, key_hash_collision_fails_the_diff_naming_both_keys) {
  walk({job_json("a"), job_json("b")});
  // The store says b's hash belongs to another job (as if the two collided).
  stored[key_hash_of(job_key{"c1", "ns", "b"})].key = job_key{"c1", "ns", "other"};
  auto obs = observe(page_json({job_json("a"), job_json("b", "Failed")}));
  auto out = diff_scope(scope, state, obs, opts, 1, stored_fn);
  EXPECT_NE(out.error.find(
                "key hash collision: job c1/ns/b and the stored job c1/ns/other share key hash 0x"),
            std::string::npos)
      << out.error;
  EXPECT_TRUE(out.events.empty());
  EXPECT_TRUE(out.delta.upserts.empty());
}

// Walk numbers mark what a walk saw: marks of an earlier walk mean nothing
// to a later one, so a job seen in walk 1 and missing from walk 2 is removed.
TEST_F(diff_fixture, marks_of_an_earlier_walk_do_not_count_as_seen) {
  walk({job_json("a"), job_json("b"), job_json("c")});
  walk({job_json("a"), job_json("b"), job_json("c")});  // all three marked by this walk
  auto ev = walk({job_json("a"), job_json("c")});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, event_type::removed);
  EXPECT_EQ(ev[0].key.name, "b");
  // A walk number wrapping around clears every mark first.
  state.walk_number = std::numeric_limits<std::uint32_t>::max();
  for (auto& [hash, d] : state.jobs) d.seen_in_walk = 1;  // would match the wrapped number
  ev = walk({job_json("a")});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].key.name, "c");
  EXPECT_EQ(state.walk_number, 1u);
}

// The same walks give the same events whether the decoder was told the
// snapshot (unchanged jobs arrive as snapshot entries) or not (every job
// decoded whole and compared by the differ): removals, pending removals
// cleared by a job seen again, modifications.
TEST_F(diff_fixture, unchanged_as_snapshot_entries_or_whole_jobs_diff_alike) {
  auto run = [&](bool with_snapshot) {
    state = scope_state{};
    stored.clear();
    seq = 0;
    opts.removal_confirmations = 2;
    std::vector<std::string> out;
    std::vector<std::string> jobs;
    for (int i = 0; i < 12; ++i) jobs.push_back(job_json("j" + std::to_string(i)));
    walk(jobs, true, with_snapshot);
    auto some = jobs;
    some.erase(some.begin() + 3, some.begin() + 5);  // j3, j4 missing once: pending
    some[0] = job_json("j0", "Failed");              // modified
    for (auto& e : walk(some, true, with_snapshot)) out.push_back(to_json_line(e));
    out.push_back("pending " + std::to_string(state.pending.size()));
    auto back = jobs;
    back[0] = job_json("j0", "Failed");
    back.erase(back.begin() + 4);  // j3 back (unchanged), j4 still missing
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

TEST_F(diff_fixture, event_line_matches_spec_shape) {
  auto ev = walk({job_json("a")});
  ASSERT_EQ(ev.size(), 1u);
  auto line = to_json_line(ev[0]);
  EXPECT_EQ(
      line.rfind(
          R"({"v":1,"seq":1,"type":"added","time":"2025-11-28T10:40:00.123Z","scope":{"project_id":"p1","enterprise_project_id":"all_granted_eps"},"key":{"cluster":"c1","namespace":"ns","name":"a"},"job":{)",
          0),
      0u)
      << line;
  EXPECT_EQ(line.find("previous"), std::string::npos);
}

}  // namespace
}  // namespace hssjw
