// The daemon's configuration as a plain struct (SPEC §6). Loading and
// validation live in config/loader.hpp; nothing here does I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hssjw::config {

using duration = std::chrono::milliseconds;

enum class auth_method { token, password, aksk };
enum class log_target { auto_detect, journal, stderr_ };
enum class log_format { text, json };

// A request budget: at most `count` requests in any window of `per`.
struct rate {
  std::uint32_t count = 5;
  duration per = std::chrono::minutes(1);
  bool unlimited() const { return count == 0; }
};

struct auth_config {
  auth_method method = auth_method::token;
  std::string token_file;       // token: path or credential:NAME
  std::string iam_endpoint;     // password: defaults to https://iam.<region>.myhuaweicloud.com
  std::string domain;           // password
  std::string user;             // password
  std::string password_file;    // password: path or credential:NAME
  std::string access_key;       // aksk
  std::string secret_key_file;  // aksk: path or credential:NAME
};

struct project_config {
  std::string id;
  std::vector<std::string> enterprise_projects{""};  // "" = parameter omitted
  std::map<std::string, std::string> filters;        // cluster_name, namespace_name, job_name
};

struct retry_config {
  std::uint32_t attempts = 5;
  duration initial = std::chrono::seconds(1);
  duration max = std::chrono::seconds(60);
};

struct poll_config {
  duration interval = std::chrono::seconds(60);
  double jitter = 0.10;  // fraction of interval, 0..1
  std::uint32_t page_size = 200;
  duration timeout = std::chrono::seconds(30);
  std::uint32_t max_in_flight = 8;
  std::uint32_t pages_in_flight = 4;
  struct rate rate;
  retry_config retry;
  bool trust_last_update_time = false;
  std::uint32_t full_walk_every = 10;
  double removal_guard = 0.50;  // fraction, 0..1
  std::uint32_t removal_confirmations = 1;
  std::vector<std::string> ignore_fields;
  bool baseline_events = true;
};

struct journal_config {
  std::uint64_t max_events = 1'000'000;
  duration max_age = std::chrono::hours(24 * 7);
};

struct socket_config {
  std::string path = "/run/hss-jobwatch/events.sock";
  std::uint32_t mode = 0660;
  std::uint32_t max_clients = 256;
  duration stall_timeout = std::chrono::seconds(60);
  duration bookmark_interval = std::chrono::seconds(30);
};

struct log_config {
  std::string level = "info";  // trace debug info warn error critical off
  log_target target = log_target::auto_detect;
  log_format format = log_format::text;
};

struct metrics_config {
  std::string listen;  // empty = disabled; "host:port"
};

struct config {
  std::string source_path;  // the file it was loaded from
  std::string region;
  std::string endpoint;  // effective: explicit, or https://hss.<region>.myhuaweicloud.com
  auth_config auth;
  std::string tls_ca_file;  // empty = system store
  std::string proxy;        // empty = none (HTTPS_PROXY is consulted at run time)
  std::vector<project_config> projects;
  poll_config poll;
  std::string state_dir = "/var/lib/hss-jobwatch";
  journal_config journal;
  socket_config socket;
  log_config log;
  metrics_config metrics;
  bool allow_insecure_http = false;
};

}  // namespace hssjw::config
