// render_effective: the effective config as YAML (for --check-config and
// the startup log), every key present, secrets redacted, written by the
// schema table (schema.hpp): each row renders its value by its rule. The
// output loads back with load_string: unset optional keys are written as ~.
#include <yaml-cpp/yaml.h>

#include <span>
#include <type_traits>

#include "config/loader.hpp"
#include "config/schema.hpp"
#include "config/values.hpp"

namespace hssjw::config {
namespace {

// An optional string: "" (unset) is written as ~.
void optional_string(YAML::Emitter& out, const std::string& s) {
  if (s.empty())
    out << YAML::Null;
  else
    out << s;
}

template <class O>
void render_map(YAML::Emitter& out, std::string_view pattern, std::span<const schema::key<O>> keys,
                const O& owner);

// The value of one row (its key already written).
template <class O>
void render_value(YAML::Emitter& out, const schema::key<O>& k, std::span<const schema::key<O>> keys,
                  const O& o) {
  using hssjw::config::detail::format_duration;
  using hssjw::config::detail::format_percent;
  std::visit(
      [&](const auto& rule) {
        using rule_t = std::decay_t<decltype(rule)>;
        if constexpr (std::is_same_v<rule_t, schema::section>) {
          if (rule.flow) out << YAML::Flow;
          out << YAML::BeginMap;
          render_map(out, k.path, keys, o);
          out << YAML::EndMap;
        } else if constexpr (std::is_same_v<rule_t, schema::project_list<O>>) {
          out << YAML::BeginSeq;
          for (const auto& p : rule.to.get(o)) {
            out << YAML::BeginMap;
            render_map(out, "projects[]", schema::project_keys(), p);
            out << YAML::EndMap;
          }
          out << YAML::EndSeq;
        } else if constexpr (std::is_same_v<rule_t, schema::text_map<O>>) {
          out << YAML::Flow << YAML::BeginMap;
          for (const auto& [name, value] : rule.to.get(o))
            out << YAML::Key << name << YAML::Value << value;
          out << YAML::EndMap;
        } else if constexpr (std::is_same_v<rule_t, schema::map_entry>) {
          // Never reached: the text_map above writes its entries.
        } else if constexpr (std::is_same_v<rule_t, schema::text<O>>) {
          const std::string& value = rule.to.get(o);
          const std::string shown = rule.shown ? rule.shown(value) : value;
          if (rule.optional)
            optional_string(out, shown);
          else
            out << shown;
        } else if constexpr (std::is_same_v<rule_t, schema::path<O>>) {
          if (rule.optional)
            optional_string(out, rule.to.get(o));
          else
            out << rule.to.get(o);
        } else if constexpr (std::is_same_v<rule_t, schema::secret_file<O>>) {
          optional_string(out, rule.to.get(o));
        } else if constexpr (std::is_same_v<rule_t, schema::timespan<O>>) {
          out << format_duration(rule.to.get(o));
        } else if constexpr (std::is_same_v<rule_t, schema::percent<O>>) {
          out << format_percent(rule.to.get(o));
        } else if constexpr (std::is_same_v<rule_t, schema::rate_limit<O>>) {
          out << hssjw::config::detail::format_rate(rule.to.get(o));
        } else if constexpr (std::is_same_v<rule_t, schema::octal_mode<O>>) {
          out << YAML::DoubleQuoted << hssjw::config::detail::format_mode(rule.to.get(o));
        } else if constexpr (std::is_same_v<rule_t, schema::choice<O, std::string>>) {
          out << rule.to.get(o);  // a name, as loaded
        } else if constexpr (std::is_same_v<rule_t, schema::text_list<O>>) {
          out << YAML::Flow << YAML::BeginSeq;
          for (const auto& item : rule.to.get(o)) out << item;
          out << YAML::EndSeq;
        } else if constexpr (requires { rule.names; }) {  // an enum choice
          std::string_view name = rule.names.front().first;
          for (const auto& [n, value] : rule.names)
            if (value == rule.to.get(o)) name = n;
          out << std::string(name);
        } else {  // flag, integer
          out << rule.to.get(o);
        }
      },
      k.is);
}

template <class O>
void render_map(YAML::Emitter& out, std::string_view pattern, std::span<const schema::key<O>> keys,
                const O& owner) {
  for (const auto& k : keys) {
    if (schema::parent_of(k.path) != pattern) continue;
    out << YAML::Key << std::string(schema::name_of(k.path)) << YAML::Value;
    render_value(out, k, keys, owner);
  }
}

}  // namespace

std::string render_effective(const config& c) {
  YAML::Emitter out;
  out << YAML::Comment("effective configuration" +
                       (c.source_path.empty() ? std::string() : " of " + c.source_path) +
                       " (secrets redacted)");
  out << YAML::BeginMap;
  render_map(out, "", schema::config_keys(), c);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace hssjw::config
