// How an HTTP response is read, shared by the live client (client.cpp) and
// parse_http_response (response_parse.cpp): the parser limits, the
// conversion to http_response and the errors callers see. Internal to
// lib/hss: it pulls in Beast's HTTP headers.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "core/error.hpp"
#include "hss/http.hpp"

namespace hssjw::detail {

// HSS headers are small; a longer header block is a broken or hostile peer.
inline constexpr std::uint32_t response_header_limit = 64 * 1024;

// The limits every response is read under.
void limit_parser(boost::beast::http::response_parser<boost::beast::http::string_body>& parser,
                  std::size_t body_limit);

http_response to_response(boost::beast::http::response<boost::beast::http::string_body>&& res,
                          std::chrono::steady_clock::duration latency);

// What Beast accepts but HTTP does not: a status outside 100..599 ("000"
// would read as "no response" everywhere else). errc::bad_response.
boost::system::error_code check_response(
    const boost::beast::http::response<boost::beast::http::string_body>& res);

// How a response's status decides what is read next. Beast's parser takes
// a 1xx head for a complete message; the answer to the request is the
// first final (non-1xx) one after it, on the same connection.
enum class status_kind {
  final,      // the answer (or, outside 100..599, a bad response: check_response)
  interim,    // 100 Continue, 102 Processing, 103 Early Hints, ...: read on
  switching,  // 101 Switching Protocols: never asked for, not HTTP any more
};
status_kind classify_status(unsigned status);

// Interim answers tolerated before the final one; past that the peer is
// broken or hostile (errc::bad_response), deadline or not.
inline constexpr unsigned max_interim_responses = 16;

// Beast's timeout and body-limit errors as the project's (errc::timeout,
// errc::body_too_large); anything else unchanged.
error public_error(error e);

}  // namespace hssjw::detail
