// Events as log records: one human-readable line per event, one summary
// line for a baseline.
#pragma once

#include <memory>

#include "sinks/sink.hpp"

namespace spdlog {
class logger;
}

namespace hssjw {

class log_sink final : public event_sink {
 public:
  explicit log_sink(std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {}
  void on_events(const scope_id& scope, const std::vector<change_event>& events,
                 bool baseline) override;
  void on_scope_status(const scope_id& scope, bool failing, const std::string& error) override;

 private:
  std::shared_ptr<spdlog::logger> log_;
};

// "modified glz-2451/kube-system/cceaddon-npd in p1/all_granted_eps (seq 12; changed
// pods_num,status)"
std::string describe_event(const change_event& e);

}  // namespace hssjw
