// parse_http_response: the response path of https_client on plain bytes,
// with the live limits (64 KiB of headers, the body limit). Also the home
// of regression inputs from fuzz_http_response.
#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "hss/client.hpp"

namespace hssjw {
namespace {

TEST(parse_http_response, content_length_and_headers) {
  auto r = parse_http_response(
      "HTTP/1.1 429 Too Many Requests\r\nX-Request-Id: abc\r\nRetry-After: 7\r\n"
      "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
      1024);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 429u);
  EXPECT_EQ(r->request_id, "abc");
  EXPECT_EQ(r->retry_after, "7");
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(r->body, "{}");
}

TEST(parse_http_response, chunked_and_until_eof) {
  auto r = parse_http_response(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
      1024);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->body, "abcde");
  r = parse_http_response("HTTP/1.0 200 OK\r\n\r\nuntil the end", 1024);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->body, "until the end");
}

TEST(parse_http_response, truncated_answers_are_errors) {
  EXPECT_FALSE(parse_http_response("", 1024));
  EXPECT_FALSE(parse_http_response("HTTP/1.1 200 OK\r\nContent-Le", 1024));
  EXPECT_FALSE(parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1024));
  EXPECT_FALSE(
      parse_http_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 1024));
}

TEST(parse_http_response, limits_hold) {
  auto r = parse_http_response(
      "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'x'), 1024);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::body_too_large));
  std::string chunks;
  for (int i = 0; i < 40; ++i) chunks += "40\r\n" + std::string(64, 'y') + "\r\n";
  r = parse_http_response(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n", 1024);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::body_too_large));
  std::string flood = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 100; ++i)
    flood += "X-F" + std::to_string(i) + ": " + std::string(1000, 'a') + "\r\n";
  r = parse_http_response(flood + "Content-Length: 0\r\n\r\n", 1024);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("header limit"), std::string::npos) << r.error().message();
}

TEST(parse_http_response, garbage_is_an_error) {
  for (std::string bad : {"garbage\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"})
    EXPECT_FALSE(parse_http_response(bad, 1024)) << bad;
}

// fuzz_http_response, crash-85ea87cc: Beast takes any three digits as a
// status; "000" reached the walker as status 0, which means "no response".
TEST(parse_http_response, status_outside_http_is_a_bad_response) {
  for (std::string status : {"000", "099", "600", "999"}) {
    auto r = parse_http_response("HTTP/1.1 " + status + " x\r\nContent-Length: 2\r\n\r\n{}", 1024);
    ASSERT_FALSE(r) << status;
    EXPECT_EQ(r.error(), make_error_code(errc::bad_response));
  }
  EXPECT_TRUE(parse_http_response("HTTP/1.1 599 x\r\nContent-Length: 0\r\n\r\n", 1024));
}

// Issue #12: a 1xx is not the answer. Beast reads one as a complete
// message; taking it for the answer left the real one for the next request.
TEST(parse_http_response, interim_answers_are_skipped) {
  const std::string page =
      "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-Request-Id: final\r\n\r\n{\"total\":42}";
  auto r = parse_http_response(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 102 Processing\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
          page,
      1024);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, R"({"total":42})");
  EXPECT_EQ(r->request_id, "final");
}

TEST(parse_http_response, switching_protocols_is_a_bad_response) {
  auto r = parse_http_response(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
      1024);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::bad_response));
}

TEST(parse_http_response, only_interim_answers_is_no_answer) {
  EXPECT_FALSE(parse_http_response("HTTP/1.1 100 Continue\r\n\r\n", 1024));
  std::string endless;
  for (int i = 0; i < 100; ++i) endless += "HTTP/1.1 102 Processing\r\n\r\n";
  auto r = parse_http_response(endless + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1024);
  ASSERT_FALSE(r) << "an endless run of interim answers is a hostile peer";
  EXPECT_EQ(r.error(), make_error_code(errc::bad_response));
}

}  // namespace
}  // namespace hssjw
