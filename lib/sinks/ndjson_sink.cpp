// NDJSON event lines on stdout.
#include "sinks/ndjson_sink.hpp"

namespace hssjw {

void ndjson_sink::on_events(const scope_id&, const std::vector<change_event>& events, bool) {
  for (const auto& e : events) {
    // As the commit rendered it, or rendered here (change_event::line).
    const std::string* line = &e.line;
    if (line->empty()) {
      render_json_line(e, buffer_);
      line = &buffer_;
    }
    std::fwrite(line->data(), 1, line->size(), out_);
    std::fputc('\n', out_);
  }
  std::fflush(out_);
}

}  // namespace hssjw
