// List request targets.
#include "hss/jobs_request.hpp"

#include <vector>

namespace hssjw {

std::string list_target(const resource_def& resource, const scope_id& scope,
                        const std::map<std::string, std::string>& filters, std::int64_t offset,
                        std::uint32_t limit) {
  std::map<std::string, std::string> query(filters.begin(), filters.end());
  if (!scope.enterprise_project_id.empty())
    query["enterprise_project_id"] = scope.enterprise_project_id;
  query["limit"] = std::to_string(limit);
  query["offset"] = std::to_string(offset);
  std::string target = "/v5/" + percent_encode(scope.project_id) + '/' + std::string(resource.path);
  char sep = '?';
  for (const auto& [k, v] : query) {  // sorted by raw key: the SDK's canonical order
    target += sep;
    target += percent_encode(k) + '=' + percent_encode(v);
    sep = '&';
  }
  return target;
}

}  // namespace hssjw
