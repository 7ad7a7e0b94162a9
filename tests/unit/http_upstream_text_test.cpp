// upstream_text: the one sanitiser every upstream string passes (header
// texts in to_response, every field of an api_error, a proxy's reason
// phrase). Its output must be valid UTF-8 without controls, bounded, and
// leave honest text alone.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "hss/client.hpp"
#include "hss/upstream_text.hpp"

namespace hssjw {
namespace {

using namespace std::string_literals;

bool valid_json_string(const std::string& s) {
  // Boost.JSON refuses invalid UTF-8 when parsing: the same test the
  // socket's clients apply.
  boost::system::error_code ec;
  boost::json::parse(boost::json::serialize(boost::json::value(s)), ec);
  return !ec && s.find_first_of("\x01\x02\x1b\x7f\r\n\t"s + '\0') == std::string::npos;
}

TEST(upstream_text, honest_text_is_unchanged) {
  EXPECT_EQ(upstream_text("6f1c9a2b0d7e4f3a8b5c1d2e3f4a5b6c"), "6f1c9a2b0d7e4f3a8b5c1d2e3f4a5b6c");
  EXPECT_EQ(upstream_text("参数无效 – β ✓ 😀"), "参数无效 – β ✓ 😀");
  EXPECT_EQ(upstream_text(""), "");
}

TEST(upstream_text, controls_and_invalid_utf8_become_visible_escapes) {
  EXPECT_EQ(upstream_text("id\t\xff\xfe\x01\x1b[31m\x7f"
                          "end"),
            "id \\xff\\xfe\\x01\\x1b[31m\\x7fend");
  EXPECT_EQ(upstream_text("a\r\nb"), "a  b");
  EXPECT_EQ(upstream_text("nul\0x"s), "nul\\x00x");
  // C1 control U+0085 (NEL), an overlong '/', a surrogate, a truncated sequence.
  EXPECT_EQ(upstream_text("\xc2\x85|\xc0\xaf|\xed\xa0\x80|\xe4\xb8"),
            "\\x85|\\xc0\\xaf|\\xed\\xa0\\x80|\\xe4\\xb8");
  EXPECT_TRUE(valid_json_string(upstream_text("\xff\x01\xc3\x28\xe2\x82")));
}

TEST(upstream_text, bounded_without_splitting_a_character_or_an_escape) {
  std::string han;
  for (int i = 0; i < 100; ++i) han += "参";  // 3 bytes each
  const auto cut = upstream_text(han, 32);
  EXPECT_EQ(cut, han.substr(0, 30) + "...");
  const auto escapes = upstream_text(std::string(100, '\xff'), 10);
  EXPECT_EQ(escapes, "\\xff\\xff...");
  EXPECT_LE(upstream_text(std::string(100000, 'x')).size(), upstream_message_limit + 3);
}

TEST(upstream_text, applying_it_twice_changes_nothing_more) {
  for (std::string s :
       {"id\t\xff\xfe\x01"s, std::string(600, '\xff'), std::string(700, 'a'), "ok"s}) {
    const auto once = upstream_text(s, 100);
    EXPECT_EQ(upstream_text(once, 100), once) << once;
  }
}

// The boundary: whatever a peer puts in the headers we keep, the
// http_response carries it made safe (request id, Retry-After, Date,
// Content-Type); the subject token, a credential sent back verbatim, is not
// rewritten.
TEST(upstream_text, every_header_text_of_a_response_is_sanitised) {
  const std::string wire =
      "HTTP/1.1 500 Internal Server Error\r\n"
      "X-Request-Id: req\t\xff\xfe\xc3(\x80-" +
      std::string(300, 'z') +
      "\r\n"
      "Retry-After: 5\xff\r\n"
      "Date: Sun, 06 Nov 1994 08:49:37 GMT\xc0\r\n"
      "Content-Type: application/json\xfe\r\n"
      "X-Subject-Token: MIIabc\r\n"
      "Content-Length: 2\r\n\r\n{}";
  auto r = parse_http_response(wire, 1024);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->request_id.starts_with("req \\xff\\xfe\\xc3(\\x80-zzz")) << r->request_id;
  EXPECT_LE(r->request_id.size(), upstream_header_limit + 3);
  for (const auto* text : {&r->request_id, &r->retry_after, &r->date, &r->content_type})
    EXPECT_TRUE(valid_json_string(*text)) << *text;
  EXPECT_EQ(r->retry_after, "5\\xff");
  EXPECT_EQ(r->subject_token, "MIIabc");
  const api_error e = parse_api_error(r->status, r->body, r->request_id);
  EXPECT_EQ(e.request_id, r->request_id);
}

}  // namespace
}  // namespace hssjw
