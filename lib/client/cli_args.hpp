// hss-jobwatch's command line (SPEC §7) as plain data: parsed here, run by
// client/commands.hpp. Kept apart so usage errors are unit-tested.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace hssjw::cli {

enum class command { watch, list, status, help };
// text: the readable default (tables for list and status; `-o table` is
// its name there, `-o text` stays accepted); wide: tables with more
// columns (list, status); json: the server's lines verbatim.
enum class output { text, wide, json };

struct options {
  command cmd = command::help;
  std::string socket;                  // --socket, else $HSS_JOBWATCH_SOCKET, else the default
  std::optional<std::uint64_t> since;  // watch --since N
  bool sync = false;                   // watch --sync
  std::map<std::string, std::string> filter;  // protocol keys: cluster, namespace, ...
  std::vector<std::string> types;             // --filter type=removed,added
  output out = output::text;
  std::string out_name;  // as given to -o, checked against the command
};

inline constexpr const char* default_socket = "/run/hss-jobwatch/events.sock";

// `env_socket` is $HSS_JOBWATCH_SOCKET (nullptr when unset). The error is a
// one-line usage message (exit 2).
result<options> parse(const std::vector<std::string>& args, const char* env_socket);

// The request line (without newline) for a watch/list/status connection;
// `resume` overrides --since/--sync (a reconnect resumes from what was printed).
std::string request_line(const options& o, std::optional<std::uint64_t> resume);

extern const char* usage_text;

}  // namespace hssjw::cli
