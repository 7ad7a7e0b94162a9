// The error category behind hssjw::errc.
#include "core/error.hpp"

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>
#include <ostream>

namespace hssjw {
namespace {

class category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "hss-jobwatch"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok:
        return "success";
      case errc::config_invalid:
        return "invalid configuration";
      case errc::body_too_large:
        return "response body too large";
      case errc::bad_response:
        return "malformed response";
      case errc::timeout:
        return "deadline expired";
      case errc::auth_unavailable:
        return "no usable credentials";
      case errc::cancelled:
        return "cancelled";
      case errc::state_corrupt:
        return "state database damaged or foreign";
      case errc::state_locked:
        return "state directory in use by another daemon";
      case errc::state_io:
        return "state database I/O error";
      case errc::key_hash_collision:
        return "two job keys share a key hash";
    }
    return "unknown error";
  }
};

}  // namespace

const boost::system::error_category& category() {
  static const category_impl instance;
  return instance;
}

std::ostream& operator<<(std::ostream& os, const error& e) { return os << e.message(); }

void throw_exception_from_error(const error& e, const boost::source_location& loc) {
  boost::throw_exception(boost::system::system_error(e.code(), e.message()), loc);
}

}  // namespace hssjw
