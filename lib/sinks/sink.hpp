// Where committed events go: the log, stdout (--once), and later the
// socket. A sink is told only after the store committed the events.
#pragma once

#include <string>
#include <vector>

#include "model/event.hpp"

namespace hssjw {

class event_sink {
 public:
  virtual ~event_sink() = default;
  // Events of one committed walk, in seq order. `baseline` marks a scope's
  // first complete walk.
  virtual void on_events(const scope_id& scope, const std::vector<change_event>& events,
                         bool baseline) = 0;
  // A scope started (`failing`) or stopped failing.
  virtual void on_scope_status(const scope_id& scope, bool failing, const std::string& error) {
    (void)scope, (void)failing, (void)error;
  }
};

}  // namespace hssjw
