// SIGHUP: reads the config file again and applies what plan_reload
// (lib/runtime/reload_plan.hpp) decides: a new upstream, the log level,
// the budget, recomputed fingerprints, added and removed scopes,
// re-armed sleeps. A config that cannot be loaded or used is rejected as
// a whole: the running one stays, and the error stays visible (STATUS=,
// `status`) until a reload succeeds.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "runtime/upstream.hpp"

namespace spdlog {
class logger;
}

namespace hssjw {

class request_gate;
class scope_scheduler;
class service;
class state_store;
class walk_runner;

class reloader {
 public:
  // What a reload acts on. `cfg` is the running config, which a reload
  // replaces; `make_upstream` builds the bundle of a config (an error
  // when a secret file it names cannot be used).
  struct parts {
    config::config& cfg;
    std::shared_ptr<spdlog::logger> log;
    service& svc;
    state_store& store;
    request_gate& gate;
    walk_runner& walks;
    scope_scheduler& scheduler;
    std::function<result<std::shared_ptr<upstream>>(const config::config&)> make_upstream;
  };

  explicit reloader(parts p);

  void reload();

  // The error of the last rejected reload, until a reload succeeds: the
  // daemon runs the previous config meanwhile.
  const std::string& config_error() const { return config_error_; }

 private:
  bool rebuild_clients(const config::config& next);
  void reject_reload(std::string error);
  void add_scopes(std::vector<walk_target> targets);
  void remove_scopes(const std::vector<scope_id>& ids);

  parts p_;
  std::string config_error_;
};

}  // namespace hssjw
