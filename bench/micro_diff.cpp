// diff_scope over N jobs: a steady walk (nothing changed) and one with 1%
// of the jobs modified, the two shapes of a production poll.
#include <benchmark/benchmark.h>

#include "micro_support.hpp"

namespace hssjw::bench {
namespace {

walk_observation observation_of(std::vector<keyed_job> jobs) {
  walk_observation obs;
  obs.complete = true;
  obs.total_num = static_cast<std::int64_t>(jobs.size());
  obs.jobs = std::move(jobs);
  return obs;
}

void diff_steady(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& jobs = decoded_jobs(n);
  const scope_state prev = snapshot_of(jobs);
  const stored_job_fn bodies = bodies_of(jobs);
  const walk_observation obs = observation_of(jobs);
  diff_options opts;
  for (auto _ : state) {
    auto out = diff_scope(bench_scope, prev, obs, opts, 1, bodies);
    if (!out.events.empty()) state.SkipWithError("steady walk produced events");
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(diff_steady)
    ->Name("diff/steady")
    ->Arg(10'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond);

void diff_churn(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& jobs = decoded_jobs(n);
  const scope_state prev = snapshot_of(jobs);
  const stored_job_fn bodies = bodies_of(jobs);
  const walk_observation obs = observation_of(with_changes(jobs, 100));
  diff_options opts;
  std::size_t events = 0;
  for (auto _ : state) {
    auto out = diff_scope(bench_scope, prev, obs, opts, 1, bodies);
    if (!out.error.empty()) state.SkipWithError(out.error.c_str());
    events = out.events.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.counters["events"] = static_cast<double>(events);
}
BENCHMARK(diff_churn)
    ->Name("diff/churn_1pct")
    ->Arg(10'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hssjw::bench
