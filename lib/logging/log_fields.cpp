// The thread-local field stack and the field sets of each kind of record.
#include "logging/log_fields.hpp"

#include "hss/http.hpp"
#include "model/event.hpp"

namespace hssjw {

namespace {

log_field_list& stack() {
  thread_local log_field_list fields;
  return fields;
}

const char* message_id_of(event_type t) {
  switch (t) {
    case event_type::added:
      return message_ids::added;
    case event_type::removed:
      return message_ids::removed;
    case event_type::modified:
      return message_ids::modified;
    case event_type::replaced:
      return message_ids::replaced;
  }
  return message_ids::added;
}

}  // namespace

log_fields_scope::log_fields_scope(log_field_list fields) : previous_size_(stack().size()) {
  for (auto& f : fields) stack().push_back(std::move(f));
}

log_fields_scope::~log_fields_scope() { stack().resize(previous_size_); }

const log_field_list& current_log_fields() { return stack(); }

log_field_list scope_fields(const scope_id& scope) {
  return {{"HSS_PROJECT_ID", scope.project_id}, {"HSS_EPS_ID", scope.enterprise_project_id}};
}

log_field_list event_fields(const change_event& e) {
  auto f = scope_fields(e.scope);
  f.insert(f.begin(), {{"MESSAGE_ID", message_id_of(e.type)},
                       {"HSS_EVENT", std::string(to_string(e.type))},
                       {"HSS_SEQ", std::to_string(e.seq)}});
  f.push_back({"HSS_CLUSTER", e.key.cluster});
  f.push_back({"HSS_NAMESPACE", e.key.ns});
  f.push_back({"HSS_JOB", e.key.name});
  return f;
}

log_field_list walk_failure_fields(const scope_id& scope, const api_error* api) {
  auto f = scope_fields(scope);
  f.insert(f.begin(), {"MESSAGE_ID", message_ids::walk_failed});
  if (api) {
    if (!api->request_id.empty()) f.push_back({"HSS_REQUEST_ID", api->request_id});
    if (!api->error_code.empty()) f.push_back({"HSS_ERROR_CODE", api->error_code});
    if (api->http_status) f.push_back({"HSS_HTTP_STATUS", std::to_string(api->http_status)});
  }
  return f;
}

}  // namespace hssjw
