// The project's error codes: expected failures travel as values
// (boost::system::error_code / result), never as exceptions.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <type_traits>

namespace hssjw {

enum class errc {
  ok = 0,
  config_invalid,      // a config file failed validation
  http_status,         // upstream answered non-2xx (details in api_error)
  body_too_large,      // response body exceeded the limit
  bad_response,        // body is not the JSON shape we expect
  job_rejected,        // a job lacks a key field or has a wrong type
  timeout,             // a deadline expired
  auth_unavailable,    // no usable credentials (token file missing, ...)
  offset_overflow,     // total_num beyond what offset can reach
  walk_incomplete,     // shift could not be repaired within its bounds
  cancelled,           // operation was cancelled (shutdown, reload)
  state_corrupt,       // state database damaged, foreign or newer
  state_locked,        // another daemon holds the state directory
  state_io,            // state database I/O failure (disk full, read-only)
  key_hash_collision,  // two job keys of a scope share a key hash (docs/STATE.md)
};

const boost::system::error_category& category();

inline boost::system::error_code make_error_code(errc e) {
  return {static_cast<int>(e), category()};
}

template <class T>
using result = boost::system::result<T>;

}  // namespace hssjw

template <>
struct boost::system::is_error_code_enum<hssjw::errc> : std::true_type {};
