// The config schema table (see schema.hpp) and the checks of single keys.
#include "config/schema.hpp"

#include <sys/un.h>

#include <algorithm>
#include <array>

namespace hssjw::config::schema {
namespace {

using namespace std::chrono_literals;

// What a check says is wrong; the loader adds the position and the key.
error wrong(std::string message) { return error(errc::config_invalid, std::move(message)); }

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

result<std::string> region(std::string value) {
  if (!valid_region(value))
    return wrong("a region is lowercase letters, digits and '-', e.g. ap-southeast-1");
  return value;
}

// The proxy URL is never shown with its password, not even when wrong.
result<std::string> proxy(std::string value) {
  auto p = hssjw::config::detail::parse_proxy(value);
  if (!p)
    return wrong(p.error().message() + " (got '" + hssjw::config::detail::redact_url(value) + "')");
  return *p;
}

result<std::string> listen(std::string value) {
  auto l = hssjw::config::detail::parse_listen(value);
  if (!l) return wrong(l.error().message() + " (got '" + value + "')");
  return value;
}

// sockaddr_un holds the path with its terminating NUL.
result<std::string> socket_path(std::string resolved) {
  if (resolved.size() >= sizeof(sockaddr_un::sun_path))
    return wrong("a socket path is at most " + std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                 " bytes (resolved: " + resolved + ")");
  return resolved;
}

result<std::string> project_id(std::string value) {
  if (!valid_id(value)) return wrong("a project id is 1..256 letters, digits, '-', '_' or '.'");
  return value;
}

result<std::string> enterprise_project_id(std::string value) {
  if (!value.empty() && !valid_id(value))
    return wrong(
        "an enterprise project id is \"\" (the default) or 1..256 letters, digits, '-', '_' or "
        "'.'");
  return value;
}

// The key fields name a job; ignoring them would merge different jobs.
result<std::string> ignorable_field(std::string field) {
  if (field == "cluster_name" || field == "namespace_name" || field == "name")
    return wrong("'" + field +
                 "' is a key field (cluster_name, namespace_name, name) and cannot be ignored");
  return field;
}

// The access key identifies, the secret key signs: show only enough of
// the first to tell two apart.
std::string access_key_shown(std::string_view ak) {
  if (ak.empty()) return std::string(ak);
  return std::string(ak.substr(0, 4)) + "***";
}

constexpr std::array<std::pair<std::string_view, auth_method>, 3> auth_methods{{
    {"token", auth_method::token},
    {"password", auth_method::password},
    {"aksk", auth_method::aksk},
}};
const std::array<std::pair<std::string_view, std::string>, 7> log_levels{{
    {"trace", "trace"},
    {"debug", "debug"},
    {"info", "info"},
    {"warn", "warn"},
    {"error", "error"},
    {"critical", "critical"},
    {"off", "off"},
}};
constexpr std::array<std::pair<std::string_view, log_target>, 3> log_targets{{
    {"auto", log_target::auto_detect},
    {"journal", log_target::journal},
    {"stderr", log_target::stderr_},
}};
constexpr std::array<std::pair<std::string_view, log_format>, 2> log_formats{{
    {"text", log_format::text},
    {"json", log_format::json},
}};

const std::array project_table{
    key<project_config>{"projects[].id",
                        text<project_config>{.to = at<&project_config::id>, .then = project_id}, "",
                        "project id (required)"},
    key<project_config>{
        "projects[].enterprise_projects",
        text_list<project_config>{
            .to = at<&project_config::enterprise_projects>,
            .empty_items = true,
            .item = enterprise_project_id,
            .if_empty = "must list at least one enterprise project (\"\" = default)"},
        "[\"\"]",
        "enterprise project ids, one scope each; \"\" = the default one, all_granted_eps = all"},
    key<project_config>{"projects[].filters", text_map{at<&project_config::filters>}, "{}",
                        "server-side filters, part of the scope's identity"},
    key<project_config>{"projects[].filters.cluster_name", map_entry{}, "",
                        "only jobs of this cluster"},
    key<project_config>{"projects[].filters.namespace_name", map_entry{}, "",
                        "only jobs of this namespace"},
    key<project_config>{"projects[].filters.job_name", map_entry{}, "", "only jobs with this name"},
};

const std::array config_table{
    key<config>{"region", text<config>{.to = at<&config::region>, .optional = true, .then = region},
                "~", "Huawei Cloud region, e.g. ap-southeast-1; required unless endpoint is given"},
    // Checked after the walk, once allow_insecure_http is known.
    key<config>{"endpoint", text<config>{.to = at<&config::endpoint>, .optional = true}, "",
                "HSS API endpoint, https:// URL; default https://hss.<region>.myhuaweicloud.com"},
    key<config>{"auth", section{}, "", "how requests are authenticated (required)"},
    key<config>{"auth.method", choice{at<&config::auth, &auth_config::method>, auth_methods},
                "token", "token, password or aksk"},
    key<config>{"auth.token_file", secret_file{at<&config::auth, &auth_config::token_file>}, "~",
                "file holding an IAM token, re-read when it changes (required for token)"},
    // Checked after the walk, once allow_insecure_http is known.
    key<config>{"auth.iam_endpoint",
                text<config>{.to = at<&config::auth, &auth_config::iam_endpoint>, .optional = true},
                "", "IAM endpoint; default (password only) https://iam.<region>.myhuaweicloud.com"},
    key<config>{"auth.domain",
                text<config>{.to = at<&config::auth, &auth_config::domain>, .optional = true}, "~",
                "account (domain) name (required for password)"},
    key<config>{"auth.user",
                text<config>{.to = at<&config::auth, &auth_config::user>, .optional = true}, "~",
                "IAM user name (required for password)"},
    key<config>{"auth.password_file", secret_file{at<&config::auth, &auth_config::password_file>},
                "~", "file holding the IAM user's password (required for password)"},
    key<config>{"auth.access_key",
                text<config>{.to = at<&config::auth, &auth_config::access_key>,
                             .optional = true,
                             .shown = access_key_shown},
                "~", "access key id (required for aksk); shown as its first 4 characters + ***"},
    key<config>{"auth.secret_key_file",
                secret_file{at<&config::auth, &auth_config::secret_key_file>}, "~",
                "file holding the secret key (required for aksk)"},
    key<config>{"tls", section{}, "", "TLS towards HSS and IAM"},
    key<config>{
        "tls.ca_file",
        path<config>{.to = at<&config::tls_ca_file>, .optional = true, .refuse_credential = true},
        "~", "CA bundle (PEM) to verify HSS and IAM with; unset = the system store"},
    key<config>{"proxy",
                text<config>{.to = at<&config::proxy>,
                             .optional = true,
                             .then = proxy,
                             .shown = hssjw::config::detail::redact_url},
                "~", "HTTP proxy http://[user:password@]host:port; its password is never shown"},
    key<config>{"projects", project_list{at<&config::projects>}, "",
                "the projects to watch, ids unique (required, at least one)"},
    key<config>{"poll", section{}, "", "how and how often HSS is listed"},
    key<config>{"poll.interval", timespan{at<&config::poll, &poll_config::interval>, 1s, 24h},
                "60s", "time between walks of a scope"},
    key<config>{"poll.jitter", percent{at<&config::poll, &poll_config::jitter>, 0.5}, "10%",
                "random spread added to each interval, as a share of it"},
    key<config>{"poll.page_size", integer{at<&config::poll, &poll_config::page_size>, 10, 200},
                "200", "jobs per request (the API's limit)"},
    key<config>{"poll.timeout", timespan{at<&config::poll, &poll_config::timeout>, 100ms, 10min},
                "30s", "deadline of one request"},
    key<config>{"poll.max_in_flight",
                integer{at<&config::poll, &poll_config::max_in_flight>, 1, 64}, "8",
                "requests in flight at once, all scopes"},
    key<config>{"poll.pages_in_flight",
                integer{at<&config::poll, &poll_config::pages_in_flight>, 1, 16}, "4",
                "requests in flight at once within one scope (at most max_in_flight)"},
    key<config>{"poll.rate", rate_limit{at<&config::poll, &poll_config::rate>}, "5/min",
                "client-side request budget of all scopes: N/s, N/min or unlimited"},
    key<config>{"poll.retry", section{.flow = true}, "",
                "retries of a failed request, with exponential backoff"},
    key<config>{"poll.retry.attempts",
                integer{at<&config::poll, &poll_config::retry, &retry_config::attempts>, 0, 20},
                "5", "retries of one request"},
    key<config>{
        "poll.retry.initial",
        timespan{at<&config::poll, &poll_config::retry, &retry_config::initial>, 10ms, 10min}, "1s",
        "first backoff"},
    // >= initial is checked after the walk: keys may come in any order.
    key<config>{"poll.retry.max",
                timespan{at<&config::poll, &poll_config::retry, &retry_config::max>, 10ms, 1h},
                "60s", "longest backoff (at least initial)"},
    key<config>{"poll.trust_last_update_time",
                flag{at<&config::poll, &poll_config::trust_last_update_time>}, "false",
                "end a walk early when the first page shows nothing changed"},
    key<config>{"poll.full_walk_every",
                integer{at<&config::poll, &poll_config::full_walk_every>, 1, 1000}, "10",
                "with trust_last_update_time: a full walk every N walks anyway"},
    key<config>{"poll.removal_guard", percent{at<&config::poll, &poll_config::removal_guard>, 1.0},
                "50%", "hold removals of more than this share of a scope until confirmed"},
    key<config>{"poll.removal_confirmations",
                integer{at<&config::poll, &poll_config::removal_confirmations>, 1, 100}, "1",
                "complete walks a job must be missing from before it is removed"},
    key<config>{"poll.ignore_fields",
                text_list<config>{.to = at<&config::poll, &poll_config::ignore_fields>,
                                  .item = ignorable_field},
                "[]", "job fields whose changes alone make no modified event"},
    key<config>{"poll.baseline_events", flag{at<&config::poll, &poll_config::baseline_events>},
                "true", "one added event per job on a scope's first complete walk"},
    key<config>{"state_dir", path<config>{.to = at<&config::state_dir>}, "/var/lib/hss-jobwatch",
                "directory of state.db"},
    key<config>{"journal", section{}, "",
                "the event journal clients resume from; kept while both limits allow"},
    key<config>{"journal.max_events",
                integer{at<&config::journal, &journal_config::max_events>, 1, 1'000'000'000},
                "1000000", "events kept at most"},
    key<config>{"journal.max_age",
                timespan{at<&config::journal, &journal_config::max_age>, 1min, 3650 * 24h}, "7d",
                "age of the oldest event kept"},
    key<config>{"socket", section{}, "", "the events socket"},
    key<config>{"socket.path",
                path<config>{.to = at<&config::socket, &socket_config::path>, .then = socket_path},
                "/run/hss-jobwatch/events.sock",
                "Unix socket path (ignored under socket activation)"},
    key<config>{"socket.mode", octal_mode{at<&config::socket, &socket_config::mode>}, "\"0660\"",
                "permissions of the socket file, octal"},
    key<config>{"socket.max_clients",
                integer{at<&config::socket, &socket_config::max_clients>, 1, 65536}, "256",
                "clients at once; more are told busy"},
    key<config>{"socket.stall_timeout",
                timespan{at<&config::socket, &socket_config::stall_timeout>, 1s, 1h}, "60s",
                "a client that accepts nothing this long while events wait is dropped"},
    key<config>{"socket.bookmark_interval",
                timespan{at<&config::socket, &socket_config::bookmark_interval>, 1s, 1h}, "30s",
                "how often idle clients get a bookmark"},
    key<config>{"log", section{}, "", "the daemon's own log"},
    key<config>{"log.level", choice{at<&config::log, &log_config::level>, log_levels}, "info",
                "trace, debug, info, warn, error, critical or off"},
    key<config>{"log.target", choice{at<&config::log, &log_config::target>, log_targets}, "auto",
                "auto (journald under systemd, else stderr), journal or stderr"},
    key<config>{"log.format", choice{at<&config::log, &log_config::format>, log_formats}, "text",
                "text or json"},
    key<config>{"metrics", section{}, "", "Prometheus /metrics and /healthz"},
    key<config>{
        "metrics.listen",
        text<config>{
            .to = at<&config::metrics, &metrics_config::listen>, .optional = true, .then = listen},
        "~", "host:port of /metrics and /healthz (no authentication); unset = disabled"},
    key<config>{"allow_insecure_http", flag{at<&config::allow_insecure_http>}, "false",
                "accept http:// endpoints (tests and the demo only)"},
};

}  // namespace

std::span<const key<config>> config_keys() { return config_table; }
std::span<const key<project_config>> project_keys() { return project_table; }

}  // namespace hssjw::config::schema
