// The config loader: YAML text -> validated config struct. The YAML comes
// from yaml_reader.hpp; what is valid comes from the schema table
// (schema.hpp): the walk below visits the file's mappings against the
// table's rows, rejects unknown and duplicate keys, reads each value by
// its row's rule, and remembers where every key was, so the cross-key
// checks made after the walk (required keys, endpoint defaults,
// retry.max >= retry.initial) can point at the right line too.
#include "config/loader.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <utility>

#include "config/schema.hpp"
#include "config/values.hpp"
#include "config/yaml_reader.hpp"
#include "model/scope.hpp"

namespace hssjw::config {

error config_error(std::string_view file, int line, int column, std::string_view message) {
  std::string out(file);
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) out += ':' + std::to_string(column);
  }
  out += ": ";
  out += message;
  return error(errc::config_invalid, std::move(out));
}

namespace {

namespace fs = std::filesystem;
using error_opt = std::optional<error>;
using string_map = std::map<std::string, std::string>;

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
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
  error error_at(const YAML::Mark& m, std::string_view message) const {
    return hssjw::config::error_at(file_, m, message);
  }
  error error_at(const entry& e, std::string_view message) const {
    return error_at(e.where, e.path + ": " + std::string(message));
  }

  // The mapping walk: type check, unknown and duplicate keys, then each
  // value by the rule of its row. `pattern` is the table path of `e`
  // ("poll", "projects[]"); `entries` the map that map_entry rows fill.
  template <class O>
  error_opt parse_map(const entry& e, std::string_view pattern,
                      std::span<const schema::key<O>> keys, O& owner,
                      string_map* entries = nullptr);
  template <class O>
  error_opt parse_value(const entry& e, const schema::key<O>& k,
                        std::span<const schema::key<O>> keys, O& owner, string_map* entries);
  error_opt parse_projects(const entry& e, std::vector<project_config>& out);

  // One overload per rule of schema.hpp: read, check, store in `o`.
  template <class O>
  error_opt read(const entry& e, const schema::text<O>& r, O& o) const;
  template <class O>
  error_opt read(const entry& e, const schema::path<O>& r, O& o) const;
  template <class O>
  error_opt read(const entry& e, const schema::secret_file<O>& r, O& o) const;
  template <class O>
  error_opt read(const entry& e, const schema::flag<O>& r, O& o) const;
  template <class O, class Int>
  error_opt read(const entry& e, const schema::integer<O, Int>& r, O& o) const;
  template <class O>
  error_opt read(const entry& e, const schema::timespan<O>& r, O& o) const;
  template <class O>
  error_opt read(const entry& e, const schema::percent<O>& r, O& o) const;
  template <class O>
  error_opt read(const entry& e, const schema::rate_limit<O>& r, O& o) const;
  template <class O>
  error_opt read(const entry& e, const schema::octal_mode<O>& r, O& o) const;
  template <class O, class T>
  error_opt read(const entry& e, const schema::choice<O, T>& r, O& o) const;
  template <class O>
  error_opt read(const entry& e, const schema::text_list<O>& r, O& o) const;

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
                     std::span<const std::pair<std::string_view, Enum>> names) const;
  error_opt get_path(const entry& e, std::string& out) const;
  error_opt get_file_ref(const entry& e, std::string& out) const;
  error_opt get_string_list(const entry& e, std::vector<std::string>& out, bool allow_empty_item,
                            schema::check check_item) const;
  // `value` through `check` (when there is one), or the error at `e`.
  error_opt checked(const entry& e, schema::check check, std::string& value) const;

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

template <class O>
error_opt parser::parse_map(const entry& e, std::string_view pattern,
                            std::span<const schema::key<O>> keys, O& owner, string_map* entries) {
  if (e.value.IsNull()) return std::nullopt;  // "poll:" with nothing under it: all defaults
  if (!e.value.IsMap())
    return error_at(e, std::string("expected a mapping, got ") + kind_of(e.value));
  std::vector<const schema::key<O>*> fields;  // the rows of this mapping, in table order
  std::vector<std::string_view> allowed;
  for (const auto& k : keys) {
    if (schema::parent_of(k.path) != pattern) continue;
    fields.push_back(&k);
    allowed.push_back(schema::name_of(k.path));
  }
  std::map<std::string, YAML::Mark> met;
  for (auto it = e.value.begin(); it != e.value.end(); ++it) {
    // Copies, not references: yaml-cpp's it-> returns a temporary proxy,
    // so a reference to its first/second dangles (ASan, found by fuzz_config).
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    std::string where = e.path.empty() ? std::string("top level") : e.path;
    if (!key.IsScalar()) return error_at(key.Mark(), "a key in " + where + " must be a plain name");
    const std::string& name = key.Scalar();
    auto f = std::find_if(fields.begin(), fields.end(), [&](const schema::key<O>* k) {
      return schema::name_of(k->path) == name;
    });
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
    if (auto err = parse_value(child, **f, keys, owner, entries)) return err;
  }
  return std::nullopt;
}

template <class O>
error_opt parser::parse_value(const entry& e, const schema::key<O>& k,
                              std::span<const schema::key<O>> keys, O& owner, string_map* entries) {
  return std::visit(
      [&](const auto& rule) -> error_opt {
        using rule_t = std::decay_t<decltype(rule)>;
        if constexpr (std::is_same_v<rule_t, schema::section>) {
          return parse_map(e, k.path, keys, owner);
        } else if constexpr (std::is_same_v<rule_t, schema::text_map<O>>) {
          return parse_map(e, k.path, keys, owner, &rule.to.ref(owner));
        } else if constexpr (std::is_same_v<rule_t, schema::map_entry>) {
          std::string s;
          if (auto err = get_string(e, s)) return err;
          (*entries)[std::string(schema::name_of(k.path))] = std::move(s);
          return std::nullopt;
        } else if constexpr (std::is_same_v<rule_t, schema::project_list<O>>) {
          return parse_projects(e, rule.to.ref(owner));
        } else {
          return read(e, rule, owner);
        }
      },
      k.is);
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
    if (auto err = parse_map(item, "projects[]", schema::project_keys(), p)) return err;
    if (!given(item.path + ".id")) return missing(item.path, "id");
    if (auto [prev, fresh] = ids.emplace(p.id, item.path); !fresh)
      return error_at(*seen(item.path + ".id"),
                      "duplicate project id '" + p.id + "' (also " + prev->second + ")");
    projects.push_back(std::move(p));
  }
  out = std::move(projects);
  return std::nullopt;
}

error_opt parser::checked(const entry& e, schema::check check, std::string& value) const {
  if (!check) return std::nullopt;
  auto ok = check(std::move(value));
  if (!ok) return error_at(e, ok.error().message());
  value = std::move(*ok);
  return std::nullopt;
}

template <class O>
error_opt parser::read(const entry& e, const schema::text<O>& r, O& o) const {
  std::string s;
  if (auto err = r.optional ? get_optional_string(e, s) : get_string(e, s)) return err;
  if (!s.empty())
    if (auto err = checked(e, r.then, s)) return err;
  r.to.ref(o) = std::move(s);
  return std::nullopt;
}

template <class O>
error_opt parser::read(const entry& e, const schema::path<O>& r, O& o) const {
  if (r.optional && e.value.IsNull()) {
    r.to.ref(o).clear();
    return std::nullopt;
  }
  if (r.refuse_credential && e.value.IsScalar() && e.value.Scalar().starts_with("credential:"))
    return error_at(e, "is a path (credential: names are for secret files)");
  std::string s;
  if (auto err = get_path(e, s)) return err;
  if (auto err = checked(e, r.then, s)) return err;
  r.to.ref(o) = std::move(s);
  return std::nullopt;
}

template <class O>
error_opt parser::read(const entry& e, const schema::secret_file<O>& r, O& o) const {
  return get_file_ref(e, r.to.ref(o));
}

template <class O>
error_opt parser::read(const entry& e, const schema::flag<O>& r, O& o) const {
  return get_bool(e, r.to.ref(o));
}

template <class O, class Int>
error_opt parser::read(const entry& e, const schema::integer<O, Int>& r, O& o) const {
  return get_int(e, r.to.ref(o), r.min, r.max);
}

template <class O>
error_opt parser::read(const entry& e, const schema::timespan<O>& r, O& o) const {
  return get_duration(e, r.to.ref(o), r.min, r.max);
}

template <class O>
error_opt parser::read(const entry& e, const schema::percent<O>& r, O& o) const {
  return get_percent(e, r.to.ref(o), r.max);
}

template <class O>
error_opt parser::read(const entry& e, const schema::rate_limit<O>& r, O& o) const {
  return get_rate(e, r.to.ref(o));
}

template <class O>
error_opt parser::read(const entry& e, const schema::octal_mode<O>& r, O& o) const {
  return get_mode(e, r.to.ref(o));
}

template <class O, class T>
error_opt parser::read(const entry& e, const schema::choice<O, T>& r, O& o) const {
  return get_enum(e, r.to.ref(o), r.names);
}

template <class O>
error_opt parser::read(const entry& e, const schema::text_list<O>& r, O& o) const {
  std::vector<std::string>& list = r.to.ref(o);
  if (auto err = get_string_list(e, list, r.empty_items, r.item)) return err;
  if (!r.if_empty.empty() && list.empty()) return error_at(e, r.if_empty);
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
  if (!d) return error_at(e, d.error().message() + " (got '" + s + "')");
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
  if (!p) return error_at(e, p.error().message() + " (got '" + s + "')");
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
  if (!r) return error_at(e, r.error().message() + " (got '" + s + "')");
  out = *r;
  return std::nullopt;
}

error_opt parser::get_mode(const entry& e, std::uint32_t& out) const {
  std::string s;
  if (auto err = scalar(e, "an octal mode such as \"0660\"", s)) return err;
  auto m = detail::parse_mode(s);
  if (!m) return error_at(e, m.error().message() + " (got '" + s + "')");
  out = *m;
  return std::nullopt;
}

template <class Enum>
error_opt parser::get_enum(const entry& e, Enum& out,
                           std::span<const std::pair<std::string_view, Enum>> names) const {
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
  if (!credential) return error_at(e, credential.error().message() + " (got '" + s + "')");
  out = *credential ? s : resolve(s);
  return std::nullopt;
}

error_opt parser::get_string_list(const entry& e, std::vector<std::string>& out,
                                  bool allow_empty_item, schema::check check_item) const {
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
    if (auto err = checked(item, check_item, s)) return err;
    items.push_back(std::move(s));
  }
  out = std::move(items);
  return std::nullopt;
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
  if (auto err = parse_map(top, "", schema::config_keys(), c)) return err;
  return finish(c);
}

error_opt parser::finish(config& c) {
  // projects
  if (!seen("projects")) return missing("", "projects");

  // region / endpoint
  if (const entry* e = seen("endpoint"); e && !c.endpoint.empty()) {
    auto url = detail::parse_endpoint(c.endpoint, c.allow_insecure_http);
    if (!url)
      return error_at(*e,
                      url.error().message() + " (got '" + detail::redact_url(c.endpoint) + "')");
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
          *e, url.error().message() + " (got '" + detail::redact_url(c.auth.iam_endpoint) + "')");
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

}  // namespace

result<config> load_string(std::string_view yaml, std::string file_name) {
  std::error_code ec;
  fs::path absolute = fs::absolute(file_name, ec);
  fs::path base_dir = ec ? fs::path(file_name).parent_path() : absolute.parent_path();

  auto root = read_document(yaml, file_name);
  if (!root) return root.error();

  config c;
  c.source_path = file_name;
  parser p(file_name, base_dir);
  try {
    if (auto err = p.run(*root, c)) return *err;
  } catch (const YAML::Exception& e) {  // not expected: we never convert with as<>
    return config_error(file_name, 0, 0, std::string("cannot read the config: ") + e.what());
  }
  return c;
}

result<config> load_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  auto c = load_string(*text, path);
  if (c) {
    std::error_code ec;
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
