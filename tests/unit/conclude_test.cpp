// conclude_walk (lib/walk/conclude.hpp) step by step, with the memory
// store: what a walk commits, releases and logs, and what it must leave
// alone when it fails.
#include "walk/conclude.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "unit/flaky_store.hpp"

namespace hssjw {
namespace {

struct listed {
  std::string name;
  std::string status = "Running";
};

struct conclude : ::testing::Test {
  scope_id scope{"p1", "all_granted_eps", ""};
  test_support::flaky_store store;
  scope_state snapshot;
  diff_options opts;
  std::vector<walk_note> notes;
  const note_fn log = [this](const walk_note& n) { notes.push_back(n); };

  static keyed_job job(const listed& j) {
    keyed_job k;
    k.key = {"c1", "ns", j.name};
    k.record.create_time = 1000;
    k.record.body = R"({"cluster_name":"c1","namespace_name":"ns","name":")" + j.name +
                    R"(","status":")" + j.status + R"(","create_time":1000})";
    k.record.fingerprint = std::hash<std::string>{}(j.status);
    return k;
  }

  // What the walker reports after listing `jobs`: those the snapshot has
  // exactly so are only marked in it, as the walker's decoder does.
  walk_outcome walked(walk_status status, const std::vector<listed>& jobs) {
    walk_outcome o;
    o.status = status;
    o.requests = 1;
    o.reason = status == walk_status::incomplete ? "the listing shifted" : "";
    o.observation.complete = status == walk_status::complete;
    o.observation.total_num = static_cast<std::int64_t>(jobs.size());
    o.observation.walk_number = snapshot.begin_walk();
    for (const auto& j : jobs) {
      auto k = job(j);
      if (!mark_if_unchanged(snapshot, o.observation.walk_number, key_hash_of(k),
                             digest_of(k.record), o.observation.unchanged))
        o.observation.jobs.push_back(std::move(k));
    }
    return o;
  }

  walk_outcome failed_walk(std::string reason) {
    walk_outcome o;
    o.status = walk_status::failed;
    o.requests = 3;
    o.reason = std::move(reason);
    o.api = api_error{503, "SYS.0503", "busy", "req-1"};
    return o;
  }

  walk_conclusion run(walk_outcome o, bool failing = false) {
    notes.clear();
    return conclude_walk(store, scope, snapshot, std::move(o), opts, 1'764'326'400'123, failing,
                         log);
  }

  walk_conclusion baseline(const std::vector<listed>& jobs) {
    auto c = run(walked(walk_status::complete, jobs));
    EXPECT_TRUE(c.released && c.released->baseline);
    return c;
  }

  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& n : notes) out.push_back(n.text);
    return out;
  }
};

std::vector<std::string> types(const std::vector<change_event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(std::string(to_string(e.type)) + " " + e.key.name);
  return out;
}

TEST_F(conclude, a_complete_first_walk_commits_the_baseline_and_releases_it_with_seqs) {
  auto c = run(walked(walk_status::complete, {{"a"}, {"b"}}));
  EXPECT_EQ(c.status, std::string("complete"));
  EXPECT_FALSE(c.failed());
  EXPECT_TRUE(c.complete);
  ASSERT_TRUE(c.released);
  EXPECT_TRUE(c.released->baseline);
  EXPECT_FALSE(c.released->quiet());
  ASSERT_EQ(c.released->events.size(), 2u);
  EXPECT_EQ(c.released->events[0].seq, 1u);
  EXPECT_EQ(c.released->events[1].seq, 2u);
  EXPECT_EQ(store.last_seq(), 2u);
  EXPECT_EQ(snapshot.jobs.size(), 2u);
  EXPECT_TRUE(snapshot.meta.has_baseline);
  EXPECT_EQ(texts(),
            std::vector<std::string>{
                "scope p1/all_granted_eps: walk complete (2 jobs, 1 requests, 0 repairs)"});
  EXPECT_EQ(notes[0].level, note_level::debug);
}

TEST_F(conclude, an_incomplete_walk_never_baselines) {
  auto c = run(walked(walk_status::incomplete, {{"a"}, {"b"}}));
  EXPECT_EQ(c.status, std::string("incomplete"));
  EXPECT_FALSE(c.failed());
  EXPECT_FALSE(c.complete);
  EXPECT_FALSE(c.released);  // nothing to commit, nothing to release
  EXPECT_EQ(store.last_seq(), 0u);
  EXPECT_TRUE(snapshot.jobs.empty());
  EXPECT_FALSE(snapshot.meta.has_baseline);
  EXPECT_EQ(texts(), (std::vector<std::string>{
                         "scope p1/all_granted_eps: walk incomplete after 1 requests (the listing "
                         "shifted); no removals inferred",
                         "scope p1/all_granted_eps: walk incomplete (the listing shifted); the "
                         "baseline waits for a complete walk"}));
  EXPECT_EQ(notes[0].level, note_level::warn);
  EXPECT_EQ(notes[1].level, note_level::info);

  // The next complete walk is the baseline.
  auto next = run(walked(walk_status::complete, {{"a"}, {"b"}}));
  ASSERT_TRUE(next.released);
  EXPECT_TRUE(next.released->baseline);
  EXPECT_EQ(next.released->events.size(), 2u);
}

TEST_F(conclude, an_incomplete_walk_after_the_baseline_commits_changes_but_infers_no_removal) {
  baseline({{"a"}, {"b"}});
  auto c = run(walked(walk_status::incomplete, {{"a", "Failed"}}));
  EXPECT_EQ(c.status, std::string("incomplete"));
  EXPECT_FALSE(c.complete);
  ASSERT_TRUE(c.released);
  EXPECT_FALSE(c.released->baseline);
  EXPECT_EQ(types(c.released->events), std::vector<std::string>{"modified a"});
  EXPECT_EQ(c.released->events[0].seq, 3u);
  EXPECT_EQ(snapshot.jobs.size(), 2u);  // b stays
}

TEST_F(conclude, a_failed_walk_concludes_nothing_and_warns_only_when_the_scope_was_healthy) {
  baseline({{"a"}});
  const auto before = snapshot.meta;
  auto c = run(failed_walk("HTTP 503 SYS.0503: busy"));
  EXPECT_EQ(c.status, std::string("failed"));
  EXPECT_EQ(c.error, "HTTP 503 SYS.0503: busy");
  EXPECT_FALSE(c.complete);
  EXPECT_FALSE(c.released);
  EXPECT_EQ(snapshot.meta, before);
  EXPECT_EQ(store.last_seq(), 1u);
  EXPECT_EQ(texts(), (std::vector<std::string>{
                         "scope p1/all_granted_eps: walk failed after 3 requests: HTTP 503 "
                         "SYS.0503: busy",
                         "scope p1/all_granted_eps: walk failed: HTTP 503 SYS.0503: busy"}));
  EXPECT_EQ(notes[0].level, note_level::debug);
  EXPECT_EQ(notes[1].level, note_level::warn);
  for (const auto& n : notes) {
    EXPECT_TRUE(n.failure_fields);
    ASSERT_TRUE(n.api);
    EXPECT_EQ(n.api->request_id, "req-1");
  }

  // Failing already: the warning is not repeated.
  run(failed_walk("HTTP 503 SYS.0503: busy"), true);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].level, note_level::debug);
}

TEST_F(conclude, a_failed_commit_releases_nothing_and_keeps_the_snapshot) {
  baseline({{"a"}, {"b"}});
  const auto jobs_before = snapshot.jobs;
  const auto meta_before = snapshot.meta;
  store.fail_commit = true;
  auto c = run(walked(walk_status::complete, {{"a", "Failed"}, {"c"}}));
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(c.status, std::string("failed"));
  EXPECT_FALSE(c.complete);
  EXPECT_EQ(c.error, "state: could not commit the walk (" +
                         make_error_code(errc::state_io).message() + ": disk I/O error)");
  EXPECT_FALSE(c.released);
  EXPECT_EQ(store.last_seq(), 2u);  // no seq consumed
  EXPECT_EQ(snapshot.meta, meta_before);
  ASSERT_EQ(snapshot.jobs.size(), jobs_before.size());
  for (const auto& [hash, digest] : jobs_before) {
    ASSERT_TRUE(snapshot.jobs.contains(hash));
    EXPECT_EQ(snapshot.jobs.at(hash), digest);
  }
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[1].level, note_level::error);
  EXPECT_TRUE(notes[1].failure_fields);
  EXPECT_FALSE(notes[1].api);
  EXPECT_EQ(notes[1].text, "scope p1/all_granted_eps: walk failed: " + c.error +
                               "; state kept, nothing released, retrying next walk");

  // The next walk sees the same changes against the kept snapshot.
  store.fail_commit = false;
  auto next = run(walked(walk_status::complete, {{"a", "Failed"}, {"c"}}));
  ASSERT_TRUE(next.released);
  EXPECT_EQ(types(next.released->events),
            (std::vector<std::string>{"modified a", "added c", "removed b"}));
  EXPECT_EQ(next.released->events.front().seq, 3u);
}

TEST_F(conclude, a_stored_job_that_cannot_be_read_fails_the_walk_before_any_commit) {
  baseline({{"a"}, {"b"}});
  store.fail_reads = true;
  auto c = run(walked(walk_status::complete, {{"a", "Failed"}, {"b"}}));
  EXPECT_TRUE(c.failed());
  EXPECT_EQ(c.status, std::string("failed"));
  EXPECT_EQ(c.error.rfind("state: ", 0), 0u);
  EXPECT_NE(c.error.find("(disk I/O error)"), std::string::npos);
  EXPECT_FALSE(c.released);
  EXPECT_EQ(store.last_seq(), 2u);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[1].level, note_level::error);
  EXPECT_TRUE(notes[1].failure_fields);
  EXPECT_EQ(notes[1].text, "scope p1/all_granted_eps: walk failed: " + c.error +
                               "; nothing committed or released, retrying next walk");
}

TEST_F(conclude, an_unchanged_walk_bumps_walks_since_full_and_a_complete_one_resets_it) {
  baseline({{"a"}});
  EXPECT_EQ(snapshot.meta.walks_since_full, 0u);
  for (std::uint32_t n = 1; n <= 2; ++n) {
    auto c = run(walked(walk_status::unchanged, {}));
    EXPECT_EQ(c.status, std::string("unchanged"));
    EXPECT_TRUE(c.complete);
    ASSERT_TRUE(c.released);
    EXPECT_TRUE(c.released->quiet());  // the sinks hear nothing
    EXPECT_EQ(snapshot.meta.walks_since_full, n);
    EXPECT_EQ(texts(),
              std::vector<std::string>{
                  "scope p1/all_granted_eps: walk unchanged (0 jobs, 1 requests, 0 repairs)"});
  }
  auto c = run(walked(walk_status::complete, {{"a"}}));
  ASSERT_TRUE(c.released);
  EXPECT_TRUE(c.released->quiet());
  EXPECT_EQ(snapshot.meta.walks_since_full, 0u);
  EXPECT_EQ(store.last_seq(), 1u);
}

TEST_F(conclude, the_removal_guard_holds_mass_removals_and_says_so_at_release) {
  std::vector<listed> ten;
  for (char n = 'a'; n <= 'j'; ++n) ten.push_back({std::string(1, n)});
  baseline(ten);
  auto c = run(walked(walk_status::complete, {{"a"}, {"b"}, {"c"}, {"d"}}));
  ASSERT_TRUE(c.released);
  EXPECT_EQ(c.released->held_removals, 6u);
  EXPECT_TRUE(c.released->events.empty());
  EXPECT_EQ(snapshot.jobs.size(), 10u);
  ASSERT_EQ(c.released->notes.size(), 1u);
  EXPECT_EQ(c.released->notes[0].level, note_level::warn);
  EXPECT_EQ(c.released->notes[0].text,
            "scope p1/all_granted_eps: removal guard holds 6 removals (more than 50% of 10 jobs); "
            "they are emitted only if the next complete walk confirms them");

  // Confirmed by the next complete walk: released, and nothing held.
  auto next = run(walked(walk_status::complete, {{"a"}, {"b"}, {"c"}, {"d"}}));
  ASSERT_TRUE(next.released);
  EXPECT_EQ(next.released->held_removals, 0u);
  EXPECT_TRUE(next.released->notes.empty());
  EXPECT_EQ(next.released->events.size(), 6u);
  EXPECT_EQ(snapshot.jobs.size(), 4u);
}

TEST_F(conclude, a_baseline_without_events_still_reaches_the_sinks) {
  opts.baseline_events = false;
  auto c = run(walked(walk_status::complete, {{"a"}, {"b"}}));
  ASSERT_TRUE(c.released);
  EXPECT_TRUE(c.released->baseline);
  EXPECT_TRUE(c.released->events.empty());
  EXPECT_FALSE(c.released->quiet());
  EXPECT_EQ(snapshot.jobs.size(), 2u);

  auto next = run(walked(walk_status::complete, {{"a"}, {"b"}, {"c"}}));
  ASSERT_TRUE(next.released);
  EXPECT_FALSE(next.released->baseline);
  EXPECT_EQ(types(next.released->events), std::vector<std::string>{"added c"});
}

TEST(conclude_status, names_every_walk_status) {
  EXPECT_STREQ(status_name(walk_status::complete), "complete");
  EXPECT_STREQ(status_name(walk_status::incomplete), "incomplete");
  EXPECT_STREQ(status_name(walk_status::unchanged), "unchanged");
  EXPECT_STREQ(status_name(walk_status::failed), "failed");
}

}  // namespace
}  // namespace hssjw
