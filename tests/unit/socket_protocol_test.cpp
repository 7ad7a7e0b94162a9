// The events socket protocol as plain code (SPEC §5): request parsing and
// its bad_request messages, filters, and the exact lines the server sends.
#include "protocol/socket_protocol.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace {

using namespace hssjw;
using namespace hssjw::proto;
namespace json = boost::json;

json::object parse_line(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
  return json::parse(line).as_object();
}

TEST(socket_protocol, parses_every_op) {
  auto r = parse_request(R"({"op":"watch"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->operation, op::watch);
  EXPECT_FALSE(r->since);
  EXPECT_FALSE(r->sync);
  r = parse_request(R"({"op":"watch","since":42})");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r->since, 42u);
  r = parse_request(R"({"op":"watch","since":18446744073709551615})");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r->since, 18446744073709551615ull);
  r = parse_request("{\"op\":\"watch\",\"sync\":true}\r");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->sync);
  r = parse_request(
      R"({"op":"list","filter":{"cluster":"c1","namespace":"ns","name":"n","project_id":"p","enterprise_project_id":""}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->operation, op::list);
  EXPECT_EQ(*r->filter.cluster, "c1");
  EXPECT_EQ(*r->filter.ns, "ns");
  EXPECT_EQ(*r->filter.enterprise_project_id, "");
  r = parse_request(R"({"op":"status"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->operation, op::status);
  r = parse_request(R"({"op":"watch","filter":{"types":["removed","replaced"]}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->filter.types.size(), 2u);
}

TEST(socket_protocol, refuses_bad_requests_with_a_reason) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not JSON"},
      {"not json", "not JSON"},
      {"[1,2]", "JSON object"},
      {R"({"since":1})", "missing \"op\""},
      {R"({"op":5})", "\"op\" must be a string"},
      {R"({"op":"subscribe"})", "unknown op"},
      {R"({"op":"watch","since":-1})", "non-negative"},
      {R"({"op":"watch","since":"12"})", "non-negative"},
      {R"({"op":"watch","since":1.5})", "non-negative"},
      {R"({"op":"watch","sync":"yes"})", "true or false"},
      {R"({"op":"watch","sync":true,"since":3})", "cannot be combined"},
      {R"({"op":"list","since":3})", "not valid for op"},
      {R"({"op":"status","filter":{}})", "not valid for op"},
      {R"({"op":"watch","filter":[]})", "must be an object"},
      {R"({"op":"watch","filter":{"clster":"x"}})", "unknown filter field"},
      {R"({"op":"watch","filter":{"cluster":1}})", "must be a string"},
      {R"({"op":"watch","filter":{"types":"removed"}})", "array"},
      {R"({"op":"watch","filter":{"types":["deleted"]}})", "unknown event type"},
      {R"({"op":"watch","extra":1})", "not valid for op"},
  };
  for (const auto& [line, why] : cases) {
    auto r = parse_request(line);
    ASSERT_FALSE(r) << line;
    EXPECT_NE(r.error().message().find(why), std::string::npos) << line << " -> " << r.error();
  }
}

change_event sample_event(event_type t) {
  change_event e;
  e.seq = 7;
  e.type = t;
  e.time_ms = 1'700'000'000'000;
  e.scope = {"p1", "all_granted_eps", ""};
  e.key = {"c1", "kube-system", "job-a"};
  e.job = R"({"name":"job-a"})";
  e.previous = R"({"name":"job-a"})";
  if (t == event_type::modified) e.changed = {"status"};
  return e;
}

TEST(socket_protocol, filters_match_exactly_and_types_apply_to_events_only) {
  event_filter f;
  EXPECT_TRUE(f.empty());
  auto m = meta_of(sample_event(event_type::removed));
  EXPECT_TRUE(f.matches(m));
  f.cluster = "c1";
  f.types = {event_type::removed};
  EXPECT_FALSE(f.empty());
  EXPECT_TRUE(f.matches(m));
  EXPECT_FALSE(f.matches(meta_of(sample_event(event_type::modified))));
  f.ns = "default";
  EXPECT_FALSE(f.matches(m));
  f.ns.reset();
  f.enterprise_project_id = "";
  EXPECT_FALSE(f.matches(m)) << "\"\" is a value, not a wildcard";
  f.enterprise_project_id.reset();
  // An existing job has no type: `types` never excludes it.
  EXPECT_TRUE(f.matches(meta_of(scope_id{"p1", "all_granted_eps", ""}, job_key{"c1", "x", "y"})));
}

TEST(socket_protocol, event_meta_is_read_back_from_journal_lines) {
  for (auto t :
       {event_type::added, event_type::removed, event_type::modified, event_type::replaced}) {
    const auto e = sample_event(t);
    auto m = parse_event_meta(to_json_line(e));
    ASSERT_TRUE(m);
    EXPECT_EQ(*m->type, t);
    EXPECT_EQ(m->project_id, "p1");
    EXPECT_EQ(m->enterprise_project_id, "all_granted_eps");
    EXPECT_EQ(m->cluster, "c1");
    EXPECT_EQ(m->ns, "kube-system");
    EXPECT_EQ(m->name, "job-a");
  }
  EXPECT_FALSE(parse_event_meta("garbage"));
  EXPECT_FALSE(parse_event_meta(R"({"type":"bookmark","seq":3})"));
}

TEST(socket_protocol, server_lines_are_single_json_lines) {
  auto hello = parse_line(hello_line("hss-jobwatch/1.2.3", 10, 4));
  EXPECT_EQ(hello.at("type"), "hello");
  EXPECT_EQ(hello.at("v"), 1);
  EXPECT_EQ(hello.at("server"), "hss-jobwatch/1.2.3");
  EXPECT_EQ(hello.at("seq"), 10);
  EXPECT_EQ(hello.at("oldest_seq"), 4);

  auto err = parse_line(error_line("bad_request", "line \"x\"\nbroken"));
  EXPECT_EQ(err.at("type"), "error");
  EXPECT_EQ(err.at("code"), "bad_request");
  EXPECT_EQ(err.at("message"), "line \"x\"\nbroken");

  auto gone = parse_line(gone_line(17, "m"));
  EXPECT_EQ(gone.at("code"), "gone");
  EXPECT_EQ(gone.at("oldest_seq"), 17);
  EXPECT_EQ(parse_line(overflow_line("m")).at("code"), "overflow");
  EXPECT_EQ(parse_line(bookmark_line(5)), (json::object{{"type", "bookmark"}, {"seq", 5}}));
  EXPECT_EQ(parse_line(synced_line(6)), (json::object{{"type", "synced"}, {"seq", 6}}));
  EXPECT_EQ(parse_line(end_line(8)), (json::object{{"type", "end"}, {"seq", 8}}));

  auto x = parse_line(existing_line({"p1", "", "cluster_name=a"}, {"c\"1", "ns", "n"},
                                    R"({"name":"n","pods_num":2})"));
  EXPECT_EQ(x.at("type"), "existing");
  EXPECT_EQ(x.at("scope"), (json::object{{"project_id", "p1"}, {"enterprise_project_id", ""}}));
  EXPECT_EQ(x.at("key").at("cluster"), "c\"1");
  EXPECT_EQ(x.at("job").at("pods_num"), 2);

  auto failing = parse_line(scope_status_line({"p1", "eps", ""}, true, "HTTP 500"));
  EXPECT_EQ(failing.at("type"), "scope_status");
  EXPECT_EQ(failing.at("state"), "failing");
  EXPECT_EQ(failing.at("error"), "HTTP 500");
  auto ok = parse_line(scope_status_line({"p1", "eps", ""}, false, ""));
  EXPECT_EQ(ok.at("state"), "ok");
  EXPECT_TRUE(ok.at("error").is_null());
}

TEST(socket_protocol, status_line_reports_every_scope) {
  status_report r;
  r.server = "hss-jobwatch/0.1.0";
  r.seq = 99;
  r.oldest_seq = 3;
  r.subscribers = 2;
  r.clients = 3;
  r.scopes.push_back({{"p1", "", ""}, 1'700'000'000'000, 1'700'000'000'000, 12, false, ""});
  r.scopes.push_back(
      {{"p2", "e", "cluster_name=x"}, 1'700'000'060'000, 0, 0, true, "HTTP 401 APIGW.0301"});
  auto s = parse_line(status_line(r));
  EXPECT_EQ(s.at("type"), "status");
  EXPECT_EQ(s.at("seq"), 99);
  EXPECT_EQ(s.at("oldest_seq"), 3);
  EXPECT_EQ(s.at("subscribers"), 2);
  const auto& scopes = s.at("scopes").as_array();
  ASSERT_EQ(scopes.size(), 2u);
  EXPECT_EQ(scopes[0].at("jobs"), 12);
  EXPECT_EQ(scopes[0].at("state"), "ok");
  EXPECT_EQ(scopes[0].at("last_complete"), "2023-11-14T22:13:20.000Z");
  EXPECT_TRUE(scopes[0].at("last_error").is_null());
  EXPECT_EQ(scopes[1].at("state"), "failing");
  EXPECT_TRUE(scopes[1].at("last_complete").is_null());
  EXPECT_EQ(scopes[1].at("last_error"), "HTTP 401 APIGW.0301");
  EXPECT_EQ(scopes[1].at("filters"), "cluster_name=x");
}

}  // namespace
