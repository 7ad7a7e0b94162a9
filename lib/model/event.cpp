// Rendering change events as SPEC §4 NDJSON lines. Job bodies are already
// canonical JSON text, so they are embedded as they are, not re-serialised.
#include "model/event.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>
#include <chrono>
#include <cstdio>
#include <limits>

#include "core/utc.hpp"

namespace hssjw {

std::string_view to_string(event_type t) {
  switch (t) {
    case event_type::added:
      return "added";
    case event_type::removed:
      return "removed";
    case event_type::modified:
      return "modified";
    case event_type::replaced:
      return "replaced";
  }
  return "unknown";
}

bool parse_event_type(std::string_view s, event_type& out) {
  for (auto t :
       {event_type::added, event_type::removed, event_type::modified, event_type::replaced}) {
    if (s == to_string(t)) {
      out = t;
      return true;
    }
  }
  return false;
}

std::string event_line(const change_event& e) { return e.line.empty() ? to_json_line(e) : e.line; }

std::string format_utc_ms(std::int64_t epoch_ms) {
  const auto u =
      to_utc_parts(std::chrono::system_clock::time_point(std::chrono::milliseconds(epoch_ms)));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", u.year, u.month, u.day,
                u.hour, u.minute, u.second, u.millisecond);
  return buf;
}

namespace {

// Boost.JSON's serializer escapes '"', '\\' and control characters and
// writes every other byte as it is; names and keys rarely hold any of
// those, so they are copied without the serializer's string.
bool needs_escape(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == '"' || c == '\\') return true;
  return false;
}

void append_string(std::string& out, std::string_view s) {
  if (needs_escape(s)) {
    out += boost::json::serialize(boost::json::string_view(s.data(), s.size()));
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

// The events of a walk share their time: formatted once per run of them.
const std::string& cached_utc_ms(std::int64_t epoch_ms) {
  thread_local std::int64_t last = std::numeric_limits<std::int64_t>::min();
  thread_local std::string text;
  if (epoch_ms != last) {
    text = format_utc_ms(epoch_ms);
    last = epoch_ms;
  }
  return text;
}

void append_member(std::string& out, std::string_view name, std::string_view value) {
  append_string(out, name);
  out += ':';
  append_string(out, value);
}

}  // namespace

std::string to_json_line(const change_event& e) {
  std::string out;
  render_json_line(e, out);
  return out;
}

void render_json_line(const change_event& e, std::string& out) {
  out.clear();
  out.reserve(256 + e.job.size() + e.previous.size());
  out += "{\"v\":1,\"seq\":";
  out += std::to_string(e.seq);
  out += ",\"type\":\"";
  out += to_string(e.type);
  out += "\",\"time\":\"";
  out += cached_utc_ms(e.time_ms);
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
}

}  // namespace hssjw
