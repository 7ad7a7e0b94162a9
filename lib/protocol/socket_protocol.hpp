// The events socket protocol (SPEC §5) as plain code: parsing a request
// line, matching filters, and rendering every line the server sends. No
// I/O here, so all of it is unit-tested without a socket; socket_server
// only moves these bytes.
#pragma once

#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "model/event.hpp"
#include "model/job.hpp"
#include "model/scope.hpp"

namespace hssjw::proto {

// A request line longer than this is refused with bad_request.
inline constexpr std::size_t max_request_line = 64 * 1024;

enum class op { watch, list, status };

// What a filter looks at in an event (or an existing job: no type).
struct event_meta {
  std::string project_id;
  std::string enterprise_project_id;
  std::string cluster;
  std::string ns;
  std::string name;
  std::optional<event_type> type;
};

event_meta meta_of(const change_event& e);
event_meta meta_of(const scope_id& scope, const job_key& key);
// From an SPEC §4 line (a journal line); nothing when it is not one.
std::optional<event_meta> parse_event_meta(std::string_view line);

// Exact matches; every member given must hold. `types` applies to events
// only: an existing job (no type) is never excluded by it.
struct event_filter {
  std::optional<std::string> project_id;
  std::optional<std::string> enterprise_project_id;
  std::optional<std::string> cluster;
  std::optional<std::string> ns;
  std::optional<std::string> name;
  std::vector<event_type> types;  // empty: every type

  bool empty() const;
  bool matches(const event_meta& m) const;
};

struct request {
  op operation = op::watch;
  std::optional<std::uint64_t> since;  // watch only
  bool sync = false;                   // watch only
  event_filter filter;                 // watch and list
};

// Parses one request line (without its newline). The error is the message
// of the bad_request answer.
result<request> parse_request(std::string_view line);

// The lines the server sends, each ending with '\n'.
std::string hello_line(std::string_view server, std::uint64_t seq, std::uint64_t oldest_seq);
std::string error_line(std::string_view code, std::string_view message);
std::string gone_line(std::uint64_t oldest_seq, std::string_view message);
std::string overflow_line(std::string_view message);
std::string bookmark_line(std::uint64_t seq);
std::string synced_line(std::uint64_t seq);
std::string end_line(std::uint64_t seq);
// `body` is the job's canonical JSON text, embedded as it is.
std::string existing_line(const scope_id& scope, const job_key& key, std::string_view body);
std::string scope_status_line(const scope_id& scope, bool failing, std::string_view error);

struct scope_report {
  scope_id scope;
  std::int64_t last_attempt_ms = 0;   // 0: no walk ended yet in this run ("starting")
  std::int64_t last_complete_ms = 0;  // 0: no complete walk yet in this run
  std::size_t jobs = 0;
  bool failing = false;
  std::string last_error;
};

// What the daemon reports for `status`: its scopes, and with them the
// error of a rejected reload (the daemon runs the previous config until a
// good one). A vector so that the server passes it on as it is.
struct scope_reports : std::vector<scope_report> {
  std::string config_error;  // "": the running config is the file's
};

struct status_report {
  std::string server;
  std::uint64_t seq = 0;
  std::uint64_t oldest_seq = 0;
  std::size_t subscribers = 0;
  std::size_t clients = 0;
  scope_reports scopes;
};

std::string status_line(const status_report& r);

}  // namespace hssjw::proto
