// The fault matrix: every fault the fake HSS can inject, on the first,
// a middle and the last page, against the real daemon (--once). For each:
// no false event, the daemon exits normally, the next good walk reports
// exactly the real changes not yet reported, and the log names the fault.
#include "integration/process.hpp"

#include "fake_hss/server.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <set>

namespace {

namespace json = boost::json;
using testing_support::parse_ndjson;
using testing_support::run_process;
using testing_support::temp_dir;

// What the faulty walk may conclude.
enum class expect {
  fails,       // the page fails after the retry: nothing emitted, exit 1
  incomplete,  // a job is rejected: changes it saw, never a removal, exit 1
  recovers,    // the walk copes (throttling, odd totals): everything, exit 0
};

// For docs/FAULTS.md (scripts/fault-table.sh reads these from the JSON
// test report): what was expected and what the daemon did.
const char* outcome_name(expect e) {
  switch (e) {
    case expect::fails: return "walk fails";
    case expect::incomplete: return "walk incomplete";
    case expect::recovers: return "walk recovers";
  }
  return "?";
}

std::string observed(int exit_code, const std::set<std::string>& reported, bool removal) {
  std::string s = "exit " + std::to_string(exit_code) + ", ";
  s += reported.empty() ? "no event" : std::to_string(reported.size()) + " of 3 changes";
  if (!reported.empty()) s += removal ? " incl. the removal" : ", no removal";
  return s;
}

struct fault_case {
  std::string name;
  std::function<fake_hss::fault()> make;
  std::string log_mentions;  // a fragment the daemon's log must contain ("" = none)
  expect outcome;
  // How many requests it hits: the walker's try and retry, doubled where
  // the client itself retries once (a reset on a reused connection).
  std::size_t repeat = 2;
};

struct matrix_param {
  fault_case fault;
  std::int64_t offset;
  std::string where;
};

void PrintTo(const matrix_param& p, std::ostream* os) { *os << p.fault.name << "@" << p.offset; }

std::string param_name(const ::testing::TestParamInfo<matrix_param>& info) {
  return info.param.fault.name + "_" + info.param.where;
}

class fault_matrix : public ::testing::TestWithParam<matrix_param> {
 protected:
  temp_dir dir;
  fake_hss::server fake{options()};

  fake_hss::server::options options() {
    fake_hss::server::options o;
    o.state_dir = dir.file("fake");
    return o;
  }

  std::string config() {
    return "endpoint: " + fake.endpoint() + "\nauth: {method: token, token_file: token}\n" +
           "tls: {ca_file: " + fake.ca_file() + "}\nprojects:\n  - id: p1\n" +
           "poll: {rate: unlimited, page_size: 50, timeout: 700ms, "
           "retry: {attempts: 1, initial: 10ms, max: 20ms}}\nstate_dir: state\n";
  }

  testing_support::process_result once() {
    return run_process({HSSJWD_PATH, "--config", dir.file("config.yaml"), "--once"},
                       std::chrono::seconds(60));
  }

  static std::string describe(const json::object& e) {
    return std::string(e.at("type").as_string()) + " " +
           std::string(e.at("key").as_object().at("name").as_string());
  }
};

// 300 jobs, pages of 50 overlapping by one: offsets 0, 49, ..., 294.
TEST_P(fault_matrix, no_false_event_and_exact_recovery) {
  const auto& p = GetParam();
  dir.write("token", "test-token\n");
  dir.write("config.yaml", config());
  fake.populate("p1", "0", 300, 77);
  auto base = once();
  ASSERT_EQ(base.exit_code, 0) << base.err;
  ASSERT_EQ(parse_ndjson(base.out).size(), 300u);

  // The real changes: one removed, one modified, one added.
  auto jobs = fake.jobs("p1", "0");
  auto gone = jobs[120];
  fake.erase("p1", "0", gone.cluster, gone.ns, gone.name);
  auto changed = jobs[200];
  changed.status = "Failed";
  fake.upsert(changed);
  fake_hss::job fresh;
  fresh.project_id = "p1";
  fresh.cluster = "c9";
  fresh.ns = "default";
  fresh.name = "fresh-job";
  fresh.create_time = 1'900'000'000'000;
  fake.upsert(fresh);
  const std::set<std::string> truth{"removed " + gone.name, "modified " + changed.name,
                                    "added fresh-job"};

  fake.inject(p.fault.make().on_offset(p.offset).repeat(p.fault.repeat));
  auto faulty = once();
  EXPECT_NE(faulty.exit_code, -1) << "daemon hung";
  EXPECT_TRUE(faulty.exit_code == 0 || faulty.exit_code == 1) << faulty.exit_code << faulty.err;
  std::set<std::string> reported;
  for (auto& e : parse_ndjson(faulty.out)) {
    auto d = describe(e);
    EXPECT_TRUE(truth.contains(d)) << "false event under " << p.fault.name << ": " << d;
    reported.insert(d);
  }
  if (!p.fault.log_mentions.empty())
    EXPECT_NE(faulty.err.find(p.fault.log_mentions), std::string::npos) << faulty.err;
  std::size_t hit = 0;
  for (auto& r : fake.requests()) hit += !r.faults.empty();
  EXPECT_GE(hit, 1u) << "the fault never applied";
  RecordProperty("fault", p.fault.name);
  RecordProperty("page", p.where);
  RecordProperty("expected", outcome_name(p.fault.outcome));
  RecordProperty("log", p.fault.log_mentions);
  RecordProperty("observed", observed(faulty.exit_code, reported, reported.contains("removed " + gone.name)));
  switch (p.fault.outcome) {
    case expect::fails:
      EXPECT_EQ(faulty.exit_code, 1);
      EXPECT_TRUE(reported.empty());
      break;
    case expect::incomplete:
      EXPECT_EQ(faulty.exit_code, 1);
      EXPECT_FALSE(reported.contains("removed " + gone.name));
      break;
    case expect::recovers:
      EXPECT_EQ(faulty.exit_code, 0) << faulty.err;
      EXPECT_EQ(reported, truth);
      break;
  }

  fake.clear_faults();
  auto good = once();
  ASSERT_EQ(good.exit_code, 0) << good.err;
  for (auto& e : parse_ndjson(good.out)) {
    auto d = describe(e);
    EXPECT_TRUE(truth.contains(d)) << "false event after " << p.fault.name << ": " << d;
    EXPECT_FALSE(reported.contains(d)) << "reported twice: " << d;
    reported.insert(d);
  }
  EXPECT_EQ(reported, truth);
  RecordProperty("recovery", reported == truth ? "exact" : "inexact");
}

std::vector<fault_case> fault_cases() {
  using f = fake_hss::fault;
  return {
      {"internal_error", [] { return f::internal_error(); }, "HSS.0041", expect::fails},
      {"unavailable", [] { return f::unavailable(); }, "APIGW.0613", expect::fails},
      {"forbidden", [] { return f::http_error(403, "HSS.0010", "access denied"); }, "HSS.0010", expect::fails},
      {"throttled", [] { return f::throttled(std::chrono::seconds(1)); }, "", expect::recovers},
      {"stall", [] { return f::stall(); }, "deadline", expect::fails},
      {"reset", [] { return f::reset(); }, "offset", expect::fails, 4},
      {"truncate", [] { return f::truncate(); }, "offset", expect::fails},
      {"malformed_json", [] { return f::malformed_json(); }, "not valid JSON", expect::fails},
      {"wrong_type", [] { return f::wrong_type("pods_num", 3); }, "wrong JSON type", expect::incomplete},
      {"missing_name", [] { return f::missing_field("name", 2); }, "key field name", expect::incomplete},
      {"total_inflated", [] { return f::wrong_total(7); }, "", expect::recovers},
      {"total_deflated", [] { return f::wrong_total(-7); }, "", expect::recovers},
      {"error_body_200", [] { return f::error_body_200(); }, "total_num", expect::fails},
  };
}

std::vector<matrix_param> matrix() {
  std::vector<matrix_param> out;
  for (auto& fc : fault_cases())
    for (auto [offset, where] : {std::pair<std::int64_t, const char*>{0, "first"}, {147, "middle"}, {294, "last"}})
      out.push_back({fc, offset, where});
  return out;
}

INSTANTIATE_TEST_SUITE_P(faults, fault_matrix, ::testing::ValuesIn(matrix()), param_name);

}  // namespace
