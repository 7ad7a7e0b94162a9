// Loading and validating the YAML config (SPEC §6, docs/CONFIG.md) into the
// plain struct of config.hpp, and rendering it back. Every failure names
// the file, line and column of the offending node; nothing here touches
// the files the config names (secrets are read by auth/, later).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "model/scope.hpp"

namespace hssjw::config {

// Reads and validates `path`. Relative paths inside the file (*_file,
// tls.ca_file, state_dir, socket.path) are resolved against the directory
// of `path`; config::source_path is set to its absolute path. An error's
// message is "file:line:col: message" (see config_error); its code is
// errc::config_invalid, or the system's when the file cannot be read.
result<config> load_file(const std::string& path);

// Validates `yaml` as if it had been read from `file_name` (used in error
// messages and as the base for relative paths).
result<config> load_string(std::string_view yaml, std::string file_name);

// The error for a problem at `line`:`column` (1-based) of `file`:
// errc::config_invalid, "file:line:col: message", the position parts left
// out when 0 (unknown).
error config_error(std::string_view file, int line, int column, std::string_view message);

// The effective config as YAML, every key present (defaults filled in,
// unset optional keys as ~), secrets redacted. It loads back with
// load_string to the same values, except for the redacted ones.
std::string render_effective(const config& c);

// One scope per (project, enterprise project), in config order; filters
// rendered canonically "k=v&k=v" sorted by key.
std::vector<hssjw::scope_id> scopes(const config& c);

}  // namespace hssjw::config
