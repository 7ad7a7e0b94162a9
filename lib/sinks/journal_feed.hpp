// The journal feed of the events socket: the shared buffers every
// subscriber reads its lines from, so that a line is rendered or read once
// for all of them. A ring of the lines of the recent commits (rendered once
// at commit) and a small cache of journal batches (read once from the
// store by the client that got there first). Plain data and decisions, no
// I/O: socket_server reads the store and hands the rows in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/event.hpp"
#include "protocol/socket_protocol.hpp"
#include "state/store.hpp"

namespace hssjw {

// The lines of one commit (the tail that the ring keeps), back to back,
// each with its '\n': the bytes every client is sent.
using line_block = std::shared_ptr<const std::string>;

struct ring_entry {
  std::uint64_t seq = 0;
  proto::event_meta meta;
  line_block block;       // holds the line
  std::string_view line;  // with its '\n', inside *block
};

// Consecutive journal rows as read once from the store, shared by every
// client that reads past them: the lines back to back, each with its
// '\n', so that a client's run of them is one buffer to write.
struct journal_batch {
  std::uint64_t first = 0, last = 0;
  std::string text;
  // line i is text[starts[i], starts[i + 1]) (the end of text for the last)
  std::vector<std::size_t> starts;
  std::string_view line(std::uint64_t seq) const {
    const auto i = static_cast<std::size_t>(seq - first);
    const auto end = i + 1 < starts.size() ? starts[i + 1] : text.size();
    return std::string_view(text).substr(starts[i], end - starts[i]);
  }
};

// The batch of the rows after `after`, as far as their seqs are
// consecutive from after + 1 (a gap ends it: the next read reports it).
// `entries` must start at after + 1.
std::shared_ptr<const journal_batch> make_journal_batch(std::uint64_t after,
                                                        const std::vector<journal_entry>& entries);

// One line to send, with its '\n', and from the ring its filter view (a
// journal line is parsed only for a client with a filter). Empty when no
// shared buffer holds the line.
struct line_view {
  std::string_view line;
  const proto::event_meta* meta = nullptr;
};

struct feed_limits {
  std::size_t ring_max_entries = 4096;  // recent lines rendered once for all
  std::size_t ring_max_bytes = 8u << 20;
  std::size_t batch_cache_max = 16;  // journal batches shared by the clients
  std::size_t batch_cache_bytes = 2u << 20;
};

class journal_feed {
 public:
  explicit journal_feed(feed_limits limits = {}) : limits_(limits) {}

  // A commit's events, stamped with their seqs: their lines join the ring
  // (only the tail that it keeps is rendered). Events that do not follow
  // the ring's last seq start it over.
  void remember(const std::vector<change_event>& events);
  // The ring's line of `seq`; empty when the ring does not hold it.
  line_view ring_line(std::uint64_t seq) const;

  // A cached batch holding `seq`, the newest first; null when none does.
  std::shared_ptr<const journal_batch> cached_batch(std::uint64_t seq) const;
  // Caches a batch just read by a client. `lowest` is the lowest cursor
  // of the watchers (the last seq each was given; the maximum when none
  // watches): batches all of them have passed go first.
  void keep_batch(std::shared_ptr<const journal_batch> b, std::uint64_t lowest);

  std::size_t ring_entries() const { return ring_.size(); }
  std::size_t ring_bytes() const { return ring_bytes_; }
  std::size_t cached_batches() const { return batches_.size(); }
  std::size_t cached_bytes() const { return batches_bytes_; }

 private:
  feed_limits limits_;
  std::deque<ring_entry> ring_;  // consecutive seqs, the newest last
  std::size_t ring_bytes_ = 0;
  // recently read, the newest last
  std::deque<std::shared_ptr<const journal_batch>> batches_;
  std::size_t batches_bytes_ = 0;
};

}  // namespace hssjw
