// Human-readable event lines, each carrying the structured fields of SPEC
// §9 (journald fields, JSON keys) so that one kind of record can be selected.
#include "sinks/log_sink.hpp"

#include <spdlog/spdlog.h>

#include "logging/log_fields.hpp"

namespace hssjw {

std::string describe_event(const change_event& e) {
  std::string out(to_string(e.type));
  out += ' ' + e.key.str() + " in " + e.scope.str() + " (seq " + std::to_string(e.seq);
  if (!e.changed.empty()) {
    out += "; changed ";
    for (std::size_t i = 0; i < e.changed.size(); ++i) out += (i ? "," : "") + e.changed[i];
  }
  return out + ')';
}

void log_sink::on_events(const scope_id& scope, const std::vector<change_event>& events,
                         bool baseline) {
  if (baseline) {
    auto fields = scope_fields(scope);
    fields.insert(fields.begin(), {"MESSAGE_ID", message_ids::baseline});
    fields.push_back({"HSS_EVENT_COUNT", std::to_string(events.size())});
    if (!events.empty()) fields.push_back({"HSS_SEQ", std::to_string(events.back().seq)});
    log_fields_scope with(std::move(fields));
    if (events.empty()) {
      log_->info("baseline of {}: no events (baseline_events: false or empty scope)", scope.str());
    } else {
      log_->info("baseline of {}: {} jobs added (seq {}..{})", scope.str(), events.size(),
                 events.front().seq, events.back().seq);
    }
    return;
  }
  for (const auto& e : events) {
    log_fields_scope with(event_fields(e));
    log_->info("{}", describe_event(e));
  }
}

void log_sink::on_scope_status(const scope_id& scope, bool failing, const std::string& error) {
  auto fields = scope_fields(scope);
  if (!failing) fields.insert(fields.begin(), {"MESSAGE_ID", message_ids::scope_recovered});
  log_fields_scope with(std::move(fields));
  if (failing)
    log_->warn("scope {} is failing: {}", scope.str(), error);
  else
    log_->info("scope {} recovered", scope.str());
}

}  // namespace hssjw
