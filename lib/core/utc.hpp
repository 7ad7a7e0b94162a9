// Splitting a wall-clock time into UTC calendar fields, for the three
// formats the daemon writes (event times, X-Sdk-Date and IAM times), and
// the wall clock in milliseconds.
#pragma once

#include <chrono>
#include <cstdint>

namespace hssjw {

struct utc_parts {
  int year = 1970;
  unsigned month = 1, day = 1;
  int hour = 0, minute = 0, second = 0, millisecond = 0;
};

inline utc_parts to_utc_parts(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  return {static_cast<int>(ymd.year()),
          static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()),
          static_cast<int>(hms.hours().count()),
          static_cast<int>(hms.minutes().count()),
          static_cast<int>(hms.seconds().count()),
          static_cast<int>(hms.subseconds().count())};
}

// The wall clock in milliseconds since the Unix epoch: the unit of every
// time the daemon stores or reports (event times, last walk, /healthz).
inline std::int64_t unix_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace hssjw
