// The walk planner's chain check and repair policy (see walk_plan.hpp).
#include "walk/walk_plan.hpp"

#include <algorithm>
#include <functional>

#include "core/hash.hpp"

namespace hssjw {

std::uint64_t listing_identity(std::uint64_t key_hash, std::optional<std::int64_t> create_time) {
  const std::uint64_t id = mix64(
      key_hash ^ (create_time ? mix64(static_cast<std::uint64_t>(*create_time)) : 0x9e3779b9ULL));
  return id == 0 ? 1 : id;  // 0 marks a rejected job
}

walk_plan::walk_plan(std::uint32_t page_size, std::uint32_t max_repairs)
    : page_size_(std::max<std::uint32_t>(page_size, 2)), max_repairs_(max_repairs) {}

std::optional<std::int64_t> walk_plan::next_request() {
  if (complete_ || gave_up_ || stopped_ || too_large_) return std::nullopt;
  std::int64_t offset;
  if (issued_ == 0) {
    offset = 0;
  } else if (!planned_.empty()) {
    offset = planned_.front();
    planned_.pop_front();
  } else {
    return std::nullopt;
  }
  ++issued_;
  outstanding_.insert(offset);
  return offset;
}

void walk_plan::on_page(std::int64_t offset, std::int64_t total_num,
                        std::vector<std::uint64_t> ids) {
  outstanding_.erase(offset);
  latest_total_ = total_num;
  if (total_num > max_offset + page_size_) {
    too_large_ = true;
    why_ = "total_num " + std::to_string(total_num) + " is beyond what offset can reach";
    return;
  }
  auto added = pages_.emplace(offset, page{total_num, std::move(ids)});
  if (total_num == 0 && added->second.ids.empty()) saw_empty_ = true;
  if (offset == 0 && !first_total_) plan_from_first(total_num);
  evaluate(added);
}

void walk_plan::plan_from_first(std::int64_t total) {
  first_total_ = total;
  const std::int64_t step = page_size_ - 1;
  const std::int64_t pages = total <= page_size_ ? 1 : (total - 1 + step - 1) / step;
  for (std::int64_t k = 1; k < pages; ++k) planned_.push_back(k * step);
}

std::uint32_t walk_plan::repair_limit() const {
  if (max_repairs_) return max_repairs_;
  const auto planned = static_cast<std::uint32_t>(first_total_.value_or(0) /
                                                  std::max<std::int64_t>(1, page_size_ - 1));
  return planned + 4;
}

bool walk_plan::links(const page& p) const {
  return std::any_of(p.ids.begin(), p.ids.end(),
                     [&](std::uint64_t id) { return id != 0 && chain_ids_.contains(id); });
}

void walk_plan::join(page_it p) {
  p->second.in_chain = true;
  for (auto id : p->second.ids)
    if (id != 0) chain_ids_.insert(id);
  if (reaches_end(p->first, p->second)) complete_ = true;
}

// A page reaches the end when it ends exactly at its total_num, or is a
// short page that runs past it. A full page past a (deflated) total, or a
// short page that ends before it, proves nothing: the walk asks further.
bool walk_plan::reaches_end(std::int64_t offset, const page& p) const {
  const auto count = static_cast<std::int64_t>(p.ids.size());
  if (count == 0) return false;
  const std::int64_t end = offset + count;
  return end == p.total || (end > p.total && count < page_size_);
}

// Called once per page, so each step is proportional to that page (plus
// the pages that did not link yet, which only a shifting list leaves).
void walk_plan::evaluate(page_it added) {
  if (complete_ || gave_up_ || stopped_ || too_large_) return;
  if (!chain_started_ && added->first == 0) {  // the first page at offset 0 starts the chain
    chain_started_ = true;
    join(added);
  } else if (chain_started_ && links(added->second)) {
    join(added);
  } else {
    loose_.push_back(added);
    if (!chain_started_) return;
  }
  // A page that joined may link pages that came before it.
  for (bool grew = true; grew;) {
    grew = false;
    for (auto it = loose_.begin(); it != loose_.end();) {
      if (!links((*it)->second)) {
        ++it;
        continue;
      }
      join(*it);
      it = loose_.erase(it);
      grew = true;
    }
  }
  if (saw_empty_) complete_ = true;  // the list was empty at that moment
  if (complete_) return;
  if (!planned_.empty() || !outstanding_.empty()) return;  // wait for the planned pages
  // The chain's frontier: the chain page that ends last (the first such in
  // offset order); a gap is a page beyond it that did not link.
  const std::pair<const std::int64_t, page>* frontier = nullptr;
  std::int64_t frontier_end = -1;
  for (const auto& entry : pages_) {
    if (!entry.second.in_chain) continue;
    const std::int64_t end = entry.first + static_cast<std::int64_t>(entry.second.ids.size());
    if (end > frontier_end) frontier_end = end, frontier = &entry;
  }
  bool gap = false;
  for (const auto& [offset, p] : pages_)
    if (!p.in_chain && offset > frontier->first && !p.ids.empty()) gap = true;
  request_repair(frontier->first, frontier->second, gap);
}

// Re-reads around the chain's frontier. Deletions before the frontier move
// the list left by about (frontier's total - latest total); each further
// attempt at the same frontier steps further back, up to whole pages.
void walk_plan::request_repair(std::int64_t frontier_offset, const page& frontier, bool gap) {
  if (repairs_ >= repair_limit()) {
    gave_up_ = true;
    why_ = "list kept shifting: " + std::to_string(repairs_) +
           " repair requests did not link the pages from offset " +
           std::to_string(frontier_offset) + " to the end";
    return;
  }
  attempts_at_frontier_ = frontier_offset == last_frontier_ ? attempts_at_frontier_ + 1 : 1;
  last_frontier_ = frontier_offset;
  const std::int64_t step = page_size_ - 1;
  const std::int64_t deleted = std::max<std::int64_t>(0, frontier.total - latest_total_);
  std::int64_t margin = 0;
  switch (attempts_at_frontier_) {
    case 1:
      margin = gap ? 1 : 0;
      break;
    case 2:
      margin = std::max<std::int64_t>(1, step / 4);
      break;
    case 3:
      margin = std::max<std::int64_t>(1, step / 2);
      break;
    default:
      margin = step * (attempts_at_frontier_ - 3);
      break;
  }
  const std::int64_t end = frontier_offset + static_cast<std::int64_t>(frontier.ids.size());
  const std::int64_t offset = std::clamp<std::int64_t>(end - 1 - deleted - margin, 0, max_offset);
  ++repairs_;
  planned_.push_back(offset);
}

bool walk_plan::finished() const {
  if (!outstanding_.empty()) return false;
  return complete_ || gave_up_ || stopped_ || too_large_;
}

bool walk_plan::complete() const { return complete_ && !too_large_; }

std::string walk_plan::describe() const {
  if (complete_) return "complete";
  if (!why_.empty()) return why_;
  if (stopped_) return "stopped after the first page (last_update_time unchanged)";
  return "pages do not link up";
}

}  // namespace hssjw
