// choose_proxy / no_proxy_matches: the one proxy decision shared by the
// HSS client, the IAM client and the probe (hss/proxy_choice.hpp).
#include <gtest/gtest.h>

#include "hss/proxy_choice.hpp"

namespace hssjw {
namespace {

TEST(no_proxy, exact_host_any_case_and_trailing_dot) {
  EXPECT_TRUE(no_proxy_matches("hss.example.com", "hss.example.com", "443"));
  EXPECT_TRUE(no_proxy_matches("HSS.Example.COM", "hss.example.com", "443"));
  EXPECT_TRUE(no_proxy_matches("hss.example.com", "HSS.EXAMPLE.com.", "443"));
  EXPECT_TRUE(no_proxy_matches("hss.example.com.", "hss.example.com", "443"));
  EXPECT_FALSE(no_proxy_matches("iam.example.com", "hss.example.com", "443"));
  EXPECT_FALSE(no_proxy_matches("", "hss.example.com", "443"));
}

TEST(no_proxy, leading_dot_suffix) {
  EXPECT_TRUE(no_proxy_matches(".example.com", "hss.example.com", "443"));
  EXPECT_TRUE(no_proxy_matches(".example.com", "a.b.example.com", "443"));
  EXPECT_TRUE(no_proxy_matches(".example.com", "example.com", "443"));  // as curl
  EXPECT_FALSE(no_proxy_matches(".example.com", "badexample.com", "443"));
  EXPECT_FALSE(no_proxy_matches(".", "example.com", "443"));
}

TEST(no_proxy, suffix_without_dot_matches_whole_labels_only) {
  EXPECT_TRUE(no_proxy_matches("myhuaweicloud.com", "hss.ap-southeast-1.myhuaweicloud.com", "443"));
  EXPECT_TRUE(no_proxy_matches("myhuaweicloud.com", "myhuaweicloud.com", "443"));
  EXPECT_FALSE(no_proxy_matches("huaweicloud.com", "hss.myhuaweicloud.com", "443"));
  EXPECT_FALSE(no_proxy_matches("example.com", "example.com.evil.net", "443"));
}

TEST(no_proxy, star_alone_matches_everything) {
  EXPECT_TRUE(no_proxy_matches("*", "anything.example", "443"));
  EXPECT_TRUE(no_proxy_matches("foo, *", "anything.example", "443"));
  EXPECT_FALSE(no_proxy_matches("*.example.com", "hss.example.com", "443"))
      << "a wildcard pattern is not a thing curl supports; only '*' alone";
}

TEST(no_proxy, host_with_port_matches_that_port_only) {
  EXPECT_TRUE(no_proxy_matches("hss.example.com:443", "hss.example.com", "443"));
  EXPECT_FALSE(no_proxy_matches("hss.example.com:8443", "hss.example.com", "443"));
  EXPECT_TRUE(no_proxy_matches(".example.com:8443", "hss.example.com", "8443"));
}

TEST(no_proxy, ip_literals) {
  EXPECT_TRUE(no_proxy_matches("127.0.0.1", "127.0.0.1", "443"));
  EXPECT_FALSE(no_proxy_matches("127.0.0.1", "127.0.0.10", "443"));
  EXPECT_FALSE(no_proxy_matches("0.0.1", "127.0.0.1", "443")) << "labels, not characters";
  EXPECT_TRUE(no_proxy_matches("::1", "::1", "443"));
  EXPECT_TRUE(no_proxy_matches("[::1]", "::1", "443"));
  EXPECT_TRUE(no_proxy_matches("[::1]:443", "::1", "443"));
  EXPECT_FALSE(no_proxy_matches("[::1]:80", "::1", "443"));
  EXPECT_FALSE(no_proxy_matches("10.0.0.0/8", "10.1.2.3", "443")) << "no CIDR";
}

TEST(no_proxy, list_with_blanks_and_empty_entries) {
  EXPECT_TRUE(
      no_proxy_matches(" foo.example ,, \thss.example.com\t,bar", "hss.example.com", "443"));
  EXPECT_FALSE(no_proxy_matches(" , ,", "hss.example.com", "443"));
}

const proxy_environment env_with_proxy{"http://proxy.corp:3128", ""};

TEST(choose_proxy, configured_proxy_wins_and_ignores_no_proxy) {
  EXPECT_EQ(choose_proxy("http://cfg:3128", "https://hss.example.com",
                         {"http://env:3128", "hss.example.com"}),
            "http://cfg:3128");
}

TEST(choose_proxy, environment_proxy_unless_no_proxy_matches) {
  EXPECT_EQ(choose_proxy("", "https://hss.example.com", env_with_proxy), "http://proxy.corp:3128");
  EXPECT_EQ(choose_proxy("", "https://hss.example.com", {"http://proxy.corp:3128", ".example.com"}),
            "");
  EXPECT_EQ(choose_proxy("", "https://iam.other.net", {"http://proxy.corp:3128", ".example.com"}),
            "http://proxy.corp:3128");
  EXPECT_EQ(choose_proxy("", "https://hss.example.com", {}), "");
}

TEST(choose_proxy, the_target_port_counts_default_or_explicit) {
  const proxy_environment env{"http://p:1", "hss.example.com:443"};
  EXPECT_EQ(choose_proxy("", "https://hss.example.com", env), "");
  EXPECT_EQ(choose_proxy("", "https://hss.example.com:443", env), "");
  EXPECT_EQ(choose_proxy("", "https://hss.example.com:8443", env), "http://p:1");
  EXPECT_EQ(choose_proxy("", "http://hss.example.com", env), "http://p:1");  // port 80
}

TEST(choose_proxy, ipv6_target) {
  EXPECT_EQ(choose_proxy("", "https://[::1]:8443", {"http://p:1", "::1"}), "");
  EXPECT_EQ(choose_proxy("", "https://[::1]:8443", {"http://p:1", "[::1]:8443"}), "");
  EXPECT_EQ(choose_proxy("", "https://[::1]:8443", {"http://p:1", "::2"}), "http://p:1");
}

}  // namespace
}  // namespace hssjw
