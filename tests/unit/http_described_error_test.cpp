// describe(): an error_code whose message names the host or proxy, still
// comparing as the original error.
#include "hss/described_error.hpp"

#include <boost/asio/error.hpp>
#include <gtest/gtest.h>

namespace hssjw {
namespace {

TEST(described_error, message_is_the_text_and_conditions_still_compare) {
  const auto original = make_error_code(boost::system::errc::permission_denied);
  const auto ec =
      describe(original, "proxy CONNECT to h:443 refused: 407 Proxy Authentication Required");
  EXPECT_TRUE(ec.failed());
  EXPECT_EQ(ec.message(), "proxy CONNECT to h:443 refused: 407 Proxy Authentication Required");
  EXPECT_EQ(ec, boost::system::errc::permission_denied);
  EXPECT_NE(ec, boost::system::errc::connection_refused);
  EXPECT_EQ(ec.value(), original.value());
}

TEST(described_error, same_text_same_code_distinct_texts_distinct_codes) {
  const auto nf = make_error_code(boost::asio::error::host_not_found);
  const auto a = describe(nf, "cannot resolve host a.invalid: Host not found");
  EXPECT_EQ(a, describe(nf, "cannot resolve host a.invalid: Host not found"));
  EXPECT_NE(a, describe(nf, "cannot resolve host b.invalid: Host not found"));
}

TEST(described_error, success_stays_success) { EXPECT_FALSE(describe({}, "nothing happened")); }

}  // namespace
}  // namespace hssjw
