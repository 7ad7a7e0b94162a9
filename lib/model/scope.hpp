// A scope: what one walk lists (SPEC §2), the unit of state, events and
// scheduling. Part of the model layer: it includes nothing of the project.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace hssjw {

// A scope: one (project, enterprise project) pair with its filters.
struct scope_id {
  std::string project_id;
  std::string enterprise_project_id;  // "" = parameter omitted
  std::string filters;                // canonical "k=v&k=v", "" = none
  friend bool operator==(const scope_id&, const scope_id&) = default;
  friend auto operator<=>(const scope_id&, const scope_id&) = default;
  // A stable, human-readable identity used in state and logs.
  std::string str() const;
};

// Every byte outside A-Z a-z 0-9 - _ . ~ as %XY (upper-case hex): the
// SDK's encoding, used in scope identities and on the wire alike.
std::string percent_encode(std::string_view s);

// The canonical "k=v&k=v" form of a filter map (sorted by key), used in
// scope identities.
std::string canonical_filters(const std::map<std::string, std::string>& filters);

}  // namespace hssjw
