// The fault matrix: every fault the fake HSS can inject, on the first,
// a middle and the last page, against the real daemon (--once). For each:
// no false event, the daemon exits normally, the next good walk reports
// exactly the real changes not yet reported, and the log names the fault.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "common/daemon_fixture.hpp"
#include "fake_hss/server.hpp"
#include "integration/fault_scenario.hpp"

namespace {

using namespace hssjw::test;

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

class fault_matrix : public daemon_fixture, public ::testing::WithParamInterface<matrix_param> {
 protected:
  fault_matrix() {
    cfg.poll =
        "rate: unlimited, page_size: 50, timeout: 700ms, retry: {attempts: 1, initial: 10ms, max: "
        "20ms}";
  }
};

// 300 jobs, pages of 50 overlapping by one: offsets 0, 49, ..., 294.
TEST_P(fault_matrix, no_false_event_and_exact_recovery) {
  const auto& p = GetParam();
  write_config();
  fake.populate("p1", "0", 300, 77);
  auto base = once();
  ASSERT_EQ(base.exit_code, 0) << base.err;
  ASSERT_EQ(parse_ndjson(base.out).size(), 300u);

  auto changes = make_real_changes(fake, 120, 200);
  const fault_under_test fault{p.fault.name, p.where, p.fault.log_mentions, p.fault.outcome};

  fake.inject(p.fault.make().on_offset(p.offset).repeat(p.fault.repeat));
  auto faulty = once();
  EXPECT_NE(faulty.exit_code, -1) << "daemon hung";
  EXPECT_TRUE(faulty.exit_code == 0 || faulty.exit_code == 1) << faulty.exit_code << faulty.err;
  std::size_t hit = 0;
  for (auto& r : fake.requests()) hit += !r.faults.empty();
  EXPECT_GE(hit, 1u) << "the fault never applied";
  auto reported = check_faulty_run(faulty, changes, fault);

  fake.clear_faults();
  check_recovery(once(), changes, std::move(reported), fault);
}

std::vector<fault_case> fault_cases() {
  using f = fake_hss::fault;
  return {
      {"internal_error", [] { return f::internal_error(); }, "HSS.0041", expect::fails},
      {"unavailable", [] { return f::unavailable(); }, "APIGW.0613", expect::fails},
      {"forbidden", [] { return f::http_error(403, "HSS.0010", "access denied"); }, "HSS.0010",
       expect::fails},
      {"throttled", [] { return f::throttled(std::chrono::seconds(1)); }, "", expect::recovers},
      {"stall", [] { return f::stall(); }, "deadline", expect::fails},
      {"reset", [] { return f::reset(); }, "offset", expect::fails, 4},
      {"truncate", [] { return f::truncate(); }, "offset", expect::fails},
      {"malformed_json", [] { return f::malformed_json(); }, "not valid JSON", expect::fails},
      {"wrong_type", [] { return f::wrong_type("pods_num", 3); }, "wrong JSON type",
       expect::incomplete},
      {"missing_name", [] { return f::missing_field("name", 2); }, "key field name",
       expect::incomplete},
      {"total_inflated", [] { return f::wrong_total(7); }, "", expect::recovers},
      {"total_deflated", [] { return f::wrong_total(-7); }, "", expect::recovers},
      {"error_body_200", [] { return f::error_body_200(); }, "total_num", expect::fails},
  };
}

std::vector<matrix_param> matrix() {
  std::vector<matrix_param> out;
  for (auto& fc : fault_cases())
    for (auto [offset, where] :
         {std::pair<std::int64_t, const char*>{0, "first"}, {147, "middle"}, {294, "last"}})
      out.push_back({fc, offset, where});
  return out;
}

INSTANTIATE_TEST_SUITE_P(faults, fault_matrix, ::testing::ValuesIn(matrix()), param_name);

}  // namespace
