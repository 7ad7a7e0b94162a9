// Events as NDJSON lines on a stdio stream (hss-jobwatchd --once).
#pragma once

#include <cstdio>
#include <string>

#include "sinks/sink.hpp"

namespace hssjw {

class ndjson_sink final : public event_sink {
 public:
  explicit ndjson_sink(std::FILE* out) : out_(out) {}
  void on_events(const scope_id& scope, const std::vector<change_event>& events,
                 bool baseline) override;

 private:
  std::FILE* out_;
  std::string buffer_;  // a line not kept by the commit, rendered here
};

}  // namespace hssjw
