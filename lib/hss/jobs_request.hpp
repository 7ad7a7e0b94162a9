// Building list requests for a resource: the target path and query as
// they go on the wire (keys sorted, SDK percent-encoding, so that the
// token and AK/SK methods send byte-identical queries).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "hss/resource.hpp"
#include "model/job.hpp"
#include "model/scope.hpp"

namespace hssjw {

// "/v5/<project>/kubernetes/jobs?enterprise_project_id=..&limit=..&offset=.."
std::string list_target(const resource_def& resource, const scope_id& scope,
                        const std::map<std::string, std::string>& filters, std::int64_t offset,
                        std::uint32_t limit);

}  // namespace hssjw
