// The wire rules of ListK8sJobs as the fake HSS applies them (SPEC §2,
// HUAWEI-API.md §1.1, §2): target parsing, query validation, the Huawei
// error bodies and the page body. Pure functions, no I/O, so the rules can
// be read (and tested) in one place.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "fake_hss/inventory.hpp"

namespace fake_hss {

// A non-200 answer: Huawei error body {"error_code","error_msg"} (APIGW.*
// codes also carry "request_id", as the API gateway's bodies do).
struct error_reply {
  unsigned status = 400;
  std::string error_code;
  std::string error_msg;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Retry-After
};

struct parsed_target {
  std::string path;
  std::map<std::string, std::string> query;  // percent-decoded; first of repeated keys wins
};

parsed_target parse_target(std::string_view target);
// "%41" -> "A", "+" -> " " (form encoding); a broken escape is kept as is.
std::string percent_decode(std::string_view s);

// The project id of "/v5/{project_id}/kubernetes/jobs" (exact path, no
// trailing slash), or nothing for any other path.
std::optional<std::string> jobs_project(std::string_view path);

// limit: required, integer 10..200; offset: integer 0..2,000,000 (default
// 0); enterprise_project_id: omitted or "" = "0"; filters: exact match, ""
// = no filter. Violations are 400 HSS.0001.
std::variant<page_query, error_reply> parse_jobs_query(
    std::string project_id, const std::map<std::string, std::string>& query);

// The offset a jobs request asked for (absent = 0), or nothing if unparsable.
std::optional<std::int64_t> query_offset(const std::map<std::string, std::string>& query);

error_reply not_found();      // 404 APIGW.0101
error_reply missing_token();  // 401 APIGW.0301 "... x-auth-token not found"
error_reply bad_token();      // 401 APIGW.0301 "... decrypt token fail"

std::string render_error(const error_reply& e, std::string_view request_id);
boost::json::object page_json(const page& p);

}  // namespace fake_hss
