// The SQLite store (synchronous=FULL, WAL) under the daemon's write and
// read shapes: a baseline of N jobs, commits of 10k changes (rows + events
// in one transaction) against a store holding 100k jobs, and journal replay
// in the socket server's batch size (200 entries per read_journal).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <random>

#include "micro_support.hpp"
#include "state/sqlite_store.hpp"

namespace hssjw::bench {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t store_jobs = 100'000;
constexpr std::size_t changes = 10'000;

struct temp_store {
  fs::path dir;
  std::unique_ptr<sqlite_store> store;

  temp_store() {
    dir = fs::temp_directory_path() / ("hssjw-bench-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir);
    auto opened = open_sqlite_store(dir.string());
    if (!opened) throw std::runtime_error("cannot open store: " + opened.error().message());
    store = std::move(*opened);
  }
  ~temp_store() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// What the daemon commits for a walk: the delta and its events, from
// diff_scope, with the previous bodies read from `store` as the daemon
// does (none for a baseline).
diff_outcome walk_diff(const scope_state& prev, std::vector<keyed_job> seen,
                       state_store* store = nullptr) {
  walk_observation obs;
  obs.complete = true;
  obs.total_num = static_cast<std::int64_t>(seen.size());
  obs.jobs = std::move(seen);
  const stored_job_fn body = [store](std::uint64_t key_hash,
                                     bool with_body) -> std::optional<stored_job> {
    if (!store) return std::nullopt;
    auto r = store->find_job(bench_scope, key_hash, with_body);
    return r ? std::move(*r) : std::nullopt;
  };
  return diff_scope(bench_scope, prev, obs, diff_options{}, 1'764'326'400'123, body);
}

result<void> commit(temp_store& t, diff_outcome& d) {
  return t.store->commit(bench_scope, d.delta, d.events);
}

// A first walk of N jobs: N rows and N "added" events in one transaction.
void baseline_commit(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& jobs = decoded_jobs(n);
  for (auto _ : state) {
    state.PauseTiming();
    auto t = std::make_unique<temp_store>();
    auto d = walk_diff(scope_state{}, jobs);
    state.ResumeTiming();
    if (!commit(*t, d)) state.SkipWithError("commit failed");
    state.PauseTiming();
    t.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(baseline_commit)
    ->Name("store/baseline_commit")
    ->Arg(100'000)
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// 10k modified jobs (10k rows updated, 10k journal rows) per transaction;
// successive commits flip the same jobs back and forth.
void commit_10k(benchmark::State& state) {
  const auto& jobs = decoded_jobs(store_jobs);
  temp_store t;
  scope_state cur;
  auto base = walk_diff(cur, jobs);
  if (!commit(t, base)) throw std::runtime_error("baseline commit failed");
  apply(cur, base.delta);
  const std::vector<keyed_job> versions[2] = {with_changes(jobs, store_jobs / changes), jobs};
  std::size_t i = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto d = walk_diff(cur, versions[i++ % 2], t.store.get());
    if (d.events.size() != changes) state.SkipWithError("unexpected event count");
    state.ResumeTiming();
    if (!commit(t, d)) state.SkipWithError("commit failed");
    state.PauseTiming();
    apply(cur, d.delta);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * changes));
}
BENCHMARK(commit_10k)
    ->Name("store/commit_10k_changes")
    ->Iterations(10)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// A subscriber far behind reading the journal from the start, 200 at a time.
void journal_replay(benchmark::State& state) {
  const auto& jobs = decoded_jobs(store_jobs);
  temp_store t;
  auto base = walk_diff(scope_state{}, jobs);  // 100k "added" events in the journal
  if (!commit(t, base)) throw std::runtime_error("baseline commit failed");
  std::size_t read = 0;
  for (auto _ : state) {
    std::uint64_t after = 0;
    for (;;) {
      auto batch = t.store->read_journal(after, 200);
      if (!batch || batch->empty()) break;
      after = batch->back().seq;
      read += batch->size();
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(read));
  state.counters["events_per_pass"] =
      static_cast<double>(read) / static_cast<double>(state.iterations());
}
BENCHMARK(journal_replay)
    ->Name("store/journal_replay_100k")
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace hssjw::bench
