// SPEC §5 requests and lines. Requests are strict (unknown fields and
// wrong types are bad_request) because a misspelt filter key that was
// silently ignored would stream events the client asked not to get.
#include "protocol/socket_protocol.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace hssjw::proto {

namespace json = boost::json;

namespace {

using request_result = result<request>;

// A request line the server answers with bad_request: the message says why.
error bad_request(std::string message) {
  return {make_error_code(boost::system::errc::invalid_argument), std::move(message)};
}

void append_json_string(std::string& out, std::string_view s) {
  out += json::serialize(json::string_view(s.data(), s.size()));
}

std::string scope_json(const scope_id& scope) {
  std::string out = "{\"project_id\":";
  append_json_string(out, scope.project_id);
  out += ",\"enterprise_project_id\":";
  append_json_string(out, scope.enterprise_project_id);
  return out + '}';
}

std::string key_json(const job_key& key) {
  std::string out = "{\"cluster\":";
  append_json_string(out, key.cluster);
  out += ",\"namespace\":";
  append_json_string(out, key.ns);
  out += ",\"name\":";
  append_json_string(out, key.name);
  return out + '}';
}

std::string line_of(const json::object& o) { return json::serialize(o) + '\n'; }

std::string text_of(const json::value& v) { return std::string(v.as_string()); }

std::optional<std::string> parse_filter(const json::value& v, event_filter& f) {
  if (!v.is_object()) return "\"filter\" must be an object";
  for (const auto& [k, val] : v.as_object()) {
    if (k == "types") {
      if (!val.is_array()) return "\"filter.types\" must be an array of event types";
      for (const auto& t : val.as_array()) {
        event_type type;
        if (!t.is_string() || !parse_event_type(t.as_string(), type))
          return "\"filter.types\" holds an unknown event type (added, removed, modified, "
                 "replaced)";
        f.types.push_back(type);
      }
      continue;
    }
    std::optional<std::string>* slot = nullptr;
    if (k == "project_id")
      slot = &f.project_id;
    else if (k == "enterprise_project_id")
      slot = &f.enterprise_project_id;
    else if (k == "cluster")
      slot = &f.cluster;
    else if (k == "namespace")
      slot = &f.ns;
    else if (k == "name")
      slot = &f.name;
    if (!slot) return "unknown filter field \"" + std::string(k) + "\"";
    if (!val.is_string()) return "\"filter." + std::string(k) + "\" must be a string";
    *slot = text_of(val);
  }
  return std::nullopt;
}

std::optional<std::string> parse_since(const json::value& v, request& r) {
  if (v.is_uint64()) {
    r.since = v.as_uint64();
  } else if (v.is_int64() && v.as_int64() >= 0) {
    r.since = static_cast<std::uint64_t>(v.as_int64());
  } else {
    return "\"since\" must be a non-negative integer";
  }
  return std::nullopt;
}

std::optional<std::string> parse_op(const json::object& o, request& r) {
  auto it = o.find("op");
  if (it == o.end()) return "missing \"op\" (watch, list or status)";
  if (!it->value().is_string()) return "\"op\" must be a string";
  const auto& name = it->value().as_string();
  if (name == "watch")
    r.operation = op::watch;
  else if (name == "list")
    r.operation = op::list;
  else if (name == "status")
    r.operation = op::status;
  else
    return "unknown op \"" + std::string(name) + "\" (watch, list or status)";
  return std::nullopt;
}

std::optional<std::string> parse_members(const json::object& o, request& r) {
  for (const auto& [k, v] : o) {
    std::optional<std::string> err;
    if (k == "op") continue;
    if (k == "since" && r.operation == op::watch) {
      err = parse_since(v, r);
    } else if (k == "sync" && r.operation == op::watch) {
      if (!v.is_bool()) return "\"sync\" must be true or false";
      r.sync = v.as_bool();
    } else if (k == "filter" && r.operation != op::status) {
      err = parse_filter(v, r.filter);
    } else {
      return "field \"" + std::string(k) + "\" is not valid for op \"" +
             std::string(o.at("op").as_string()) + "\"";
    }
    if (err) return err;
  }
  if (r.since && r.sync) return "\"since\" and \"sync\" cannot be combined";
  return std::nullopt;
}

}  // namespace

event_meta meta_of(const change_event& e) {
  return {e.scope.project_id, e.scope.enterprise_project_id,
          e.key.cluster,      e.key.ns,
          e.key.name,         e.type};
}

event_meta meta_of(const scope_id& scope, const job_key& key) {
  return {scope.project_id, scope.enterprise_project_id, key.cluster, key.ns, key.name,
          std::nullopt};
}

std::optional<event_meta> parse_event_meta(std::string_view line) {
  boost::system::error_code ec;
  auto v = json::parse(json::string_view(line.data(), line.size()), ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  const auto* type = o.if_contains("type");
  const auto* scope = o.if_contains("scope");
  const auto* key = o.if_contains("key");
  if (!type || !type->is_string() || !scope || !scope->is_object() || !key || !key->is_object())
    return std::nullopt;
  event_meta m;
  event_type t;
  if (!parse_event_type(type->as_string(), t)) return std::nullopt;
  m.type = t;
  auto field = [](const json::object& obj, const char* name) {
    const auto* f = obj.if_contains(name);
    return f && f->is_string() ? std::string(f->as_string()) : std::string();
  };
  m.project_id = field(scope->as_object(), "project_id");
  m.enterprise_project_id = field(scope->as_object(), "enterprise_project_id");
  m.cluster = field(key->as_object(), "cluster");
  m.ns = field(key->as_object(), "namespace");
  m.name = field(key->as_object(), "name");
  return m;
}

bool event_filter::empty() const {
  return !project_id && !enterprise_project_id && !cluster && !ns && !name && types.empty();
}

bool event_filter::matches(const event_meta& m) const {
  if (project_id && *project_id != m.project_id) return false;
  if (enterprise_project_id && *enterprise_project_id != m.enterprise_project_id) return false;
  if (cluster && *cluster != m.cluster) return false;
  if (ns && *ns != m.ns) return false;
  if (name && *name != m.name) return false;
  if (!types.empty() && m.type) {
    bool any = false;
    for (auto t : types) any = any || t == *m.type;
    if (!any) return false;
  }
  return true;
}

request_result parse_request(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // socat crlf, telnet
  boost::system::error_code ec;
  auto v = json::parse(json::string_view(line.data(), line.size()), ec);
  if (ec) return bad_request("the request is not JSON: " + ec.message());
  if (!v.is_object()) return bad_request("the request must be a JSON object");
  request r;
  if (auto err = parse_op(v.as_object(), r)) return bad_request(*err);
  if (auto err = parse_members(v.as_object(), r)) return bad_request(*err);
  return r;
}

std::string hello_line(std::string_view server, std::uint64_t seq, std::uint64_t oldest_seq) {
  json::object o;
  o["type"] = "hello";
  o["v"] = 1;
  o["server"] = json::string_view(server.data(), server.size());
  o["seq"] = seq;
  o["oldest_seq"] = oldest_seq;
  return line_of(o);
}

std::string error_line(std::string_view code, std::string_view message) {
  json::object o;
  o["type"] = "error";
  o["code"] = json::string_view(code.data(), code.size());
  o["message"] = json::string_view(message.data(), message.size());
  return line_of(o);
}

std::string gone_line(std::uint64_t oldest_seq, std::string_view message) {
  json::object o;
  o["type"] = "error";
  o["code"] = "gone";
  o["oldest_seq"] = oldest_seq;
  o["message"] = json::string_view(message.data(), message.size());
  return line_of(o);
}

std::string overflow_line(std::string_view message) { return error_line("overflow", message); }

std::string bookmark_line(std::uint64_t seq) {
  return "{\"type\":\"bookmark\",\"seq\":" + std::to_string(seq) + "}\n";
}

std::string synced_line(std::uint64_t seq) {
  return "{\"type\":\"synced\",\"seq\":" + std::to_string(seq) + "}\n";
}

std::string end_line(std::uint64_t seq) {
  return "{\"type\":\"end\",\"seq\":" + std::to_string(seq) + "}\n";
}

std::string existing_line(const scope_id& scope, const job_key& key, std::string_view body) {
  std::string out;
  out.reserve(96 + body.size());
  out += "{\"type\":\"existing\",\"scope\":";
  out += scope_json(scope);
  out += ",\"key\":";
  out += key_json(key);
  out += ",\"job\":";
  out += body;
  out += "}\n";
  return out;
}

std::string scope_status_line(const scope_id& scope, bool failing, std::string_view error) {
  std::string out = "{\"type\":\"scope_status\",\"scope\":" + scope_json(scope);
  out += failing ? ",\"state\":\"failing\",\"error\":" : ",\"state\":\"ok\",\"error\":";
  if (failing)
    append_json_string(out, error);
  else
    out += "null";
  return out + "}\n";
}

namespace {

json::value time_or_null(std::int64_t ms) {
  if (ms == 0) return nullptr;
  return json::value(format_utc_ms(ms));
}

json::object scope_object(const scope_report& s) {
  json::object o;
  o["scope"] = json::parse(scope_json(s.scope));
  if (!s.scope.filters.empty()) o["filters"] = s.scope.filters;
  // "starting" until the scope's first walk in this run ends: "ok" before
  // any walk would claim what nobody checked yet.
  o["state"] = s.failing ? "failing" : s.last_attempt_ms == 0 ? "starting" : "ok";
  o["jobs"] = s.jobs;
  o["last_attempt"] = time_or_null(s.last_attempt_ms);
  o["last_complete"] = time_or_null(s.last_complete_ms);
  o["last_error"] = s.last_error.empty() ? json::value(nullptr) : json::value(s.last_error);
  return o;
}

}  // namespace

std::string status_line(const status_report& r) {
  json::object o;
  o["type"] = "status";
  o["server"] = r.server;
  o["seq"] = r.seq;
  o["oldest_seq"] = r.oldest_seq;
  o["subscribers"] = r.subscribers;
  o["clients"] = r.clients;
  json::array scopes;
  for (const auto& s : r.scopes) scopes.push_back(scope_object(s));
  o["scopes"] = std::move(scopes);
  o["config_error"] =
      r.scopes.config_error.empty() ? json::value(nullptr) : json::value(r.scopes.config_error);
  return line_of(o);
}

}  // namespace hssjw::proto
