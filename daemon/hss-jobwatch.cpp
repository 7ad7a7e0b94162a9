// hss-jobwatch: the command-line client of hss-jobwatchd's events socket
// (SPEC §7). Parses arguments and runs lib/client; exit codes 0 ok,
// 1 runtime failure, 2 usage.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "client/cli_args.hpp"
#include "client/commands.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = hssjw::cli::parse(args, std::getenv("HSS_JOBWATCH_SOCKET"));
  if (!parsed) {
    std::fprintf(stderr, "hss-jobwatch: %s (see hss-jobwatch --help)\n",
                 parsed.error().message().c_str());
    return 2;
  }
  if (parsed->cmd == hssjw::cli::command::help) {
    std::fputs(hssjw::cli::usage_text, stdout);
    return 0;
  }
  return hssjw::cli::run(*parsed, stdout, stderr);
}
