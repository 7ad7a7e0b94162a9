// The page retry policy (see page_retry.hpp): counts, classification and
// the full-jitter backoff, free of I/O.
#include "walk/page_retry.hpp"

#include <algorithm>

namespace hssjw {

std::chrono::milliseconds page_retry::backoff(const config::retry_config& r, std::uint32_t retry,
                                              double draw) {
  auto cap = r.initial * (1LL << std::min<std::uint32_t>(retry, 20));
  cap = std::min<std::chrono::milliseconds>(cap, r.max);
  const long long hi = std::max<long long>(1, cap.count());
  // Uniform over the hi + 1 whole milliseconds 0..hi; a draw of 1.0 (which
  // some generators round up to) or beyond stays at hi.
  const auto ms = static_cast<long long>(std::clamp(draw, 0.0, 1.0) * static_cast<double>(hi + 1));
  return std::chrono::milliseconds(std::min(ms, hi));
}

page_retry::decision page_retry::transient_failure(double draw) {
  if (retries_ >= retry_.attempts) return {action::give_up, reason::attempts_used};
  decision d{action::retry_after, reason::transient};
  d.delay = backoff(retry_, retries_++, draw);
  d.retry = retries_;
  return d;
}

page_retry::decision page_retry::on_attempt(const page_attempt& a, double draw,
                                            std::chrono::system_clock::time_point now) {
  switch (a.what) {
    case page_attempt::kind::page:
      return {action::done, reason::page};
    case page_attempt::kind::bad_body:
    case page_attempt::kind::transport_error:
      return transient_failure(draw);
    case page_attempt::kind::error_answer:
      break;
  }
  const api_error& e = *a.api;
  if (is_throttled(e)) {
    // Told to the gate every time, also once the retries at once are used up.
    auto d = ++throttled_ <= max_throttled ? decision{action::retry_now, reason::throttled}
                                           : transient_failure(draw);
    d.throttled = true;
    d.retry_after = retry_after_delay(*a.response, now);
    return d;
  }
  if (is_auth_rejected(e)) {
    decision d = ++auth_retries_ <= max_auth_retries
                     ? decision{action::retry_now, reason::auth_rejected}
                     : decision{action::give_up, reason::rejected_again};
    d.rejected = true;
    return d;
  }
  if (e.http_status >= 500) return transient_failure(draw);
  return {action::give_up, reason::not_transient};
}

}  // namespace hssjw
