// Building list requests for a resource: the target path and query as
// they go on the wire (keys sorted, SDK percent-encoding, so that the
// token and AK/SK methods send byte-identical queries).
#pragma once

#include "hss/job.hpp"
#include "hss/resource.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace hssjw {

// Every byte outside A-Z a-z 0-9 - _ . ~ as %XY (upper-case hex).
std::string percent_encode(std::string_view s);

// "/v5/<project>/kubernetes/jobs?enterprise_project_id=..&limit=..&offset=.."
std::string list_target(const resource_def& resource, const scope_id& scope,
                        const std::map<std::string, std::string>& filters, std::int64_t offset,
                        std::uint32_t limit);

// The canonical "k=v&k=v" form of a filter map (sorted by key), used in
// scope identities.
std::string canonical_filters(const std::map<std::string, std::string>& filters);

}  // namespace hssjw
