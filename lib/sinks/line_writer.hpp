// The line writer of one events-socket client: what is left to send and
// the next write, gathered from it and from shared event lines without a
// copy, and the accounting of what a (possibly partial) write took. A
// write ends at a line's end unless the kernel cuts it; the rest of a cut
// line is then the first thing the next write sends. Plain code over
// buffers: socket_server does the sendmsg and reports how much it took.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hssjw {

// The write size for a Unix stream socket with this send buffer (SO_SNDBUF;
// <= 0 when unknown): the largest write that a socket reporting writable
// always takes whole, leaving room for a final error line. Writable means
// at most a quarter of the send buffer is in use, and the kernel queues a
// write of up to half the send buffer in one piece while any of it is free.
std::size_t write_chunk_for(int send_buffer);

class line_writer {
 public:
  static constexpr std::size_t max_buffers = 1022;  // per write (IOV_MAX is 1024)

  explicit line_writer(std::size_t chunk = 32 * 1024) : chunk_(chunk) {}

  std::size_t chunk() const { return chunk_; }

  // Bytes that go before any event line: hello, controls, snapshot lines,
  // errors (and the rest of an event line cut by a partial write).
  void append(std::string_view lines) { out_ += lines; }
  // Of those, not written yet.
  std::size_t unsent() const { return out_.size() - out_pos_; }
  // Forgets what was written; only when nothing is unsent.
  void reset() {
    out_.clear();
    out_pos_ = 0;
  }

  // Starts a write: at most a chunk of whole lines of what is unsent (a
  // single longer line goes whole).
  void begin();
  // The write holds all that is unsent, so event lines may follow.
  bool takes_lines() const { return out_pos_ + from_out_ == out_.size(); }
  bool has_room() const { return buffers_.size() < max_buffers; }
  // Adds the line of `seq` (with its '\n'; it must stay valid until
  // account()); false, adding nothing, when it would take the write past
  // its chunk.
  bool add_line(std::uint64_t seq, std::string_view line);
  // The write has a chunk or more: add no more.
  bool full() const { return bytes_ >= chunk_; }
  bool empty() const { return buffers_.empty(); }
  const std::vector<iovec>& buffers() const { return buffers_; }

  // The write took `n` bytes: moves past them. `cursor` is the last seq
  // the client has been given and `examined` the last one looked at for
  // this write (lines the filter rejected included); returns the new
  // cursor: the last line taken whole or in part (the rest of a line cut
  // is copied to be sent first next: the only copy of an event line).
  std::uint64_t account(std::size_t n, std::uint64_t cursor, std::uint64_t examined);

  // What to send before closing: the rest of a line cut by a partial
  // write (so the client never sees half a line), then `last_line`.
  std::string final_bytes(std::string_view last_line) const;

 private:
  struct picked {  // an event line gathered into the current write
    std::uint64_t seq;
    const char* data;
    std::size_t size;
  };

  std::string_view next_chunk() const;

  std::size_t chunk_;
  // out_pos_ bytes of out_ are written; mid_line_ when the last byte
  // written was not a line's end (out_ then starts with the rest of it).
  std::string out_;
  std::size_t out_pos_ = 0;
  bool mid_line_ = false;
  // The write being prepared; reused by every write.
  std::vector<iovec> buffers_;
  std::vector<picked> picked_;
  std::size_t bytes_ = 0, from_out_ = 0;
};

}  // namespace hssjw
