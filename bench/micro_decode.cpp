// Target 4 (issue #8): decoding one 200-job page, and decoding plus diffing
// it, against Boost.JSON's own parse of the same bytes. The three run on
// the same body in the same process; run_micro.sh prints their ratio.
#include <benchmark/benchmark.h>

#include <array>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parser.hpp>
#include <memory>
#include <optional>

#include "micro_support.hpp"

#if __has_include("hss/page_hazards.hpp")
#include "hss/page_hazards.hpp"
#define HSSJW_BENCH_HAZARDS 1
#endif

namespace hssjw::bench {
namespace {

namespace json = boost::json;

const std::string& page_200() {
  static const std::string body = page_body(10'000, 4'000, 200);
  return body;
}

// The reference: json::parse into a value with the default allocator.
void json_parse(benchmark::State& state) {
  const auto& body = page_200();
  for (auto _ : state) {
    json::value v = json::parse(body);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(json_parse)->Name("page200/json_parse");

// The parse floor: a reused parser writing into a fresh arena over a
// reused first block (what page_decoder does before its own work).
void json_parse_arena(benchmark::State& state) {
  const auto& body = page_200();
  constexpr std::size_t block = 1024 * 1024;
  auto first = std::make_unique<unsigned char[]>(block);
  std::optional<json::monotonic_resource> arena;
  json::parser p;
  for (auto _ : state) {
    arena.emplace(first.get(), block);
    p.reset(json::storage_ptr(&*arena));
    boost::system::error_code ec;
    p.write(body.data(), body.size(), ec);
    if (ec) state.SkipWithError("parse failed");
    json::value v = p.release();
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(json_parse_arena)->Name("page200/json_parse_arena");

void decode(benchmark::State& state) {
  const auto& body = page_200();
  page_decoder dec(jobs_resource(), {});
  decoded_page page;
  for (auto _ : state) {
    if (!dec.decode(body, page)) state.SkipWithError("the page did not decode");
    benchmark::DoNotOptimize(page);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.counters["jobs"] = static_cast<double>(page.jobs.size());
}
BENCHMARK(decode)->Name("page200/decode");

#ifdef HSSJW_BENCH_HAZARDS
// The decoder's second pass (duplicate keys, overflowing numbers) alone.
void hazard_scan(benchmark::State& state) {
  const auto& body = page_200();
  for (auto _ : state) {
    auto h = find_page_hazards(body, "job_info_list", 32);
    benchmark::DoNotOptimize(h);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(hazard_scan)->Name("page200/hazard_scan");
#endif

// Decode, then diff the page's 200 jobs against a snapshot holding them
// unchanged: the per-page work of a steady walk, as the walker does it
// (the decoder is told the snapshot, so it renders no unchanged body).
// With `render_all`, every body is rendered (what a page of new or
// changed jobs costs).
void decode_diff(benchmark::State& state, bool render_all) {
  const auto& body = page_200();
  page_decoder dec(jobs_resource(), {});
  decoded_page page;
  if (!dec.decode(body, page)) state.SkipWithError("the page did not decode");
  scope_state prev = snapshot_of(page.jobs);
  const stored_job_fn bodies = bodies_of(page.jobs);
  walk_observation obs;
  const known_job_fn known = [&prev, &obs](std::uint64_t key_hash, const job_digest& digest) {
    return mark_if_unchanged(prev, obs.walk_number, key_hash, digest, obs.unchanged);
  };
  diff_options opts;
  for (auto _ : state) {
    obs.walk_number = prev.begin_walk();
    obs.unchanged = 0;
    if (!dec.decode(body, page, render_all ? nullptr : &known))
      state.SkipWithError("the page did not decode");
    obs.jobs = std::move(page.jobs);
    obs.complete = true;
    obs.total_num = page.total_num;
    auto out = diff_scope(bench_scope, prev, obs, opts, 1, bodies);
    if (!out.events.empty()) state.SkipWithError("steady page produced events");
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK_CAPTURE(decode_diff, steady, false)->Name("page200/decode_diff");
BENCHMARK_CAPTURE(decode_diff, rendered, true)->Name("page200/decode_diff_rendered");

}  // namespace
}  // namespace hssjw::bench
