// The request gate's fairness (walk/fair_queue.hpp), step by step: each
// step pushes, pops or withdraws and checks whose turn comes next.
#include "walk/fair_queue.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace hssjw {
namespace {

using queue = fair_queue<std::string>;

TEST(fair_queue, empty_queue_pops_nothing) {
  queue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.pop(), std::nullopt);
}

TEST(fair_queue, one_scope_is_first_in_first_out) {
  queue q;
  q.push("p1/c1", "a");
  q.push("p1/c1", "b");
  q.push("p1/c1", "c");
  EXPECT_EQ(q.pop(), "a");
  EXPECT_EQ(q.pop(), "b");
  EXPECT_EQ(q.pop(), "c");
  EXPECT_TRUE(q.empty());
}

// A large scope queued first still lets every other scope in after one of
// its own: the order request_gate's round_robin test sees.
TEST(fair_queue, scopes_take_turns_in_name_order) {
  queue q;
  for (int i = 0; i < 4; ++i) q.push("big", "big" + std::to_string(i));
  q.push("small", "small0");
  q.push("tiny", "tiny0");
  EXPECT_EQ(q.pop(), "big0");
  EXPECT_EQ(q.pop(), "small0");
  EXPECT_EQ(q.pop(), "tiny0");
  EXPECT_EQ(q.pop(), "big1");
  EXPECT_EQ(q.pop(), "big2");
  EXPECT_EQ(q.pop(), "big3");
  EXPECT_EQ(q.pop(), std::nullopt);
}

// The turn is a position in name order, not in arrival order: a scope that
// arrives after "b" was served but sorts before it waits for the wrap.
TEST(fair_queue, the_turn_continues_after_the_scope_served_last) {
  queue q;
  q.push("b", "b0");
  q.push("b", "b1");
  EXPECT_EQ(q.pop(), "b0");
  q.push("a", "a0");
  q.push("c", "c0");
  EXPECT_EQ(q.pop(), "c0");  // after b
  EXPECT_EQ(q.pop(), "a0");  // wrapped around
  EXPECT_EQ(q.pop(), "b1");
}

// A scope whose queue emptied keeps no place: when it comes back it is
// served in its name's turn like any other.
TEST(fair_queue, an_emptied_scope_comes_back_in_its_turn) {
  queue q;
  q.push("a", "a0");
  q.push("b", "b0");
  EXPECT_EQ(q.pop(), "a0");
  q.push("a", "a1");
  EXPECT_EQ(q.pop(), "b0");
  EXPECT_EQ(q.pop(), "a1");
  q.push("a", "a2");
  EXPECT_EQ(q.pop(), "a2");  // alone: served again at once
  EXPECT_TRUE(q.empty());
}

// A waiter that gives up (cancelled) leaves its place; the others keep
// theirs, and a scope left with nothing drops out of the turn.
TEST(fair_queue, a_withdrawn_item_leaves_the_others_in_place) {
  queue q;
  q.push("a", "a0");
  q.push("a", "a1");
  q.push("b", "b0");
  q.erase("a", "a0");
  q.erase("b", "b0");
  q.erase("c", "c0");  // nothing to withdraw
  q.erase("a", "a9");
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(q.pop(), "a1");
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.pop(), std::nullopt);
}

TEST(fair_queue, withdrawing_does_not_move_the_turn) {
  queue q;
  q.push("a", "a0");
  q.push("b", "b0");
  q.push("c", "c0");
  EXPECT_EQ(q.pop(), "a0");
  q.erase("b", "b0");
  q.push("a", "a1");
  EXPECT_EQ(q.pop(), "c0");  // still after a, b gone
  EXPECT_EQ(q.pop(), "a1");
}

}  // namespace
}  // namespace hssjw
