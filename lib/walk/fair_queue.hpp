// The fairness of the request gate as plain logic: items wait in one FIFO
// queue per scope, and the scopes take turns (round-robin in name order,
// starting after the scope served last), so a scope with a hundred pages
// waiting cannot starve one with a single page. No timers and no clock:
// the gate (walk/request_gate.hpp) decides *when* to grant, this decides
// *whom*; tests drive it step by step.
#pragma once

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace hssjw {

template <class T>
class fair_queue {
 public:
  void push(const std::string& scope, T item) { queues_[scope].push_back(std::move(item)); }

  // The next item in turn: the front of the first scope after the one
  // served last (in name order, wrapping around); nullopt when empty.
  std::optional<T> pop() {
    if (queues_.empty()) return std::nullopt;
    auto it = queues_.upper_bound(last_scope_);
    if (it == queues_.end()) it = queues_.begin();
    last_scope_ = it->first;
    T item = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty()) queues_.erase(it);
    return item;
  }

  // Withdraws a waiting item (its waiter gave up); the turn is unchanged.
  void erase(const std::string& scope, const T& item) {
    auto it = queues_.find(scope);
    if (it == queues_.end()) return;
    auto& q = it->second;
    q.erase(std::remove(q.begin(), q.end(), item), q.end());
    if (q.empty()) queues_.erase(it);
  }

  bool empty() const { return queues_.empty(); }

 private:
  std::map<std::string, std::deque<T>> queues_;  // never holds an empty queue
  std::string last_scope_;                       // whose turn it was last
};

}  // namespace hssjw
