// Fault injection for the fake HSS: what can go wrong with one ListK8sJobs
// request (gateway errors, throttling, stalls, resets, broken bodies, a list
// that shifts under the walker) and which requests it hits. Plain data plus
// a queue that decides, request by request, which faults apply.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fake_hss {

enum class fault_kind {
  http_error,      // status + Huawei error body (+ Retry-After)
  stall,           // answer after `delay`, or never when delay is 0
  reset,           // close the connection (TCP RST) without answering
  truncate,        // Content-Length of the whole body, half of it sent, then close
  malformed_json,  // a 200 whose body is cut in the middle (not JSON)
  wrong_type,      // `field` of job `job_index` gets the wrong JSON type
  missing_field,   // `field` of job `job_index` is removed
  wrong_total,     // total_num reported as total + total_delta
  error_body_200,  // status 200 with an error body
  trickle,         // the whole response, `chunk` bytes every `delay`
  shift,           // before serving: insert (shift_by > 0) or delete jobs
  interim,         // `interim` 1xx heads (100, 102, 103, or 101) before the answer
  request_id,      // X-Request-Id is `header_text`, bytes as given (invalid UTF-8 too)
};

std::string_view to_string(fault_kind k);

// One fault and the requests it targets. Every given condition must hold
// for a request to match; of the matching requests, the first `skip` pass
// untouched, then `count` of them get the fault (0 = all, forever).
struct fault {
  fault_kind kind = fault_kind::http_error;

  // --- targeting ---
  std::optional<std::size_t> index;    // request_record::index (absolute)
  std::optional<std::int64_t> offset;  // jobs requests with this offset
  std::optional<std::string> project_id;
  std::size_t skip = 0;
  std::size_t count = 1;

  // --- parameters ---
  unsigned status = 500;  // http_error
  std::string error_code = "HSS.0041";
  std::string error_msg = "Internal server error";
  std::optional<std::chrono::seconds> retry_after;  // http_error: Retry-After header
  std::chrono::milliseconds delay{0};               // stall; trickle (between chunks)
  std::size_t chunk = 1;                            // trickle
  std::int64_t total_delta = 1;                     // wrong_total
  std::string field = "pods_num";                   // wrong_type, missing_field
  std::size_t job_index = 0;                        // wrong_type, missing_field
  // shift: jobs inserted (> 0) or deleted (< 0) at shift_at, a position of
  // the requested scope's unfiltered listing (0 = the front, i.e. newest).
  std::int64_t shift_by = 1;
  std::size_t shift_at = 0;
  // interim: the status of each 1xx head sent before the answer, in order
  // (103 carries a Link header, as Early Hints do).
  std::vector<unsigned> interim_statuses{100};
  std::string header_text;  // request_id: the raw header value (no CR/LF)

  // --- factories ---
  static fault http_error(unsigned status, std::string code, std::string msg);
  static fault internal_error();  // 500 HSS.0041
  static fault unavailable();     // 503 APIGW.0613
  static fault token_expired();   // 401 APIGW.0307
  static fault throttled(std::optional<std::chrono::seconds> retry_after = std::nullopt);
  static fault stall(std::chrono::milliseconds answer_after = std::chrono::milliseconds{0});
  static fault reset();
  static fault truncate();
  static fault malformed_json();
  static fault wrong_type(std::string field = "pods_num", std::size_t job_index = 0);
  static fault missing_field(std::string field = "name", std::size_t job_index = 0);
  static fault wrong_total(std::int64_t delta = 1);
  static fault error_body_200(std::string code = "HSS.0041", std::string msg = "Internal error");
  static fault trickle(std::chrono::milliseconds every, std::size_t chunk = 1);
  static fault shift(std::int64_t by, std::size_t at = 0);
  static fault interim(std::vector<unsigned> statuses = {100, 102, 103});
  static fault request_id(std::string raw);

  // --- targeting, chainable: fault::reset().on_offset(200).repeat(2) ---
  fault& on_index(std::size_t i);
  fault& on_offset(std::int64_t o);
  fault& on_project(std::string p);
  fault& skip_first(std::size_t n);
  fault& repeat(std::size_t n);  // 0 = forever
  fault& forever();
};

// What a request looks like to the fault matcher.
struct fault_target {
  std::size_t index = 0;
  std::string project_id;              // "" when not a jobs request
  std::optional<std::int64_t> offset;  // jobs requests only (absent = 0)
};

class fault_queue {
 public:
  void push(fault f);
  // The faults that apply to this request, in injection order; consumes
  // them (a fault whose count runs out leaves the queue).
  std::vector<fault> take(const fault_target& t);
  std::size_t size() const { return faults_.size(); }
  void clear() { faults_.clear(); }

 private:
  static bool matches(const fault& f, const fault_target& t);
  std::vector<fault> faults_;
};

}  // namespace fake_hss
