// The resource table: each HSS inventory the walker can list, described as
// data (path, list field, key fields, filters, field types). Jobs is the
// only entry today; a sibling inventory (cronjobs, deployments, ...) is one
// more entry here, not new code.
#pragma once

#include <array>
#include <span>
#include <string_view>

namespace hssjw {

// The JSON type a known field must have; anything else rejects the job.
enum class field_kind { string, int64, label_list };

struct field_def {
  std::string_view name;
  field_kind kind;
};

struct resource_def {
  std::string_view name;                            // "jobs"
  std::string_view path;                            // appended to /v5/{project_id}/
  std::string_view list_field;                      // array of items in the response
  std::string_view total_field;                     // "total_num"
  std::string_view last_update_field;               // "" when the API has none
  std::array<std::string_view, 3> key_fields;       // cluster, namespace, name
  std::string_view replace_field;                   // differs => "replaced"
  std::string_view labels_field;                    // compared as a set, sorted key,val
  std::span<const field_def> known_fields;          // type-checked
  std::span<const std::string_view> filter_params;  // server-side filters
  std::span<const std::string_view> time_fields;    // epoch ms
};

const resource_def& jobs_resource();

// Every inventory the table knows, by name; nullptr when unknown.
const resource_def* find_resource(std::string_view name);

}  // namespace hssjw
