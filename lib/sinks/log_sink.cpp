// Human-readable event lines.
#include "sinks/log_sink.hpp"

#include <spdlog/spdlog.h>

namespace hssjw {

std::string describe_event(const change_event& e) {
  std::string out(to_string(e.type));
  out += ' ' + e.key.cluster + '/' + e.key.ns + '/' + e.key.name + " in " + e.scope.str() +
         " (seq " + std::to_string(e.seq);
  if (!e.changed.empty()) {
    out += "; changed ";
    for (std::size_t i = 0; i < e.changed.size(); ++i) out += (i ? "," : "") + e.changed[i];
  }
  return out + ')';
}

void log_sink::on_events(const scope_id& scope, const std::vector<change_event>& events,
                         bool baseline) {
  if (baseline) {
    if (events.empty()) {
      log_->info("baseline of {}: no events (baseline_events: false or empty scope)", scope.str());
    } else {
      log_->info("baseline of {}: {} jobs added (seq {}..{})", scope.str(), events.size(),
                 events.front().seq, events.back().seq);
    }
    return;
  }
  for (const auto& e : events) log_->info("{}", describe_event(e));
}

void log_sink::on_scope_status(const scope_id& scope, bool failing, const std::string& error) {
  if (failing)
    log_->warn("scope {} is failing: {}", scope.str(), error);
  else
    log_->info("scope {} recovered", scope.str());
}

}  // namespace hssjw
