// The events socket's journal feed: the ring keeps the newest lines of
// consecutive commits within its bounds (rendering only what it keeps),
// starts over at a gap, and the batch cache keeps what some watcher still
// needs, within its bounds, newest first.
#include <gtest/gtest.h>

#include <limits>

#include "sinks/journal_feed.hpp"

namespace hssjw {
namespace {

constexpr auto nobody = std::numeric_limits<std::uint64_t>::max();

change_event event(std::uint64_t seq, bool with_line = true) {
  change_event e;
  e.seq = seq;
  e.type = event_type::added;
  e.time_ms = 1'700'000'000'000;
  e.scope = {"p1", "all_granted_eps", ""};
  e.key = {"c1", "ns", "job-" + std::to_string(seq)};
  e.job = R"({"name":"job"})";
  if (with_line) e.line = to_json_line(e);
  return e;
}

std::vector<change_event> events(std::uint64_t first, std::uint64_t last, bool with_line = true) {
  std::vector<change_event> out;
  for (auto s = first; s <= last; ++s) out.push_back(event(s, with_line));
  return out;
}

std::vector<journal_entry> rows(std::uint64_t first, std::uint64_t last) {
  std::vector<journal_entry> out;
  for (auto s = first; s <= last; ++s) out.push_back({s, "line " + std::to_string(s)});
  return out;
}

TEST(journal_feed, ring_serves_the_lines_of_consecutive_commits_with_their_filter_view) {
  journal_feed feed;
  feed.remember(events(1, 3));
  feed.remember(events(4, 5));
  EXPECT_EQ(feed.ring_entries(), 5u);
  for (std::uint64_t s = 1; s <= 5; ++s) {
    const auto v = feed.ring_line(s);
    EXPECT_EQ(v.line, event(s).line + "\n");
    ASSERT_NE(v.meta, nullptr);
    EXPECT_EQ(v.meta->name, "job-" + std::to_string(s));
  }
  EXPECT_TRUE(feed.ring_line(0).line.empty());
  EXPECT_TRUE(feed.ring_line(6).line.empty());
  feed.remember({});
  EXPECT_EQ(feed.ring_entries(), 5u) << "an empty commit changes nothing";
}

TEST(journal_feed, a_commit_without_lines_is_rendered_as_the_journal_has_it) {
  journal_feed feed;
  feed.remember(events(1, 2, false));  // a big commit keeps no lines
  EXPECT_EQ(feed.ring_line(2).line, to_json_line(event(2)) + "\n");
}

TEST(journal_feed, a_gap_in_seqs_starts_the_ring_over) {
  journal_feed feed;
  feed.remember(events(1, 3));
  feed.remember(events(10, 11));  // e.g. commits not seen by the socket
  EXPECT_EQ(feed.ring_entries(), 2u);
  EXPECT_TRUE(feed.ring_line(3).line.empty());
  EXPECT_FALSE(feed.ring_line(10).line.empty());
}

TEST(journal_feed, ring_drops_the_oldest_beyond_its_entries_and_bytes) {
  journal_feed by_count(feed_limits{3, 1u << 20, 16, 1u << 20});
  by_count.remember(events(1, 2));
  by_count.remember(events(3, 5));
  EXPECT_EQ(by_count.ring_entries(), 3u);
  EXPECT_TRUE(by_count.ring_line(2).line.empty());
  EXPECT_FALSE(by_count.ring_line(3).line.empty());

  const auto line_bytes = event(1).line.size() + 1;  // same size for seqs 1..9
  journal_feed by_bytes(feed_limits{100, 2 * line_bytes + 1, 16, 1u << 20});
  by_bytes.remember(events(1, 4));
  EXPECT_EQ(by_bytes.ring_entries(), 2u);
  EXPECT_EQ(by_bytes.ring_bytes(), 2 * line_bytes);
  EXPECT_FALSE(by_bytes.ring_line(3).line.empty());
}

TEST(journal_feed, a_commit_larger_than_the_ring_keeps_only_its_tail) {
  journal_feed feed(feed_limits{3, 1u << 20, 16, 1u << 20});
  feed.remember(events(1, 2));
  feed.remember(events(3, 10, false));
  EXPECT_EQ(feed.ring_entries(), 3u);
  EXPECT_TRUE(feed.ring_line(7).line.empty());
  EXPECT_EQ(feed.ring_line(8).line, to_json_line(event(8)) + "\n");
  EXPECT_EQ(feed.ring_bytes(),
            event(8).line.size() + event(9).line.size() + event(10).line.size() + 3);
}

TEST(journal_feed, a_batch_holds_consecutive_rows_and_ends_at_a_gap) {
  auto b = make_journal_batch(4, rows(5, 7));
  EXPECT_EQ(b->first, 5u);
  EXPECT_EQ(b->last, 7u);
  EXPECT_EQ(b->text, "line 5\nline 6\nline 7\n");
  EXPECT_EQ(b->line(6), "line 6\n");
  EXPECT_EQ(b->line(7), "line 7\n");

  auto gap = rows(5, 6);
  gap.push_back({9, "line 9"});
  auto cut = make_journal_batch(4, gap);
  EXPECT_EQ(cut->last, 6u) << "the next read reports the gap";
  EXPECT_EQ(cut->text, "line 5\nline 6\n");
}

TEST(journal_feed, cache_finds_the_batch_holding_a_seq) {
  journal_feed feed;
  feed.keep_batch(make_journal_batch(0, rows(1, 10)), 0);
  feed.keep_batch(make_journal_batch(10, rows(11, 20)), 0);
  EXPECT_EQ(feed.cached_batch(1)->first, 1u);
  EXPECT_EQ(feed.cached_batch(15)->first, 11u);
  EXPECT_EQ(feed.cached_batch(20)->first, 11u);
  EXPECT_EQ(feed.cached_batch(21), nullptr);
  EXPECT_EQ(feed.cached_batch(0), nullptr);
}

TEST(journal_feed, cache_drops_batches_every_watcher_has_passed) {
  journal_feed feed;
  feed.keep_batch(make_journal_batch(0, rows(1, 10)), 0);
  feed.keep_batch(make_journal_batch(10, rows(11, 20)), 5);
  EXPECT_EQ(feed.cached_batches(), 2u) << "a watcher at 5 still needs 6..10";
  // The lowest watcher is at 10 now: nobody needs 1..10.
  feed.keep_batch(make_journal_batch(20, rows(21, 30)), 10);
  EXPECT_EQ(feed.cached_batches(), 2u);
  EXPECT_EQ(feed.cached_batch(5), nullptr);
  EXPECT_NE(feed.cached_batch(15), nullptr);
  // The client that read the new batch counts as a watcher at its start.
  feed.keep_batch(make_journal_batch(30, rows(31, 40)), nobody);
  EXPECT_EQ(feed.cached_batches(), 1u) << "a lone client catching up holds one batch";
  EXPECT_NE(feed.cached_batch(35), nullptr);
}

TEST(journal_feed, cache_stays_within_its_count_and_bytes_but_keeps_the_newest) {
  journal_feed by_count(feed_limits{4096, 8u << 20, 2, 1u << 20});
  for (std::uint64_t i = 0; i < 4; ++i)
    by_count.keep_batch(make_journal_batch(i * 10, rows(i * 10 + 1, i * 10 + 10)), 0);
  EXPECT_EQ(by_count.cached_batches(), 2u);
  EXPECT_EQ(by_count.cached_batch(5), nullptr);
  EXPECT_NE(by_count.cached_batch(35), nullptr);

  journal_feed by_bytes(feed_limits{4096, 8u << 20, 16, 10});
  by_bytes.keep_batch(make_journal_batch(0, rows(1, 10)), 0);
  by_bytes.keep_batch(make_journal_batch(10, rows(11, 20)), 0);
  EXPECT_EQ(by_bytes.cached_batches(), 1u) << "over its bytes, but the newest stays";
  EXPECT_NE(by_bytes.cached_batch(15), nullptr);
  EXPECT_EQ(by_bytes.cached_bytes(), by_bytes.cached_batch(15)->text.size());
}

}  // namespace
}  // namespace hssjw
