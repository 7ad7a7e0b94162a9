// parse_api_error against every error body shape Huawei's SDKs accept
// (HUAWEI-API.md §2.1), plus the hostile ones a gateway or proxy may send:
// junk, deep nesting, huge bodies, control characters, invalid UTF-8.
#include <gtest/gtest.h>

#include <string>

#include "hss/http.hpp"

namespace hssjw {
namespace {

using namespace std::string_literals;

// True if s is valid UTF-8 without C0 controls or DEL.
bool is_printable_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return false;
    std::size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

TEST(parse_api_error, snake_case_gateway_body) {
  const auto e = parse_api_error(
      401,
      R"({"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information: verify aksk signature fail","request_id":"body-id"})",
      "hdr-id");
  EXPECT_EQ(e.http_status, 401u);
  EXPECT_EQ(e.error_code, "APIGW.0301");
  EXPECT_EQ(e.error_msg, "Incorrect IAM authentication information: verify aksk signature fail");
  EXPECT_EQ(e.request_id, "hdr-id");  // the header wins over the body
  EXPECT_TRUE(is_auth_rejected(e));
  EXPECT_FALSE(is_throttled(e));
}

TEST(parse_api_error, request_id_from_body_when_header_missing) {
  const auto e = parse_api_error(
      429,
      R"({"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached","request_id":"abc123","status_code":429})",
      "");
  EXPECT_EQ(e.request_id, "abc123");
  EXPECT_TRUE(is_throttled(e));
}

TEST(parse_api_error, camel_case_body) {
  const auto e =
      parse_api_error(400, R"({"errorCode":"HSS.0001","errorMsg":"invalid parameter"})", "");
  EXPECT_EQ(e.error_code, "HSS.0001");
  EXPECT_EQ(e.error_msg, "invalid parameter");
}

TEST(parse_api_error, code_message_body) {
  const auto e = parse_api_error(403, R"({"code":"APIG.0306","message":"API access denied"})", "");
  EXPECT_EQ(e.error_code, "APIG.0306");
  EXPECT_EQ(e.error_msg, "API access denied");
}

TEST(parse_api_error, nested_iam_style_body_with_numeric_code) {
  const auto e = parse_api_error(
      401,
      R"({"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}})",
      "");
  EXPECT_EQ(e.error_code, "401");
  EXPECT_EQ(e.error_msg, "The request you have made requires authentication.");
  EXPECT_TRUE(is_auth_rejected(e));
}

TEST(parse_api_error, deeply_nested_and_inside_arrays) {
  const auto e = parse_api_error(
      500, R"({"a":{"b":[1,{"c":{"error_code":"HSS.0041","error_msg":"internal"}}]}})", "");
  EXPECT_EQ(e.error_code, "HSS.0041");
  EXPECT_EQ(e.error_msg, "internal");
}

TEST(parse_api_error, shallowest_match_wins) {
  const auto e = parse_api_error(
      400,
      R"({"detail":{"code":"inner","message":"deep"},"error_code":"HSS.0002","error_msg":"top"})",
      "");
  EXPECT_EQ(e.error_code, "HSS.0002");
  EXPECT_EQ(e.error_msg, "top");
}

TEST(parse_api_error, numeric_codes_render_as_digits) {
  EXPECT_EQ(parse_api_error(400, R"({"error_code":1234,"error_msg":"x"})", "").error_code, "1234");
  EXPECT_EQ(parse_api_error(400, R"({"error_code":-7,"error_msg":"x"})", "").error_code, "-7");
  EXPECT_EQ(
      parse_api_error(400, R"({"error_code":18446744073709551615,"error_msg":"x"})", "").error_code,
      "18446744073709551615");
  EXPECT_EQ(parse_api_error(400, R"({"error_code":42.0,"error_msg":"x"})", "").error_code, "42");
  EXPECT_EQ(parse_api_error(400, R"({"error_code":"0308","error_msg":7})", "").error_msg, "7");
}

TEST(parse_api_error, code_without_message) {
  const auto e = parse_api_error(400, R"({"error_code":"HSS.0011"})", "");
  EXPECT_EQ(e.error_code, "HSS.0011");
  EXPECT_EQ(e.error_msg, "");
  EXPECT_EQ(e.to_string(), "HTTP 400 HSS.0011");
}

TEST(parse_api_error, bare_code_without_message_is_not_an_error_shape) {
  // {"code":..} alone is too generic (many success bodies carry one).
  const std::string body = R"({"code":"ok","data":1})";
  const auto e = parse_api_error(502, body, "");
  EXPECT_EQ(e.error_code, "502");
  EXPECT_EQ(e.error_msg, body);
}

TEST(parse_api_error, object_message_is_serialised) {
  const auto e = parse_api_error(400, R"({"error_code":"X.1","error_msg":{"field":"limit"}})", "");
  EXPECT_EQ(e.error_msg, R"({"field":"limit"})");
}

TEST(parse_api_error, non_scalar_code_is_ignored) {
  const auto e = parse_api_error(400, R"({"error_code":{"x":1},"error_msg":"m"})", "");
  EXPECT_EQ(e.error_code, "400");
}

TEST(parse_api_error, not_json_falls_back_to_status_and_body) {
  const auto e = parse_api_error(502, "<html><body>Bad Gateway</body></html>", "rid");
  EXPECT_EQ(e.error_code, "502");
  EXPECT_EQ(e.error_msg, "<html><body>Bad Gateway</body></html>");
  EXPECT_EQ(e.to_string(), "HTTP 502 502: <html><body>Bad Gateway</body></html> (request id rid)");
}

TEST(parse_api_error, json_without_known_keys_falls_back) {
  for (std::string body : {R"({"foo":"bar"})", "[]", "\"str\"", "17", "null", "{"}) {
    const auto e = parse_api_error(503, body, "");
    EXPECT_EQ(e.error_code, "503") << body;
    EXPECT_EQ(e.error_msg, body) << body;
  }
}

TEST(parse_api_error, empty_body) {
  const auto e = parse_api_error(500, "", "");
  EXPECT_EQ(e.error_code, "500");
  EXPECT_EQ(e.error_msg, "");
  EXPECT_EQ(e.to_string(), "HTTP 500 500");
}

TEST(parse_api_error, nesting_beyond_the_depth_limit_is_junk_not_a_crash) {
  std::string body;
  for (int i = 0; i < 100000; ++i) body += "{\"a\":";
  body += R"({"error_code":"deep","error_msg":"m"})";
  for (int i = 0; i < 100000; ++i) body += "}";
  const auto e = parse_api_error(400, body, "");
  EXPECT_EQ(e.error_code, "400");
  EXPECT_LE(e.error_msg.size(), 600u);
}

TEST(parse_api_error, huge_body_is_truncated) {
  const std::string body(10 * 1024 * 1024, 'x');
  const auto e = parse_api_error(500, body, "");
  EXPECT_GE(e.error_msg.size(), 400u);
  EXPECT_LE(e.error_msg.size(), 600u);
  EXPECT_TRUE(e.error_msg.ends_with("..."));
}

TEST(parse_api_error, huge_message_inside_json_is_truncated) {
  const std::string body =
      R"({"error_code":"HSS.0001","error_msg":")" + std::string(100000, 'm') + "\"}";
  const auto e = parse_api_error(400, body, "");
  EXPECT_EQ(e.error_code, "HSS.0001");
  EXPECT_LE(e.error_msg.size(), 600u);
}

TEST(parse_api_error, control_characters_cannot_forge_lines) {
  const auto e = parse_api_error(500,
                                 "line1\r\nFAKE LOG LINE\x1b[31m\x7f\x00"
                                 "end"s,
                                 "id\nx");
  EXPECT_EQ(e.error_msg, "line1  FAKE LOG LINE\\x1b[31m\\x7f\\x00end");
  EXPECT_EQ(e.request_id, "id x");
  EXPECT_TRUE(is_printable_utf8(e.error_msg));
}

TEST(parse_api_error, escaped_controls_inside_json_strings_are_neutralised) {
  const auto e =
      parse_api_error(400, R"({"error_code":"A\u0000B","error_msg":"x\ny\u001bz\u0085"})", "");
  EXPECT_EQ(e.error_code, "A\\x00B");
  EXPECT_EQ(e.error_msg, "x y\\x1bz\\x85");
}

TEST(parse_api_error, valid_utf8_is_kept) {
  const auto e =
      parse_api_error(400, R"({"error_code":"HSS.0001","error_msg":"参数无效 – β ✓ 😀"})", "");
  EXPECT_EQ(e.error_msg, "参数无效 – β ✓ 😀");
}

TEST(parse_api_error, invalid_utf8_is_escaped) {
  // Latin-1, a lone continuation byte, an overlong '/', a surrogate, a
  // truncated sequence at the end.
  const std::string body = "caf\xe9 \x80 \xc0\xaf \xed\xa0\x80 \xe4\xb8";
  const auto e = parse_api_error(502, body, "");
  EXPECT_EQ(e.error_code, "502");
  EXPECT_EQ(e.error_msg, "caf\\xe9 \\x80 \\xc0\\xaf \\xed\\xa0\\x80 \\xe4\\xb8");
  EXPECT_TRUE(is_printable_utf8(e.error_msg));
}

TEST(parse_api_error, truncation_never_splits_a_character) {
  std::string body;
  for (int i = 0; i < 1000; ++i) body += "参";
  const auto e = parse_api_error(500, body, "");
  EXPECT_TRUE(is_printable_utf8(e.error_msg));
  EXPECT_TRUE(e.error_msg.ends_with("..."));
}

TEST(classify, throttled) {
  EXPECT_TRUE(is_throttled(api_error{429, "429", "", ""}));
  EXPECT_TRUE(is_throttled(api_error{429, "APIGW.0308", "", ""}));
  EXPECT_TRUE(is_throttled(api_error{400, "APIG.0308", "", ""}));  // older gateways
  EXPECT_FALSE(is_throttled(api_error{400, "HSS.0308", "", ""}));
  EXPECT_FALSE(is_throttled(api_error{400, "APIGW.03080", "", ""}));
  EXPECT_FALSE(is_throttled(api_error{503, "503", "", ""}));
}

TEST(classify, auth_rejected) {
  for (const char* code : {"APIGW.0301", "APIGW.0303", "APIGW.0305", "APIGW.0307", "APIG.0301",
                           "APIG.0303", "APIG.0305", "APIG.0307"})
    EXPECT_TRUE(is_auth_rejected(api_error{401, code, "", ""})) << code;
  EXPECT_TRUE(is_auth_rejected(api_error{401, "401", "", ""}));  // 401 without a code
  EXPECT_FALSE(is_auth_rejected(api_error{403, "APIGW.0306", "", ""}));
  EXPECT_FALSE(is_auth_rejected(api_error{403, "APIGW.0302", "", ""}));
  EXPECT_FALSE(is_auth_rejected(api_error{401, "HSS.0010", "", ""}));
  EXPECT_FALSE(is_auth_rejected(api_error{429, "APIGW.0308", "", ""}));
  EXPECT_FALSE(is_auth_rejected(api_error{400, "400", "", ""}));
}

TEST(api_error, to_string_format) {
  const api_error e{401, "APIGW.0301", "bad token", "r-1"};
  EXPECT_EQ(e.to_string(), "HTTP 401 APIGW.0301: bad token (request id r-1)");
}

}  // namespace
}  // namespace hssjw

namespace hssjw {
namespace {

// RFC 9110 §10.2.3: Retry-After is delay-seconds or an HTTP-date. A date
// is taken relative to the answer's own Date header when it has one, so
// the wait does not depend on our clock's skew.
TEST(retry_after_delay, seconds_or_an_http_date) {
  using namespace std::chrono;
  const auto now = sys_days{year{2026} / 11 / 28} + hours{18} + minutes{30};  // 18:30:00 here
  struct case_ {
    const char* date;         // the answer's Date header
    const char* retry_after;  // its Retry-After
    std::optional<milliseconds> wait;
    const char* why;
  };
  const case_ cases[] = {
      {"", "", std::nullopt, "absent"},
      {"", "7", milliseconds(7000), "delay-seconds"},
      {"", "0", milliseconds(0), "no wait"},
      {"", "3601", std::nullopt, "over an hour: one window instead"},
      {"", "-5", std::nullopt, "negative"},
      {"", "7 seconds", std::nullopt, "not a number"},
      {"", "Sat, 28 Nov 2026 18:30:20 GMT", milliseconds(20'000), "a date, against our clock"},
      // Against the server's clock when it sent one (ours is 5 minutes ahead here).
      {"Sat, 28 Nov 2026 18:25:00 GMT", "Sat, 28 Nov 2026 18:25:30 GMT", milliseconds(30'000),
       "server's clock"},
      {"Sat, 28 Nov 2026 18:25:00 GMT", "Sat, 28 Nov 2026 18:24:00 GMT", milliseconds(0),
       "a date in the past"},
      {"Sat, 28 Nov 2026 18:25:00 GMT", "Sat, 28 Nov 2026 20:25:01 GMT", std::nullopt,
       "over an hour"},
      {"Sat, 28 Nov 2026 18:25:00 GMT", "Sat, 28 Nov 2026 18:25:30 PST", std::nullopt, "not GMT"},
      {"Sat, 28 Nov 2026 18:25:00 GMT", "Sat, 28 Nov 2026 18:25:30 GMT x", std::nullopt,
       "trailing text"},
      {"yesterday", "Sat, 28 Nov 2026 18:30:09 GMT", milliseconds(9000), "bad Date: our clock"},
  };
  for (const auto& c : cases) {
    http_response r;
    r.date = c.date;
    r.retry_after = c.retry_after;
    EXPECT_EQ(retry_after_delay(r, now), c.wait) << c.why << ": " << c.retry_after;
  }
}

TEST(parse_http_date, imf_fixdate_only) {
  using namespace std::chrono;
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            sys_days{year{1994} / 11 / 6} + hours{8} + minutes{49} + seconds{37});
  EXPECT_EQ(parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT \t"),
            sys_days{year{1994} / 11 / 6} + hours{8} + minutes{49} + seconds{37});
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), std::nullopt) << "RFC 850 form";
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), std::nullopt) << "asctime form";
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 24:49:37 GMT"), std::nullopt);
  EXPECT_EQ(parse_http_date(""), std::nullopt);
}

}  // namespace
}  // namespace hssjw
