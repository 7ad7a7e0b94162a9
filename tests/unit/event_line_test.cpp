// to_json_line copies strings that need no escaping without Boost.JSON's
// serializer; the bytes must be exactly what the serializer writes.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "model/event.hpp"

namespace hssjw {
namespace {

TEST(event_line, strings_are_escaped_exactly_as_boost_json_does) {
  for (std::string s :
       {std::string("plain-job-1"), std::string("quo\"te"), std::string("back\\slash"),
        std::string("ctl\x01\n\t\x1f", 7), std::string("caf\xc3\xa9 \xf0\x9f\x98\x80"),
        std::string("del\x7f"), std::string(), std::string("nul\0in", 6)}) {
    change_event e;
    e.seq = 7;
    e.time_ms = 1'764'326'400'123;
    e.scope = {"p" + s, "", ""};
    e.key = {"c" + s, "n", s};
    e.job = "{}";
    const std::string line = to_json_line(e);
    const std::string want =
        std::string("\"name\":") +
        std::string(boost::json::serialize(boost::json::string_view(s.data(), s.size())));
    EXPECT_NE(line.find(want), std::string::npos) << line;
    auto v = boost::json::parse(line);
    EXPECT_EQ(v.at("key").at("name").as_string(), boost::json::string_view(s.data(), s.size()));
    EXPECT_EQ(v.at("scope").at("project_id").as_string(), "p" + s);
    EXPECT_EQ(v.at("time").as_string(), "2025-11-28T10:40:00.123Z");
  }
}

// The time is formatted once per run of events with the same time; a
// different time is never given the previous one's text.
TEST(event_line, each_event_carries_its_own_time) {
  change_event a, b;
  a.time_ms = 0;
  b.time_ms = 1'764'326'400'123;
  EXPECT_NE(to_json_line(a).find("\"time\":\"1970-01-01T00:00:00.000Z\""), std::string::npos);
  EXPECT_NE(to_json_line(b).find("\"time\":\"2025-11-28T10:40:00.123Z\""), std::string::npos);
  EXPECT_NE(to_json_line(a).find("\"time\":\"1970-01-01T00:00:00.000Z\""), std::string::npos);
}

}  // namespace
}  // namespace hssjw
