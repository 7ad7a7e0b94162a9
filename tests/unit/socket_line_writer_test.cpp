// The events socket's line writer driven with scripted write results: a
// kernel that takes any number of bytes of each write. Whatever it takes,
// the client receives whole lines in order, a write never stops inside a
// line unless the kernel cut it, a cut line is finished first (also by
// the last line before closing), and the cursor names the last line the
// client got any of.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "sinks/line_writer.hpp"

namespace hssjw {
namespace {

// What the client has received, and the scripted kernel: one write takes
// at most `n` bytes of the gathered buffers, in order.
struct client {
  std::string received;

  std::size_t take(const line_writer& w, std::size_t n) {
    std::size_t taken = 0;
    for (const auto& b : w.buffers()) {
      const auto part = std::min(n - taken, b.iov_len);
      received.append(static_cast<const char*>(b.iov_base), part);
      taken += part;
      if (taken == n) break;
    }
    return taken;
  }
};

std::string gathered(const line_writer& w) {
  std::string out;
  for (const auto& b : w.buffers()) out.append(static_cast<const char*>(b.iov_base), b.iov_len);
  return out;
}

// Event lines seq 1..n, each "e<seq> <padding>\n".
std::vector<std::string> event_lines(std::size_t n, std::size_t padding = 10) {
  std::vector<std::string> out;
  for (std::size_t i = 1; i <= n; ++i)
    out.push_back("e" + std::to_string(i) + " " + std::string(padding, 'x') + "\n");
  return out;
}

// One stream step as the session does it: what the writer holds, then the
// event lines after `cursor` while they fit.
std::uint64_t gather(line_writer& w, const std::vector<std::string>& lines, std::uint64_t cursor) {
  w.begin();
  std::uint64_t examined = cursor;
  if (!w.takes_lines()) return examined;
  while (examined < lines.size() && w.has_room()) {
    if (!w.add_line(examined + 1, lines[examined])) break;
    ++examined;
    if (w.full()) break;
  }
  return examined;
}

TEST(line_writer, chunk_is_half_the_send_buffer_less_room_for_an_error_line_within_bounds) {
  EXPECT_EQ(write_chunk_for(0), 32u * 1024) << "unknown";
  EXPECT_EQ(write_chunk_for(-1), 32u * 1024);
  EXPECT_EQ(write_chunk_for(212992), 32u * 1024) << "Linux's default: at most 32 KiB";
  EXPECT_EQ(write_chunk_for(40000), 20000u - 8192);
  EXPECT_EQ(write_chunk_for(16384), 4u * 1024) << "never below 4 KiB";
}

TEST(line_writer, held_bytes_go_out_a_chunk_of_whole_lines_at_a_time) {
  line_writer w(100);
  std::string all;
  for (int i = 0; i < 10; ++i) all += std::string(29, 'a' + i) + "\n";  // 30-byte lines
  w.append(all);
  client c;
  for (int i = 0; i < 3; ++i) {
    w.begin();
    const auto write = gathered(w);
    EXPECT_EQ(write.size(), 90u) << "three whole lines of 30 fit in 100";
    EXPECT_FALSE(w.takes_lines()) << "more is held: no event line may jump ahead of it";
    w.account(c.take(w, write.size()), 0, 0);
  }
  w.begin();
  EXPECT_EQ(gathered(w).size(), 30u);
  EXPECT_TRUE(w.takes_lines());
  w.account(c.take(w, 30), 0, 0);
  EXPECT_EQ(c.received, all);
  EXPECT_EQ(w.unsent(), 0u);
}

TEST(line_writer, a_line_longer_than_the_chunk_goes_whole) {
  line_writer w(16);
  const std::string long_line = std::string(40, 'l') + "\n";
  w.append(long_line + "short\n");
  w.begin();
  EXPECT_EQ(gathered(w), long_line);
  client c;
  w.account(c.take(w, long_line.size()), 0, 0);

  // An event line longer than the chunk also goes whole, alone.
  const std::vector<std::string> lines{std::string(30, 'e') + "\n", "e2\n"};
  line_writer events(16);
  EXPECT_EQ(gather(events, lines, 0), 1u);
  EXPECT_EQ(gathered(events), lines[0]);
  EXPECT_TRUE(events.full());
}

TEST(line_writer, event_lines_follow_the_held_bytes_up_to_the_chunk) {
  line_writer w(64);
  w.append("hello\n");
  const auto lines = event_lines(10, 10);  // 14 bytes each for seq < 10
  const auto examined = gather(w, lines, 0);
  EXPECT_EQ(examined, 4u) << "6 + 4 x 14 = 62 fits in 64, a fifth line does not";
  EXPECT_EQ(gathered(w), "hello\n" + lines[0] + lines[1] + lines[2] + lines[3]);
  EXPECT_FALSE(w.add_line(5, lines[4])) << "refused, nothing added";
  EXPECT_EQ(gathered(w).size(), 62u);
  client c;
  EXPECT_EQ(w.account(c.take(w, 62), 0, examined), 4u);
  EXPECT_EQ(w.unsent(), 0u);
}

TEST(line_writer, adjacent_lines_of_one_buffer_are_one_iovec) {
  const std::string block = "a1\na2\na3\n";
  const std::string other = "b4\n";
  const std::string_view v(block);
  line_writer w(1024);
  w.begin();
  ASSERT_TRUE(w.add_line(1, v.substr(0, 3)));
  ASSERT_TRUE(w.add_line(2, v.substr(3, 3)));
  ASSERT_TRUE(w.add_line(3, v.substr(6, 3)));
  ASSERT_TRUE(w.add_line(4, other));
  ASSERT_EQ(w.buffers().size(), 2u);
  EXPECT_EQ(w.buffers()[0].iov_len, 9u);
  EXPECT_EQ(gathered(w), block + other);
}

TEST(line_writer, the_write_stops_at_the_buffer_bound) {
  line_writer w(1u << 20);
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < line_writer::max_buffers + 5; ++i) lines.push_back("x\n");
  EXPECT_EQ(gather(w, lines, 0), line_writer::max_buffers);
  EXPECT_FALSE(w.has_room());
}

TEST(line_writer, a_write_cut_in_the_held_bytes_takes_no_event_line) {
  line_writer w(1024);
  w.append("status line\n");
  const auto lines = event_lines(3);
  const auto examined = gather(w, lines, 0);
  ASSERT_EQ(examined, 3u);
  client c;
  EXPECT_EQ(w.account(c.take(w, 5), 0, examined), 0u) << "the cursor stays";
  EXPECT_EQ(w.unsent(), 7u);
  // Cut off now: the rest of the line, then the final line.
  EXPECT_EQ(w.final_bytes("{\"type\":\"error\"}\n"), "s line\n{\"type\":\"error\"}\n");
  // Or on: the rest goes first, then the lines again.
  EXPECT_EQ(gather(w, lines, 0), 3u);
  EXPECT_EQ(gathered(w), "s line\n" + lines[0] + lines[1] + lines[2]);
}

TEST(line_writer, a_write_cut_in_an_event_line_sends_its_rest_first) {
  line_writer w(1024);
  const auto lines = event_lines(3);
  const auto size = lines[0].size();
  auto examined = gather(w, lines, 0);
  client c;
  auto cursor = w.account(c.take(w, size + 4), 0, examined);
  EXPECT_EQ(cursor, 2u) << "the client has part of line 2: it is given";
  EXPECT_EQ(w.unsent(), size - 4) << "its rest is copied";
  EXPECT_EQ(w.final_bytes("bye\n"), lines[1].substr(4) + "bye\n");
  examined = gather(w, lines, cursor);
  EXPECT_EQ(gathered(w), lines[1].substr(4) + lines[2]);
  cursor = w.account(c.take(w, 1024), cursor, examined);
  EXPECT_EQ(cursor, 3u);
  EXPECT_EQ(c.received, lines[0] + lines[1] + lines[2]);
  EXPECT_EQ(w.final_bytes("bye\n"), "bye\n") << "nothing cut";
}

TEST(line_writer, a_write_ending_on_a_line_boundary_gives_the_lines_before_it) {
  line_writer w(1024);
  const auto lines = event_lines(3);
  const auto examined = gather(w, lines, 0);
  client c;
  EXPECT_EQ(w.account(c.take(w, lines[0].size()), 0, examined), 1u);
  EXPECT_EQ(w.unsent(), 0u) << "no part of line 2 was taken: nothing copied";
  EXPECT_EQ(w.final_bytes("bye\n"), "bye\n");
}

TEST(line_writer, a_whole_write_moves_the_cursor_past_lines_examined_beyond_the_last_taken) {
  line_writer w(1024);
  w.begin();
  const std::string line = "e3\n";
  ASSERT_TRUE(w.add_line(3, line));
  client c;
  // Lines 4..9 were examined and filtered away: the client is past them.
  EXPECT_EQ(w.account(c.take(w, 3), 0, 9), 9u);
}

TEST(line_writer, any_sequence_of_partial_writes_delivers_the_stream_whole_and_in_order) {
  std::mt19937 rng(13);
  for (int round = 0; round < 200; ++round) {
    line_writer w(std::uniform_int_distribution<std::size_t>(16, 200)(rng));
    const auto lines = event_lines(50, std::uniform_int_distribution<std::size_t>(0, 60)(rng));
    std::string expected = "hello\n";
    for (const auto& l : lines) expected += l;
    w.append("hello\n");
    client c;
    std::uint64_t cursor = 0;
    for (int guard = 0; guard < 100000 && (cursor < lines.size() || w.unsent() > 0); ++guard) {
      const auto examined = gather(w, lines, cursor);
      const auto size = gathered(w).size();
      ASSERT_GT(size, 0u);
      // Nothing, a part, or all of it, as a kernel may.
      const auto n = std::uniform_int_distribution<std::size_t>(0, size)(rng);
      cursor = w.account(c.take(w, n), cursor, examined);
      // The cursor never runs ahead of what the client has begun to get.
      const auto begun =
          static_cast<std::size_t>(std::count(c.received.begin(), c.received.end(), '\n') - 1 +
                                   (c.received.empty() || c.received.back() == '\n' ? 0 : 1));
      ASSERT_EQ(cursor, c.received.size() <= 6 ? 0u : begun) << round;
    }
    EXPECT_EQ(c.received, expected) << round;
    EXPECT_EQ(cursor, lines.size());
  }
}

}  // namespace
}  // namespace hssjw
