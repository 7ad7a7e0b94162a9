// hss-jobwatch's argument parsing, request lines and text output (SPEC §7).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "client/cli_args.hpp"
#include "client/render.hpp"
#include "protocol/socket_protocol.hpp"

namespace {

using namespace hssjw::cli;
namespace json = boost::json;

TEST(cli_args, commands_options_and_socket_precedence) {
  auto o = parse({"watch"}, nullptr);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->cmd, command::watch);
  EXPECT_EQ(o->socket, "/run/hss-jobwatch/events.sock");
  EXPECT_EQ(o->out, output::text);
  o = parse({"watch"}, "/env.sock");
  EXPECT_EQ(o->socket, "/env.sock");
  o = parse({"--socket", "/a.sock", "watch", "--since", "12", "-o", "json", "--filter",
             "cluster=c1", "--filter", "type=removed,added", "--filter", "eps=all_granted_eps"},
            "/env.sock");
  ASSERT_TRUE(o) << o.error();
  EXPECT_EQ(o->socket, "/a.sock");
  EXPECT_EQ(*o->since, 12u);
  EXPECT_EQ(o->out, output::json);
  EXPECT_EQ(o->filter.at("cluster"), "c1");
  EXPECT_EQ(o->filter.at("enterprise_project_id"), "all_granted_eps");
  EXPECT_EQ(o->types, (std::vector<std::string>{"removed", "added"}));
  EXPECT_EQ(parse({"--help"}, nullptr)->cmd, command::help);
  EXPECT_EQ(parse({"status", "-o", "json"}, nullptr)->cmd, command::status);
  EXPECT_EQ(parse({"list", "--filter", "ns=kube-system"}, nullptr)->filter.at("namespace"),
            "kube-system");
}

TEST(cli_args, usage_errors) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"follow"},
      {"watch", "--since"},
      {"watch", "--since", "-3"},
      {"watch", "--since", "x"},
      {"watch", "--since", "3", "--sync"},
      {"list", "--since", "3"},
      {"status", "--filter", "cluster=c"},
      {"list", "--filter", "type=removed"},
      {"watch", "--filter", "cluster"},
      {"watch", "--filter", "colour=red"},
      {"watch", "--filter", "type=deleted"},
      {"watch", "--filter", "cluster=a", "--filter", "cluster=b"},
      {"watch", "-o", "yaml"},
      {"watch", "-o", "table"},  // watch prints lines: text or json
      {"watch", "-o", "wide"},
      {"list", "-o", "yaml"},
      {"status", "-o"},
      {"watch", "--socket"},
  };
  for (const auto& args : bad) {
    auto o = parse(args, nullptr);
    std::string joined;
    for (auto& a : args) joined += a + ' ';
    EXPECT_FALSE(o) << joined;
  }
}

TEST(cli_args, request_lines) {
  auto o = parse({"watch", "--filter", "cluster=c1", "--filter", "type=removed"}, nullptr);
  auto r = json::parse(request_line(*o, std::nullopt)).as_object();
  EXPECT_EQ(r.at("op"), "watch");
  EXPECT_FALSE(r.contains("since"));
  EXPECT_EQ(r.at("filter").at("cluster"), "c1");
  EXPECT_EQ(r.at("filter").at("types"), (json::array{"removed"}));
  // A reconnect resumes with since, whatever the first request was.
  o = parse({"watch", "--sync"}, nullptr);
  EXPECT_EQ(json::parse(request_line(*o, std::nullopt)).at("sync"), true);
  r = json::parse(request_line(*o, 41)).as_object();
  EXPECT_EQ(r.at("since"), 41);
  EXPECT_FALSE(r.contains("sync"));
  o = parse({"watch", "--since", "0"}, nullptr);
  EXPECT_EQ(json::parse(request_line(*o, std::nullopt)).at("since"), 0);
  o = parse({"status"}, nullptr);
  EXPECT_EQ(json::parse(request_line(*o, std::nullopt)), (json::object{{"op", "status"}}));
}

TEST(cli_render, readable_lines_and_tables) {
  auto e = json::parse(R"({"v":1,"seq":1042,"type":"modified","time":"2026-11-28T10:40:00.123Z",
    "scope":{"project_id":"p1","enterprise_project_id":"all_granted_eps"},
    "key":{"cluster":"glz-2451","namespace":"kube-system","name":"cceaddon-npd"},
    "job":{"status":"Running","pods_num":6},"previous":{"status":"Failed","pods_num":5},
    "changed":["pods_num","status"]})")
               .as_object();
  EXPECT_EQ(event_text(e),
            "2026-11-28T10:40:00.123Z #1042 modified glz-2451/kube-system/cceaddon-npd "
            "(p1/all_granted_eps) "
            "status=Running pods=6 changed=pods_num,status");
  auto removed = json::parse(R"({"v":1,"seq":9,"type":"removed","time":"T",
    "scope":{"project_id":"p1","enterprise_project_id":""},
    "key":{"cluster":"c","namespace":"n","name":"j"},"previous":{"status":"Failed","pods_num":0}})")
                     .as_object();
  EXPECT_EQ(event_text(removed), "T #9 removed c/n/j (p1/-) status=Failed pods=0");

  std::vector<json::object> existing;
  for (const char* name : {"zeta", "alpha"})
    existing.push_back(json::object{
        {"type", "existing"},
        {"scope", {{"project_id", "p1"}, {"enterprise_project_id", ""}}},
        {"key", {{"cluster", "c1"}, {"namespace", "ns"}, {"name", name}}},
        {"job", {{"status", "Running"}, {"pods_num", 1}, {"create_time", 1720765124000}}}});
  const auto table = list_table(existing);
  EXPECT_NE(table.find("SCOPE"), std::string::npos);
  EXPECT_LT(table.find("alpha"), table.find("zeta")) << table;
  EXPECT_NE(table.find("2024-07-12T06:18:44Z"), std::string::npos) << table;
  EXPECT_NE(table.find("2 job(s)"), std::string::npos);
  EXPECT_EQ(existing_text(existing[0]), "existing c1/ns/zeta (p1/-) status=Running pods=1");

  auto status =
      json::parse(R"({"type":"status","server":"hss-jobwatch/0.1.0","seq":5,"oldest_seq":1,
    "subscribers":2,"clients":3,"scopes":[{"scope":{"project_id":"p1","enterprise_project_id":""},
    "state":"failing","jobs":4,"last_attempt":"A","last_complete":null,"last_error":"HTTP 500"}]})")
          .as_object();
  const auto st = status_table(status);
  EXPECT_NE(st.find("subscribers 2"), std::string::npos) << st;
  EXPECT_NE(st.find("failing"), std::string::npos);
  EXPECT_NE(st.find("never"), std::string::npos);
  EXPECT_NE(st.find("HTTP 500"), std::string::npos);
}

// kubectl's -o for list and status; "text" stays what it was (the table)
// so that scripts written against the first release keep working.
TEST(cli_args, list_and_status_take_table_wide_and_json) {
  for (const char* cmd : {"list", "status"}) {
    EXPECT_EQ(parse({cmd}, nullptr)->out, output::text) << cmd;
    EXPECT_EQ(parse({cmd, "-o", "table"}, nullptr)->out, output::text) << cmd;
    EXPECT_EQ(parse({cmd, "-o", "text"}, nullptr)->out, output::text) << cmd;
    EXPECT_EQ(parse({cmd, "--output", "wide"}, nullptr)->out, output::wide) << cmd;
    EXPECT_EQ(parse({"-o", "json", cmd}, nullptr)->out, output::json) << cmd;
  }
  EXPECT_EQ(parse({"watch", "-o", "text"}, nullptr)->out, output::text);
  EXPECT_EQ(parse({"watch", "-o", "json"}, nullptr)->out, output::json);
  auto bad = parse({"watch", "-o", "wide"}, nullptr);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("text or json"), std::string::npos) << bad.error();
  bad = parse({"list", "-o", "yaml"}, nullptr);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("table, wide or json"), std::string::npos) << bad.error();
  const std::string help = usage_text;
  EXPECT_NE(help.find("list [--filter K=V ...] [-o table|wide|json]"), std::string::npos);
  EXPECT_NE(help.find("status [-o table|wide|json]"), std::string::npos);
}

TEST(cli_render, wide_tables_have_more_columns) {
  std::vector<json::object> existing{json::parse(R"({"type":"existing",
    "scope":{"project_id":"p1","enterprise_project_id":""},
    "key":{"cluster":"c1","namespace":"ns","name":"j"},
    "job":{"status":"Running","pods_num":1,"create_time":1720765124000,"execute_time":1720765184000,
           "image_name":"npd:1.19","match_labels":[{"key":"app","val":"npd"},{"key":"tier","val":"node"}]}})")
                                         .as_object()};
  const auto narrow = list_table(existing);
  const auto wide = list_table(existing, true);
  EXPECT_EQ(narrow.find("IMAGE"), std::string::npos) << narrow;
  EXPECT_NE(wide.find("EXECUTED"), std::string::npos) << wide;
  EXPECT_NE(wide.find("npd:1.19"), std::string::npos) << wide;
  EXPECT_NE(wide.find("app=npd,tier=node"), std::string::npos) << wide;
  EXPECT_NE(wide.find("2024-07-12T06:19:44Z"), std::string::npos) << wide;

  auto status = json::parse(R"({"type":"status","server":"s","seq":5,"oldest_seq":1,"subscribers":0,
    "clients":1,"scopes":[{"scope":{"project_id":"p1","enterprise_project_id":""},"filters":"cluster_name=x",
    "state":"ok","jobs":4,"last_attempt":"2026-11-28T10:40:00.123Z","last_complete":"2026-11-28T10:40:00.123Z",
    "last_error":null}]})")
                    .as_object();
  const auto st = status_table(status);
  EXPECT_NE(st.find("p1/-?cluster_name=x"), std::string::npos) << st;
  EXPECT_NE(st.find("2026-11-28T10:40:00Z"), std::string::npos) << st;
  const auto sw = status_table(status, true);
  EXPECT_NE(sw.find("FILTERS"), std::string::npos) << sw;
  EXPECT_NE(sw.find("2026-11-28T10:40:00.123Z"), std::string::npos) << sw;
  EXPECT_EQ(sw.find("p1/-?"), std::string::npos) << sw;
}

// The status message as the daemon sends it, read back by the CLI: a scope
// no walk has ended for yet is "starting", not "ok"; a rejected reload's
// error is a field of its own and a line of the table.
TEST(cli_render, status_shows_starting_scopes_and_a_rejected_reload) {
  hssjw::proto::status_report r;
  r.server = "hss-jobwatch/test";
  r.scopes.push_back({{"p1", "", ""}, 0, 0, 0, false, ""});
  r.scopes.push_back({{"p2", "", ""}, 1'700'000'000'000, 1'700'000'000'000, 3, false, ""});
  r.scopes.push_back({{"p3", "", ""}, 1'700'000'000'000, 0, 0, true, "HTTP 500"});
  auto line = json::parse(hssjw::proto::status_line(r)).as_object();
  EXPECT_TRUE(line.at("config_error").is_null());
  const auto& scopes = line.at("scopes").as_array();
  EXPECT_EQ(scopes[0].at("state"), "starting");
  EXPECT_EQ(scopes[1].at("state"), "ok");
  EXPECT_EQ(scopes[2].at("state"), "failing");
  EXPECT_NE(status_table(line).find("starting"), std::string::npos);
  EXPECT_EQ(status_table(line).find("config:"), std::string::npos);

  r.scopes.config_error = "/etc/hss-jobwatch/config.yaml:3:7: unknown key \"pol\"";
  line = json::parse(hssjw::proto::status_line(r)).as_object();
  EXPECT_EQ(line.at("config_error"), "/etc/hss-jobwatch/config.yaml:3:7: unknown key \"pol\"");
  const auto table = status_table(line);
  EXPECT_NE(
      table.find("reload rejected, running the previous config: /etc/hss-jobwatch/config.yaml:3:7"),
      std::string::npos)
      << table;
}

}  // namespace
