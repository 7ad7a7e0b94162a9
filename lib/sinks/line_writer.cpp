// The line writer of an events-socket client (line_writer.hpp).
#include "sinks/line_writer.hpp"

#include <algorithm>

namespace hssjw {

namespace {
constexpr std::size_t max_write_chunk = 32 * 1024;  // at most this per write
constexpr std::size_t min_write_chunk = 4 * 1024;
}  // namespace

std::size_t write_chunk_for(int send_buffer) {
  if (send_buffer <= 0) return 32 * 1024;
  const auto half = static_cast<std::size_t>(send_buffer) / 2;
  return std::clamp<std::size_t>(half > 8192 ? half - 8192 : 0, min_write_chunk, max_write_chunk);
}

// The next piece of out_ to write: at most chunk_ bytes, ending at a
// line boundary (a single longer line goes whole).
std::string_view line_writer::next_chunk() const {
  std::string_view rest(out_);
  rest.remove_prefix(out_pos_);
  if (rest.size() <= chunk_) return rest;
  auto nl = rest.rfind('\n', chunk_ - 1);
  if (nl == std::string_view::npos) nl = rest.find('\n');
  return nl == std::string_view::npos ? rest : rest.substr(0, nl + 1);
}

void line_writer::begin() {
  buffers_.clear();
  picked_.clear();
  bytes_ = from_out_ = 0;
  if (out_pos_ < out_.size()) {
    const auto c = next_chunk();
    buffers_.push_back({const_cast<char*>(c.data()), c.size()});
    bytes_ = from_out_ = c.size();
  }
}

bool line_writer::add_line(std::uint64_t seq, std::string_view line) {
  const auto size = line.size();
  if (bytes_ > 0 && bytes_ + size > chunk_) return false;  // a single longer line goes whole
  auto* data = const_cast<char*>(line.data());
  if (!buffers_.empty() &&
      static_cast<char*>(buffers_.back().iov_base) + buffers_.back().iov_len == data)
    buffers_.back().iov_len += size;  // the next line of the same block or batch
  else
    buffers_.push_back({data, size});
  picked_.push_back({seq, line.data(), size});
  bytes_ += size;
  return true;
}

std::uint64_t line_writer::account(std::size_t n, std::uint64_t cursor, std::uint64_t examined) {
  const auto taken_out = std::min(n, from_out_);
  out_pos_ += taken_out;
  n -= taken_out;
  if (taken_out < from_out_) {
    mid_line_ = out_pos_ > 0 && out_[out_pos_ - 1] != '\n';
    return cursor;  // no event line was taken
  }
  if (out_pos_ == out_.size()) reset();
  mid_line_ = false;
  for (const auto& p : picked_) {
    if (n >= p.size) {
      n -= p.size;
      cursor = p.seq;
      continue;
    }
    if (n > 0) {
      out_.append(p.data + n, p.size - n);
      mid_line_ = true;
      return p.seq;
    }
    return p.seq - 1;  // everything before it was written or filtered away
  }
  return examined;
}

std::string line_writer::final_bytes(std::string_view last_line) const {
  std::string tail;
  if (mid_line_ && out_pos_ < out_.size()) {  // out_ holds the rest of the line being written
    const auto nl = out_.find('\n', out_pos_);
    tail = out_.substr(out_pos_, nl == std::string::npos ? std::string::npos : nl - out_pos_ + 1);
  }
  tail += last_line;
  return tail;
}

}  // namespace hssjw
