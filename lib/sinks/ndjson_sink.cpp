// NDJSON event lines on stdout.
#include "sinks/ndjson_sink.hpp"

namespace hssjw {

void ndjson_sink::on_events(const scope_id&, const std::vector<change_event>& events, bool) {
  for (const auto& e : events) {
    // Rendered once, at the commit (event_line renders an uncommitted one).
    if (e.line.empty()) {
      const auto line = to_json_line(e);
      std::fwrite(line.data(), 1, line.size(), out_);
    } else {
      std::fwrite(e.line.data(), 1, e.line.size(), out_);
    }
    std::fputc('\n', out_);
  }
  std::fflush(out_);
}

}  // namespace hssjw
