// lib/core/error.hpp: the one error vocabulary. An error is a code for the
// program and a message for the operator; it compares like its code.
#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include "core/error.hpp"

namespace hssjw {
namespace {

TEST(core_error, message_names_the_thing_and_the_code_stays_comparable) {
  const boost::system::error_code not_found = boost::asio::error::host_not_found;
  const error e(not_found, "cannot resolve host a.invalid: Host not found");
  EXPECT_EQ(e.message(), "cannot resolve host a.invalid: Host not found");
  EXPECT_EQ(e.code(), not_found);
  EXPECT_TRUE(e == boost::asio::error::host_not_found);
  EXPECT_FALSE(e == boost::asio::error::operation_aborted);
}

TEST(core_error, without_a_message_the_code_speaks) {
  const error e = errc::timeout;
  EXPECT_EQ(e.message(), "deadline expired");
  EXPECT_TRUE(e == errc::timeout);
  EXPECT_TRUE(static_cast<bool>(e));
}

TEST(core_error, compares_with_error_conditions_like_its_code) {
  const error e(make_error_code(boost::system::errc::permission_denied),
                "proxy CONNECT to h:443 refused: 403");
  EXPECT_TRUE(e == boost::system::errc::permission_denied);
  EXPECT_FALSE(e == boost::system::errc::connection_refused);
}

TEST(core_error, a_default_error_is_success) {
  const error e;
  EXPECT_FALSE(static_cast<bool>(e));
  EXPECT_EQ(e.code(), boost::system::error_code());
}

TEST(core_error, result_value_throws_the_message) {
  result<int> r = error(errc::state_io, "state.db: disk full");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "state.db: disk full");
  try {
    (void)r.value();
    FAIL() << "value() of an error must throw";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::state_io));
    EXPECT_NE(std::string(e.what()).find("state.db: disk full"), std::string::npos);
  }
}

}  // namespace
}  // namespace hssjw
