// Argument parsing for hss-jobwatch. Options may come before or after the
// command, as people type them.
#include "client/cli_args.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "model/event.hpp"

namespace hssjw::cli {

const char* usage_text = R"(Usage: hss-jobwatch [--socket PATH] COMMAND [OPTIONS]

Follows the events of hss-jobwatchd over its Unix socket.

Commands:
  watch [--since N | --sync] [--filter K=V ...] [-o text|json]
        Print events as they happen. --since N first replays every event after
        seq N; --sync first prints the current jobs (existing), then "synced".
        On a dropped connection (daemon restart) it reconnects and resumes
        after the last seq it printed: nothing is missed or printed twice.
  list [--filter K=V ...] [-o table|wide|json]
        Print the current jobs as a table (wide: also image, labels, execute
        time) or the protocol lines with -o json.
  status [-o table|wide|json]
        Print the daemon's state per scope (starting, ok or failing), its seq
        and its subscribers, and a rejected reload's config error (wide:
        filters in their own column, times to the millisecond).

Options:
  --socket PATH     the daemon's socket (default $HSS_JOBWATCH_SOCKET, else
                    /run/hss-jobwatch/events.sock)
  --filter K=V      exact match; K is project_id, enterprise_project_id (or eps),
                    cluster, namespace, name, or type (a comma-separated list of
                    added, removed, modified, replaced); repeat to combine
  -o, --output F    watch: text (default: one readable line per event) or
                    json (the server's lines verbatim); list, status: table
                    (default; "text" is the same), wide or json
  -h, --help        this text

Exit codes: 0 ok, 1 runtime failure (daemon unreachable, events gone), 2 usage.
)";

namespace {

using parse_result = result<options>;

parse_result usage_error(std::string message) {
  return error(make_error_code(boost::system::errc::invalid_argument), std::move(message));
}

std::optional<std::string> add_filter(options& o, std::string_view kv) {
  const auto eq = kv.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return "--filter takes K=V, got '" + std::string(kv) + "'";
  std::string key(kv.substr(0, eq));
  std::string value(kv.substr(eq + 1));
  if (key == "type" || key == "types") {
    std::size_t start = 0;
    while (start <= value.size()) {
      auto comma = value.find(',', start);
      auto t = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      event_type parsed;
      if (!parse_event_type(t, parsed))
        return "unknown event type '" + t + "' (added, removed, modified, replaced)";
      o.types.push_back(t);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return std::nullopt;
  }
  if (key == "project") key = "project_id";
  if (key == "eps") key = "enterprise_project_id";
  if (key == "ns") key = "namespace";
  if (key != "project_id" && key != "enterprise_project_id" && key != "cluster" &&
      key != "namespace" && key != "name")
    return "unknown filter key '" + key +
           "' (project_id, enterprise_project_id, cluster, namespace, name, type)";
  if (o.filter.contains(key)) return "--filter " + key + " given twice";
  o.filter[key] = value;
  return std::nullopt;
}

std::optional<std::string> parse_since(options& o, std::string_view v) {
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size())
    return "--since takes a seq (a non-negative integer)";
  o.since = n;
  return std::nullopt;
}

std::optional<std::string> check(const options& o) {
  if (o.since && o.sync) return "--since and --sync cannot be combined";
  if (o.cmd != command::watch && (o.since || o.sync)) return "--since and --sync go with watch";
  if (o.cmd == command::status && (!o.filter.empty() || !o.types.empty()))
    return "status takes no --filter";
  if (o.cmd == command::list && !o.types.empty())
    return "list shows jobs, not events: --filter type does not apply";
  return std::nullopt;
}

// kubectl's names for list and status (table, wide, json); watch prints
// lines, not tables: text or json.
std::optional<std::string> set_output(options& o) {
  const auto& f = o.out_name;
  if (f.empty()) return std::nullopt;
  if (o.cmd == command::watch) {
    if (f != "text" && f != "json") return "watch: -o takes text or json";
  } else if (f != "table" && f != "text" && f != "wide" && f != "json") {
    return "-o takes table, wide or json";
  }
  o.out = f == "json" ? output::json : f == "wide" ? output::wide : output::text;
  return std::nullopt;
}

}  // namespace

parse_result parse(const std::vector<std::string>& args, const char* env_socket) {
  options o;
  o.socket = env_socket && *env_socket ? env_socket : default_socket;
  bool have_command = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* name) -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      (void)name;
      return args[++i];
    };
    std::optional<std::string> err;
    if (a == "-h" || a == "--help") {
      o.cmd = command::help;
      return o;
    } else if (a == "--socket") {
      auto v = value("--socket");
      if (!v) return usage_error("--socket needs a path");
      o.socket = *v;
    } else if (a == "--since") {
      auto v = value("--since");
      if (!v) return usage_error("--since needs a seq");
      err = parse_since(o, *v);
    } else if (a == "--sync") {
      o.sync = true;
    } else if (a == "--filter") {
      auto v = value("--filter");
      if (!v) return usage_error("--filter needs K=V");
      err = add_filter(o, *v);
    } else if (a == "-o" || a == "--output") {
      auto v = value("-o");
      if (!v) return usage_error("-o needs a format");
      o.out_name = *v;
    } else if (!have_command && (a == "watch" || a == "list" || a == "status")) {
      have_command = true;
      o.cmd = a == "watch" ? command::watch : a == "list" ? command::list : command::status;
    } else {
      return usage_error("unknown argument '" + a + "'");
    }
    if (err) return usage_error(*err);
  }
  if (!have_command) return usage_error("a command is needed: watch, list or status");
  if (auto err = check(o)) return usage_error(*err);
  if (auto err = set_output(o)) return usage_error(*err);
  return o;
}

std::string request_line(const options& o, std::optional<std::uint64_t> resume) {
  boost::json::object r;
  r["op"] = o.cmd == command::watch ? "watch" : o.cmd == command::list ? "list" : "status";
  if (o.cmd == command::watch) {
    if (resume)
      r["since"] = *resume;
    else if (o.since)
      r["since"] = *o.since;
    else if (o.sync)
      r["sync"] = true;
  }
  if (o.cmd != command::status && (!o.filter.empty() || !o.types.empty())) {
    boost::json::object f;
    for (const auto& [k, v] : o.filter) f[k] = v;
    if (!o.types.empty()) {
      boost::json::array t;
      for (const auto& s : o.types) t.push_back(boost::json::string(s));
      f["types"] = std::move(t);
    }
    r["filter"] = std::move(f);
  }
  return boost::json::serialize(r);
}

}  // namespace hssjw::cli
