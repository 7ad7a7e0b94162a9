// Turns a non-2xx HSS/IAM/APIGW answer into an api_error the way Huawei's
// SDKs read error bodies (HUAWEI-API.md §2.1), and classifies the codes the
// daemon reacts to (throttling, rejected credentials). Bodies are untrusted:
// the parser is depth-limited and every string of an api_error goes through
// upstream_text (printable, valid UTF-8, bounded).
#include "hss/http.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <optional>

#include "hss/upstream_text.hpp"

namespace hssjw {
namespace {

namespace json = boost::json;

// Real error bodies nest two or three levels; the limit stops a stack blow-up.
constexpr std::size_t max_json_depth = 32;

// Codes are documented as strings but some services send numbers
// ({"error":{"code":401,...}}); render those as the digits a human expects.
std::optional<std::string> scalar_text(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::int64:
      return std::to_string(v.get_int64());
    case json::kind::uint64:
      return std::to_string(v.get_uint64());
    case json::kind::double_: {
      const double d = v.get_double();
      if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 1e15)
        return std::to_string(static_cast<std::int64_t>(d));
      return json::serialize(v);
    }
    default:
      return std::nullopt;
  }
}

std::string message_text(const json::value* v) {
  if (v == nullptr || v->is_null()) return {};
  if (auto s = scalar_text(*v)) return *s;
  return json::serialize(*v);  // an object or array as message: keep it readable
}

struct key_pair {
  std::string_view code;
  std::string_view msg;
  bool msg_required;  // "code" alone is too generic to mean an error
};

constexpr std::array<key_pair, 3> known_pairs{{
    {"error_code", "error_msg", false},
    {"errorCode", "errorMsg", false},
    {"code", "message", true},
}};

struct found_error {
  std::string code;
  std::string msg;
};

std::optional<found_error> match_object(const json::object& o) {
  for (const auto& k : known_pairs) {
    const json::value* code = o.if_contains(k.code);
    const json::value* msg = o.if_contains(k.msg);
    if (code == nullptr || (k.msg_required && msg == nullptr)) continue;
    if (auto text = scalar_text(*code)) return found_error{*text, message_text(msg)};
  }
  return std::nullopt;
}

// Breadth-first, so the shallowest match wins: {"error_code":..} at the top
// beats a "code" buried in some detail object.
std::optional<found_error> find_error(const json::value& root) {
  std::deque<const json::value*> queue{&root};
  while (!queue.empty()) {
    const json::value* v = queue.front();
    queue.pop_front();
    if (const auto* o = v->if_object()) {
      if (auto e = match_object(*o)) return e;
      for (const auto& kv : *o) queue.push_back(&kv.value());
    } else if (const auto* a = v->if_array()) {
      for (const auto& item : *a) queue.push_back(&item);
    }
  }
  return std::nullopt;
}

std::optional<json::value> parse_limited(std::string_view body) {
  json::parse_options opts;
  opts.max_depth = max_json_depth;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, {}, opts);
  if (ec) return std::nullopt;
  return v;
}

// APIGW bodies carry "request_id" too; useful when a proxy ate the header.
std::string body_request_id(const json::value& v) {
  if (const auto* o = v.if_object())
    if (const auto* id = o->if_contains("request_id"); id != nullptr && id->is_string())
      return std::string(id->get_string());
  return {};
}

bool has_gateway_code(const api_error& e, std::initializer_list<std::string_view> numbers) {
  std::string_view code = e.error_code;
  for (std::string_view prefix : {"APIGW.", "APIG."}) {
    if (!code.starts_with(prefix)) continue;
    const std::string_view number = code.substr(prefix.size());
    for (std::string_view n : numbers)
      if (number == n) return true;
  }
  return false;
}

}  // namespace

std::string api_error::to_string() const {
  std::string s = "HTTP " + std::to_string(http_status) + ' ' + error_code;
  if (!error_msg.empty()) s += ": " + error_msg;
  if (!request_id.empty()) s += " (request id " + request_id + ')';
  return s;
}

api_error parse_api_error(unsigned status, std::string_view body, std::string request_id) {
  api_error e;
  e.http_status = status;
  const std::optional<json::value> doc = parse_limited(body);
  const std::optional<found_error> found = doc ? find_error(*doc) : std::nullopt;
  if (found) {
    e.error_code = upstream_text(found->code, upstream_header_limit);
    e.error_msg = upstream_text(found->msg);
  } else {
    e.error_code = std::to_string(status);
    e.error_msg = upstream_text(body);
  }
  if (request_id.empty() && doc) request_id = body_request_id(*doc);
  // Usually the X-Request-Id header, already made safe by to_response; the
  // body's id or a caller's string is not.
  e.request_id = upstream_text(request_id, upstream_header_limit);
  return e;
}

std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text) {
  using namespace std::chrono;
  static constexpr std::array<std::string_view, 12> months = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return std::nullopt;
  text = text.substr(first, text.find_last_not_of(" \t") - first + 1);
  const auto comma = text.find(", ");
  if (comma == std::string_view::npos) return std::nullopt;
  const std::string rest(text.substr(comma + 2));
  int d = 0, y = 0, hh = 0, mm = 0, ss = 0, used = 0;
  char mon[4] = {};
  char zone[4] = {};
  if (std::sscanf(rest.c_str(), "%2d %3s %4d %2d:%2d:%2d %3s%n", &d, mon, &y, &hh, &mm, &ss, zone,
                  &used) != 7 ||
      std::string_view(zone) != "GMT" || static_cast<std::size_t>(used) != rest.size()) {
    return std::nullopt;
  }
  const auto it = std::find(months.begin(), months.end(), std::string_view(mon));
  if (it == months.end()) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(it - months.begin() + 1)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60) return std::nullopt;
  return sys_days{ymd} + hours{hh} + minutes{mm} + seconds{ss};
}

std::optional<std::chrono::milliseconds> retry_after_delay(
    const http_response& r, std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  constexpr seconds longest{3600};
  const std::string_view v = r.retry_after;
  if (!v.empty() && v.find_first_not_of("0123456789") == std::string_view::npos) {
    long long secs = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
    if (ec != std::errc() || p != v.data() + v.size() || secs > longest.count())
      return std::nullopt;
    return seconds(secs);
  }
  const auto until = parse_http_date(v);
  if (!until) return std::nullopt;
  const auto server_now = parse_http_date(r.date);
  const auto base = server_now ? *server_now : floor<seconds>(now);
  const auto wait = *until - base;
  if (wait > longest) return std::nullopt;
  return wait < seconds(0) ? milliseconds(0) : duration_cast<milliseconds>(wait);
}

bool is_throttled(const api_error& e) {
  return e.http_status == 429 || has_gateway_code(e, {"0308"});
}

bool is_auth_rejected(const api_error& e) {
  if (has_gateway_code(e, {"0301", "0303", "0305", "0307"})) return true;
  // A 401 without any code we recognise (the fallback put the status there).
  return e.http_status == 401 && e.error_code == "401";
}

}  // namespace hssjw
