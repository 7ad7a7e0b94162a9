// The YAML side of the config loader: a file or text -> one yaml-cpp
// document, behind the guards that keep yaml-cpp 0.7 from running away on
// hostile input, with the file:line:col of every failure. Nothing here
// knows a config key: the schema walk (loader.cpp) reads the nodes.
//
// The nodes stay yaml-cpp's own: copying them into a tree of ours would
// expand every alias (a few lines of anchors make gigabytes) and loop on a
// self-referencing one; the walk only ever descends where the schema has
// keys, so neither can hurt it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace hssjw::config {

// A config_error in `file` at `where` (no position when the mark is null).
error error_at(const std::string& file, const YAML::Mark& where, std::string_view message);

// The whole text of the config file `path`; refuses what cannot be one
// (missing, unreadable, larger than any config could be).
// The code is the system's (errc::config_invalid for a file too large).
result<std::string> read_file(const std::string& path);

// `yaml` as exactly one YAML document, read as if from `file_name`. An
// empty text gives a null node.
result<YAML::Node> read_document(std::string_view yaml, const std::string& file_name);

// One node as the schema walk meets it.
struct entry {
  YAML::Node value;
  YAML::Mark where;  // the value, or the key when the value is empty
  std::string path;  // dotted key path for messages: "poll.retry.max", "projects[1].id"
};

// What a node is, for messages: "a mapping", "a list", "a scalar", "nothing (null)".
const char* kind_of(const YAML::Node& n);

// An unquoted, untagged scalar: `200` is an integer, `"200"` is text.
bool is_plain(const YAML::Node& n);

}  // namespace hssjw::config
