// Log records: JSON lines stay valid whatever the message holds, records
// carry the SPEC §9 fields of their scope, and journald is chosen when
// JOURNAL_STREAM names our stderr.
#include "logging/logging.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <set>

#include "common/env_guard.hpp"
#include "hss/http.hpp"
#include "logging/log_fields.hpp"
#include "model/event.hpp"

namespace {

using namespace hssjw;
namespace json = boost::json;

TEST(logging, json_lines_escape_the_message_and_carry_fields) {
  const auto line = json_log_line(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123)), "warn",
      "hss-jobwatchd", "say \"hi\"\n\tback\\slash", {{"HSS_EVENT", "removed"}, {"HSS_SEQ", "12"}});
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto o = json::parse(line).as_object();
  EXPECT_EQ(o.at("time"), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(o.at("level"), "warn");
  EXPECT_EQ(o.at("message"), "say \"hi\"\n\tback\\slash");
  EXPECT_EQ(o.at("HSS_EVENT"), "removed");
  EXPECT_EQ(o.at("HSS_SEQ"), "12");
}

TEST(logging, field_scopes_nest_and_unwind) {
  EXPECT_TRUE(current_log_fields().empty());
  {
    log_fields_scope a(log_field_list{{"A", "1"}});
    {
      log_fields_scope b(log_field_list{{"B", "2"}});
      EXPECT_EQ(current_log_fields().size(), 2u);
    }
    EXPECT_EQ(current_log_fields(), (log_field_list{{"A", "1"}}));
  }
  EXPECT_TRUE(current_log_fields().empty());
}

TEST(logging, event_and_failure_fields) {
  change_event e;
  e.seq = 42;
  e.type = event_type::removed;
  e.scope = {"p1", "", ""};
  e.key = {"c1", "ns", "job"};
  log_field_list expected{{"MESSAGE_ID", message_ids::removed},
                          {"HSS_EVENT", "removed"},
                          {"HSS_SEQ", "42"},
                          {"HSS_PROJECT_ID", "p1"},
                          {"HSS_EPS_ID", ""},
                          {"HSS_CLUSTER", "c1"},
                          {"HSS_NAMESPACE", "ns"},
                          {"HSS_JOB", "job"}};
  EXPECT_EQ(event_fields(e), expected);

  api_error api;
  api.http_status = 500;
  api.error_code = "HSS.0041";
  api.request_id = "req-1";
  auto f = walk_failure_fields({"p1", "all_granted_eps", ""}, &api);
  EXPECT_EQ(f.front(),
            (std::pair<std::string, std::string>{"MESSAGE_ID", message_ids::walk_failed}));
  EXPECT_NE(
      std::find(f.begin(), f.end(), std::pair<std::string, std::string>{"HSS_REQUEST_ID", "req-1"}),
      f.end());
  EXPECT_EQ(walk_failure_fields({"p1", "", ""}, nullptr).size(), 3u);
}

TEST(logging, message_ids_are_distinct_128_bit_hex) {
  std::set<std::string> ids;
  for (const char* id :
       {message_ids::added, message_ids::removed, message_ids::modified, message_ids::replaced,
        message_ids::walk_failed, message_ids::baseline, message_ids::scope_recovered}) {
    std::string s = id;
    EXPECT_EQ(s.size(), 32u);
    EXPECT_EQ(s.find_first_not_of("0123456789abcdef"), std::string::npos);
    ids.insert(s);
  }
  EXPECT_EQ(ids.size(), 7u);
}

TEST(logging, journal_is_chosen_when_journal_stream_names_stderr) {
  struct stat st {};
  ASSERT_EQ(::fstat(2, &st), 0);
  const std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  hssjw::test::env_guard journal_stream("JOURNAL_STREAM", mine);
  EXPECT_TRUE(journal_wanted(config::log_target::auto_detect));
  EXPECT_FALSE(journal_wanted(config::log_target::stderr_));
  journal_stream.set(std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1));
  EXPECT_FALSE(journal_wanted(config::log_target::auto_detect))
      << "stderr redirected elsewhere: not the journal";
  journal_stream.set(std::nullopt);
  EXPECT_FALSE(journal_wanted(config::log_target::auto_detect));
  EXPECT_TRUE(journal_wanted(config::log_target::journal));
}

}  // namespace
