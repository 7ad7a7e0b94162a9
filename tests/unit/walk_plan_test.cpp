// The walk planner against a simulated list that shifts between page
// requests: every job that exists for the whole walk must be covered, a
// stable list must cost the minimum, and an unrepairable walk must say so.
#include "walk/walk_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <random>
#include <set>

namespace hssjw {
namespace {

// A list ordered newest first, identified by integers.
struct sim_list {
  std::deque<std::uint64_t> items;
  std::uint64_t next_id = 1;

  explicit sim_list(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) items.push_back(next_id++);
  }
  void insert_at(std::size_t pos) {
    items.insert(items.begin() + std::min(pos, items.size()), next_id++);
  }
  void erase_at(std::size_t pos) {
    if (pos < items.size()) items.erase(items.begin() + pos);
  }
  std::vector<std::uint64_t> page(std::int64_t offset, std::uint32_t limit) const {
    std::vector<std::uint64_t> out;
    for (std::int64_t i = offset; i < static_cast<std::int64_t>(items.size()) && out.size() < limit;
         ++i)
      out.push_back(items[i]);
    return out;
  }
};

struct walk_run {
  std::set<std::uint64_t> seen;
  std::uint32_t requests = 0;
  bool complete = false;
  walk_plan plan;
};

// Runs a walk, serving pages in request order (up to `in_flight` requests
// are issued before answers come back) and calling `mutate` before each
// page is served.
walk_run run_walk(sim_list& list, std::uint32_t page_size, std::uint32_t in_flight,
                  const std::function<void(std::uint32_t, sim_list&)>& mutate = {}) {
  walk_run run{{}, 0, false, walk_plan(page_size)};
  std::deque<std::int64_t> queue;
  for (int guard = 0; guard < 10000; ++guard) {
    while (queue.size() < in_flight) {
      auto next = run.plan.next_request();
      if (!next) break;
      queue.push_back(*next);
    }
    if (queue.empty()) break;
    auto offset = queue.front();
    queue.pop_front();
    if (mutate) mutate(run.requests, list);
    ++run.requests;
    auto ids = list.page(offset, page_size);
    run.seen.insert(ids.begin(), ids.end());
    run.plan.on_page(offset, static_cast<std::int64_t>(list.items.size()), ids);
  }
  EXPECT_TRUE(run.plan.finished());
  run.complete = run.plan.complete();
  return run;
}

std::uint32_t min_requests(std::size_t total, std::uint32_t page) {
  if (total <= page) return 1;
  return static_cast<std::uint32_t>((total - 1 + page - 2) / (page - 1));
}

TEST(walk_plan, stable_lists_cost_the_minimum) {
  for (std::size_t n : {0, 1, 9, 10, 11, 100, 199, 200, 201, 397, 398, 399, 1000, 4321}) {
    for (std::uint32_t in_flight : {1u, 4u}) {
      sim_list list(n);
      auto run = run_walk(list, 10 * 20, in_flight);
      EXPECT_TRUE(run.complete) << n;
      EXPECT_EQ(run.seen.size(), n);
      EXPECT_EQ(run.requests, min_requests(n, 200)) << n;
    }
  }
}

TEST(walk_plan, small_pages_stable) {
  sim_list list(95);
  auto run = run_walk(list, 10, 3);
  EXPECT_TRUE(run.complete);
  EXPECT_EQ(run.seen.size(), 95u);
  EXPECT_EQ(run.requests, min_requests(95, 10));  // ceil(94/9) = 11
}

// Every job present from before the walk until after it must be seen.
void expect_whole_walk_jobs_seen(const std::set<std::uint64_t>& before, const sim_list& after,
                                 const walk_run& run) {
  std::set<std::uint64_t> now(after.items.begin(), after.items.end());
  for (auto id : before) {
    if (now.contains(id)) EXPECT_TRUE(run.seen.contains(id)) << "skipped job " << id;
  }
}

TEST(walk_plan, delete_at_front_between_pages_is_repaired) {
  sim_list list(500);
  std::set<std::uint64_t> before(list.items.begin(), list.items.end());
  auto run = run_walk(list, 100, 1, [](std::uint32_t req, sim_list& l) {
    if (req == 2) l.erase_at(0);  // before the third page: everything shifts left
  });
  EXPECT_TRUE(run.complete) << run.plan.describe();
  expect_whole_walk_jobs_seen(before, list, run);
  EXPECT_GT(run.requests, min_requests(500, 100));  // the repair cost a request
}

TEST(walk_plan, delete_before_plus_create_after_keeps_counts_but_is_caught) {
  // The shift that hides from the counts: total_num stays the same.
  sim_list list(500);
  std::set<std::uint64_t> before(list.items.begin(), list.items.end());
  auto run = run_walk(list, 100, 1, [](std::uint32_t req, sim_list& l) {
    if (req == 2) {  // two out before the boundary, two in after it
      l.erase_at(10);
      l.erase_at(10);
      l.insert_at(450);
      l.insert_at(450);
    }
  });
  EXPECT_TRUE(run.complete) << run.plan.describe();
  expect_whole_walk_jobs_seen(before, list, run);
}

TEST(walk_plan, inserts_at_front_need_no_repair_but_extend_the_tail) {
  sim_list list(500);
  std::set<std::uint64_t> before(list.items.begin(), list.items.end());
  auto run = run_walk(list, 100, 2, [](std::uint32_t req, sim_list& l) {
    if (req >= 1) l.insert_at(0);
  });
  EXPECT_TRUE(run.complete) << run.plan.describe();
  expect_whole_walk_jobs_seen(before, list, run);
}

TEST(walk_plan, many_deletes_in_the_middle) {
  sim_list list(1000);
  std::set<std::uint64_t> before(list.items.begin(), list.items.end());
  auto run = run_walk(list, 100, 4, [](std::uint32_t req, sim_list& l) {
    if (req == 3)
      for (int i = 0; i < 30; ++i) l.erase_at(150);
  });
  EXPECT_TRUE(run.complete) << run.plan.describe();
  expect_whole_walk_jobs_seen(before, list, run);
}

TEST(walk_plan, list_shrinking_to_empty_is_complete) {
  sim_list list(300);
  auto run = run_walk(list, 100, 1, [](std::uint32_t req, sim_list& l) {
    if (req == 1) l.items.clear();
  });
  EXPECT_TRUE(run.complete);
}

TEST(walk_plan, random_churn_never_skips_a_whole_walk_job) {
  std::mt19937 rng(42);
  int complete = 0;
  for (int trial = 0; trial < 300; ++trial) {
    sim_list list(50 + rng() % 900);
    std::set<std::uint64_t> before(list.items.begin(), list.items.end());
    const std::uint32_t page = 10 + rng() % 60;
    auto run = run_walk(list, page, 1 + rng() % 4, [&](std::uint32_t, sim_list& l) {
      int changes = rng() % 4;
      for (int c = 0; c < changes; ++c) {
        auto size = l.items.size();
        switch (rng() % 3) {
          case 0:
            l.insert_at(0);
            break;  // a new CronJob run
          case 1:
            l.erase_at(size ? rng() % size : 0);
            break;  // one finishes anywhere
          case 2:
            l.insert_at(size ? rng() % size : 0);
            break;
        }
      }
    });
    if (run.complete) {
      ++complete;
      expect_whole_walk_jobs_seen(before, list, run);
    }
  }
  EXPECT_GT(complete, 250);  // churn of a few jobs per page is repaired, not given up
}

TEST(walk_plan, inflated_total_never_completes_by_itself) {
  // A server claiming more jobs than it serves: the walk must not call
  // itself complete while pages beyond return nothing.
  walk_plan plan(10);
  ASSERT_EQ(plan.next_request(), 0);
  std::vector<std::uint64_t> ids;
  for (std::uint64_t i = 1; i <= 10; ++i) ids.push_back(i);
  plan.on_page(0, 25, ids);
  while (auto next = plan.next_request()) plan.on_page(*next, 25, {});
  EXPECT_TRUE(plan.finished());
  EXPECT_FALSE(plan.complete());
}

TEST(walk_plan, deflated_total_with_full_pages_keeps_reading) {
  sim_list list(300);
  walk_plan plan(100);
  std::set<std::uint64_t> seen;
  while (auto next = plan.next_request()) {
    auto ids = list.page(*next, 100);
    seen.insert(ids.begin(), ids.end());
    plan.on_page(*next, 150, ids);  // the server under-reports
  }
  EXPECT_TRUE(plan.complete());
  EXPECT_EQ(seen.size(), 300u);
}

TEST(walk_plan, total_beyond_offset_reach_is_an_error) {
  walk_plan plan(200);
  ASSERT_EQ(plan.next_request(), 0);
  plan.on_page(0, 2'000'201, std::vector<std::uint64_t>(200, 7));
  EXPECT_TRUE(plan.exceeds_offset_limit());
  EXPECT_TRUE(plan.finished());
  EXPECT_FALSE(plan.complete());
}

TEST(walk_plan, stop_after_first_page) {
  walk_plan plan(10);
  ASSERT_EQ(plan.next_request(), 0);
  plan.stop_after_first_page();
  plan.on_page(0, 100, std::vector<std::uint64_t>(10, 3));
  EXPECT_FALSE(plan.next_request());
  EXPECT_TRUE(plan.finished());
  EXPECT_FALSE(plan.complete());
}

}  // namespace
}  // namespace hssjw
