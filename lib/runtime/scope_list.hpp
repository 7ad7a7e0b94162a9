// The scopes a config describes, with what the walker needs for each.
#pragma once

#include <vector>

#include "config/config.hpp"
#include "walk/walker.hpp"

namespace hssjw {

std::vector<walk_target> scope_targets(const config::config& cfg);
walk_settings walk_settings_of(const config::config& cfg);

}  // namespace hssjw
