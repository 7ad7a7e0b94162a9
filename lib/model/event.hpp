// A change event (SPEC §4) and its NDJSON rendering.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/job.hpp"
#include "model/scope.hpp"

namespace hssjw {

enum class event_type { added, removed, modified, replaced };

std::string_view to_string(event_type t);
bool parse_event_type(std::string_view s, event_type& out);

struct change_event {
  std::uint64_t seq = 0;  // assigned by the state store at commit
  event_type type = event_type::added;
  std::int64_t time_ms = 0;  // when the walk that saw it completed
  scope_id scope;
  job_key key;
  std::string job;                   // canonical JSON; empty for removed
  std::string previous;              // canonical JSON; empty for added
  std::vector<std::string> changed;  // sorted; modified and replaced only
  // to_json_line(*this), set by the state store's commit with the seq (the
  // journal stores it): the sinks send it as it is instead of rendering
  // the event again. Empty before the commit, after a failed one, and
  // after a big one (a baseline's million lines would be ~500 MB of fresh
  // memory, which costs more than rendering again): use event_line().
  std::string line;
};

// The event's line: the committed one, or rendered now (an event that did
// not pass through a store, e.g. in tests).
std::string event_line(const change_event& e);

// One NDJSON line (without the trailing newline), exactly SPEC §4.
std::string to_json_line(const change_event& e);
// The same into `out` (replacing its contents), reusing its capacity.
void render_json_line(const change_event& e, std::string& out);

// "2026-11-28T10:40:00.123Z"
std::string format_utc_ms(std::int64_t epoch_ms);

}  // namespace hssjw
