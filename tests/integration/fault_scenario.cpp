// The shared fault scenario (see fault_scenario.hpp).
#include "integration/fault_scenario.hpp"

#include <gtest/gtest.h>

namespace hssjw::test {

namespace {

const char* outcome_name(expect e) {
  switch (e) {
    case expect::fails:
      return "walk fails";
    case expect::incomplete:
      return "walk incomplete";
    case expect::recovers:
      return "walk recovers";
  }
  return "?";
}

std::string observed(int exit_code, const std::set<std::string>& reported, bool removal) {
  std::string s = "exit " + std::to_string(exit_code) + ", ";
  s += reported.empty() ? "no event" : std::to_string(reported.size()) + " of 3 changes";
  if (!reported.empty()) s += removal ? " incl. the removal" : ", no removal";
  return s;
}

}  // namespace

real_changes make_real_changes(fake_hss::server& fake, std::size_t remove_at,
                               std::size_t modify_at) {
  auto jobs = fake.jobs("p1", "0");
  auto gone = jobs.at(remove_at);
  fake.erase("p1", "0", gone.cluster, gone.ns, gone.name);
  auto changed = jobs.at(modify_at);
  changed.status = "Failed";
  fake.upsert(changed);
  fake_hss::job fresh;
  fresh.project_id = "p1";
  fresh.cluster = "c9";
  fresh.ns = "default";
  fresh.name = "fresh-job";
  fresh.create_time = 1'900'000'000'000;
  fake.upsert(fresh);
  return {"removed " + gone.name,
          {"removed " + gone.name, "modified " + changed.name, "added fresh-job"}};
}

std::string describe_event(const boost::json::object& e) {
  return std::string(e.at("type").as_string()) + " " +
         std::string(e.at("key").as_object().at("name").as_string());
}

std::set<std::string> check_faulty_run(const process_result& faulty, const real_changes& changes,
                                       const fault_under_test& fault) {
  std::set<std::string> reported;
  for (auto& e : parse_ndjson(faulty.out)) {
    auto d = describe_event(e);
    EXPECT_TRUE(changes.truth.contains(d)) << "false event under " << fault.name << ": " << d;
    reported.insert(d);
  }
  if (!fault.log_mentions.empty())
    EXPECT_NE(faulty.err.find(fault.log_mentions), std::string::npos) << faulty.err;
  const bool removal = reported.contains(changes.removed);
  ::testing::Test::RecordProperty("fault", fault.name);
  ::testing::Test::RecordProperty("page", fault.where);
  ::testing::Test::RecordProperty("expected", outcome_name(fault.outcome));
  ::testing::Test::RecordProperty("log", fault.log_mentions);
  ::testing::Test::RecordProperty("observed", observed(faulty.exit_code, reported, removal));
  switch (fault.outcome) {
    case expect::fails:
      EXPECT_EQ(faulty.exit_code, 1) << faulty.err;
      EXPECT_TRUE(reported.empty());
      break;
    case expect::incomplete:
      EXPECT_EQ(faulty.exit_code, 1) << faulty.err;
      EXPECT_FALSE(removal);
      break;
    case expect::recovers:
      EXPECT_EQ(faulty.exit_code, 0) << faulty.err;
      EXPECT_EQ(reported, changes.truth);
      break;
  }
  return reported;
}

void check_recovery(const process_result& good, const real_changes& changes,
                    std::set<std::string> reported, const fault_under_test& fault) {
  ASSERT_EQ(good.exit_code, 0) << good.err;
  for (auto& e : parse_ndjson(good.out)) {
    auto d = describe_event(e);
    EXPECT_TRUE(changes.truth.contains(d)) << "false event after " << fault.name << ": " << d;
    EXPECT_FALSE(reported.contains(d)) << "reported twice: " << d;
    reported.insert(d);
  }
  EXPECT_EQ(reported, changes.truth);
  ::testing::Test::RecordProperty("recovery", reported == changes.truth ? "exact" : "inexact");
}

}  // namespace hssjw::test
