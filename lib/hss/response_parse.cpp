// The response side of HTTP on plain values: limits, conversion, errors,
// and parse_http_response. No coroutines here (and so no sockets), which
// keeps it cheap to fuzz: clang 14 cannot instrument client.cpp's
// coroutines for libFuzzer ("Cannot represent a difference across
// sections").
#include "hss/response_parse.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include "hss/client.hpp"
#include "hss/upstream_text.hpp"

namespace hssjw {
namespace detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using steady = std::chrono::steady_clock;

// A header's text made safe once, here, for every later use (logs, the
// socket's JSON, events): see upstream_text.hpp.
std::string header_text(const http::response<http::string_body>& res, std::string_view name) {
  auto it = res.find(name);  // Beast compares names case-insensitively
  return it == res.end() ? std::string{} : upstream_text(it->value(), upstream_header_limit);
}

}  // namespace

void limit_parser(http::response_parser<http::string_body>& parser, std::size_t body_limit) {
  parser.header_limit(response_header_limit);
  parser.body_limit(body_limit);
}

http_response to_response(http::response<http::string_body>&& res, steady::duration latency) {
  http_response out;
  out.status = res.result_int();
  out.request_id = header_text(res, "X-Request-Id");
  out.retry_after = header_text(res, "Retry-After");
  out.date = header_text(res, "Date");
  out.content_type = header_text(res, "Content-Type");
  // A credential, sent back verbatim as X-Auth-Token and never shown; the
  // client refuses to send a header value with CR, LF or NUL anyway.
  if (auto st = res.find("X-Subject-Token"); st != res.end())
    out.subject_token = std::string(st->value());
  out.body = std::move(res.body());
  out.latency = std::chrono::duration_cast<std::chrono::milliseconds>(latency);
  return out;
}

error_code check_response(const http::response<http::string_body>& res) {
  const unsigned status = res.result_int();
  if (status < 100 || status > 599) return make_error_code(errc::bad_response);
  return {};
}

status_kind classify_status(unsigned status) {
  if (status == 101) return status_kind::switching;
  if (status >= 100 && status < 200) return status_kind::interim;
  return status_kind::final;
}

error public_error(error e) {
  if (e == beast::error::timeout) return errc::timeout;
  if (e == http::error::body_limit) return errc::body_too_large;
  return e;
}

}  // namespace detail

namespace {

// One message from `bytes`, like http::async_read over a stream that ends
// after them: the parser takes what it can, and the end of input is the
// peer closing. Consumes what it parsed.
result<boost::beast::http::response<boost::beast::http::string_body>> parse_one(
    std::string_view& bytes, std::size_t body_limit) {
  boost::beast::http::response_parser<boost::beast::http::string_body> parser;
  detail::limit_parser(parser, body_limit);
  parser.eager(true);
  for (;;) {
    boost::system::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    bytes.remove_prefix(used);
    if (!ec && parser.is_done()) break;
    if (ec && ec != boost::beast::http::error::need_more) return detail::public_error(ec);
    if (ec || used == 0) {  // needs more than there is: the peer closed here
      if (!parser.got_some()) return make_error_code(boost::beast::http::error::end_of_stream);
      parser.put_eof(ec);
      if (ec) return detail::public_error(ec);
      break;
    }
  }
  return parser.release();
}

}  // namespace

// Interim (1xx) answers are skipped as the live client skips them.
result<http_response> parse_http_response(std::string_view bytes, std::size_t body_limit) {
  for (unsigned interim = 0;; ++interim) {
    auto res = parse_one(bytes, body_limit);
    if (!res) return res.error();
    switch (detail::classify_status(res->result_int())) {
      case detail::status_kind::final:
        if (auto ec = detail::check_response(*res)) return ec;
        return detail::to_response(std::move(*res), std::chrono::steady_clock::duration::zero());
      case detail::status_kind::switching:
        return make_error_code(errc::bad_response);
      case detail::status_kind::interim:
        if (interim >= detail::max_interim_responses) return make_error_code(errc::bad_response);
        break;
    }
  }
}

}  // namespace hssjw
