// The project's one error vocabulary.
//
// Policy: an expected failure (network, TLS, an HTTP status, a body that is
// not what HSS sends, a bad config, a secret file that cannot be used,
// trouble with state.db) travels as a value: result<T> holds a T or an
// `error`. An error is a code, which the program branches on (an errc
// below, or a system/Asio code passed through), and a message, which the
// operator reads: it names the thing (file, host, scope), what is wrong
// and, where there is one, what to do. Without a message the code's own
// text is the message. There are no other channels: no bool with a
// std::string& out-parameter, no last_error() to ask afterwards.
// Exceptions are for the unexpected only (a bug, memory exhausted); every
// spawned coroutine catches them and logs them, so one scope can never
// take the daemon down (lib/runtime).
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/error_condition.hpp>
#include <boost/system/result.hpp>
#include <iosfwd>
#include <string>
#include <type_traits>

namespace hssjw {

enum class errc {
  ok = 0,
  config_invalid,      // a config file failed validation
  body_too_large,      // a response body exceeded the limit
  bad_response,        // a body is not the JSON shape we expect
  timeout,             // a deadline expired
  auth_unavailable,    // no usable credentials (token file missing, ...)
  cancelled,           // cancelled (shutdown, reload)
  state_corrupt,       // state database damaged, foreign or newer
  state_locked,        // another daemon holds the state directory
  state_io,            // state database I/O failure (disk full, read-only)
  key_hash_collision,  // two job keys of a scope share a key hash (docs/STATE.md)
};

const boost::system::error_category& category();

inline boost::system::error_code make_error_code(errc e) {
  return {static_cast<int>(e), category()};
}

}  // namespace hssjw

template <>
struct boost::system::is_error_code_enum<hssjw::errc> : std::true_type {};

namespace hssjw {

class error {
 public:
  error() = default;
  // Implicit, so that `return ec;` and `return errc::timeout;` make errors.
  error(boost::system::error_code code, std::string message = {})
      : code_(code), message_(std::move(message)) {}
  error(errc code, std::string message = {}) : error(make_error_code(code), std::move(message)) {}

  const boost::system::error_code& code() const { return code_; }
  // The operator's sentence: the message, or the code's text without one.
  std::string message() const { return message_.empty() ? code_.message() : message_; }

  // True when it is a failure (a default error is success), as for error_code.
  explicit operator bool() const { return static_cast<bool>(code_); }

  // Errors compare by code, also with error conditions and enums such as
  // asio::error::operation_aborted: the message is for people.
  friend bool operator==(const error& a, const error& b) { return a.code_ == b.code_; }
  friend bool operator==(const error& e, const boost::system::error_code& c) {
    return e.code_ == c;
  }
  friend bool operator==(const error& e, const boost::system::error_condition& c) {
    return e.code_ == c;
  }
  template <class Enum>
  requires boost::system::is_error_code_enum<Enum>::value ||
      boost::system::is_error_condition_enum<Enum>::value friend bool
      operator==(const error& e, Enum c) {
    return e.code_ == c;
  }

 private:
  boost::system::error_code code_;
  std::string message_;
};

// For logs of tests and gtest's failure messages: the message.
std::ostream& operator<<(std::ostream& os, const error& e);

// Lets result<T>::value() throw (a system_error with the message) on error.
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, error>;

}  // namespace hssjw
