// Structured fields for log records (SPEC §9): journald gets them as
// native fields (HSS_EVENT, HSS_SEQ, ..., MESSAGE_ID), JSON lines as keys,
// text lines ignore them. spdlog carries only a message, so the fields of
// the records logged inside a log_fields_scope travel beside it in a
// thread-local: the daemon logs from its one event-loop thread.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "model/job.hpp"
#include "model/scope.hpp"

namespace hssjw {

struct change_event;
struct api_error;

using log_field_list = std::vector<std::pair<std::string, std::string>>;

// Fixed MESSAGE_IDs (128-bit, as systemd's catalog uses), one per kind of
// record; docs/LOGGING.md lists them. Never change a published one.
namespace message_ids {
inline constexpr const char* added = "5e420140008c4219ade0244fc1cbf16a";
inline constexpr const char* removed = "1adb282e74eb4cbca751e47e064f4290";
inline constexpr const char* modified = "be0933362ae74f829c67bf70c09b503a";
inline constexpr const char* replaced = "f7527bd995344a62b6afac22c08dce20";
inline constexpr const char* walk_failed = "2284dbbf0b464c348b3115c4a5817be0";
inline constexpr const char* baseline = "cd299ab291d847cb8fc5d6c2d18a1a99";
inline constexpr const char* scope_recovered = "a7ebae4654724200be543f3758fadd92";
}  // namespace message_ids

// Records logged while one is alive carry `fields` (nested scopes add up).
class log_fields_scope {
 public:
  explicit log_fields_scope(log_field_list fields);
  ~log_fields_scope();
  log_fields_scope(const log_fields_scope&) = delete;
  log_fields_scope& operator=(const log_fields_scope&) = delete;

 private:
  std::size_t previous_size_;
};

// The fields in force on this thread, oldest first.
const log_field_list& current_log_fields();

log_field_list scope_fields(const scope_id& scope);
log_field_list event_fields(const change_event& e);
// A failed walk; `api` (may be null) adds HSS_REQUEST_ID, HSS_ERROR_CODE, HSS_HTTP_STATUS.
log_field_list walk_failure_fields(const scope_id& scope, const api_error* api);

}  // namespace hssjw
