// Text that came from upstream (HSS, IAM, the API gateway, a proxy) made
// safe to put anywhere: a log line, the journal, a JSON event or a socket
// reply. Every string lib/hss hands out from a response goes through
// upstream_text once, where the http_response or api_error is built
// (response_parse.cpp, http.cpp, client.cpp), so no later layer needs to
// know that peers may send invalid UTF-8 or control characters.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hssjw {

// Enough for any real error message; keeps a hostile or HTML body from
// flooding the journal.
inline constexpr std::size_t upstream_message_limit = 512;
// Request ids are 32 hex digits, dates ~29 characters, reason phrases a few
// words: anything longer is not what the header is for.
inline constexpr std::size_t upstream_header_limit = 128;

// Valid UTF-8, no control characters, at most ~`max_bytes` (then "..."):
// line breaks and tabs become spaces, other C0/C1 controls, DEL and bytes
// that are not valid UTF-8 (overlong forms, surrogates, truncated
// sequences) become the visible escape \xNN. Printable text passes
// unchanged, and applying it twice changes nothing more.
std::string upstream_text(std::string_view in, std::size_t max_bytes = upstream_message_limit);

}  // namespace hssjw
