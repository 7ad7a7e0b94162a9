// Synthetic jobs for the fake HSS: a deterministic initial inventory
// (populate) and a deterministic "busy CronJob cluster" (churn) in which
// jobs appear as the newest, change status or pod count, and disappear.
// Plain logic over an inventory; the server drives churn from a timer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "fake_hss/inventory.hpp"

namespace fake_hss {

// n jobs for one scope, the same for the same (project, eps, n, seed):
// CronJob-style names "<cronjob>-<scheduled minute>", create_time one
// minute apart ending at 2024-07-12T06:18:44Z, mostly Running.
std::vector<job> synthetic_jobs(const std::string& project_id, const std::string& eps,
                                std::size_t n, std::uint64_t seed = 1);

struct churn_options {
  std::chrono::milliseconds interval{2000};  // timer period (server::start_churn)
  std::uint64_t seed = 1;
  std::size_t adds = 2;      // new jobs per step, newest first in the listing
  std::size_t modifies = 2;  // Running -> Failed, or pods_num changes
  std::size_t removes = 1;   // jobs deleted per step
};

struct churn_change {
  enum class kind { added, modified, removed };
  kind what = kind::added;
  job before;  // modified, removed
  job after;   // added, modified
};

std::string_view to_string(churn_change::kind k);

// Each step picks scopes and jobs with its own seeded generator, so two runs
// over the same inventory make the same choices (create_time of added jobs
// is "now" and is the only thing that differs).
class churner {
 public:
  explicit churner(churn_options o = {});
  std::vector<churn_change> step(inventory& inv);

 private:
  std::uint64_t pick(std::uint64_t n);  // uniform-ish in [0, n), n > 0
  churn_options opts_;
  std::mt19937_64 rng_;
  std::uint64_t next_id_ = 29'000'000;  // above any synthetic_jobs minute
};

}  // namespace fake_hss
