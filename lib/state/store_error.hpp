// The error a state store reports when it cannot be opened: a code for
// the program and a sentence for the operator (path, what is wrong, what
// to do). The daemon prints the message and exits non-zero.
#pragma once

#include "core/error.hpp"

#include <boost/assert/source_location.hpp>
#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

#include <string>

namespace hssjw {

struct store_error {
  boost::system::error_code code;  // errc::state_corrupt, state_locked or state_io
  std::string message;             // names the path, what is wrong, what to do
};

inline store_error make_store_error(errc e, std::string message) {
  return {make_error_code(e), std::move(message)};
}

// Lets boost::system::result<T, store_error>::value() throw on error.
[[noreturn]] inline void throw_exception_from_error(const store_error& e,
                                                    const boost::source_location& loc) {
  boost::throw_exception(boost::system::system_error(e.code, e.message), loc);
}

template <class T>
using store_result = boost::system::result<T, store_error>;

}  // namespace hssjw
