// make_authenticator: the method's settings must be complete and its
// secret file readable at startup; the message names what to fix.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "auth/factory.hpp"
#include "unit/auth_test_support.hpp"

namespace hssjw {
namespace {

struct factory_fixture {
  test::temp_dir dir;
  test::captured_log log;
  boost::asio::io_context ctx;
  config::config cfg;
  std::string error;

  std::unique_ptr<authenticator> make() {
    error.clear();
    auto made = make_authenticator(cfg, ctx.get_executor(), log.logger);
    if (!made) {
      error = made.error().message();
      return nullptr;
    }
    return std::move(*made);
  }
};

TEST(auth_factory, builds_the_token_and_aksk_methods) {
  factory_fixture f;
  f.cfg.auth.method = config::auth_method::token;
  f.cfg.auth.token_file = f.dir.write("token", "tok\n");
  EXPECT_NE(f.make(), nullptr) << f.error;

  f.cfg.auth.method = config::auth_method::aksk;
  f.cfg.auth.access_key = "AK";
  f.cfg.auth.secret_key_file = f.dir.write("sk", "sk\n");
  EXPECT_NE(f.make(), nullptr) << f.error;
}

TEST(auth_factory, missing_settings_are_named) {
  factory_fixture f;
  f.cfg.auth.method = config::auth_method::token;
  EXPECT_EQ(f.make(), nullptr);
  EXPECT_NE(f.error.find("auth.token_file"), std::string::npos) << f.error;

  f.cfg.auth.method = config::auth_method::aksk;
  f.cfg.auth.secret_key_file = f.dir.write("sk", "sk\n");
  EXPECT_EQ(f.make(), nullptr);
  EXPECT_NE(f.error.find("auth.access_key"), std::string::npos) << f.error;

  f.cfg.auth.method = config::auth_method::password;
  f.cfg.auth.domain = "acct";
  EXPECT_EQ(f.make(), nullptr);
  EXPECT_NE(f.error.find("auth.user"), std::string::npos) << f.error;
}

TEST(auth_factory, bad_secret_files_fail_at_startup) {
  factory_fixture f;
  f.cfg.auth.method = config::auth_method::aksk;
  f.cfg.auth.access_key = "AK";
  f.cfg.auth.secret_key_file = f.dir.write("sk", "the-sk", 0644);
  EXPECT_EQ(f.make(), nullptr);
  EXPECT_NE(f.error.find("chmod 600 " + f.cfg.auth.secret_key_file), std::string::npos) << f.error;
  EXPECT_EQ(f.error.find("the-sk"), std::string::npos);

  f.cfg.auth.method = config::auth_method::token;
  f.cfg.auth.token_file = f.dir.file("missing");
  EXPECT_EQ(f.make(), nullptr);
  EXPECT_NE(f.error.find(f.dir.file("missing")), std::string::npos) << f.error;
}

TEST(auth_factory, password_method_needs_an_iam_endpoint_or_region) {
  factory_fixture f;
  f.cfg.auth.method = config::auth_method::password;
  f.cfg.auth.domain = "acct";
  f.cfg.auth.user = "bot";
  f.cfg.auth.password_file = f.dir.write("pw", "pw\n");
  EXPECT_EQ(f.make(), nullptr);
  EXPECT_NE(f.error.find("iam_endpoint"), std::string::npos) << f.error;

  // With a region it is built, unless the HTTPS client cannot return
  // X-Subject-Token yet, which the message must then say.
  f.cfg.region = "ap-southeast-1";
  if (f.make() == nullptr) {
    EXPECT_NE(f.error.find("X-Subject-Token"), std::string::npos) << f.error;
  }
}

}  // namespace
}  // namespace hssjw
