// The resource table's entries (HUAWEI-API.md §1.1 / §1.2).
#include "hss/resource.hpp"

namespace hssjw {
namespace {

constexpr field_def job_fields[] = {
    {"cluster_name", field_kind::string},
    {"namespace_name", field_kind::string},
    {"name", field_kind::string},
    {"status", field_kind::string},
    {"pods_num", field_kind::int64},
    {"image_name", field_kind::string},
    {"match_labels", field_kind::label_list},
    {"create_time", field_kind::int64},
    {"execute_time", field_kind::int64},
};
constexpr std::string_view job_filters[] = {"cluster_name", "namespace_name", "job_name"};
constexpr std::string_view job_times[] = {"create_time", "execute_time"};

constexpr resource_def jobs{
    .name = "jobs",
    .path = "kubernetes/jobs",
    .list_field = "job_info_list",
    .total_field = "total_num",
    .last_update_field = "last_update_time",
    .key_fields = {"cluster_name", "namespace_name", "name"},
    .replace_field = "create_time",
    .labels_field = "match_labels",
    .known_fields = job_fields,
    .filter_params = job_filters,
    .time_fields = job_times,
};

}  // namespace

const resource_def& jobs_resource() { return jobs; }

const resource_def* find_resource(std::string_view name) {
  return name == jobs.name ? &jobs : nullptr;
}

}  // namespace hssjw
