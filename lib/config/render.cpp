// render_effective: the effective config as YAML (for --check-config and
// the startup log), every key present, secrets redacted. The output loads
// back with load_string: unset optional keys are written as ~.
#include <yaml-cpp/yaml.h>

#include "config/loader.hpp"
#include "config/values.hpp"

namespace hssjw::config {
namespace {

// An optional string: "" (unset) is written as ~.
struct optional_string {
  const std::string& value;
};

YAML::Emitter& operator<<(YAML::Emitter& out, optional_string s) {
  if (s.value.empty()) return out << YAML::Null;
  return out << s.value;
}

template <class T>
void key_value(YAML::Emitter& out, const char* key, const T& value) {
  out << YAML::Key << key << YAML::Value << value;
}

std::string redact_access_key(const std::string& ak) {
  if (ak.empty()) return ak;
  return ak.substr(0, 4) + "***";
}

const char* method_name(auth_method m) {
  switch (m) {
    case auth_method::password:
      return "password";
    case auth_method::aksk:
      return "aksk";
    default:
      return "token";
  }
}

const char* target_name(log_target t) {
  switch (t) {
    case log_target::journal:
      return "journal";
    case log_target::stderr_:
      return "stderr";
    default:
      return "auto";
  }
}

}  // namespace

std::string render_effective(const config& c) {
  using detail::format_duration;
  using detail::format_percent;
  YAML::Emitter out;
  out << YAML::Comment("effective configuration" +
                       (c.source_path.empty() ? std::string() : " of " + c.source_path) +
                       " (secrets redacted)");
  out << YAML::BeginMap;
  key_value(out, "region", optional_string{c.region});
  key_value(out, "endpoint", optional_string{c.endpoint});

  out << YAML::Key << "auth" << YAML::Value << YAML::BeginMap;
  key_value(out, "method", method_name(c.auth.method));
  key_value(out, "token_file", optional_string{c.auth.token_file});
  key_value(out, "iam_endpoint", optional_string{c.auth.iam_endpoint});
  key_value(out, "domain", optional_string{c.auth.domain});
  key_value(out, "user", optional_string{c.auth.user});
  key_value(out, "password_file", optional_string{c.auth.password_file});
  std::string ak = redact_access_key(c.auth.access_key);
  key_value(out, "access_key", optional_string{ak});
  key_value(out, "secret_key_file", optional_string{c.auth.secret_key_file});
  out << YAML::EndMap;

  out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
  key_value(out, "ca_file", optional_string{c.tls_ca_file});
  out << YAML::EndMap;
  std::string proxy = detail::redact_url(c.proxy);
  key_value(out, "proxy", optional_string{proxy});

  out << YAML::Key << "projects" << YAML::Value << YAML::BeginSeq;
  for (const auto& p : c.projects) {
    out << YAML::BeginMap;
    key_value(out, "id", p.id);
    out << YAML::Key << "enterprise_projects" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& eps : p.enterprise_projects) out << eps;
    out << YAML::EndSeq;
    out << YAML::Key << "filters" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [k, v] : p.filters) key_value(out, k.c_str(), v);
    out << YAML::EndMap;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;

  const poll_config& poll = c.poll;
  out << YAML::Key << "poll" << YAML::Value << YAML::BeginMap;
  key_value(out, "interval", format_duration(poll.interval));
  key_value(out, "jitter", format_percent(poll.jitter));
  key_value(out, "page_size", poll.page_size);
  key_value(out, "timeout", format_duration(poll.timeout));
  key_value(out, "max_in_flight", poll.max_in_flight);
  key_value(out, "pages_in_flight", poll.pages_in_flight);
  key_value(out, "rate", detail::format_rate(poll.rate));
  out << YAML::Key << "retry" << YAML::Value << YAML::Flow << YAML::BeginMap;
  key_value(out, "attempts", poll.retry.attempts);
  key_value(out, "initial", format_duration(poll.retry.initial));
  key_value(out, "max", format_duration(poll.retry.max));
  out << YAML::EndMap;
  key_value(out, "trust_last_update_time", poll.trust_last_update_time);
  key_value(out, "full_walk_every", poll.full_walk_every);
  key_value(out, "removal_guard", format_percent(poll.removal_guard));
  key_value(out, "removal_confirmations", poll.removal_confirmations);
  out << YAML::Key << "ignore_fields" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& f : poll.ignore_fields) out << f;
  out << YAML::EndSeq;
  key_value(out, "baseline_events", poll.baseline_events);
  out << YAML::EndMap;

  key_value(out, "state_dir", c.state_dir);

  out << YAML::Key << "journal" << YAML::Value << YAML::BeginMap;
  key_value(out, "max_events", c.journal.max_events);
  key_value(out, "max_age", format_duration(c.journal.max_age));
  out << YAML::EndMap;

  out << YAML::Key << "socket" << YAML::Value << YAML::BeginMap;
  key_value(out, "path", c.socket.path);
  out << YAML::Key << "mode" << YAML::Value << YAML::DoubleQuoted
      << detail::format_mode(c.socket.mode);
  key_value(out, "max_clients", c.socket.max_clients);
  key_value(out, "stall_timeout", format_duration(c.socket.stall_timeout));
  key_value(out, "bookmark_interval", format_duration(c.socket.bookmark_interval));
  out << YAML::EndMap;

  out << YAML::Key << "log" << YAML::Value << YAML::BeginMap;
  key_value(out, "level", c.log.level);
  key_value(out, "target", target_name(c.log.target));
  key_value(out, "format", c.log.format == log_format::json ? "json" : "text");
  out << YAML::EndMap;

  out << YAML::Key << "metrics" << YAML::Value << YAML::BeginMap;
  key_value(out, "listen", optional_string{c.metrics.listen});
  out << YAML::EndMap;

  key_value(out, "allow_insecure_http", c.allow_insecure_http);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace hssjw::config
