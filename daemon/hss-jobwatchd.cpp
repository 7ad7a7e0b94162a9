// hss-jobwatchd: parses arguments, loads the config, and runs the daemon
// (lib/runtime/daemon.hpp). Exit codes (SPEC §7): 0 ok, 1 runtime failure,
// 2 usage, 78 bad config.
#include <spdlog/spdlog.h>
#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "auth/factory.hpp"
#include "config/loader.hpp"
#include "core/version.hpp"
#include "logging/logging.hpp"
#include "runtime/daemon.hpp"
#include "runtime/probe.hpp"

namespace {

constexpr int exit_usage = 2;
constexpr int exit_config = 78;

constexpr const char* usage_text =
    R"(Usage: hss-jobwatchd [--config FILE] [--once | --check-config [--probe] | --prune]

Watches Huawei Cloud HSS Kubernetes jobs for every configured scope and
emits one event per real change (added, removed, modified, replaced).

  --config FILE    configuration file (default /etc/hss-jobwatch/config.yaml)
  --check-config   validate the config and the secret file it names (as the
                   daemon reads it), print it with secrets redacted, exit 0 or 78
  --probe          with --check-config: also fetch the first page of each scope
  --once           walk every scope once, print events to stdout as NDJSON, exit
                   0 if every scope completed, else 1
  --prune          delete stored state of scopes no longer in the config
  --memory-state   keep state in memory only (nothing written to state_dir)
  --version        print the version
  --help           this text

EXIT STATUS
  0 ok, 1 runtime failure, 2 usage, 78 bad config (or a secret file it names
  that cannot be used; the systemd unit does not restart on 78).

SIGNALS
  SIGTERM, SIGINT  stop: walks cancelled, nothing half-committed, socket
                   clients told shutting_down; exits within 10 s
  SIGHUP           reload the config: scopes added (baseline) or removed (no
                   removal events, state kept), intervals, budget, log level,
                   auth; a bad config is logged with file:line:col and the
                   running one kept. Subscribers stay connected.

SYSTEMD
  hss-jobwatch.service is Type=notify: READY=1 once the config is valid, the
  state loaded and the events socket listening; STATUS= lines; WATCHDOG=1
  from the event loop when WatchdogSec= is set; RELOADING=1/READY=1 around
  SIGHUP; STOPPING=1. The events socket may be passed by hss-jobwatch.socket.
  Logs go to journald with HSS_* fields when run by systemd.

FILES
  /etc/hss-jobwatch/config.yaml     configuration (SPEC section 6)
  /etc/hss-jobwatch/credentials/    secrets, passed as credentials hss_<name>
  /var/lib/hss-jobwatch/state.db    snapshots and the event journal
  /run/hss-jobwatch/events.sock     the events socket (group hss-jobwatch)
  metrics.listen                    /metrics (Prometheus) and /healthz

SEE ALSO
  hss-jobwatch --help, /usr/share/doc/hss-jobwatch/README.md
)";

struct arguments {
  std::string config = "/etc/hss-jobwatch/config.yaml";
  bool check = false, probe = false, once = false, prune = false, memory = false;
};

bool parse_arguments(int argc, char** argv, arguments& a) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      a.config = argv[++i];
    } else if (arg.starts_with("--config=")) {
      a.config = std::string(arg.substr(9));
    } else if (arg == "--check-config") {
      a.check = true;
    } else if (arg == "--probe") {
      a.probe = true;
    } else if (arg == "--once") {
      a.once = true;
    } else if (arg == "--prune") {
      a.prune = true;
    } else if (arg == "--memory-state") {
      a.memory = true;
    } else if (arg == "--version") {
      std::printf("hss-jobwatchd %s\n", hssjw::version);
      std::exit(0);
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(usage_text, stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "hss-jobwatchd: unknown argument '%s'\n", argv[i]);
      return false;
    }
  }
  if (a.probe && !a.check) {
    std::fputs("hss-jobwatchd: --probe goes with --check-config\n", stderr);
    return false;
  }
  if (int(a.check) + int(a.once) + int(a.prune) > 1) {
    std::fputs("hss-jobwatchd: choose one of --check-config, --once, --prune\n", stderr);
    return false;
  }
  return true;
}

// --check-config reads the auth method's secret file the way the daemon
// will (exists, regular file, readable, protected), so a config it calls
// valid is not refused with 78 at start. A credential:NAME outside a unit
// ($CREDENTIALS_DIRECTORY unset, e.g. run from a shell) cannot be checked
// here: that is said on stderr and does not fail the check.
bool check_secret_file(const hssjw::config::config& cfg) {
  const std::string spec = hssjw::secret_spec(cfg.auth);
  const char* creds = std::getenv("CREDENTIALS_DIRECTORY");
  if (spec.starts_with("credential:") && (creds == nullptr || *creds == '\0')) {
    std::fprintf(stderr,
                 "hss-jobwatchd: note: %s not checked: $CREDENTIALS_DIRECTORY is not set "
                 "(systemd sets it for the unit's LoadCredential=)\n",
                 spec.c_str());
    return true;
  }
  auto checked = hssjw::check_secret(cfg.auth);
  if (checked) return true;
  std::fprintf(stderr, "hss-jobwatchd: %s: %s\n", cfg.source_path.c_str(),
               checked.error().message().c_str());
  return false;
}

// TEST ONLY: the hooks the integration tests set in the environment
// (lib/runtime/daemon.hpp, test_options). Unset in production, where
// they leave the defaults.
hssjw::test_options test_options_from_env() {
  using std::chrono::milliseconds;
  hssjw::test_options t;
  // The stop guard is only ever shortened, and never 0 from a malformed value.
  if (const char* v = std::getenv("HSSJW_TEST_STOP_GUARD_MS"); v && std::atol(v) > 0)
    t.stop_guard = std::min(milliseconds(std::atol(v)), t.stop_guard);
  if (const char* v = std::getenv("HSSJW_TEST_STOP_IGNORED"))
    t.stop_ignored = std::string_view(v) == "1";
  if (const char* v = std::getenv("HSSJW_TEST_STALL_ON_SIGUSR2"); v && std::string_view(v) == "1") {
    long seconds = 600;
    if (const char* s = std::getenv("HSSJW_TEST_STALL_SECONDS"))
      seconds = std::max(1L, std::atol(s));
    t.stall_on_sigusr2 = std::chrono::seconds(seconds);
  }
  // A commit delay is 0..60 s.
  auto delay = [](const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return milliseconds(0);
    return milliseconds(std::clamp(std::strtol(v, nullptr, 10), 0L, 60'000L));
  };
  t.commit_delay = delay("HSSJW_TEST_COMMIT_DELAY_MS");
  t.after_commit_delay = delay("HSSJW_TEST_AFTER_COMMIT_DELAY_MS");
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  arguments args;
  if (!parse_arguments(argc, argv, args)) {
    std::fputs(usage_text, stderr);
    return exit_usage;
  }
  // Before any secret is read: no core dump (which would hold the token,
  // password or SK) and no ptrace by the same uid. Every mode reads a
  // secret file, --check-config included, so this applies to all of them.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  auto loaded = hssjw::config::load_file(args.config);
  if (!loaded) {
    std::fprintf(stderr, "hss-jobwatchd: %s\n", loaded.error().message().c_str());
    return exit_config;
  }
  const auto& cfg = *loaded;
  if (args.check) {
    if (!check_secret_file(cfg)) return exit_config;
    std::fputs(hssjw::config::render_effective(cfg).c_str(), stdout);
    if (!args.probe) return 0;
    std::fflush(stdout);
    return hssjw::run_probe(cfg, hssjw::make_logger("hss-jobwatchd", cfg.log), stdout);
  }
  auto log = hssjw::make_logger("hss-jobwatchd", cfg.log);
  if (args.prune) return hssjw::prune_state(cfg, log);
  hssjw::run_options opts;
  opts.once = args.once;
  opts.persistent = !args.memory;
  opts.test = test_options_from_env();
  return hssjw::run_daemon(cfg, opts, log);
}
