// ListK8sJobs wire rules for the fake HSS (see protocol.hpp).
#include "fake_hss/protocol.hpp"

#include <boost/json/serialize.hpp>
#include <charconv>

namespace fake_hss {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Strict: the whole string is a decimal integer (no sign, no spaces), as a
// Java/Go backend binding it to an int would demand.
std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty() || s.front() == '-' || s.front() == '+') return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

error_reply invalid(std::string msg) {
  return {400, "HSS.0001", "Invalid parameter: " + std::move(msg), {}};
}

std::string lookup(const std::map<std::string, std::string>& q, const std::string& key) {
  auto it = q.find(key);
  return it == q.end() ? std::string{} : it->second;
}

}  // namespace

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

parsed_target parse_target(std::string_view target) {
  parsed_target t;
  const auto q = target.find('?');
  t.path = std::string(target.substr(0, q));
  if (q == std::string_view::npos) return t;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string key = percent_decode(pair.substr(0, eq));
    std::string value =
        eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1));
    t.query.emplace(std::move(key), std::move(value));
  }
  return t;
}

std::optional<std::string> jobs_project(std::string_view path) {
  constexpr std::string_view prefix = "/v5/", suffix = "/kubernetes/jobs";
  if (path.size() <= prefix.size() + suffix.size() || !path.starts_with(prefix) ||
      !path.ends_with(suffix))
    return std::nullopt;
  std::string_view project =
      path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (project.find('/') != std::string_view::npos) return std::nullopt;
  return percent_decode(project);
}

std::optional<std::int64_t> query_offset(const std::map<std::string, std::string>& query) {
  auto it = query.find("offset");
  if (it == query.end()) return 0;
  return parse_int(it->second);
}

std::variant<page_query, error_reply> parse_jobs_query(
    std::string project_id, const std::map<std::string, std::string>& query) {
  page_query q;
  q.project_id = std::move(project_id);
  auto limit = query.find("limit");
  if (limit == query.end()) return invalid("limit is required");
  auto l = parse_int(limit->second);
  if (!l || *l < 10 || *l > 200) return invalid("limit must be an integer from 10 to 200");
  q.limit = *l;
  auto o = query_offset(query);
  if (!o || *o > 2'000'000) return invalid("offset must be an integer from 0 to 2000000");
  q.offset = *o;
  q.eps = lookup(query, "enterprise_project_id");
  if (q.eps.empty()) q.eps = default_eps;
  if (q.eps.size() > 256) return invalid("enterprise_project_id is longer than 256 characters");
  q.cluster = lookup(query, "cluster_name");
  q.ns = lookup(query, "namespace_name");
  q.name = lookup(query, "job_name");
  return q;
}

error_reply not_found() {
  return {
      404, "APIGW.0101", "The API does not exist or has not been published in the environment", {}};
}

error_reply missing_token() {
  return {
      401, "APIGW.0301", "Incorrect IAM authentication information: x-auth-token not found", {}};
}

error_reply bad_token() {
  return {401, "APIGW.0301", "Incorrect IAM authentication information: decrypt token fail", {}};
}

std::string render_error(const error_reply& e, std::string_view request_id) {
  boost::json::object o{{"error_code", e.error_code}, {"error_msg", e.error_msg}};
  // The API gateway adds the request id to its own bodies; HSS does not.
  if (e.error_code.starts_with("APIGW.") || e.error_code.starts_with("APIG."))
    o["request_id"] = request_id;
  return boost::json::serialize(o);
}

boost::json::object page_json(const page& p) {
  boost::json::array list;
  list.reserve(p.jobs.size());
  for (const auto& j : p.jobs) list.push_back(j->to_json());
  return {{"total_num", p.total_num},
          {"last_update_time", p.last_update_time},
          {"job_info_list", std::move(list)}};
}

}  // namespace fake_hss
