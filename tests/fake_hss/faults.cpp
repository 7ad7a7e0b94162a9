// Fault factories and the queue that matches faults to requests (see
// faults.hpp). The error codes and messages are the ones HSS and its API
// gateway document (HUAWEI-API.md §2.2).
#include "fake_hss/faults.hpp"

#include <utility>

namespace fake_hss {

std::string_view to_string(fault_kind k) {
  switch (k) {
    case fault_kind::http_error:
      return "http_error";
    case fault_kind::stall:
      return "stall";
    case fault_kind::reset:
      return "reset";
    case fault_kind::truncate:
      return "truncate";
    case fault_kind::malformed_json:
      return "malformed_json";
    case fault_kind::wrong_type:
      return "wrong_type";
    case fault_kind::missing_field:
      return "missing_field";
    case fault_kind::wrong_total:
      return "wrong_total";
    case fault_kind::error_body_200:
      return "error_body_200";
    case fault_kind::trickle:
      return "trickle";
    case fault_kind::shift:
      return "shift";
    case fault_kind::interim:
      return "interim";
    case fault_kind::request_id:
      return "request_id";
  }
  return "unknown";
}

namespace {
fault of_kind(fault_kind k) {
  fault f;
  f.kind = k;
  return f;
}
}  // namespace

fault fault::http_error(unsigned status, std::string code, std::string msg) {
  fault f = of_kind(fault_kind::http_error);
  f.status = status;
  f.error_code = std::move(code);
  f.error_msg = std::move(msg);
  return f;
}

fault fault::internal_error() { return http_error(500, "HSS.0041", "Internal server error"); }

fault fault::unavailable() {
  return http_error(503, "APIGW.0613", "IAM service is currently unavailable");
}

fault fault::token_expired() { return http_error(401, "APIGW.0307", "The token must be updated"); }

fault fault::throttled(std::optional<std::chrono::seconds> retry_after) {
  fault f = http_error(429, "APIGW.0308",
                       "The throttling threshold has been reached: policy user over "
                       "ratelimit,limit:5,time:1 minute");
  f.retry_after = retry_after;
  return f;
}

fault fault::stall(std::chrono::milliseconds answer_after) {
  fault f = of_kind(fault_kind::stall);
  f.delay = answer_after;
  return f;
}

fault fault::reset() { return of_kind(fault_kind::reset); }
fault fault::truncate() { return of_kind(fault_kind::truncate); }
fault fault::malformed_json() { return of_kind(fault_kind::malformed_json); }

fault fault::wrong_type(std::string field, std::size_t job_index) {
  fault f = of_kind(fault_kind::wrong_type);
  f.field = std::move(field);
  f.job_index = job_index;
  return f;
}

fault fault::missing_field(std::string field, std::size_t job_index) {
  fault f = of_kind(fault_kind::missing_field);
  f.field = std::move(field);
  f.job_index = job_index;
  return f;
}

fault fault::wrong_total(std::int64_t delta) {
  fault f = of_kind(fault_kind::wrong_total);
  f.total_delta = delta;
  return f;
}

fault fault::error_body_200(std::string code, std::string msg) {
  fault f = of_kind(fault_kind::error_body_200);
  f.error_code = std::move(code);
  f.error_msg = std::move(msg);
  return f;
}

fault fault::trickle(std::chrono::milliseconds every, std::size_t chunk) {
  fault f = of_kind(fault_kind::trickle);
  f.delay = every;
  f.chunk = chunk == 0 ? 1 : chunk;
  return f;
}

fault fault::shift(std::int64_t by, std::size_t at) {
  fault f = of_kind(fault_kind::shift);
  f.shift_by = by;
  f.shift_at = at;
  return f;
}

fault fault::interim(std::vector<unsigned> statuses) {
  fault f = of_kind(fault_kind::interim);
  f.interim_statuses = std::move(statuses);
  return f;
}

fault fault::request_id(std::string raw) {
  fault f = of_kind(fault_kind::request_id);
  f.header_text = std::move(raw);
  return f;
}

fault& fault::on_index(std::size_t i) {
  index = i;
  return *this;
}
fault& fault::on_offset(std::int64_t o) {
  offset = o;
  return *this;
}
fault& fault::on_project(std::string p) {
  project_id = std::move(p);
  return *this;
}
fault& fault::skip_first(std::size_t n) {
  skip = n;
  return *this;
}
fault& fault::repeat(std::size_t n) {
  count = n;
  return *this;
}
fault& fault::forever() { return repeat(0); }

void fault_queue::push(fault f) { faults_.push_back(std::move(f)); }

bool fault_queue::matches(const fault& f, const fault_target& t) {
  if (f.index && *f.index != t.index) return false;
  if (f.project_id && *f.project_id != t.project_id) return false;
  // An offset-targeted fault only hits jobs requests (which have an offset).
  if (f.offset && (!t.offset || *f.offset != *t.offset)) return false;
  return true;
}

std::vector<fault> fault_queue::take(const fault_target& t) {
  std::vector<fault> hit;
  for (auto it = faults_.begin(); it != faults_.end();) {
    if (!matches(*it, t)) {
      ++it;
    } else if (it->skip > 0) {
      --it->skip;
      ++it;
    } else {
      hit.push_back(*it);
      if (it->count == 1) {
        it = faults_.erase(it);
      } else {
        if (it->count > 1) --it->count;
        ++it;
      }
    }
  }
  return hit;
}

}  // namespace fake_hss
