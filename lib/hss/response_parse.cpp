// The response side of HTTP on plain values: limits, conversion, errors,
// and parse_http_response. No coroutines here (and so no sockets), which
// keeps it cheap to fuzz: clang 14 cannot instrument client.cpp's
// coroutines for libFuzzer ("Cannot represent a difference across
// sections").
#include "hss/client.hpp"
#include "hss/response_parse.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

namespace hssjw {
namespace detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using steady = std::chrono::steady_clock;

std::string header(const http::response<http::string_body>& res, http::field f) {
  auto it = res.find(f);
  return it == res.end() ? std::string{} : std::string(it->value());
}

}  // namespace

void limit_parser(http::response_parser<http::string_body>& parser, std::size_t body_limit) {
  parser.header_limit(response_header_limit);
  parser.body_limit(body_limit);
}

http_response to_response(http::response<http::string_body>&& res, steady::duration latency) {
  http_response out;
  out.status = res.result_int();
  auto id = res.find("X-Request-Id");  // Beast compares names case-insensitively
  out.request_id = id == res.end() ? std::string{} : std::string(id->value());
  out.retry_after = header(res, http::field::retry_after);
  out.date = header(res, http::field::date);
  out.content_type = header(res, http::field::content_type);
  if (auto st = res.find("X-Subject-Token"); st != res.end()) out.subject_token = std::string(st->value());
  out.body = std::move(res.body());
  out.latency = std::chrono::duration_cast<std::chrono::milliseconds>(latency);
  return out;
}

error_code check_response(const http::response<http::string_body>& res) {
  const unsigned status = res.result_int();
  if (status < 100 || status > 599) return make_error_code(errc::bad_response);
  return {};
}

error_code public_error(error_code ec) {
  if (ec == beast::error::timeout) return make_error_code(errc::timeout);
  if (ec == http::error::body_limit) return make_error_code(errc::body_too_large);
  return ec;
}

}  // namespace detail

// Like http::async_read over a stream that ends after `bytes`: the parser
// takes what it can, and the end of input is the peer closing.
result<http_response> parse_http_response(std::string_view bytes, std::size_t body_limit) {
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
  if (auto ec = detail::check_response(parser.get())) return ec;
  return detail::to_response(parser.release(), std::chrono::steady_clock::duration::zero());
}

}  // namespace hssjw
