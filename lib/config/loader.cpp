// The config loader: YAML text -> validated config struct, table-driven.
// Each mapping is described by a list of (key, handler); the walker rejects
// unknown and duplicate keys and remembers where every key was, so the
// cross-key checks made after the walk (required keys, endpoint defaults,
// retry.max >= retry.initial) can point at the right line too.
#include "config/loader.hpp"

#include <sys/un.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "config/values.hpp"
#include "model/scope.hpp"

namespace hssjw::config {

std::string load_error::to_string() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) out += ':' + std::to_string(column);
  }
  out += ": ";
  out += message;
  return out;
}

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using error_opt = std::optional<load_error>;

// Largest config file we read: a guard against pointing --config at a
// device or a log file, far above any real config.
constexpr std::uintmax_t max_file_size = 4 * 1024 * 1024;

// One key of a mapping (or one item of a sequence) as met in the file.
struct entry {
  YAML::Node value;
  YAML::Mark where;  // the value, or the key when the value is empty
  std::string path;  // dotted key path for messages: "poll.retry.max", "projects[1].id"
};

struct field {
  std::string_view key;
  std::function<error_opt(const entry&)> parse;
};

const char* kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing (null)";
  }
}

bool is_plain(const YAML::Node& n) { return n.Tag() == "?"; }

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// Project and enterprise project ids go into the request path and query.
bool valid_id(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

bool valid_region(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

template <class T>
std::string join_keys(const T& keys) {
  std::string out;
  for (const auto& k : keys) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

class parser {
 public:
  parser(std::string file, fs::path base_dir)
      : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  error_opt run(const YAML::Node& root, config& c);

 private:
  load_error error_at(const YAML::Mark& m, std::string message) const {
    load_error e;
    e.file = file_;
    if (!m.is_null()) {
      e.line = m.line + 1;
      e.column = m.column + 1;
    }
    e.message = std::move(message);
    return e;
  }
  load_error error_at(const entry& e, std::string_view message) const {
    return error_at(e.where, e.path + ": " + std::string(message));
  }

  // The mapping walker: type check, unknown and duplicate keys, dispatch.
  error_opt parse_map(const entry& e, std::initializer_list<field> fields);

  // Typed leaf handlers.
  error_opt scalar(const entry& e, std::string_view what, std::string& out) const;
  error_opt get_string(const entry& e, std::string& out) const;
  error_opt get_optional_string(const entry& e, std::string& out) const;
  error_opt get_bool(const entry& e, bool& out) const;
  template <class Int>
  error_opt get_int(const entry& e, Int& out, std::int64_t lo, std::int64_t hi) const;
  error_opt get_duration(const entry& e, duration& out, duration lo, duration hi) const;
  error_opt get_percent(const entry& e, double& out, double max) const;
  error_opt get_rate(const entry& e, rate& out) const;
  error_opt get_mode(const entry& e, std::uint32_t& out) const;
  template <class Enum>
  error_opt get_enum(const entry& e, Enum& out,
                     std::initializer_list<std::pair<std::string_view, Enum>> names) const;
  error_opt get_path(const entry& e, std::string& out) const;
  error_opt get_file_ref(const entry& e, std::string& out) const;
  error_opt get_string_list(
      const entry& e, std::vector<std::string>& out, bool allow_empty_item,
      const std::function<error_opt(const entry&, const std::string&)>& check_item) const;

  // Sections.
  error_opt parse_auth(const entry& e, auth_config& a);
  error_opt parse_projects(const entry& e, std::vector<project_config>& out);
  error_opt parse_project(const entry& e, project_config& p);
  error_opt parse_poll(const entry& e, poll_config& p);

  // Checks across keys, after the walk.
  error_opt finish(config& c);
  const entry* seen(const std::string& path) const {
    auto it = seen_.find(path);
    return it == seen_.end() ? nullptr : &it->second;
  }
  bool given(const std::string& path) const {
    const entry* e = seen(path);
    return e && !e->value.IsNull();
  }
  error_opt missing(const std::string& parent, std::string_view key,
                    std::string_view why = {}) const;
  std::string resolve(const std::string& p) const {
    fs::path path(p);
    if (path.is_absolute()) return path.lexically_normal().string();
    return (base_dir_ / path).lexically_normal().string();
  }

  std::string file_;
  fs::path base_dir_;
  YAML::Mark root_mark_;
  std::map<std::string, entry> seen_;  // every key met, by dotted path
};

error_opt parser::parse_map(const entry& e, std::initializer_list<field> fields) {
  if (e.value.IsNull()) return std::nullopt;  // "poll:" with nothing under it: all defaults
  if (!e.value.IsMap())
    return error_at(e, std::string("expected a mapping, got ") + kind_of(e.value));
  std::vector<std::string_view> allowed;
  for (const auto& f : fields) allowed.push_back(f.key);
  std::map<std::string, YAML::Mark> met;
  for (auto it = e.value.begin(); it != e.value.end(); ++it) {
    // Copies, not references: yaml-cpp's it-> returns a temporary proxy,
    // so a reference to its first/second dangles (ASan, found by fuzz_config).
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    std::string where = e.path.empty() ? std::string("top level") : e.path;
    if (!key.IsScalar()) return error_at(key.Mark(), "a key in " + where + " must be a plain name");
    const std::string& name = key.Scalar();
    auto f =
        std::find_if(fields.begin(), fields.end(), [&](const field& x) { return x.key == name; });
    if (f == fields.end())
      return error_at(key.Mark(), "unknown key '" + name + "' in " + where +
                                      " (allowed: " + join_keys(allowed) + ")");
    if (auto [prev, fresh] = met.emplace(name, key.Mark()); !fresh)
      return error_at(key.Mark(), "duplicate key '" + name + "' in " + where +
                                      " (first given at line " +
                                      std::to_string(prev->second.line + 1) + ")");
    entry child{value, value.IsNull() ? key.Mark() : value.Mark(),
                e.path.empty() ? name : e.path + "." + name};
    seen_.emplace(child.path, child);
    if (auto err = f->parse(child)) return err;
  }
  return std::nullopt;
}

error_opt parser::scalar(const entry& e, std::string_view what, std::string& out) const {
  if (!e.value.IsScalar())
    return error_at(e, "expected " + std::string(what) + ", got " + kind_of(e.value));
  out = e.value.Scalar();
  return std::nullopt;
}

error_opt parser::get_string(const entry& e, std::string& out) const {
  std::string s;
  if (auto err = scalar(e, "a string", s)) return err;
  if (s.empty()) return error_at(e, "must not be empty");
  if (has_control_char(s)) return error_at(e, "must not contain control characters");
  out = std::move(s);
  return std::nullopt;
}

error_opt parser::get_optional_string(const entry& e, std::string& out) const {
  if (e.value.IsNull()) {  // `key: ~` = not set (render_effective writes unset keys so)
    out.clear();
    return std::nullopt;
  }
  return get_string(e, out);
}

error_opt parser::get_bool(const entry& e, bool& out) const {
  std::string s;
  if (auto err = scalar(e, "true or false", s)) return err;
  if (is_plain(e.value)) {
    bool is_true = s == "true" || s == "True" || s == "TRUE";
    bool is_false = s == "false" || s == "False" || s == "FALSE";
    if (is_true || is_false) {
      out = is_true;
      return std::nullopt;
    }
  }
  return error_at(e, "expected true or false, got '" + s + "'");
}

template <class Int>
error_opt parser::get_int(const entry& e, Int& out, std::int64_t lo, std::int64_t hi) const {
  std::string s;
  if (auto err = scalar(e, "an integer", s)) return err;
  auto v = detail::parse_integer(s);
  bool overflow = !v && s.find_first_not_of("+-0123456789") == std::string::npos &&
                  s.find_first_of("0123456789") != std::string::npos;
  if (!is_plain(e.value) || (!v && !overflow))
    return error_at(e, "expected an integer, got '" + s + "'");
  if (overflow || *v < lo || *v > hi)
    return error_at(e, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                           " (got " + s + ")");
  out = static_cast<Int>(*v);
  return std::nullopt;
}

error_opt parser::get_duration(const entry& e, duration& out, duration lo, duration hi) const {
  std::string s;
  if (auto err = scalar(e, "a duration such as 30s", s)) return err;
  auto d = detail::parse_duration(s);
  if (!d) return error_at(e, d.error().message + " (got '" + s + "')");
  if (*d < lo || *d > hi)
    return error_at(e, "must be between " + detail::format_duration(lo) + " and " +
                           detail::format_duration(hi) + " (got " + s + ")");
  out = *d;
  return std::nullopt;
}

error_opt parser::get_percent(const entry& e, double& out, double max) const {
  std::string s;
  if (auto err = scalar(e, "a percentage such as 10%", s)) return err;
  auto p = detail::parse_percent(s);
  if (!p) return error_at(e, p.error().message + " (got '" + s + "')");
  if (*p > max)
    return error_at(e,
                    "must be between 0% and " + detail::format_percent(max) + " (got " + s + ")");
  out = *p;
  return std::nullopt;
}

error_opt parser::get_rate(const entry& e, rate& out) const {
  std::string s;
  if (auto err = scalar(e, "a rate such as 5/min", s)) return err;
  auto r = detail::parse_rate(s);
  if (!r) return error_at(e, r.error().message + " (got '" + s + "')");
  out = *r;
  return std::nullopt;
}

error_opt parser::get_mode(const entry& e, std::uint32_t& out) const {
  std::string s;
  if (auto err = scalar(e, "an octal mode such as \"0660\"", s)) return err;
  auto m = detail::parse_mode(s);
  if (!m) return error_at(e, m.error().message + " (got '" + s + "')");
  out = *m;
  return std::nullopt;
}

template <class Enum>
error_opt parser::get_enum(const entry& e, Enum& out,
                           std::initializer_list<std::pair<std::string_view, Enum>> names) const {
  std::string s;
  std::vector<std::string_view> allowed;
  for (const auto& [name, value] : names) allowed.push_back(name);
  if (auto err = scalar(e, "one of " + join_keys(allowed), s)) return err;
  for (const auto& [name, value] : names) {
    if (s == name) {
      out = value;
      return std::nullopt;
    }
  }
  return error_at(e, "expected one of " + join_keys(allowed) + " (got '" + s + "')");
}

error_opt parser::get_path(const entry& e, std::string& out) const {
  std::string s;
  if (auto err = get_string(e, s)) return err;
  out = resolve(s);
  return std::nullopt;
}

error_opt parser::get_file_ref(const entry& e, std::string& out) const {
  if (e.value.IsNull()) {
    out.clear();
    return std::nullopt;
  }
  std::string s;
  if (auto err = get_string(e, s)) return err;
  auto credential = detail::parse_file_ref(s);
  if (!credential) return error_at(e, credential.error().message + " (got '" + s + "')");
  out = *credential ? s : resolve(s);
  return std::nullopt;
}

error_opt parser::get_string_list(
    const entry& e, std::vector<std::string>& out, bool allow_empty_item,
    const std::function<error_opt(const entry&, const std::string&)>& check_item) const {
  if (!e.value.IsSequence())
    return error_at(e, std::string("expected a list, got ") + kind_of(e.value));
  std::vector<std::string> items;
  for (std::size_t i = 0; i < e.value.size(); ++i) {
    entry item{e.value[i], e.value[i].IsNull() ? e.where : e.value[i].Mark(),
               e.path + "[" + std::to_string(i) + "]"};
    std::string s;
    if (auto err = scalar(item, "a string", s)) return err;
    if (s.empty() && !allow_empty_item) return error_at(item, "must not be empty");
    if (std::find(items.begin(), items.end(), s) != items.end())
      return error_at(item, "duplicate value '" + s + "'");
    if (auto err = check_item(item, s)) return err;
    items.push_back(std::move(s));
  }
  out = std::move(items);
  return std::nullopt;
}

error_opt parser::parse_auth(const entry& e, auth_config& a) {
  return parse_map(
      e,
      {
          {"method",
           [&](const entry& v) {
             return get_enum(v, a.method,
                             {{"token", auth_method::token},
                              {"password", auth_method::password},
                              {"aksk", auth_method::aksk}});
           }},
          {"token_file", [&](const entry& v) { return get_file_ref(v, a.token_file); }},
          // Validated in finish(), once allow_insecure_http is known.
          {"iam_endpoint", [&](const entry& v) { return get_optional_string(v, a.iam_endpoint); }},
          {"domain", [&](const entry& v) { return get_optional_string(v, a.domain); }},
          {"user", [&](const entry& v) { return get_optional_string(v, a.user); }},
          {"password_file", [&](const entry& v) { return get_file_ref(v, a.password_file); }},
          {"access_key", [&](const entry& v) { return get_optional_string(v, a.access_key); }},
          {"secret_key_file", [&](const entry& v) { return get_file_ref(v, a.secret_key_file); }},
      });
}

error_opt parser::parse_projects(const entry& e, std::vector<project_config>& out) {
  if (!e.value.IsSequence())
    return error_at(e, std::string("expected a list of projects, got ") + kind_of(e.value));
  if (e.value.size() == 0) return error_at(e, "must list at least one project");
  std::vector<project_config> projects;
  std::map<std::string, std::string> ids;  // id -> path of its first use
  for (std::size_t i = 0; i < e.value.size(); ++i) {
    entry item{e.value[i], e.value[i].IsNull() ? e.where : e.value[i].Mark(),
               e.path + "[" + std::to_string(i) + "]"};
    if (!item.value.IsMap())
      return error_at(item,
                      std::string("expected a mapping with an id, got ") + kind_of(item.value));
    seen_.emplace(item.path, item);
    project_config p;
    if (auto err = parse_project(item, p)) return err;
    if (auto [prev, fresh] = ids.emplace(p.id, item.path); !fresh)
      return error_at(*seen(item.path + ".id"),
                      "duplicate project id '" + p.id + "' (also " + prev->second + ")");
    projects.push_back(std::move(p));
  }
  out = std::move(projects);
  return std::nullopt;
}

error_opt parser::parse_project(const entry& e, project_config& p) {
  auto err = parse_map(
      e, {
             {"id",
              [&](const entry& v) -> error_opt {
                if (auto err = get_string(v, p.id)) return err;
                if (!valid_id(p.id))
                  return error_at(v, "a project id is 1..256 letters, digits, '-', '_' or '.'");
                return std::nullopt;
              }},
             {"enterprise_projects",
              [&](const entry& v) -> error_opt {
                if (auto err = get_string_list(
                        v, p.enterprise_projects, true,
                        [&](const entry& item, const std::string& s) -> error_opt {
                          if (!s.empty() && !valid_id(s))
                            return error_at(item,
                                            "an enterprise project id is \"\" (the default) or "
                                            "1..256 letters, digits, '-', '_' or '.'");
                          return std::nullopt;
                        }))
                  return err;
                if (p.enterprise_projects.empty())
                  return error_at(v, "must list at least one enterprise project (\"\" = default)");
                return std::nullopt;
              }},
             {"filters",
              [&](const entry& v) {
                auto filter = [&](std::string_view key) {
                  return field{key, [&p, this, key](const entry& f) -> error_opt {
                                 std::string s;
                                 if (auto err = get_string(f, s)) return err;
                                 p.filters[std::string(key)] = std::move(s);
                                 return std::nullopt;
                               }};
                };
                return parse_map(
                    v, {filter("cluster_name"), filter("namespace_name"), filter("job_name")});
              }},
         });
  if (err) return err;
  if (!given(e.path + ".id")) return missing(e.path, "id");
  return std::nullopt;
}

error_opt parser::parse_poll(const entry& e, poll_config& p) {
  return parse_map(
      e,
      {
          {"interval", [&](const entry& v) { return get_duration(v, p.interval, 1s, 24h); }},
          {"jitter", [&](const entry& v) { return get_percent(v, p.jitter, 0.5); }},
          {"page_size", [&](const entry& v) { return get_int(v, p.page_size, 10, 200); }},
          {"timeout", [&](const entry& v) { return get_duration(v, p.timeout, 100ms, 10min); }},
          {"max_in_flight", [&](const entry& v) { return get_int(v, p.max_in_flight, 1, 64); }},
          {"pages_in_flight", [&](const entry& v) { return get_int(v, p.pages_in_flight, 1, 16); }},
          {"rate", [&](const entry& v) { return get_rate(v, p.rate); }},
          {"retry",
           [&](const entry& v) {
             return parse_map(
                 v, {
                        {"attempts",
                         [&](const entry& r) { return get_int(r, p.retry.attempts, 0, 20); }},
                        {"initial",
                         [&](const entry& r) {
                           return get_duration(r, p.retry.initial, 10ms, 10min);
                         }},
                        // >= initial is checked in finish(): keys may come in any order.
                        {"max",
                         [&](const entry& r) { return get_duration(r, p.retry.max, 10ms, 1h); }},
                    });
           }},
          {"trust_last_update_time",
           [&](const entry& v) { return get_bool(v, p.trust_last_update_time); }},
          {"full_walk_every",
           [&](const entry& v) { return get_int(v, p.full_walk_every, 1, 1000); }},
          {"removal_guard", [&](const entry& v) { return get_percent(v, p.removal_guard, 1.0); }},
          {"removal_confirmations",
           [&](const entry& v) { return get_int(v, p.removal_confirmations, 1, 100); }},
          {"ignore_fields",
           [&](const entry& v) {
             return get_string_list(
                 v, p.ignore_fields, false,
                 [&](const entry& item, const std::string& s) -> error_opt {
                   if (s == "cluster_name" || s == "namespace_name" || s == "name")
                     return error_at(item, "'" + s +
                                               "' is a key field (cluster_name, namespace_name, "
                                               "name) and cannot be ignored");
                   return std::nullopt;
                 });
           }},
          {"baseline_events", [&](const entry& v) { return get_bool(v, p.baseline_events); }},
      });
}

error_opt parser::missing(const std::string& parent, std::string_view key,
                          std::string_view why) const {
  std::string message = "missing required key '" + std::string(key) + "'";
  if (!why.empty()) message += " (" + std::string(why) + ")";
  if (parent.empty()) return error_at(root_mark_, message);
  if (const entry* p = seen(parent)) return error_at(*p, message);
  // The parent mapping itself is absent: point at the top level.
  return error_at(root_mark_, "missing required key '" + parent + "." + std::string(key) + "'" +
                                  (why.empty() ? "" : " (" + std::string(why) + ")"));
}

error_opt parser::run(const YAML::Node& root, config& c) {
  root_mark_ = root.IsMap() ? root.Mark() : YAML::Mark::null_mark();
  if (root.IsDefined() && !root.IsNull() && !root.IsMap())
    return error_at(root.Mark(),
                    std::string("expected a mapping at the top level, got ") + kind_of(root));
  entry top{root, root_mark_, ""};
  auto err = parse_map(
      top,
      {
          {"region",
           [&](const entry& v) -> error_opt {
             if (auto err = get_optional_string(v, c.region)) return err;
             if (!c.region.empty() && !valid_region(c.region))
               return error_at(v,
                               "a region is lowercase letters, digits and '-', e.g. "
                               "ap-southeast-1");
             return std::nullopt;
           }},
          // Validated in finish(), once allow_insecure_http is known.
          {"endpoint", [&](const entry& v) { return get_optional_string(v, c.endpoint); }},
          {"auth", [&](const entry& v) { return parse_auth(v, c.auth); }},
          {"tls",
           [&](const entry& v) {
             return parse_map(
                 v, {{"ca_file", [&](const entry& f) -> error_opt {
                        // A CA bundle is no secret: a path, not a credential.
                        if (f.value.IsNull()) return std::nullopt;
                        if (f.value.IsScalar() && f.value.Scalar().starts_with("credential:"))
                          return error_at(f,
                                          "is a path (credential: names are for "
                                          "secret files)");
                        return get_path(f, c.tls_ca_file);
                      }}});
           }},
          {"proxy",
           [&](const entry& v) -> error_opt {
             if (auto err = get_optional_string(v, c.proxy)) return err;
             if (c.proxy.empty()) return std::nullopt;
             auto p = detail::parse_proxy(c.proxy);
             if (!p)
               return error_at(v,
                               p.error().message + " (got '" + detail::redact_url(c.proxy) + "')");
             c.proxy = *p;
             return std::nullopt;
           }},
          {"projects", [&](const entry& v) { return parse_projects(v, c.projects); }},
          {"poll", [&](const entry& v) { return parse_poll(v, c.poll); }},
          {"state_dir", [&](const entry& v) { return get_path(v, c.state_dir); }},
          {"journal",
           [&](const entry& v) {
             return parse_map(v, {
                                     {"max_events",
                                      [&](const entry& j) {
                                        return get_int(j, c.journal.max_events, 1, 1'000'000'000);
                                      }},
                                     {"max_age",
                                      [&](const entry& j) {
                                        return get_duration(j, c.journal.max_age, 1min, 3650 * 24h);
                                      }},
                                 });
           }},
          {"socket",
           [&](const entry& v) {
             return parse_map(
                 v,
                 {
                     {"path",
                      [&](const entry& s) -> error_opt {
                        if (auto err = get_path(s, c.socket.path)) return err;
                        if (c.socket.path.size() >= sizeof(sockaddr_un::sun_path))
                          return error_at(s, "a socket path is at most " +
                                                 std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                                                 " bytes (resolved: " + c.socket.path + ")");
                        return std::nullopt;
                      }},
                     {"mode", [&](const entry& s) { return get_mode(s, c.socket.mode); }},
                     {"max_clients",
                      [&](const entry& s) { return get_int(s, c.socket.max_clients, 1, 65536); }},
                     {"stall_timeout",
                      [&](const entry& s) {
                        return get_duration(s, c.socket.stall_timeout, 1s, 1h);
                      }},
                     {"bookmark_interval",
                      [&](const entry& s) {
                        return get_duration(s, c.socket.bookmark_interval, 1s, 1h);
                      }},
                 });
           }},
          {"log",
           [&](const entry& v) {
             return parse_map(v, {
                                     {"level",
                                      [&](const entry& l) {
                                        return get_enum(l, c.log.level,
                                                        {{"trace", std::string("trace")},
                                                         {"debug", std::string("debug")},
                                                         {"info", std::string("info")},
                                                         {"warn", std::string("warn")},
                                                         {"error", std::string("error")},
                                                         {"critical", std::string("critical")},
                                                         {"off", std::string("off")}});
                                      }},
                                     {"target",
                                      [&](const entry& l) {
                                        return get_enum(l, c.log.target,
                                                        {{"auto", log_target::auto_detect},
                                                         {"journal", log_target::journal},
                                                         {"stderr", log_target::stderr_}});
                                      }},
                                     {"format",
                                      [&](const entry& l) {
                                        return get_enum(l, c.log.format,
                                                        {{"text", log_format::text},
                                                         {"json", log_format::json}});
                                      }},
                                 });
           }},
          {"metrics",
           [&](const entry& v) {
             return parse_map(v, {{"listen", [&](const entry& m) -> error_opt {
                                     if (auto err = get_optional_string(m, c.metrics.listen))
                                       return err;
                                     if (c.metrics.listen.empty()) return std::nullopt;
                                     auto l = detail::parse_listen(c.metrics.listen);
                                     if (!l)
                                       return error_at(m, l.error().message + " (got '" +
                                                              c.metrics.listen + "')");
                                     return std::nullopt;
                                   }}});
           }},
          {"allow_insecure_http",
           [&](const entry& v) { return get_bool(v, c.allow_insecure_http); }},
      });
  if (err) return err;
  return finish(c);
}

error_opt parser::finish(config& c) {
  // projects
  if (!seen("projects")) return missing("", "projects");

  // region / endpoint
  if (const entry* e = seen("endpoint"); e && !c.endpoint.empty()) {
    auto url = detail::parse_endpoint(c.endpoint, c.allow_insecure_http);
    if (!url)
      return error_at(*e, url.error().message + " (got '" + detail::redact_url(c.endpoint) + "')");
    c.endpoint = *url;
  } else if (!c.region.empty()) {
    c.endpoint = detail::default_hss_endpoint(c.region);
  } else {
    return missing("", "region", "or give endpoint");
  }

  // auth
  if (!seen("auth")) return missing("", "auth");
  auto require = [&](std::string_view key, const std::string& value,
                     std::string_view method) -> error_opt {
    if (!value.empty()) return std::nullopt;
    return missing("auth", key, "auth.method is " + std::string(method));
  };
  switch (c.auth.method) {
    case auth_method::token:
      if (auto err = require("token_file", c.auth.token_file, "token")) return err;
      break;
    case auth_method::password:
      if (auto err = require("domain", c.auth.domain, "password")) return err;
      if (auto err = require("user", c.auth.user, "password")) return err;
      if (auto err = require("password_file", c.auth.password_file, "password")) return err;
      break;
    case auth_method::aksk:
      if (auto err = require("access_key", c.auth.access_key, "aksk")) return err;
      if (auto err = require("secret_key_file", c.auth.secret_key_file, "aksk")) return err;
      break;
  }
  if (const entry* e = seen("auth.iam_endpoint"); e && !c.auth.iam_endpoint.empty()) {
    auto url = detail::parse_endpoint(c.auth.iam_endpoint, c.allow_insecure_http);
    if (!url)
      return error_at(
          *e, url.error().message + " (got '" + detail::redact_url(c.auth.iam_endpoint) + "')");
    c.auth.iam_endpoint = *url;
  } else if (c.auth.method == auth_method::password) {
    if (c.region.empty())
      return missing("auth", "iam_endpoint", "auth.method is password and no region is set");
    c.auth.iam_endpoint = detail::default_iam_endpoint(c.region);
  }

  // poll
  if (c.poll.retry.max < c.poll.retry.initial) {
    if (const entry* max = seen("poll.retry.max"))
      return error_at(*max, "must be at least poll.retry.initial (" +
                                detail::format_duration(c.poll.retry.initial) + "), got " +
                                detail::format_duration(c.poll.retry.max));
    return error_at(*seen("poll.retry.initial"),
                    "must be at most poll.retry.max (" + detail::format_duration(c.poll.retry.max) +
                        " by default), got " + detail::format_duration(c.poll.retry.initial));
  }
  c.poll.pages_in_flight = std::min(c.poll.pages_in_flight, c.poll.max_in_flight);
  return std::nullopt;
}

// yaml-cpp 0.7 (Debian 12) allocates without end when a node starts with
// the flow indicator ',' in block context (",x", "- a\n,"): the daemon
// would exhaust memory on a mistyped file or reload. Found by fuzz_config;
// such a line is never valid here, so it is refused before yaml-cpp sees it.
std::optional<load_error> runaway_guard(std::string_view yaml, const std::string& file_name) {
  int line = 1;
  for (std::size_t i = 0; i < yaml.size(); ++line) {
    const std::size_t end = std::min(yaml.find('\n', i), yaml.size());
    const std::size_t first = yaml.find_first_not_of(" \t", i);
    if (first < end && yaml[first] == ',')
      return load_error{file_name, line, static_cast<int>(first - i) + 1,
                        "invalid YAML: a line may not start with ','"};
    i = end + 1;
  }
  return std::nullopt;
}


// Only the start of each document matters here.
struct document_starts final : YAML::EventHandler {
  std::vector<YAML::Mark> marks;
  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// A config is one YAML document. yaml-cpp 0.7's LoadAll loops without end,
// allocating an empty document per turn, when a token that cannot start a
// document follows the root node ('"a", b', '[a], b': found by fuzz_config),
// so the documents are counted here with a bound and never all built.
std::optional<load_error> second_document(std::string_view yaml, const std::string& file_name) {
  std::istringstream in{std::string(yaml)};
  YAML::Parser parser(in);
  document_starts starts;
  for (int turn = 0; turn < 2 && parser.HandleNextDocument(starts); ++turn) {
  }
  if (starts.marks.size() < 2) return std::nullopt;
  const YAML::Mark& m = starts.marks[1];
  load_error err{file_name, m.line + 1, m.column + 1, "expected one YAML document, found a second one here"};
  const std::size_t at = static_cast<std::size_t>(std::max(m.pos, 0));
  if (at < yaml.size() && yaml.substr(at, 3) != "---") {
    const char c = yaml[at];
    err.message = "invalid YAML: " +
                  (c > ' ' && c < 0x7f ? "'" + std::string(1, c) + "'" : std::string("a byte")) +
                  " after the end of the document";
  }
  return err;
}
}  // namespace

boost::system::result<config, load_error> load_string(std::string_view yaml,
                                                      std::string file_name) {
  std::error_code ec;
  fs::path absolute = fs::absolute(file_name, ec);
  fs::path base_dir = ec ? fs::path(file_name).parent_path() : absolute.parent_path();

  if (auto err = runaway_guard(yaml, file_name)) return *err;
  YAML::Node root;
  try {
    if (auto err = second_document(yaml, file_name)) return *err;
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    load_error err{file_name, 0, 0, "invalid YAML: " + e.msg};
    if (!e.mark.is_null()) {
      err.line = e.mark.line + 1;
      err.column = e.mark.column + 1;
    }
    return err;
  }

  config c;
  c.source_path = file_name;
  parser p(file_name, base_dir);
  try {
    if (auto err = p.run(root, c)) return *err;
  } catch (const YAML::Exception& e) {  // not expected: we never convert with as<>
    return load_error{file_name, 0, 0, std::string("cannot read the config: ") + e.what()};
  }
  return c;
}

boost::system::result<config, load_error> load_file(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return load_error{path, 0, 0, "cannot read: " + ec.message()};
  if (size > max_file_size)
    return load_error{path, 0, 0,
                      "too large for a config file (" + std::to_string(size) + " bytes)"};
  std::ifstream in(path, std::ios::binary);
  if (!in) return load_error{path, 0, 0, "cannot open for reading"};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return load_error{path, 0, 0, "read error"};
  auto c = load_string(text.str(), path);
  if (c) {
    fs::path absolute = fs::absolute(path, ec);
    if (!ec) c->source_path = absolute.lexically_normal().string();
  }
  return c;
}

std::vector<hssjw::scope_id> scopes(const config& c) {
  std::vector<hssjw::scope_id> out;
  for (const auto& p : c.projects) {
    // The same text the walker uses (percent-encoded values, sorted keys).
    std::string filters = canonical_filters(p.filters);
    for (const auto& eps : p.enterprise_projects) out.push_back({p.id, eps, filters});
  }
  return out;
}

}  // namespace hssjw::config
