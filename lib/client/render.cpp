// Text output of the CLI. Columns are padded to their widest cell so that
// the tables stay readable with long cluster and job names.
#include "client/render.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>

#include "model/event.hpp"

namespace hssjw::cli {

namespace json = boost::json;

namespace {

std::string str(const json::object& o, const char* key, const char* fallback = "") {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return fallback;
  if (v->is_string()) return std::string(v->as_string());
  return json::serialize(*v);
}

const json::object& obj(const json::object& o, const char* key) {
  static const json::object empty;
  const auto* v = o.if_contains(key);
  return v && v->is_object() ? v->as_object() : empty;
}

std::string scope_text(const json::object& scope) {
  const auto eps = str(scope, "enterprise_project_id");
  return str(scope, "project_id") + "/" + (eps.empty() ? "-" : eps);
}

std::string key_text(const json::object& key) {
  return str(key, "cluster") + "/" + str(key, "namespace") + "/" + str(key, "name");
}

std::string job_summary(const json::object& job) {
  if (job.empty()) return {};
  return " status=" + str(job, "status", "?") + " pods=" + str(job, "pods_num", "?");
}

std::string time_of_ms(const json::object& job, const char* key) {
  const auto* v = job.if_contains(key);
  if (!v || !v->is_int64()) return "-";
  auto t = format_utc_ms(v->as_int64());
  return t.substr(0, 19) + "Z";  // seconds are enough in a table
}

std::string render_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out += line + '\n';
  }
  return out;
}

}  // namespace

std::string event_text(const json::object& e) {
  const auto type = str(e, "type");
  std::string out = str(e, "time") + " #" + str(e, "seq") + " " + type + " " +
                    key_text(obj(e, "key")) + " (" + scope_text(obj(e, "scope")) + ")";
  out += job_summary(type == "removed" ? obj(e, "previous") : obj(e, "job"));
  if (const auto* c = e.if_contains("changed"); c && c->is_array()) {
    out += " changed=";
    bool first = true;
    for (const auto& f : c->as_array()) {
      if (!first) out += ',';
      first = false;
      out += f.is_string() ? std::string(f.as_string()) : json::serialize(f);
    }
  }
  return out;
}

std::string existing_text(const json::object& x) {
  return "existing " + key_text(obj(x, "key")) + " (" + scope_text(obj(x, "scope")) + ")" +
         job_summary(obj(x, "job"));
}

// "app=npd,tier=node" from [{"key":"app","val":"npd"},...]
std::string labels_text(const json::object& job) {
  const auto* v = job.if_contains("match_labels");
  if (!v || !v->is_array() || v->as_array().empty()) return "-";
  std::string out;
  for (const auto& l : v->as_array()) {
    if (!l.is_object()) continue;
    if (!out.empty()) out += ',';
    out += str(l.as_object(), "key") + "=" + str(l.as_object(), "val");
  }
  return out.empty() ? "-" : out;
}

std::string list_table(std::vector<json::object> existing, bool wide) {
  auto sort_key = [](const json::object& x) {
    const auto& s = obj(x, "scope");
    const auto& k = obj(x, "key");
    return std::make_tuple(str(s, "project_id"), str(s, "enterprise_project_id"), str(k, "cluster"),
                           str(k, "namespace"), str(k, "name"));
  };
  std::sort(existing.begin(), existing.end(), [&](const json::object& a, const json::object& b) {
    return sort_key(a) < sort_key(b);
  });
  std::vector<std::vector<std::string>> rows{
      {"SCOPE", "CLUSTER", "NAMESPACE", "NAME", "STATUS", "PODS", "CREATED"}};
  if (wide) rows[0].insert(rows[0].end(), {"EXECUTED", "IMAGE", "LABELS"});
  for (const auto& x : existing) {
    const auto& k = obj(x, "key");
    const auto& j = obj(x, "job");
    rows.push_back({scope_text(obj(x, "scope")), str(k, "cluster"), str(k, "namespace"),
                    str(k, "name"), str(j, "status", "-"), str(j, "pods_num", "-"),
                    time_of_ms(j, "create_time")});
    if (wide)
      rows.back().insert(rows.back().end(), {time_of_ms(j, "execute_time"),
                                             str(j, "image_name", "-"), labels_text(j)});
  }
  return render_table(rows) + std::to_string(existing.size()) + " job(s)\n";
}

std::string status_table(const json::object& s, bool wide) {
  std::string out = str(s, "server") + "  seq " + str(s, "seq") + "  oldest_seq " +
                    str(s, "oldest_seq") + "  subscribers " + str(s, "subscribers") + "  clients " +
                    str(s, "clients") + "\n";
  if (auto e = str(s, "config_error"); !e.empty())
    out += "config: reload rejected, running the previous config: " + e + "\n";
  // Seconds are enough in the table; wide keeps the server's milliseconds.
  auto when = [&](const json::object& sc, const char* key) {
    auto t = str(sc, key, "never");
    return wide || t.size() != 24 ? t : t.substr(0, 19) + "Z";
  };
  std::vector<std::vector<std::string>> rows{
      {"SCOPE", "STATE", "JOBS", "LAST ATTEMPT", "LAST COMPLETE", "LAST ERROR"}};
  if (wide) rows[0].insert(rows[0].begin() + 1, "FILTERS");
  if (const auto* scopes = s.if_contains("scopes"); scopes && scopes->is_array()) {
    for (const auto& v : scopes->as_array()) {
      if (!v.is_object()) continue;
      const auto& sc = v.as_object();
      auto name = scope_text(obj(sc, "scope"));
      const auto filters = str(sc, "filters");
      if (!wide && !filters.empty()) name += "?" + filters;
      rows.push_back({name, str(sc, "state"), str(sc, "jobs"), when(sc, "last_attempt"),
                      when(sc, "last_complete"), str(sc, "last_error", "-")});
      if (wide) rows.back().insert(rows.back().begin() + 1, filters.empty() ? "-" : filters);
    }
  }
  return out + render_table(rows);
}

}  // namespace hssjw::cli
