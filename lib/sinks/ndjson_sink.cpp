// NDJSON event lines on stdout.
#include "sinks/ndjson_sink.hpp"

namespace hssjw {

void ndjson_sink::on_events(const scope_id&, const std::vector<change_event>& events, bool) {
  for (const auto& e : events) {
    auto line = to_json_line(e);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out_);
  }
  std::fflush(out_);
}

}  // namespace hssjw
