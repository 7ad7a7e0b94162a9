// Rendering change events as SPEC §4 NDJSON lines. Job bodies are already
// canonical JSON text, so they are embedded as they are, not re-serialised.
#include "walk/event.hpp"

#include "core/utc.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

#include <chrono>
#include <cstdio>

namespace hssjw {

std::string_view to_string(event_type t) {
  switch (t) {
    case event_type::added: return "added";
    case event_type::removed: return "removed";
    case event_type::modified: return "modified";
    case event_type::replaced: return "replaced";
  }
  return "unknown";
}

bool parse_event_type(std::string_view s, event_type& out) {
  for (auto t : {event_type::added, event_type::removed, event_type::modified,
                 event_type::replaced}) {
    if (s == to_string(t)) {
      out = t;
      return true;
    }
  }
  return false;
}

std::string event_line(const change_event& e) { return e.line.empty() ? to_json_line(e) : e.line; }

std::string format_utc_ms(std::int64_t epoch_ms) {
  const auto u = to_utc_parts(std::chrono::system_clock::time_point(std::chrono::milliseconds(epoch_ms)));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", u.year, u.month, u.day,
                u.hour, u.minute, u.second, u.millisecond);
  return buf;
}

namespace {

void append_string(std::string& out, std::string_view s) {
  out += boost::json::serialize(boost::json::string_view(s.data(), s.size()));
}

void append_member(std::string& out, std::string_view name, std::string_view value) {
  append_string(out, name);
  out += ':';
  append_string(out, value);
}

}  // namespace

std::string to_json_line(const change_event& e) {
  std::string out;
  out.reserve(64 + e.job.size() + e.previous.size());
  out += "{\"v\":1,\"seq\":";
  out += std::to_string(e.seq);
  out += ",\"type\":\"";
  out += to_string(e.type);
  out += "\",\"time\":\"";
  out += format_utc_ms(e.time_ms);
  out += "\",\"scope\":{";
  append_member(out, "project_id", e.scope.project_id);
  out += ',';
  append_member(out, "enterprise_project_id", e.scope.enterprise_project_id);
  out += "},\"key\":{";
  append_member(out, "cluster", e.key.cluster);
  out += ',';
  append_member(out, "namespace", e.key.ns);
  out += ',';
  append_member(out, "name", e.key.name);
  out += '}';
  if (e.type != event_type::removed) {
    out += ",\"job\":";
    out += e.job;
  }
  if (e.type != event_type::added) {
    out += ",\"previous\":";
    out += e.previous;
  }
  if (e.type == event_type::modified || e.type == event_type::replaced) {
    out += ",\"changed\":[";
    for (std::size_t i = 0; i < e.changed.size(); ++i) {
      if (i) out += ',';
      append_string(out, e.changed[i]);
    }
    out += ']';
  }
  out += '}';
  return out;
}

}  // namespace hssjw
