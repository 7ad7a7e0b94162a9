// The config loader (SPEC §6, docs/CONFIG.md): the SPEC example, every
// rule rejected at its exact file:line:col, defaults, rendering (redacted,
// round-trips) and scopes().
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config/loader.hpp"
#include "config/schema.hpp"
#include "config/values.hpp"
#include "unit/config_error_parts.hpp"

namespace hssjw::config {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kFile = "/etc/hssjw/config.yaml";

// Three valid lines; test snippets are appended from line 4 on.
std::string with(const std::string& extra) {
  return "region: ap-southeast-1\n"
         "auth: {method: token, token_file: /t}\n"
         "projects: [{id: p1}]\n" +
         extra;
}

config must_load(const std::string& yaml, const std::string& file = kFile) {
  auto r = load_string(yaml, file);
  if (!r) {
    ADD_FAILURE() << r.error().message() << "\n--- in ---\n" << yaml;
    return {};
  }
  return *r;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every key set: the example of SPEC §6, kept as test data so that the
// repository stands alone.
std::string spec_example() { return read_text(HSSJW_TEST_DATA_DIR "/config_every_key.yaml"); }

// Every key path of a YAML document ("poll.retry.max"; list items as "[]").
void key_paths(const YAML::Node& n, const std::string& prefix, std::set<std::string>& out) {
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string path = prefix.empty() ? it->first.Scalar() : prefix + "." + it->first.Scalar();
      out.insert(path);
      key_paths(it->second, path, out);
    }
  } else if (n.IsSequence()) {
    for (const auto& item : n) key_paths(item, prefix + "[]", out);
  }
}

std::set<std::string> key_paths(const std::string& yaml) {
  std::set<std::string> out;
  key_paths(YAML::Load(yaml), "", out);
  return out;
}

// Field-by-field equality; the redacted values are compared by the caller.
void expect_same(const config& a, const config& b, bool compare_redacted = true) {
  EXPECT_EQ(a.region, b.region);
  EXPECT_EQ(a.endpoint, b.endpoint);
  EXPECT_EQ(a.auth.method, b.auth.method);
  EXPECT_EQ(a.auth.token_file, b.auth.token_file);
  EXPECT_EQ(a.auth.iam_endpoint, b.auth.iam_endpoint);
  EXPECT_EQ(a.auth.domain, b.auth.domain);
  EXPECT_EQ(a.auth.user, b.auth.user);
  EXPECT_EQ(a.auth.password_file, b.auth.password_file);
  if (compare_redacted) {
    EXPECT_EQ(a.auth.access_key, b.auth.access_key);
  }
  EXPECT_EQ(a.auth.secret_key_file, b.auth.secret_key_file);
  EXPECT_EQ(a.tls_ca_file, b.tls_ca_file);
  if (compare_redacted) {
    EXPECT_EQ(a.proxy, b.proxy);
  }
  ASSERT_EQ(a.projects.size(), b.projects.size());
  for (std::size_t i = 0; i < a.projects.size(); ++i) {
    EXPECT_EQ(a.projects[i].id, b.projects[i].id);
    EXPECT_EQ(a.projects[i].enterprise_projects, b.projects[i].enterprise_projects);
    EXPECT_EQ(a.projects[i].filters, b.projects[i].filters);
  }
  const poll_config& p = a.poll;
  const poll_config& q = b.poll;
  EXPECT_EQ(p.interval, q.interval);
  EXPECT_EQ(p.jitter, q.jitter);
  EXPECT_EQ(p.page_size, q.page_size);
  EXPECT_EQ(p.timeout, q.timeout);
  EXPECT_EQ(p.max_in_flight, q.max_in_flight);
  EXPECT_EQ(p.pages_in_flight, q.pages_in_flight);
  EXPECT_EQ(p.rate.count, q.rate.count);
  EXPECT_EQ(p.rate.per, q.rate.per);
  EXPECT_EQ(p.retry.attempts, q.retry.attempts);
  EXPECT_EQ(p.retry.initial, q.retry.initial);
  EXPECT_EQ(p.retry.max, q.retry.max);
  EXPECT_EQ(p.trust_last_update_time, q.trust_last_update_time);
  EXPECT_EQ(p.full_walk_every, q.full_walk_every);
  EXPECT_EQ(p.removal_guard, q.removal_guard);
  EXPECT_EQ(p.removal_confirmations, q.removal_confirmations);
  EXPECT_EQ(p.ignore_fields, q.ignore_fields);
  EXPECT_EQ(p.baseline_events, q.baseline_events);
  EXPECT_EQ(a.state_dir, b.state_dir);
  EXPECT_EQ(a.journal.max_events, b.journal.max_events);
  EXPECT_EQ(a.journal.max_age, b.journal.max_age);
  EXPECT_EQ(a.socket.path, b.socket.path);
  EXPECT_EQ(a.socket.mode, b.socket.mode);
  EXPECT_EQ(a.socket.max_clients, b.socket.max_clients);
  EXPECT_EQ(a.socket.stall_timeout, b.socket.stall_timeout);
  EXPECT_EQ(a.socket.bookmark_interval, b.socket.bookmark_interval);
  EXPECT_EQ(a.log.level, b.log.level);
  EXPECT_EQ(a.log.target, b.log.target);
  EXPECT_EQ(a.log.format, b.log.format);
  EXPECT_EQ(a.metrics.listen, b.metrics.listen);
  EXPECT_EQ(a.allow_insecure_http, b.allow_insecure_http);
}

// ---------------------------------------------------------------------------
// Valid configs

TEST(config_loader, spec_example_loads_with_its_values) {
  std::string yaml = spec_example();
  ASSERT_FALSE(yaml.empty()) << "no tests/data/config_every_key.yaml";
  config c = must_load(yaml);
  EXPECT_EQ(c.source_path, kFile);
  EXPECT_EQ(c.region, "ap-southeast-1");
  EXPECT_EQ(c.endpoint, "https://hss.ap-southeast-1.myhuaweicloud.com");
  EXPECT_EQ(c.auth.method, auth_method::token);
  EXPECT_EQ(c.auth.token_file, "/etc/hss-jobwatch/token");
  EXPECT_EQ(c.auth.iam_endpoint, "https://iam.ap-southeast-1.myhuaweicloud.com");
  EXPECT_EQ(c.auth.domain, "my-account");
  EXPECT_EQ(c.auth.user, "jobwatch-bot");
  EXPECT_EQ(c.auth.password_file, "/etc/hss-jobwatch/password");
  EXPECT_EQ(c.auth.access_key, "AKEXAMPLE");
  EXPECT_EQ(c.auth.secret_key_file, "/etc/hss-jobwatch/sk");
  EXPECT_EQ(c.tls_ca_file, "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_EQ(c.proxy, "http://proxy.example:3128");
  ASSERT_EQ(c.projects.size(), 1u);
  EXPECT_EQ(c.projects[0].id, "2b31ed520xxxxxxebedb6e57xxxxxxxx");
  EXPECT_EQ(c.projects[0].enterprise_projects, std::vector<std::string>{"all_granted_eps"});
  EXPECT_EQ(c.projects[0].filters,
            (std::map<std::string, std::string>{{"cluster_name", "prod-a"}}));
  EXPECT_EQ(c.poll.interval, 60s);
  EXPECT_DOUBLE_EQ(c.poll.jitter, 0.10);
  EXPECT_EQ(c.poll.page_size, 200u);
  EXPECT_EQ(c.poll.timeout, 30s);
  EXPECT_EQ(c.poll.max_in_flight, 8u);
  EXPECT_EQ(c.poll.pages_in_flight, 4u);
  EXPECT_EQ(c.poll.rate.count, 5u);
  EXPECT_EQ(c.poll.rate.per, 1min);
  EXPECT_EQ(c.poll.retry.attempts, 5u);
  EXPECT_EQ(c.poll.retry.initial, 1s);
  EXPECT_EQ(c.poll.retry.max, 60s);
  EXPECT_FALSE(c.poll.trust_last_update_time);
  EXPECT_EQ(c.poll.full_walk_every, 10u);
  EXPECT_DOUBLE_EQ(c.poll.removal_guard, 0.5);
  EXPECT_EQ(c.poll.removal_confirmations, 1u);
  EXPECT_TRUE(c.poll.ignore_fields.empty());
  EXPECT_TRUE(c.poll.baseline_events);
  EXPECT_EQ(c.state_dir, "/var/lib/hss-jobwatch");
  EXPECT_EQ(c.journal.max_events, 1'000'000u);
  EXPECT_EQ(c.journal.max_age, 7 * 24h);
  EXPECT_EQ(c.socket.path, "/run/hss-jobwatch/events.sock");
  EXPECT_EQ(c.socket.mode, 0660u);
  EXPECT_EQ(c.socket.max_clients, 256u);
  EXPECT_EQ(c.socket.stall_timeout, 60s);
  EXPECT_EQ(c.socket.bookmark_interval, 30s);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.target, log_target::auto_detect);
  EXPECT_EQ(c.log.format, log_format::text);
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9464");
  EXPECT_FALSE(c.allow_insecure_http);
}

TEST(config_loader, defaults_fill_every_optional_key) {
  config c = must_load(with(""));
  const config d;  // the struct's defaults are the documented ones
  EXPECT_EQ(c.endpoint, "https://hss.ap-southeast-1.myhuaweicloud.com");
  EXPECT_EQ(c.auth.iam_endpoint, "");  // only defaulted for method password
  EXPECT_EQ(c.tls_ca_file, "");
  EXPECT_EQ(c.proxy, "");
  EXPECT_EQ(c.projects[0].enterprise_projects, std::vector<std::string>{""});
  EXPECT_TRUE(c.projects[0].filters.empty());
  EXPECT_EQ(c.poll.interval, 60s);
  EXPECT_DOUBLE_EQ(c.poll.jitter, 0.10);
  EXPECT_EQ(c.poll.page_size, 200u);
  EXPECT_EQ(c.poll.timeout, 30s);
  EXPECT_EQ(c.poll.max_in_flight, 8u);
  EXPECT_EQ(c.poll.pages_in_flight, 4u);
  EXPECT_EQ(c.poll.rate.count, 5u);
  EXPECT_EQ(c.poll.rate.per, 1min);
  EXPECT_EQ(c.poll.retry.attempts, 5u);
  EXPECT_EQ(c.poll.retry.initial, 1s);
  EXPECT_EQ(c.poll.retry.max, 60s);
  EXPECT_EQ(c.poll.full_walk_every, 10u);
  EXPECT_DOUBLE_EQ(c.poll.removal_guard, 0.5);
  EXPECT_EQ(c.poll.removal_confirmations, 1u);
  EXPECT_TRUE(c.poll.baseline_events);
  EXPECT_FALSE(c.poll.trust_last_update_time);
  EXPECT_EQ(c.state_dir, "/var/lib/hss-jobwatch");
  EXPECT_EQ(c.journal.max_events, 1'000'000u);
  EXPECT_EQ(c.journal.max_age, 7 * 24h);
  EXPECT_EQ(c.socket.path, "/run/hss-jobwatch/events.sock");
  EXPECT_EQ(c.socket.mode, 0660u);
  EXPECT_EQ(c.socket.max_clients, 256u);
  EXPECT_EQ(c.socket.stall_timeout, 60s);
  EXPECT_EQ(c.socket.bookmark_interval, 30s);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.target, log_target::auto_detect);
  EXPECT_EQ(c.log.format, log_format::text);
  EXPECT_EQ(c.metrics.listen, "");
  EXPECT_FALSE(c.allow_insecure_http);
  config expected = d;
  expected.region = c.region;
  expected.endpoint = c.endpoint;
  expected.auth.token_file = "/t";
  expected.projects = c.projects;
  expect_same(c, expected);
}

TEST(config_loader, empty_sections_and_null_optionals_mean_defaults) {
  config c =
      must_load(with("poll:\njournal:\nsocket:\nlog:\nmetrics:\ntls:\n"
                     "proxy: ~\nendpoint: null\n"));
  EXPECT_EQ(c.poll.interval, 60s);
  EXPECT_EQ(c.endpoint, "https://hss.ap-southeast-1.myhuaweicloud.com");
  EXPECT_EQ(c.proxy, "");
  EXPECT_EQ(c.metrics.listen, "");
}

TEST(config_loader, durations_in_every_unit) {
  config c =
      must_load(with("poll:\n  interval: 1h\n  timeout: 500ms\n"
                     "  retry: {initial: 30s, max: 5m}\n"
                     "journal: {max_age: 7d}\n"));
  EXPECT_EQ(c.poll.interval, 1h);
  EXPECT_EQ(c.poll.timeout, 500ms);
  EXPECT_EQ(c.poll.retry.initial, 30s);
  EXPECT_EQ(c.poll.retry.max, 5min);
  EXPECT_EQ(c.journal.max_age, 7 * 24h);
}

TEST(config_loader, range_bounds_are_inclusive) {
  config lo = must_load(
      with("poll: {interval: 1s, jitter: 0%, page_size: 10, timeout: 100ms, max_in_flight: 1,\n"
           "  pages_in_flight: 1, retry: {attempts: 0, initial: 10ms, max: 10ms},\n"
           "  full_walk_every: 1, removal_guard: 0%, removal_confirmations: 1}\n"
           "journal: {max_events: 1, max_age: 1m}\n"
           "socket: {mode: 0, max_clients: 1, stall_timeout: 1s, bookmark_interval: 1s}\n"));
  EXPECT_EQ(lo.poll.interval, 1s);
  EXPECT_EQ(lo.poll.jitter, 0.0);
  EXPECT_EQ(lo.poll.retry.max, 10ms);
  EXPECT_EQ(lo.socket.mode, 0u);
  config hi = must_load(
      with("poll: {interval: 24h, jitter: 50%, page_size: 200, timeout: 10m, max_in_flight: 64,\n"
           "  pages_in_flight: 16, retry: {attempts: 20, initial: 10m, max: 1h},\n"
           "  full_walk_every: 1000, removal_guard: 100%, removal_confirmations: 100}\n"
           "journal: {max_events: 1000000000, max_age: 3650d}\n"
           "socket: {mode: 0777, max_clients: 65536, stall_timeout: 1h, bookmark_interval: 1h}\n"));
  EXPECT_EQ(hi.poll.interval, 24h);
  EXPECT_DOUBLE_EQ(hi.poll.jitter, 0.5);
  EXPECT_DOUBLE_EQ(hi.poll.removal_guard, 1.0);
  EXPECT_EQ(hi.poll.pages_in_flight, 16u);
  EXPECT_EQ(hi.journal.max_events, 1'000'000'000u);
  EXPECT_EQ(hi.journal.max_age, 3650 * 24h);
  EXPECT_EQ(hi.socket.mode, 0777u);
  EXPECT_EQ(hi.socket.max_clients, 65536u);
}

TEST(config_loader, pages_in_flight_is_capped_by_max_in_flight) {
  config c = must_load(with("poll: {max_in_flight: 2, pages_in_flight: 16}\n"));
  EXPECT_EQ(c.poll.max_in_flight, 2u);
  EXPECT_EQ(c.poll.pages_in_flight, 2u);
}

TEST(config_loader, rates) {
  config a = must_load(with("poll: {rate: 10/s}\n"));
  EXPECT_EQ(a.poll.rate.count, 10u);
  EXPECT_EQ(a.poll.rate.per, 1s);
  config b = must_load(with("poll: {rate: 600/min}\n"));
  EXPECT_EQ(b.poll.rate.count, 600u);
  EXPECT_EQ(b.poll.rate.per, 1min);
  config u = must_load(with("poll: {rate: unlimited}\n"));
  EXPECT_TRUE(u.poll.rate.unlimited());
  EXPECT_EQ(u.poll.rate.count, 0u);
}

TEST(config_loader, percentages_with_decimals) {
  config c = must_load(with("poll: {jitter: 12.5%, removal_guard: 33.3%}\n"));
  EXPECT_DOUBLE_EQ(c.poll.jitter, 0.125);
  EXPECT_DOUBLE_EQ(c.poll.removal_guard, 0.333);
}

TEST(config_loader, socket_mode_is_octal_quoted_or_not) {
  EXPECT_EQ(must_load(with("socket: {mode: 0660}\n")).socket.mode, 0660u);
  EXPECT_EQ(must_load(with("socket: {mode: \"0600\"}\n")).socket.mode, 0600u);
  EXPECT_EQ(must_load(with("socket: {mode: '0640'}\n")).socket.mode, 0640u);
  EXPECT_EQ(must_load(with("socket: {mode: 660}\n")).socket.mode, 0660u);  // digits are octal
}

TEST(config_loader, booleans_and_log_settings) {
  config c =
      must_load(with("poll: {trust_last_update_time: True, baseline_events: FALSE}\n"
                     "log: {level: critical, target: journal, format: json}\n"
                     "allow_insecure_http: true\n"));
  EXPECT_TRUE(c.poll.trust_last_update_time);
  EXPECT_FALSE(c.poll.baseline_events);
  EXPECT_EQ(c.log.level, "critical");
  EXPECT_EQ(c.log.target, log_target::journal);
  EXPECT_EQ(c.log.format, log_format::json);
  EXPECT_TRUE(c.allow_insecure_http);
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"})
    EXPECT_EQ(must_load(with(std::string("log: {level: ") + level + "}\n")).log.level, level);
  EXPECT_EQ(must_load(with("log: {target: stderr}\n")).log.target, log_target::stderr_);
}

TEST(config_loader, endpoints) {
  // Default per region, with the eu-west-101 exception.
  EXPECT_EQ(
      must_load("region: eu-west-101\nauth: {token_file: /t}\nprojects: [{id: p}]\n").endpoint,
      "https://hss.eu-west-101.myhuaweicloud.eu");
  EXPECT_EQ(must_load("region: cn-north-4\nauth: {token_file: /t}\nprojects: [{id: p}]\n").endpoint,
            "https://hss.cn-north-4.myhuaweicloud.com");
  // Explicit endpoint: region not needed; a trailing "/" is dropped; ports and IPs allowed.
  config c = must_load(
      "endpoint: https://127.0.0.1:8443/\nauth: {token_file: /t}\n"
      "projects: [{id: p}]\n");
  EXPECT_EQ(c.endpoint, "https://127.0.0.1:8443");
  EXPECT_EQ(c.region, "");
  EXPECT_EQ(must_load(with("endpoint: https://[::1]:8443\n")).endpoint, "https://[::1]:8443");
  // http:// only with allow_insecure_http, wherever that key is.
  config h = must_load(with("endpoint: http://127.0.0.1:8080\nallow_insecure_http: true\n"));
  EXPECT_EQ(h.endpoint, "http://127.0.0.1:8080");
}

TEST(config_loader, password_auth_defaults_iam_endpoint) {
  config c = must_load(
      "region: ap-southeast-1\n"
      "auth: {method: password, domain: acme, user: bot, password_file: credential:pw}\n"
      "projects: [{id: p}]\n");
  EXPECT_EQ(c.auth.method, auth_method::password);
  EXPECT_EQ(c.auth.iam_endpoint, "https://iam.ap-southeast-1.myhuaweicloud.com");
  EXPECT_EQ(c.auth.password_file, "credential:pw");
  config eu = must_load(
      "region: eu-west-101\n"
      "auth: {method: password, domain: acme, user: bot, password_file: /pw}\n"
      "projects: [{id: p}]\n");
  EXPECT_EQ(eu.auth.iam_endpoint, "https://iam.eu-west-101.myhuaweicloud.eu");
  config x = must_load(
      "endpoint: http://127.0.0.1:1\nallow_insecure_http: true\n"
      "auth: {method: password, domain: acme, user: bot, password_file: /pw,\n"
      "       iam_endpoint: http://127.0.0.1:2/}\n"
      "projects: [{id: p}]\n");
  EXPECT_EQ(x.auth.iam_endpoint, "http://127.0.0.1:2");
}

TEST(config_loader, aksk_auth_and_keys_of_other_methods_are_ignored) {
  config c = must_load(
      "region: r1\n"
      "auth: {method: aksk, access_key: AKIDEXAMPLE, secret_key_file: credential:sk,\n"
      "       token_file: /t, domain: d, user: u}\n"
      "projects: [{id: p}]\n");
  EXPECT_EQ(c.auth.method, auth_method::aksk);
  EXPECT_EQ(c.auth.access_key, "AKIDEXAMPLE");
  EXPECT_EQ(c.auth.secret_key_file, "credential:sk");
  EXPECT_EQ(c.auth.iam_endpoint, "");
  EXPECT_EQ(c.auth.token_file, "/t");
}

TEST(config_loader, relative_paths_resolve_against_the_config_directory) {
  config c = must_load(
      "region: r1\n"
      "auth: {token_file: token, password_file: ../other/pw, secret_key_file: credential:sk}\n"
      "tls: {ca_file: ca/bundle.pem}\n"
      "projects: [{id: p}]\n"
      "state_dir: state\n"
      "socket: {path: ./run/events.sock}\n",
      "/srv/jw/conf/config.yaml");
  EXPECT_EQ(c.auth.token_file, "/srv/jw/conf/token");
  EXPECT_EQ(c.auth.password_file, "/srv/jw/other/pw");
  EXPECT_EQ(c.auth.secret_key_file, "credential:sk");
  EXPECT_EQ(c.tls_ca_file, "/srv/jw/conf/ca/bundle.pem");
  EXPECT_EQ(c.state_dir, "/srv/jw/conf/state");
  EXPECT_EQ(c.socket.path, "/srv/jw/conf/run/events.sock");
}

TEST(config_loader, projects_filters_and_ignore_fields) {
  config c = must_load(
      "region: r1\nauth: {token_file: /t}\n"
      "projects:\n"
      "  - id: p1\n"
      "    enterprise_projects: ['', all_granted_eps, 0]\n"
      "    filters: {namespace_name: ns, cluster_name: c1, job_name: j}\n"
      "  - id: 12345\n"
      "poll: {ignore_fields: [execute_time, pods_num]}\n"
      "metrics: {listen: '[::1]:9464'}\n");
  ASSERT_EQ(c.projects.size(), 2u);
  EXPECT_EQ(c.projects[0].enterprise_projects,
            (std::vector<std::string>{"", "all_granted_eps", "0"}));
  EXPECT_EQ(c.projects[0].filters.size(), 3u);
  EXPECT_EQ(c.projects[1].id, "12345");
  EXPECT_EQ(c.poll.ignore_fields, (std::vector<std::string>{"execute_time", "pods_num"}));
  EXPECT_EQ(c.metrics.listen, "[::1]:9464");
  EXPECT_EQ(must_load(with("metrics: {listen: 'localhost:80'}\n")).metrics.listen, "localhost:80");
  EXPECT_EQ(must_load(with("metrics: {listen: 0.0.0.0:65535}\n")).metrics.listen, "0.0.0.0:65535");
}

TEST(config_loader, proxy_with_credentials) {
  config c = must_load(with("proxy: http://user:s3cret@proxy.example:3128/\n"));
  EXPECT_EQ(c.proxy, "http://user:s3cret@proxy.example:3128");
}

// ---------------------------------------------------------------------------
// Rejections: every rule, at its exact position.

struct bad_case {
  std::string name;
  std::string yaml;
  int line;
  int column;
  std::string message;  // a substring of the message
};

void PrintTo(const bad_case& c, std::ostream* os) { *os << c.name; }

std::vector<bad_case> bad_cases() {
  const std::string two_lines = "region: r1\nauth: {token_file: /t}\n";  // projects go on line 3
  return {
      // YAML syntax
      {"syntax_bad_indentation", with("poll: 1\n timeout: 2\n"), 5, 9,
       "invalid YAML: illegal map value"},
      {"syntax_unterminated_flow", with("poll: {interval: 1s\n"), 5, 1,
       "end of map flow not found"},
      {"two_documents", "region: a\n---\nregion: b\n", 2, 1,
       "expected one YAML document, found a second one here"},
      {"top_level_scalar", "just text\n", 1, 1, "expected a mapping at the top level"},
      {"top_level_list", "- a\n", 1, 1, "expected a mapping at the top level, got a list"},
      // unknown and duplicate keys, at any level
      {"unknown_top_key", with("regoin: x\n"), 4, 1,
       "unknown key 'regoin' in top level (allowed: region, endpoint, auth, tls, proxy, projects,"
       " poll, state_dir, journal, socket, log, metrics, allow_insecure_http)"},
      {"unknown_poll_key", with("poll:\n  intervall: 5s\n"), 5, 3,
       "unknown key 'intervall' in poll (allowed: interval, jitter, page_size"},
      {"unknown_retry_key", with("poll:\n  retry: {attemps: 3}\n"), 5, 11,
       "unknown key 'attemps' in poll.retry (allowed: attempts, initial, max)"},
      {"unknown_tls_key", with("tls: {ca: x}\n"), 4, 7,
       "unknown key 'ca' in tls (allowed: ca_file)"},
      {"unknown_auth_key",
       "region: a\nauth: {token_file: /t, tokenfile: /u}\nprojects: [{id: p1}]\n", 2, 24,
       "unknown key 'tokenfile' in auth (allowed: method, token_file, iam_endpoint"},
      {"unknown_project_key", two_lines + "projects: [{id: p1, name: x}]\n", 3, 21,
       "unknown key 'name' in projects[0] (allowed: id, enterprise_projects, filters)"},
      {"unknown_filter_key", two_lines + "projects:\n  - id: p1\n    filters: {cluster: a}\n", 5,
       15,
       "unknown key 'cluster' in projects[0].filters (allowed: cluster_name, namespace_name, "
       "job_name)"},
      {"unknown_socket_key", with("socket: {owner: root}\n"), 4, 10,
       "unknown key 'owner' in socket"},
      {"duplicate_key", with("poll:\n  interval: 5s\n  interval: 6s\n"), 6, 3,
       "duplicate key 'interval' in poll (first given at line 5)"},
      {"duplicate_top_key", with("region: b\n"), 4, 1,
       "duplicate key 'region' in top level (first given at line 1)"},
      // wrong types
      {"int_not_number", with("poll:\n  page_size: abc\n"), 5, 14,
       "poll.page_size: expected an integer, got 'abc'"},
      {"int_quoted", with("poll:\n  page_size: \"200\"\n"), 5, 14, "expected an integer"},
      {"int_float", with("poll:\n  page_size: 1.5e2\n"), 5, 14, "expected an integer"},
      {"duration_is_list", with("poll:\n  interval: [1s]\n"), 5, 13,
       "poll.interval: expected a duration such as 30s, got a list"},
      {"section_is_scalar", with("poll: 5\n"), 4, 7, "poll: expected a mapping, got a scalar"},
      {"bool_yes", with("allow_insecure_http: yes\n"), 4, 22,
       "allow_insecure_http: expected true or false, got 'yes'"},
      {"bool_quoted", with("allow_insecure_http: \"true\"\n"), 4, 22, "expected true or false"},
      {"list_is_scalar", with("poll:\n  ignore_fields: name\n"), 5, 18,
       "poll.ignore_fields: expected a list, got a scalar"},
      {"list_item_is_map", with("poll:\n  ignore_fields: [{a: b}]\n"), 5, 19,
       "poll.ignore_fields[0]: expected a string, got a mapping"},
      {"string_is_null", with("state_dir:\n"), 4, 1,
       "state_dir: expected a string, got nothing (null)"},
      {"string_is_empty", with("state_dir: ''\n"), 4, 12, "state_dir: must not be empty"},
      {"enum_is_number", with("log: {level: 3}\n"), 4, 14,
       "log.level: expected one of trace, debug, info, warn, error, critical, off (got '3')"},
      // poll ranges
      {"interval_low", with("poll:\n  interval: 999ms\n"), 5, 13,
       "poll.interval: must be between 1s and 1d (got 999ms)"},
      {"interval_high", with("poll:\n  interval: 25h\n"), 5, 13, "must be between 1s and 1d"},
      {"jitter_high", with("poll:\n  jitter: 51%\n"), 5, 11,
       "poll.jitter: must be between 0% and 50% (got 51%)"},
      {"page_size_low", with("poll:\n  page_size: 9\n"), 5, 14,
       "poll.page_size: must be between 10 and 200 (got 9)"},
      {"page_size_high", with("poll:\n  page_size: 201\n"), 5, 14, "must be between 10 and 200"},
      {"page_size_huge", with("poll:\n  page_size: 99999999999999999999\n"), 5, 14,
       "poll.page_size: must be between 10 and 200 (got 99999999999999999999)"},
      {"page_size_negative", with("poll:\n  page_size: -5\n"), 5, 14, "(got -5)"},
      {"timeout_low", with("poll:\n  timeout: 99ms\n"), 5, 12,
       "poll.timeout: must be between 100ms and 10m"},
      {"timeout_high", with("poll:\n  timeout: 11m\n"), 5, 12, "must be between 100ms and 10m"},
      {"max_in_flight_low", with("poll:\n  max_in_flight: 0\n"), 5, 18, "between 1 and 64"},
      {"max_in_flight_high", with("poll:\n  max_in_flight: 65\n"), 5, 18, "between 1 and 64"},
      {"pages_in_flight_low", with("poll:\n  pages_in_flight: 0\n"), 5, 20, "between 1 and 16"},
      {"pages_in_flight_high", with("poll:\n  pages_in_flight: 17\n"), 5, 20, "between 1 and 16"},
      {"retry_attempts_high", with("poll:\n  retry: {attempts: 21}\n"), 5, 21,
       "poll.retry.attempts: must be between 0 and 20 (got 21)"},
      {"retry_initial_low", with("poll:\n  retry: {initial: 9ms}\n"), 5, 20,
       "poll.retry.initial: must be between 10ms and 10m"},
      {"retry_max_high", with("poll:\n  retry: {max: 2h}\n"), 5, 16,
       "poll.retry.max: must be between 10ms and 1h"},
      {"retry_max_below_initial", with("poll:\n  retry: {initial: 10s, max: 5s}\n"), 5, 30,
       "poll.retry.max: must be at least poll.retry.initial (10s), got 5s"},
      {"retry_default_max_below_initial", with("poll:\n  retry: {initial: 2m}\n"), 5, 20,
       "poll.retry.initial: must be at most poll.retry.max (1m by default), got 2m"},
      {"full_walk_every_low", with("poll:\n  full_walk_every: 0\n"), 5, 20, "between 1 and 1000"},
      {"full_walk_every_high", with("poll:\n  full_walk_every: 1001\n"), 5, 20,
       "between 1 and 1000"},
      {"removal_guard_high", with("poll:\n  removal_guard: 101%\n"), 5, 18,
       "poll.removal_guard: a percentage must be between 0% and 100%"},
      {"removal_confirmations_low", with("poll:\n  removal_confirmations: 0\n"), 5, 26,
       "between 1 and 100"},
      {"removal_confirmations_high", with("poll:\n  removal_confirmations: 101\n"), 5, 26,
       "between 1 and 100"},
      {"trust_not_bool", with("poll:\n  trust_last_update_time: 1\n"), 5, 27,
       "expected true or false"},
      {"baseline_not_bool", with("poll:\n  baseline_events: no\n"), 5, 20,
       "expected true or false"},
      {"ignore_key_field", with("poll:\n  ignore_fields: [pods_num, name]\n"), 5, 29,
       "poll.ignore_fields[1]: 'name' is a key field"},
      {"ignore_cluster_name", with("poll:\n  ignore_fields: [cluster_name]\n"), 5, 19,
       "'cluster_name' is a key field"},
      {"ignore_namespace_name", with("poll:\n  ignore_fields: [namespace_name]\n"), 5, 19,
       "'namespace_name' is a key field"},
      {"ignore_duplicate", with("poll:\n  ignore_fields: [a, a]\n"), 5, 22,
       "poll.ignore_fields[1]: duplicate value 'a'"},
      {"ignore_empty", with("poll:\n  ignore_fields: ['']\n"), 5, 19, "must not be empty"},
      // duration forms
      {"duration_bare_int", with("poll:\n  interval: 30\n"), 5, 13,
       "poll.interval: a duration needs a unit, e.g. 30s (units ms, s, m, h, d) (got '30')"},
      {"duration_fraction", with("poll:\n  interval: 1.5s\n"), 5, 13, "unknown duration unit"},
      {"duration_long_unit", with("poll:\n  interval: 30sec\n"), 5, 13,
       "unknown duration unit \"sec\""},
      {"duration_weeks", with("poll:\n  interval: 1w\n"), 5, 13, "unknown duration unit \"w\""},
      {"duration_negative", with("poll:\n  interval: -1s\n"), 5, 13,
       "expected a duration such as 30s"},
      {"duration_space", with("poll:\n  interval: 5 m\n"), 5, 13, "unknown duration unit"},
      {"duration_overflow", with("poll:\n  interval: 99999999999999999999d\n"), 5, 13,
       "duration too large"},
      // rates
      {"rate_zero", with("poll:\n  rate: 0/s\n"), 5, 9, "poll.rate: a rate needs N >= 1"},
      {"rate_per_hour", with("poll:\n  rate: 5/hour\n"), 5, 9,
       "expected N/s, N/min (N >= 1) or unlimited"},
      {"rate_bare", with("poll:\n  rate: 5\n"), 5, 9, "expected N/s, N/min"},
      {"rate_per_m", with("poll:\n  rate: 5/m\n"), 5, 9, "expected N/s, N/min"},
      // percentages
      {"percent_no_sign", with("poll:\n  jitter: 10\n"), 5, 11,
       "poll.jitter: expected a percentage such as 10% or 12.5%"},
      {"percent_negative", with("poll:\n  jitter: -5%\n"), 5, 11, "expected a percentage"},
      {"percent_text", with("poll:\n  jitter: abc%\n"), 5, 11, "expected a percentage"},
      {"percent_trailing_dot", with("poll:\n  jitter: 5.%\n"), 5, 11, "expected a percentage"},
      // journal, socket, log, metrics, state_dir
      {"journal_max_events_low", with("journal: {max_events: 0}\n"), 4, 23,
       "journal.max_events: must be between 1 and 1000000000"},
      {"journal_max_events_high", with("journal: {max_events: 1000000001}\n"), 4, 23,
       "must be between 1 and 1000000000"},
      {"journal_max_age_low", with("journal: {max_age: 59s}\n"), 4, 20,
       "journal.max_age: must be between 1m and 3650d"},
      {"journal_max_age_high", with("journal: {max_age: 3651d}\n"), 4, 20,
       "must be between 1m and 3650d"},
      {"socket_mode_not_octal", with("socket:\n  mode: \"0800\"\n"), 5, 9,
       "socket.mode: expected an octal mode such as \"0660\""},
      {"socket_mode_too_big", with("socket:\n  mode: 01000\n"), 5, 9,
       "a mode must be at most 0777"},
      {"socket_mode_word", with("socket:\n  mode: rw\n"), 5, 9, "expected an octal mode"},
      {"socket_max_clients_low", with("socket:\n  max_clients: 0\n"), 5, 16, "between 1 and 65536"},
      {"socket_max_clients_high", with("socket:\n  max_clients: 65537\n"), 5, 16,
       "between 1 and 65536"},
      {"socket_stall_low", with("socket:\n  stall_timeout: 0s\n"), 5, 18,
       "socket.stall_timeout: must be between 1s and 1h"},
      {"socket_stall_high", with("socket:\n  stall_timeout: 2h\n"), 5, 18, "between 1s and 1h"},
      {"socket_bookmark_high", with("socket:\n  bookmark_interval: 61m\n"), 5, 22,
       "socket.bookmark_interval: must be between 1s and 1h"},
      {"socket_path_too_long", with("socket:\n  path: /" + std::string(120, 'a') + "\n"), 5, 9,
       "a socket path is at most 107 bytes"},
      {"log_level", with("log:\n  level: verbose\n"), 5, 10,
       "log.level: expected one of trace, debug, info, warn, error, critical, off (got 'verbose')"},
      {"log_target", with("log:\n  target: syslog\n"), 5, 11,
       "log.target: expected one of auto, journal, stderr (got 'syslog')"},
      {"log_format", with("log:\n  format: xml\n"), 5, 11,
       "log.format: expected one of text, json (got 'xml')"},
      {"metrics_no_port", with("metrics:\n  listen: localhost\n"), 5, 11,
       "metrics.listen: expected host:port"},
      {"metrics_port_zero", with("metrics:\n  listen: 1.2.3.4:0\n"), 5, 11,
       "port must be between 1 and 65535"},
      {"metrics_port_high", with("metrics:\n  listen: '[::1]:70000'\n"), 5, 11,
       "port must be between 1 and 65535"},
      {"metrics_bare_ipv6", with("metrics:\n  listen: '::1:80'\n"), 5, 11,
       "an IPv6 address needs brackets"},
      {"metrics_bad_ipv6", with("metrics:\n  listen: '[zz]:80'\n"), 5, 11, "invalid IPv6 address"},
      {"metrics_empty_port", with("metrics:\n  listen: 'host:'\n"), 5, 11, "port must be between"},
      // region and endpoint
      {"region_missing", "auth: {token_file: /t}\nprojects: [{id: p1}]\n", 1, 1,
       "missing required key 'region' (or give endpoint)"},
      {"region_invalid", "region: AP_1\nauth: {token_file: /t}\nprojects: [{id: p1}]\n", 1, 9,
       "a region is lowercase letters, digits and '-'"},
      {"endpoint_http", with("endpoint: http://hss.local\n"), 4, 11,
       "endpoint: http:// is refused (use https://, or allow_insecure_http: true for tests)"},
      {"endpoint_path", with("endpoint: https://hss.local/v5\n"), 4, 11,
       "must not have a path (got \"/v5\")"},
      {"endpoint_query", with("endpoint: https://hss.local?x=1\n"), 4, 11, "must not have a query"},
      {"endpoint_fragment", with("endpoint: https://hss.local#x\n"), 4, 11,
       "must not have a fragment"},
      {"endpoint_userinfo", with("endpoint: https://u:pw@hss.local\n"), 4, 11,
       "must not contain user info (got 'https://u:***@hss.local')"},
      {"endpoint_ftp", with("endpoint: ftp://hss.local\n"), 4, 11, "expected an https:// URL"},
      {"endpoint_relative", with("endpoint: hss.local\n"), 4, 11, "expected an absolute URL"},
      {"endpoint_no_host", with("endpoint: https://\n"), 4, 11, "needs a host"},
      {"endpoint_port_zero", with("endpoint: https://hss.local:0\n"), 4, 11, "invalid port"},
      {"endpoint_bad_host", with("endpoint: https://hss%20local\n"), 4, 11, "invalid host name"},
      // auth
      {"auth_missing", "region: r1\nprojects: [{id: p}]\n", 1, 1, "missing required key 'auth'"},
      {"auth_null", "region: r1\nauth:\nprojects: [{id: p}]\n", 2, 1,
       "auth: missing required key 'token_file' (auth.method is token)"},
      {"token_missing_file", "region: r1\nauth: {method: token}\nprojects: [{id: p}]\n", 2, 7,
       "auth: missing required key 'token_file' (auth.method is token)"},
      {"password_missing_user",
       "region: r1\nauth:\n  method: password\n  domain: d\n  password_file: /p\n"
       "projects: [{id: p}]\n",
       3, 3, "auth: missing required key 'user' (auth.method is password)"},
      {"password_missing_domain",
       "region: r1\nauth: {method: password, user: u, password_file: /p}\nprojects: [{id: p}]\n", 2,
       7, "auth: missing required key 'domain' (auth.method is password)"},
      {"password_missing_file",
       "region: r1\nauth: {method: password, user: u, domain: d}\nprojects: [{id: p}]\n", 2, 7,
       "auth: missing required key 'password_file' (auth.method is password)"},
      {"password_no_iam_endpoint",
       "endpoint: https://h\nauth: {method: password, domain: d, user: u, password_file: /p}\n"
       "projects: [{id: p}]\n",
       2, 7, "auth: missing required key 'iam_endpoint' (auth.method is password and no region"},
      {"iam_endpoint_http",
       "region: r1\nauth: {method: password, domain: d, user: u, password_file: /p,\n"
       "  iam_endpoint: http://iam.local}\nprojects: [{id: p}]\n",
       3, 17, "auth.iam_endpoint: http:// is refused"},
      {"aksk_missing_secret",
       "region: r1\nauth: {method: aksk, access_key: AK}\nprojects: [{id: p}]\n", 2, 7,
       "auth: missing required key 'secret_key_file' (auth.method is aksk)"},
      {"aksk_missing_access_key",
       "region: r1\nauth: {method: aksk, secret_key_file: /sk}\nprojects: [{id: p}]\n", 2, 7,
       "auth: missing required key 'access_key' (auth.method is aksk)"},
      {"auth_method_unknown",
       "region: r1\nauth: {method: oauth, token_file: /t}\nprojects: [{id: p}]\n", 2, 16,
       "auth.method: expected one of token, password, aksk (got 'oauth')"},
      {"credential_no_name", "region: r1\nauth: {token_file: 'credential:'}\nprojects: [{id: p}]\n",
       2, 20, "auth.token_file: credential:NAME needs a NAME without '/'"},
      {"credential_slash", "region: r1\nauth: {token_file: credential:a/b}\nprojects: [{id: p}]\n",
       2, 20, "credential:NAME needs a NAME without '/'"},
      {"credential_dotdot", "region: r1\nauth: {token_file: credential:..}\nprojects: [{id: p}]\n",
       2, 20, "credential:NAME needs a NAME"},
      {"ca_file_credential", with("tls: {ca_file: credential:ca}\n"), 4, 16,
       "tls.ca_file: is a path (credential: names are for secret files)"},
      {"ca_file_empty", with("tls: {ca_file: ''}\n"), 4, 16, "tls.ca_file: must not be empty"},
      // proxy
      {"proxy_https", with("proxy: https://p:3128\n"), 4, 8,
       "proxy: expected http://[user:password@]host:port"},
      {"proxy_no_port", with("proxy: http://p\n"), 4, 8, "needs a port"},
      {"proxy_path", with("proxy: http://p:3128/x\n"), 4, 8, "must not have a path"},
      {"proxy_no_user", with("proxy: http://:pw@p:3128\n"), 4, 8, "user info needs a user name"},
      {"proxy_bad_port", with("proxy: http://u:s3cret@p:99999\n"), 4, 8, "invalid port"},
      // projects
      {"projects_missing", "region: r1\nauth: {token_file: /t}\n", 1, 1,
       "missing required key 'projects'"},
      {"projects_empty", two_lines + "projects: []\n", 3, 11,
       "projects: must list at least one project"},
      {"projects_map", two_lines + "projects: {id: p}\n", 3, 11,
       "projects: expected a list of projects, got a mapping"},
      {"projects_null", two_lines + "projects:\n", 3, 1,
       "projects: expected a list of projects, got nothing (null)"},
      {"project_scalar", two_lines + "projects: [p1]\n", 3, 12,
       "projects[0]: expected a mapping with an id, got a scalar"},
      {"project_no_id", two_lines + "projects: [{enterprise_projects: [a]}]\n", 3, 12,
       "projects[0]: missing required key 'id'"},
      {"project_duplicate_id", two_lines + "projects: [{id: p1}, {id: p1}]\n", 3, 27,
       "projects[1].id: duplicate project id 'p1' (also projects[0])"},
      {"project_empty_id", two_lines + "projects: [{id: ''}]\n", 3, 17,
       "projects[0].id: must not be empty"},
      {"project_bad_id", two_lines + "projects: [{id: a/b}]\n", 3, 17,
       "a project id is 1..256 letters, digits"},
      {"eps_empty", two_lines + "projects: [{id: p1, enterprise_projects: []}]\n", 3, 42,
       "projects[0].enterprise_projects: must list at least one enterprise project"},
      {"eps_duplicate", two_lines + "projects: [{id: p1, enterprise_projects: [a, a]}]\n", 3, 46,
       "projects[0].enterprise_projects[1]: duplicate value 'a'"},
      {"eps_not_list", two_lines + "projects: [{id: p1, enterprise_projects: a}]\n", 3, 42,
       "expected a list"},
      {"eps_bad_id", two_lines + "projects: [{id: p1, enterprise_projects: ['a b']}]\n", 3, 43,
       "an enterprise project id is"},
      {"filter_empty", two_lines + "projects: [{id: p1, filters: {job_name: ''}}]\n", 3, 41,
       "projects[0].filters.job_name: must not be empty"},
      {"filter_control_char", two_lines + "projects: [{id: p1, filters: {job_name: \"a\\tb\"}}]\n",
       3, 41, "must not contain control characters"},
      {"filter_not_string", two_lines + "projects: [{id: p1, filters: {job_name: [a]}}]\n", 3, 41,
       "expected a string, got a list"},
      {"filters_not_map", two_lines + "projects: [{id: p1, filters: [a]}]\n", 3, 30,
       "projects[0].filters: expected a mapping, got a list"},
  };
}

class config_rejects : public ::testing::TestWithParam<bad_case> {};

TEST_P(config_rejects, at_the_offending_node) {
  const bad_case& c = GetParam();
  auto r = load_string(c.yaml, kFile);
  ASSERT_FALSE(r) << "loaded:\n" << c.yaml;
  EXPECT_EQ(r.error(), errc::config_invalid);
  const error_parts e = parts_of(r.error(), kFile);
  EXPECT_EQ(e.file, kFile);
  EXPECT_EQ(e.line, c.line) << r.error().message();
  EXPECT_EQ(e.column, c.column) << r.error().message();
  EXPECT_THAT(e.message, HasSubstr(c.message)) << r.error().message();
}

INSTANTIATE_TEST_SUITE_P(rules, config_rejects, ::testing::ValuesIn(bad_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(config_loader, error_messages_never_contain_the_proxy_password) {
  auto r = load_string(with("proxy: http://u:s3cret@p:99999\n"), kFile);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), Not(HasSubstr("s3cret")));
  EXPECT_THAT(r.error().message(), HasSubstr("http://u:***@p:99999"));
}

// Proxy URLs Boost.URL refuses (a space, an unescaped '/', '#' or '@' in
// the password, no scheme, no host): the error still names what was wrong
// and shows the URL, but never the password (redacted by position).
TEST(config_loader, unparsable_proxy_urls_are_redacted_in_errors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\"http://jo:s3cr et@proxy.example:3128\"", "http://jo:***@proxy.example:3128"},
      {"\"http://jo:s3cr/et#x@y@proxy.example:3128\"", "http://jo:***@proxy.example:3128"},
      {"\"jo:s3cret@proxy.example:3128\"", "jo:***@proxy.example:3128"},
      {"\"http://jo:s3cret@\"", "http://jo:***@"},
      {"\"http://jo:s3cret@[::1\"", "http://jo:***@[::1"},
      {"\"http://s3cret-token@proxy example:3128\"", "http://***@proxy example:3128"},
      {"\"socks5://jo:s3cret@proxy.example:1080\"", "socks5://jo:***@proxy.example:1080"},
  };
  for (const auto& [yaml, shown] : cases) {
    SCOPED_TRACE(yaml);
    auto r = load_string(with("proxy: " + yaml + "\n"), kFile);
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message(), Not(HasSubstr("s3cr"))) << r.error().message();
    EXPECT_THAT(r.error().message(), HasSubstr("'" + shown + "'"));
  }
}

TEST(config_values, redact_url_works_by_position) {
  using detail::redact_url;
  EXPECT_EQ(redact_url("http://proxy.example:3128"), "http://proxy.example:3128");
  EXPECT_EQ(redact_url("http://u:pw@proxy.example:3128"), "http://u:***@proxy.example:3128");
  EXPECT_EQ(redact_url("http://u:p@w@h:1"), "http://u:***@h:1");  // the last '@' ends it
  EXPECT_EQ(redact_url("http://u@h:1"), "http://***@h:1");
  EXPECT_EQ(redact_url("u:pw@h:1"), "u:***@h:1");
  EXPECT_EQ(redact_url(""), "");
  EXPECT_EQ(redact_url("@"), "***@");
}

TEST(config_loader, empty_file_misses_projects) {
  auto r = load_string("", kFile);
  ASSERT_FALSE(r);
  EXPECT_EQ(parts_of(r.error(), kFile).line, 0);
  EXPECT_EQ(r.error().message(), std::string(kFile) + ": missing required key 'projects'");
}

TEST(config_loader, config_error_reads_file_line_col_message) {
  EXPECT_EQ(config_error("f.yaml", 3, 7, "bad").message(), "f.yaml:3:7: bad");
  EXPECT_EQ(config_error("f.yaml", 3, 0, "bad").message(), "f.yaml:3: bad");
  EXPECT_EQ(config_error("f.yaml", 0, 0, "bad").message(), "f.yaml: bad");
  EXPECT_EQ(config_error("f.yaml", 3, 7, "bad"), errc::config_invalid);
  // The parts come back out of it (the tests of positions need them).
  const error_parts p = parts_of(config_error("/a:b/f.yaml", 12, 34, "x: 5"), "/a:b/f.yaml");
  EXPECT_EQ(p.file, "/a:b/f.yaml");
  EXPECT_EQ(p.line, 12);
  EXPECT_EQ(p.column, 34);
  EXPECT_EQ(p.message, "x: 5");
}

// ---------------------------------------------------------------------------
// Files

TEST(config_loader, load_file_reports_a_missing_file) {
  auto r = load_file("/nonexistent/hssjw/config.yaml");
  ASSERT_FALSE(r);
  const error_parts e = parts_of(r.error(), "/nonexistent/hssjw/config.yaml");
  EXPECT_EQ(e.file, "/nonexistent/hssjw/config.yaml");
  EXPECT_EQ(e.line, 0);
  EXPECT_THAT(e.message, HasSubstr("cannot read"));
  // An I/O failure keeps the system's code (the daemon exits 78 all the same).
  EXPECT_EQ(r.error(), boost::system::errc::no_such_file_or_directory);
}

TEST(config_loader, load_file_resolves_against_its_directory) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("hssjw-config-test-" + std::to_string(::getpid()));
  fs::create_directories(dir / "etc");
  {
    std::ofstream out(dir / "etc" / "config.yaml");
    out << "region: r1\nauth: {token_file: token}\nprojects: [{id: p}]\nstate_dir: ../state\n";
  }
  auto r = load_file((dir / "etc" / "config.yaml").string());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->source_path, (dir / "etc" / "config.yaml").string());
  EXPECT_EQ(r->auth.token_file, (dir / "etc" / "token").string());
  EXPECT_EQ(r->state_dir, (dir / "state").string());
  {
    std::ofstream out(dir / "etc" / "bad.yaml");
    out << "region: r1\nauth: {token_file: token}\nprojects: [{id: p}]\npoll: {jitter: 60%}\n";
  }
  auto bad = load_file((dir / "etc" / "bad.yaml").string());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), (dir / "etc" / "bad.yaml").string() +
                                       ":4:16: poll.jitter: must be between 0% and 50% (got 60%)");
  fs::remove_all(dir);
}

// The keys the loader knows: the rows of its schema table ("poll.retry.max",
// list items as "projects[].id").
std::set<std::string> schema_keys() {
  std::set<std::string> out;
  for (const auto& k : schema::config_keys()) out.insert(std::string(k.path));
  for (const auto& k : schema::project_keys()) out.insert(std::string(k.path));
  return out;
}

// The shipped example is the reference an operator copies: it loads, and it
// shows every key the loader knows (and no other).
TEST(config_loader, example_yaml_loads_and_has_every_key) {
  const std::string path = HSSJW_SOURCE_DIR "/config/example.yaml";
  auto r = load_file(path);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->endpoint, "https://hss.ap-southeast-1.myhuaweicloud.com");
  EXPECT_EQ(r->projects.size(), 1u);
  // The package installs it as the config: its secrets are the credentials
  // the unit's LoadCredential=hss:/etc/hss-jobwatch/credentials yields
  // (file F there = credential hss_F), as the README tells operators.
  EXPECT_THAT(read_text(HSSJW_SOURCE_DIR "/systemd/hss-jobwatch.service"),
              HasSubstr("\nLoadCredential=hss:/etc/hss-jobwatch/credentials\n"));
  EXPECT_EQ(r->auth.method, auth_method::token);
  EXPECT_EQ(r->auth.token_file, "credential:hss_token");
  EXPECT_EQ(r->auth.password_file, "credential:hss_password");
  EXPECT_EQ(r->auth.secret_key_file, "credential:hss_sk");
  const std::string text = read_text(path);
  const std::set<std::string> schema = schema_keys();
  std::set<std::string> example = key_paths(text);
  for (const auto& key : schema) {
    // One filter makes the example; the comment names the others.
    if (key.starts_with("projects[].filters.")) {
      EXPECT_THAT(text, HasSubstr(key.substr(19))) << "example.yaml does not mention " << key;
      continue;
    }
    EXPECT_TRUE(example.count(key)) << "example.yaml lacks " << key;
  }
  for (const auto& key : example)
    EXPECT_TRUE(schema.count(key)) << "the loader does not know " << key;
}

// Every key has its line of doc, and writing a key's documented default
// changes nothing: the effective config is that of leaving the key out.
TEST(config_schema, writing_a_default_changes_nothing) {
  const std::string base_yaml =
      "endpoint: https://hss.r1.example\nauth: {token_file: /t}\nprojects: [{id: p1}]\n";
  const std::string without = render_effective(must_load(base_yaml));
  int tried = 0;
  auto check = [&](const auto& keys) {
    for (const auto& k : keys) {
      EXPECT_FALSE(k.doc.empty()) << k.path;
      if (k.default_value.empty()) continue;
      YAML::Node doc = YAML::Load(base_yaml);
      YAML::Node node = doc;
      std::stringstream parts{std::string(k.path)};
      for (std::string part; std::getline(parts, part, '.');) {
        const bool item = part.ends_with("[]");
        node.reset(node[item ? part.substr(0, part.size() - 2) : part]);
        if (item) node.reset(node[0]);
      }
      if (node.IsDefined() && !node.IsNull()) continue;  // the base needs it
      node = YAML::Load(std::string(k.default_value));
      YAML::Emitter yaml;
      yaml << doc;
      SCOPED_TRACE(std::string(k.path) + "\n" + yaml.c_str());
      EXPECT_EQ(render_effective(must_load(yaml.c_str())), without);
      ++tried;
    }
  };
  check(schema::config_keys());
  check(schema::project_keys());
  EXPECT_GT(tried, 30);
}

// docs/CONFIG.md's table of keys gives each default the schema has.
TEST(config_schema, config_md_documents_every_default) {
  const std::string doc = read_text(HSSJW_SOURCE_DIR "/docs/CONFIG.md");
  ASSERT_FALSE(doc.empty());
  auto documented = [&](const auto& keys) {
    for (const auto& k : keys) {
      if (k.default_value.empty() || k.default_value == "~") continue;  // none, or prose
      EXPECT_THAT(doc, HasSubstr("| `" + std::string(k.path) + "` | `" +
                                 std::string(k.default_value) + "` |"));
    }
  };
  documented(schema::config_keys());
  documented(schema::project_keys());
}

// ---------------------------------------------------------------------------
// render_effective

TEST(config_render, has_every_key_and_redacts) {
  std::string yaml = spec_example();
  config c = must_load(yaml);
  c.proxy = "http://user:s3cret@proxy.example:3128";
  std::string out = render_effective(c);
  std::set<std::string> rendered = key_paths(out);
  for (const auto& key : key_paths(yaml)) EXPECT_TRUE(rendered.count(key)) << "missing " << key;
  EXPECT_THAT(out, HasSubstr("access_key: AKEX***"));
  EXPECT_THAT(out, Not(HasSubstr("AKEXAMPLE")));
  EXPECT_THAT(out, HasSubstr("proxy: http://user:***@proxy.example:3128"));
  EXPECT_THAT(out, Not(HasSubstr("s3cret")));
  EXPECT_THAT(out, HasSubstr("token_file: /etc/hss-jobwatch/token"));  // paths are not secret
  EXPECT_THAT(out, HasSubstr("mode: \"0660\""));
  EXPECT_THAT(out, HasSubstr("rate: 5/min"));
  EXPECT_THAT(out, HasSubstr("jitter: 10%"));
}

TEST(config_render, defaults_are_rendered_too) {
  std::string out = render_effective(must_load(with("")));
  std::set<std::string> rendered = key_paths(out);
  for (const auto& key : key_paths(spec_example())) {
    if (key.starts_with("projects[].filters.")) continue;  // no filters configured here
    EXPECT_TRUE(rendered.count(key)) << "missing " << key;
  }
  EXPECT_THAT(out, HasSubstr("endpoint: https://hss.ap-southeast-1.myhuaweicloud.com"));
  EXPECT_THAT(out, HasSubstr("proxy: ~"));
  EXPECT_THAT(out, HasSubstr("listen: ~"));
}

class config_round_trip : public ::testing::TestWithParam<std::string> {};

TEST_P(config_round_trip, render_then_load_gives_the_same_values) {
  config a = must_load(GetParam());
  std::string rendered = render_effective(a);
  auto b = load_string(rendered, kFile);
  ASSERT_TRUE(b) << b.error().message() << "\n" << rendered;
  expect_same(a, *b, /*compare_redacted=*/false);
  // The redacted values come back redacted, never as something else.
  if (!a.auth.access_key.empty()) {
    EXPECT_EQ(b->auth.access_key, a.auth.access_key.substr(0, 4) + "***");
  }
  EXPECT_EQ(render_effective(*b), rendered);  // a fixed point
}

INSTANTIATE_TEST_SUITE_P(
    configs, config_round_trip,
    ::testing::Values(
        spec_example(), with(""),
        "endpoint: http://127.0.0.1:8080/\nallow_insecure_http: true\n"
        "auth: {method: password, domain: acme, user: bot, password_file: pw,\n"
        "       iam_endpoint: http://127.0.0.1:8081}\n"
        "projects:\n"
        "  - id: '0123'\n"
        "    enterprise_projects: ['', '0', all_granted_eps, 'null']\n"
        "    filters: {namespace_name: 'yes', job_name: 'j: k'}\n"
        "  - id: p2\n"
        "poll: {interval: 90s, jitter: 12.5%, timeout: 1500ms, rate: unlimited,\n"
        "       retry: {attempts: 0, initial: 10ms, max: 1h}, removal_guard: 33.3%,\n"
        "       ignore_fields: [execute_time, '~'], max_in_flight: 2}\n"
        "socket: {mode: '0600', path: rel/s.sock}\n"
        "metrics: {listen: '[::1]:9464'}\n"
        "log: {target: stderr, format: json, level: off}\n",
        "region: eu-west-101\n"
        "auth: {method: aksk, access_key: AKIDEXAMPLE, secret_key_file: credential:sk}\n"
        "proxy: http://user:pw@proxy:3128\n"
        "projects: [{id: p}]\n"
        "poll: {rate: 10/s}\n"));

// ---------------------------------------------------------------------------
// scopes()

TEST(config_scopes, one_per_project_and_enterprise_project_in_order) {
  config c = must_load(
      "region: r1\nauth: {token_file: /t}\n"
      "projects:\n"
      "  - id: p1\n"
      "    enterprise_projects: ['', all_granted_eps]\n"
      "    filters: {namespace_name: ns, job_name: j, cluster_name: c1}\n"
      "  - id: p2\n"
      "  - id: p0\n"
      "    enterprise_projects: [e2, e1]\n"
      "    filters: {job_name: only}\n"
      "  - id: p3\n"
      "    filters: {job_name: 'a&b=c d'}\n");
  std::vector<scope_id> expected{
      {"p1", "", "cluster_name=c1&job_name=j&namespace_name=ns"},
      {"p1", "all_granted_eps", "cluster_name=c1&job_name=j&namespace_name=ns"},
      {"p2", "", ""},
      {"p0", "e2", "job_name=only"},
      {"p0", "e1", "job_name=only"},
      // Values are percent-encoded as on the wire, so the id is unambiguous.
      {"p3", "", "job_name=a%26b%3Dc%20d"},
  };
  EXPECT_EQ(scopes(c), expected);
  EXPECT_EQ(scopes(c)[0].str(), "p1/-?cluster_name=c1&job_name=j&namespace_name=ns");
}

}  // namespace
}  // namespace hssjw::config
