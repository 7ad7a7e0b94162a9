// walk_runner::record and write (lib/runtime/walk_runner.hpp): what the
// daemon does with a concluded walk, in order: the walk's status first
// (a sink hears a change of it once), then the release; nothing reaches
// a sink from a walk that did not commit. A recording sink and a
// recording log write into one journal, so the order is checked too.
#include "runtime/walk_runner.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <string>
#include <vector>

#include "logging/log_fields.hpp"
#include "metrics/daemon_metrics.hpp"
#include "sinks/sink.hpp"
#include "state/store.hpp"
#include "unit/flaky_store.hpp"

namespace hssjw {
namespace {

using journal = std::vector<std::string>;

// Every record as "<level> <message>", and the MESSAGE_ID it carries.
class recording_log final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit recording_log(journal& j) : journal_(j) {}
  std::vector<std::string> message_ids;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    journal_.push_back(std::string(spdlog::level::to_string_view(msg.level).data()) + " " +
                       std::string(msg.payload.data(), msg.payload.size()));
    std::string id;
    for (const auto& [k, v] : current_log_fields())
      if (k == "MESSAGE_ID") id = v;
    message_ids.push_back(id);
  }
  void flush_() override {}

 private:
  journal& journal_;
};

class recording_sink final : public event_sink {
 public:
  explicit recording_sink(journal& j) : journal_(j) {}
  void on_events(const scope_id& scope, const std::vector<change_event>& events,
                 bool baseline) override {
    journal_.push_back("events " + scope.str() + " " + std::to_string(events.size()) +
                       (baseline ? " baseline" : ""));
  }
  void on_scope_status(const scope_id& scope, bool failing, const std::string& error) override {
    journal_.push_back("status " + scope.str() + (failing ? " failing: " + error : " ok"));
  }

 private:
  journal& journal_;
};

struct walk_runner_record : ::testing::Test {
  journal seen;
  std::shared_ptr<recording_log> log_sink = std::make_shared<recording_log>(seen);
  std::shared_ptr<spdlog::logger> log = std::make_shared<spdlog::logger>("test", log_sink);
  config::config cfg;
  test_support::flaky_store store;
  metrics::daemon_metrics metrics;
  int budget_checks = 0;
  walk_runner runner{cfg, log, store, metrics, [this] { ++budget_checks; }};
  recording_sink sink{seen};
  scope_runtime scope;

  walk_runner_record() {
    log->set_level(spdlog::level::debug);
    runner.add_sink(&sink);
    scope.target.scope = {"p1", "all_granted_eps", ""};
    scope.last_attempt_ms = 1000;
  }

  static walk_conclusion failed(std::string error) {
    walk_conclusion c;
    c.status = "failed";
    c.error = std::move(error);
    return c;
  }
  static walk_conclusion committed(const char* status, std::size_t events, bool baseline = false) {
    walk_conclusion c;
    c.status = status;
    c.complete = std::string(status) != "incomplete";
    c.released.emplace();
    c.released->events.resize(events);
    c.released->baseline = baseline;
    return c;
  }
};

TEST_F(walk_runner_record, a_failed_walk_fails_the_scope_once_and_releases_nothing) {
  runner.record(scope, failed("HTTP 503"));
  runner.record(scope, failed("timeout"));
  EXPECT_EQ(seen, journal{"status p1/all_granted_eps failing: HTTP 503"});
  EXPECT_TRUE(scope.failing);
  EXPECT_EQ(scope.last_error, "timeout");  // the last error, though told once
  EXPECT_FALSE(scope.completed);
  EXPECT_EQ(scope.last_complete_ms, 0);
}

TEST_F(walk_runner_record, a_committed_walk_recovers_the_scope_before_its_events_go_out) {
  runner.record(scope, failed("HTTP 503"));
  seen.clear();
  runner.record(scope, committed("complete", 2));
  EXPECT_EQ(seen, (journal{"status p1/all_granted_eps ok", "events p1/all_granted_eps 2"}));
  EXPECT_FALSE(scope.failing);
  EXPECT_EQ(scope.last_error, "");
  EXPECT_TRUE(scope.completed);
  EXPECT_EQ(scope.last_complete_ms, 1000);
}

TEST_F(walk_runner_record, a_walk_without_events_tells_the_sinks_nothing) {
  runner.record(scope, committed("unchanged", 0));
  runner.record(scope, committed("incomplete", 0));
  EXPECT_TRUE(seen.empty());
  EXPECT_TRUE(scope.completed);
  EXPECT_EQ(budget_checks, 0);
}

TEST_F(walk_runner_record, a_baseline_reaches_the_sinks_even_empty_then_checks_the_budget) {
  runner.record(scope, committed("complete", 0, true));
  EXPECT_EQ(seen, journal{"events p1/all_granted_eps 0 baseline"});
  EXPECT_EQ(budget_checks, 1);
}

TEST_F(walk_runner_record, the_release_notes_are_logged_just_before_the_events) {
  runner.record(scope, failed("HTTP 503"));
  seen.clear();
  auto c = committed("complete", 1);
  c.released->held_removals = 6;
  c.released->notes.push_back({note_level::warn, "removal guard holds 6 removals", false, {}});
  runner.record(scope, std::move(c));
  EXPECT_EQ(seen, (journal{"status p1/all_granted_eps ok", "warning removal guard holds 6 removals",
                           "events p1/all_granted_eps 1"}));
}

TEST_F(walk_runner_record, walk_failures_are_logged_with_their_journald_fields) {
  runner.write(scope.target.scope,
               {note_level::warn, "walk failed", true, api_error{503, "SYS.0503", "busy", "r-1"}});
  runner.write(scope.target.scope, {note_level::debug, "walk complete", false, {}});
  EXPECT_EQ(seen, (journal{"warning walk failed", "debug walk complete"}));
  EXPECT_EQ(log_sink->message_ids, (std::vector<std::string>{message_ids::walk_failed, ""}));
  EXPECT_TRUE(current_log_fields().empty());
}

// From the walk outcome to the sinks: conclude_walk, then record, as
// walk_runner::async_walk does after the upstream walk.
struct walk_runner_conclude : walk_runner_record {
  void walk(walk_status status, const std::vector<std::string>& names) {
    walk_outcome o;
    o.status = status;
    o.requests = 1;
    o.reason = status == walk_status::incomplete ? "the listing shifted" : "";
    o.observation.complete = status == walk_status::complete;
    o.observation.total_num = static_cast<std::int64_t>(names.size());
    o.observation.walk_number = scope.state.begin_walk();
    for (const auto& n : names) {
      keyed_job k;
      k.key = {"c1", "ns", n};
      k.record.create_time = 1;
      k.record.body = R"({"cluster_name":"c1","namespace_name":"ns","name":")" + n + R"("})";
      k.record.fingerprint = 7;
      if (!mark_if_unchanged(scope.state, o.observation.walk_number, key_hash_of(k),
                             digest_of(k.record), o.observation.unchanged))
        o.observation.jobs.push_back(std::move(k));
    }
    const auto& id = scope.target.scope;
    runner.record(scope,
                  conclude_walk(store, id, scope.state, std::move(o), diff_options_of(cfg), 2000,
                                scope.failing, [&](const walk_note& n) { runner.write(id, n); }));
  }
};

TEST_F(walk_runner_conclude,
       an_incomplete_first_walk_reaches_no_sink_and_the_next_complete_one_baselines) {
  walk(walk_status::incomplete, {"a", "b"});
  EXPECT_EQ(seen,
            (journal{"warning scope p1/all_granted_eps: walk incomplete after 1 requests (the "
                     "listing shifted); no removals inferred",
                     "info scope p1/all_granted_eps: walk incomplete (the listing shifted); the "
                     "baseline waits for a complete walk"}));
  EXPECT_FALSE(scope.completed);
  seen.clear();
  walk(walk_status::complete, {"a", "b"});
  EXPECT_EQ(seen, (journal{"debug scope p1/all_granted_eps: walk complete (2 jobs, 1 requests, 0 "
                           "repairs)",
                           "events p1/all_granted_eps 2 baseline"}));
  EXPECT_TRUE(scope.completed);
  EXPECT_EQ(budget_checks, 1);
}

TEST_F(walk_runner_conclude, a_failed_commit_reaches_the_sinks_only_as_a_failing_scope) {
  walk(walk_status::complete, {"a"});
  seen.clear();
  store.fail_commit = true;
  walk(walk_status::complete, {"a", "b"});
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].rfind("debug scope p1/all_granted_eps: walk complete", 0), 0u);
  EXPECT_EQ(
      seen[1].rfind("error scope p1/all_granted_eps: walk failed: state: could not commit", 0), 0u);
  EXPECT_EQ(log_sink->message_ids.back(), message_ids::walk_failed);
  EXPECT_EQ(seen[2], "status p1/all_granted_eps failing: " + scope.last_error);
  EXPECT_EQ(scope.state.jobs.size(), 1u);  // the snapshot stays

  // The store recovers: the scope recovers first, then the change goes out.
  seen.clear();
  store.fail_commit = false;
  walk(walk_status::complete, {"a", "b"});
  EXPECT_EQ(seen, (journal{"debug scope p1/all_granted_eps: walk complete (2 jobs, 1 requests, 0 "
                           "repairs)",
                           "status p1/all_granted_eps ok", "events p1/all_granted_eps 1"}));
  EXPECT_EQ(scope.state.jobs.size(), 2u);
}

TEST(walk_runner_options, the_diff_options_are_the_running_configs) {
  config::config cfg;
  cfg.poll.ignore_fields = {"execute_time"};
  cfg.poll.removal_guard = 0.25;
  cfg.poll.removal_confirmations = 3;
  cfg.poll.baseline_events = false;
  auto o = diff_options_of(cfg);
  EXPECT_EQ(o.ignore_fields, std::vector<std::string>{"execute_time"});
  EXPECT_EQ(o.removal_guard, 0.25);
  EXPECT_EQ(o.removal_confirmations, 3u);
  EXPECT_FALSE(o.baseline_events);
}

}  // namespace
}  // namespace hssjw
