// One events-socket client's protocol decisions, step by step with time
// as an input: the hello and the busy refusal, the request, where a watch
// starts or why it cannot, the scope_status lines kept for a slow client,
// what the stream does next, when a bookmark is due, when a snapshot read
// is too slow, and the words of each cut-off.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sinks/session_protocol.hpp"

namespace hssjw {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using clock_type = session_protocol::clock;

const clock_type::time_point t0{std::chrono::hours(1)};

config::socket_config settings() {
  config::socket_config c;
  c.max_clients = 3;
  c.stall_timeout = 2000ms;
  c.bookmark_interval = 500ms;
  return c;
}

std::vector<json::object> lines_of(const std::string& text) {
  std::vector<json::object> out;
  std::size_t from = 0;
  for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', from)) {
    out.push_back(json::parse(text.substr(from, nl - from)).as_object());
    from = nl + 1;
  }
  EXPECT_EQ(from, text.size()) << "ends with a whole line";
  return out;
}

proto::request request_of(session_protocol& p, std::string_view line) {
  auto r = p.on_request(line);
  EXPECT_TRUE(r.request) << r.refusal;
  return r.request.value_or(proto::request{});
}

change_event event(std::string cluster) {
  change_event e;
  e.seq = 4;
  e.scope = {"p1", "all_granted_eps", ""};
  e.key = {std::move(cluster), "ns", "job"};
  e.job = R"({"name":"job"})";
  return e;
}

TEST(session_protocol, greets_with_the_journal_bounds_and_refuses_a_client_beyond_max_clients) {
  const session_protocol p(settings(), t0);
  auto welcome = lines_of(p.greeting("hss-jobwatch/1.0", 42, 7, false));
  ASSERT_EQ(welcome.size(), 1u);
  EXPECT_EQ(welcome[0].at("type"), "hello");
  EXPECT_EQ(welcome[0].at("seq"), 42);
  EXPECT_EQ(welcome[0].at("oldest_seq"), 7);

  auto busy = lines_of(p.greeting("hss-jobwatch/1.0", 42, 7, true));
  ASSERT_EQ(busy.size(), 2u);
  EXPECT_EQ(busy[0].at("type"), "hello");
  EXPECT_EQ(busy[1].at("type"), "error");
  EXPECT_EQ(busy[1].at("code"), "busy");
  EXPECT_EQ(busy[1].at("message"), "too many clients (socket.max_clients 3); try again later");
}

TEST(session_protocol, a_bad_request_is_refused_with_its_reason_and_a_good_one_keeps_its_filter) {
  session_protocol p(settings(), t0);
  auto bad = p.on_request("{\"op\":\"dance\"}");
  EXPECT_FALSE(bad.request);
  auto refusal = lines_of(bad.refusal);
  ASSERT_EQ(refusal.size(), 1u);
  EXPECT_EQ(refusal[0].at("code"), "bad_request");

  EXPECT_FALSE(p.filtered());
  const auto r = request_of(p, R"({"op":"list","filter":{"cluster":"c1"}})");
  EXPECT_EQ(r.operation, proto::op::list);
  EXPECT_TRUE(p.filtered());
  EXPECT_TRUE(p.wants(proto::meta_of(event("c1"))));
  EXPECT_FALSE(p.wants(proto::meta_of(event("c2"))));

  EXPECT_EQ(lines_of(p.request_timeout_line())[0].at("message"), "no request line within 2000 ms");
  EXPECT_EQ(lines_of(session_protocol::request_too_long_line())[0].at("message"),
            "request line longer than 64 KiB");
}

TEST(session_protocol, a_live_watch_starts_after_the_hello_and_since_where_asked) {
  session_protocol live(settings(), t0);
  EXPECT_FALSE(live.start_watch(request_of(live, R"({"op":"watch"})"), 42, 7, 45));
  EXPECT_EQ(live.cursor(), 42u) << "events with seq > the hello's seq";

  session_protocol since(settings(), t0);
  EXPECT_FALSE(since.start_watch(request_of(since, R"({"op":"watch","since":6})"), 42, 7, 45));
  EXPECT_EQ(since.cursor(), 6u) << "since = oldest - 1: every event still in the journal";

  session_protocol last(settings(), t0);
  EXPECT_FALSE(last.start_watch(request_of(last, R"({"op":"watch","since":45})"), 42, 7, 45));
  EXPECT_EQ(last.cursor(), 45u);
}

TEST(session_protocol, a_watch_the_journal_cannot_serve_is_gone) {
  session_protocol pruned(settings(), t0);
  auto gone = pruned.start_watch(request_of(pruned, R"({"op":"watch","since":5})"), 42, 7, 45);
  ASSERT_TRUE(gone);
  auto line = lines_of(*gone);
  EXPECT_EQ(line[0].at("code"), "gone");
  EXPECT_EQ(line[0].at("oldest_seq"), 7);
  EXPECT_EQ(line[0].at("message"),
            "events after seq 5 are no longer in the journal (oldest is 7); resynchronise "
            "with sync");

  session_protocol ahead(settings(), t0);
  gone = ahead.start_watch(request_of(ahead, R"({"op":"watch","since":46})"), 42, 7, 45);
  ASSERT_TRUE(gone);
  EXPECT_EQ(lines_of(*gone)[0].at("message"),
            "seq 46 is beyond the last seq 45 (was the state reset?); resynchronise with sync");

  EXPECT_EQ(lines_of(session_protocol::pruned_line(9, 3))[0].at("message"),
            "events after seq 3 were pruned from the journal before this client read them; "
            "resynchronise with sync");
}

TEST(session_protocol, scope_status_lines_wait_in_order_and_only_the_newest_are_kept) {
  session_protocol p(settings(), t0);
  for (std::size_t i = 0; i < session_protocol::max_pending_controls + 2; ++i)
    p.push_control("c" + std::to_string(i) + "\n");
  line_writer out;
  p.take_controls(out);
  out.begin();
  std::string sent;
  for (const auto& b : out.buffers()) sent.append(static_cast<const char*>(b.iov_base), b.iov_len);
  EXPECT_EQ(sent.substr(0, 3), "c2\n") << "the two oldest were dropped";
  EXPECT_EQ(out.unsent(), sent.size());
  line_writer again;
  p.take_controls(again);
  EXPECT_EQ(again.unsent(), 0u) << "taken once";
}

TEST(session_protocol, the_stream_writes_what_is_due_waits_when_caught_up_and_yields_long_skips) {
  session_protocol p(settings(), t0);
  p.set_cursor(10);
  using next = session_protocol::next;
  EXPECT_EQ(p.next_step(false, 0, 10), next::wait) << "caught up, nothing held";
  EXPECT_EQ(p.next_step(false, 0, 12), next::write) << "behind";
  EXPECT_EQ(p.next_step(false, 5, 10), next::write) << "a control or bookmark held";
  EXPECT_EQ(p.next_step(true, 0, 3000), next::yield) << "a long run filtered away";
  EXPECT_EQ(p.next_step(true, 5, 3000), next::write) << "held bytes go first";
}

TEST(session_protocol, a_bookmark_is_due_a_bookmark_interval_after_the_last_write) {
  session_protocol p(settings(), t0);
  EXPECT_EQ(p.bookmark_due(), t0 + 500ms);
  p.on_traffic(t0 + 300ms);
  EXPECT_EQ(p.bookmark_due(), t0 + 800ms);
  p.set_cursor(77);
  auto b = lines_of(p.bookmark_line());
  EXPECT_EQ(b[0].at("type"), "bookmark");
  EXPECT_EQ(b[0].at("seq"), 77);
}

TEST(session_protocol, a_snapshot_is_cut_off_only_past_ten_stall_timeouts) {
  session_protocol p(settings(), t0);
  EXPECT_EQ(p.snapshot_limit(), 20000ms);
  EXPECT_FALSE(p.snapshot_overdue(t0, t0 + 20000ms));
  EXPECT_TRUE(p.snapshot_overdue(t0, t0 + 20001ms));
  EXPECT_EQ(p.snapshot_too_slow_text(),
            "the client took more than 20000 ms to read the current state (list/sync); ask again");
  p.snapshot_at(31);
  EXPECT_EQ(p.cursor(), 31u) << "a sync continues from the snapshot's seq";
}

TEST(session_protocol, overflow_says_how_long_nothing_was_taken_and_how_to_resume) {
  const session_protocol p(settings(), t0);
  auto line = lines_of(p.overflow_line());
  EXPECT_EQ(line[0].at("code"), "overflow");
  EXPECT_EQ(line[0].at("message"),
            "the client accepted nothing for 2000 ms while events waited; reconnect with since = "
            "the last seq received");
}

TEST(session_protocol, the_filter_uses_the_ring_view_or_reads_the_journal_line) {
  session_protocol all(settings(), t0);
  const auto line = to_json_line(event("c1")) + "\n";
  EXPECT_TRUE(all.wanted({line, nullptr}));
  EXPECT_TRUE(all.wanted({"not json\n", nullptr})) << "no filter: nothing is parsed";

  session_protocol c1(settings(), t0);
  request_of(c1, R"({"op":"watch","filter":{"cluster":"c1"}})");
  EXPECT_TRUE(c1.wanted({line, nullptr}));
  const auto other = to_json_line(event("c2")) + "\n";
  EXPECT_FALSE(c1.wanted({other, nullptr}));
  const auto meta = proto::meta_of(event("c1"));
  EXPECT_TRUE(c1.wanted({other, &meta})) << "the ring's view decides when given";
  EXPECT_FALSE(c1.wanted({"not json\n", nullptr}));
}

}  // namespace
}  // namespace hssjw
