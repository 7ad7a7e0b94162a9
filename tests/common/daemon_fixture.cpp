// The fake-HSS daemon bench (see daemon_fixture.hpp).
#include "common/daemon_fixture.hpp"

#include <csignal>

namespace hssjw::test {

namespace {

fake_hss::server::options fake_options(
    const temp_dir& dir, const std::string& token,
    const std::function<void(fake_hss::server::options&)>& adjust) {
  fake_hss::server::options o;
  o.state_dir = dir.file("fake");
  o.token = token;
  if (adjust) adjust(o);
  return o;
}

std::string or_default(const std::string& value, const std::string& fallback) {
  return value.empty() ? fallback : value;
}

}  // namespace

daemon_fixture::daemon_fixture(std::string t,
                               const std::function<void(fake_hss::server::options&)>& adjust)
    : token(std::move(t)), fake(fake_options(dir, token, adjust)) {
  dir.write("token", token + "\n");
}

void daemon_fixture::TearDown() {
  if (daemon && daemon->running()) stop_daemon();
}

std::string daemon_fixture::config_text(const daemon_config& c) const {
  return "endpoint: " + or_default(c.endpoint, fake.endpoint()) + "\n" +
         "auth: " + or_default(c.auth, "{method: token, token_file: " + dir.file("token") + "}") +
         "\n" + "tls: {ca_file: " + or_default(c.ca_file, fake.ca_file()) + "}\n" + "projects:\n" +
         c.projects + "poll: {" + c.poll + "}\n" +
         "state_dir: " + or_default(c.state_dir, dir.file("state")) + "\n" +
         // A socket of its own: the default under /run is shared by every
         // daemon that tests start side by side.
         "socket: {path: " + socket_path() + c.socket + "}\n" + c.extra;
}

std::string daemon_fixture::write_config(const std::string& name, mode_t mode) const {
  return dir.write(name, config_text(), mode);
}

std::vector<std::string> daemon_fixture::daemon_argv(const std::vector<std::string>& args,
                                                     const std::string& config) const {
  std::vector<std::string> argv{HSSJWD_PATH, "--config", or_default(config, config_path())};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

process_result daemon_fixture::run_daemon(const std::vector<std::string>& args,
                                          std::chrono::milliseconds deadline,
                                          const std::map<std::string, std::string>& env) const {
  return run_process(daemon_argv(args), deadline, env);
}

background_process& daemon_fixture::launch(std::vector<std::string> argv) {
  daemon.reset();
  if (argv.empty()) argv = daemon_argv();
  daemon = std::make_unique<background_process>(argv, dir.path(), daemon_env);
  return *daemon;
}

int daemon_fixture::stop_daemon(std::chrono::milliseconds deadline) {
  daemon->signal(SIGTERM);
  return daemon->wait(deadline);
}

}  // namespace hssjw::test
