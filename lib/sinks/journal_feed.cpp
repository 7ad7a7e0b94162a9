// The journal feed: the ring of recent lines and the shared batch cache
// (journal_feed.hpp).
#include "sinks/journal_feed.hpp"

#include <algorithm>

namespace hssjw {

std::shared_ptr<const journal_batch> make_journal_batch(std::uint64_t after,
                                                        const std::vector<journal_entry>& entries) {
  auto b = std::make_shared<journal_batch>();
  b->first = after + 1;
  std::size_t bytes = 0;
  for (const auto& e : entries) bytes += e.line.size() + 1;
  b->text.reserve(bytes);
  b->starts.reserve(entries.size());
  for (const auto& e : entries) {
    if (e.seq != b->first + b->starts.size()) break;  // a gap: the next read reports it
    b->starts.push_back(b->text.size());
    b->text += e.line;
    b->text += '\n';
  }
  b->last = b->first + b->starts.size() - 1;
  return b;
}

void journal_feed::remember(const std::vector<change_event>& events) {
  if (events.empty()) return;
  if (!ring_.empty() && events.front().seq != ring_.back().seq + 1) {
    ring_.clear();
    ring_bytes_ = 0;
  }
  // Only the tail can stay; a large baseline is not rendered twice.
  const std::size_t first =
      events.size() > limits_.ring_max_entries ? events.size() - limits_.ring_max_entries : 0;
  if (first > 0) {
    ring_.clear();
    ring_bytes_ = 0;
  }
  auto text = std::make_shared<std::string>();
  std::size_t bytes = 0;
  for (std::size_t i = first; i < events.size(); ++i) {
    const auto& e = events[i];
    bytes += e.line.empty() ? 256 + e.job.size() + e.previous.size() : e.line.size() + 1;
  }
  text->reserve(bytes);
  std::string scratch;
  std::vector<std::size_t> starts;
  starts.reserve(events.size() - first);
  for (std::size_t i = first; i < events.size(); ++i) {
    starts.push_back(text->size());
    if (events[i].line.empty()) {  // a big commit keeps no lines (model/event.hpp)
      render_json_line(events[i], scratch);
      *text += scratch;
    } else {
      *text += events[i].line;  // as the store journaled it
    }
    *text += '\n';
  }
  const line_block block = text;
  const std::string_view all(*block);
  for (std::size_t i = first, k = 0; i < events.size(); ++i, ++k) {
    const auto end = k + 1 < starts.size() ? starts[k + 1] : all.size();
    ring_entry r{events[i].seq, proto::meta_of(events[i]), block,
                 all.substr(starts[k], end - starts[k])};
    ring_bytes_ += r.line.size();
    ring_.push_back(std::move(r));
  }
  while (!ring_.empty() &&
         (ring_.size() > limits_.ring_max_entries || ring_bytes_ > limits_.ring_max_bytes)) {
    ring_bytes_ -= ring_.front().line.size();
    ring_.pop_front();
  }
}

line_view journal_feed::ring_line(std::uint64_t seq) const {
  if (ring_.empty() || seq < ring_.front().seq || seq > ring_.back().seq) return {};
  const auto& r = ring_[static_cast<std::size_t>(seq - ring_.front().seq)];
  return {r.line, &r.meta};
}

std::shared_ptr<const journal_batch> journal_feed::cached_batch(std::uint64_t seq) const {
  for (auto it = batches_.rbegin(); it != batches_.rend(); ++it)
    if ((*it)->first <= seq && seq <= (*it)->last) return *it;
  return nullptr;
}

// Clients behind the ring move through the journal at about the same
// place (a burst larger than the ring): the rows one of them read serve
// the others. Kept: only batches some watcher has not passed yet, at most
// batch_cache_bytes of them (so a lone client catching up holds one
// batch); a client holds at most the batch it is in.
void journal_feed::keep_batch(std::shared_ptr<const journal_batch> b, std::uint64_t lowest) {
  lowest = std::min(lowest, b->first - 1);  // the client that read it
  std::erase_if(batches_, [&](const auto& old) {
    if (old->last > lowest) return false;
    batches_bytes_ -= old->text.size();
    return true;
  });
  batches_bytes_ += b->text.size();
  batches_.push_back(std::move(b));
  while (batches_.size() > 1 && (batches_.size() > limits_.batch_cache_max ||
                                 batches_bytes_ > limits_.batch_cache_bytes)) {
    batches_bytes_ -= batches_.front()->text.size();
    batches_.pop_front();
  }
}

}  // namespace hssjw
