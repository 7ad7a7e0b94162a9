// One events-socket client's protocol decisions (session_protocol.hpp).
#include "sinks/session_protocol.hpp"

namespace hssjw {

std::string session_protocol::greeting(std::string_view server, std::uint64_t last,
                                       std::uint64_t oldest, bool busy) const {
  auto out = proto::hello_line(server, last, oldest);
  if (busy)
    out += proto::error_line("busy", "too many clients (socket.max_clients " +
                                         std::to_string(max_clients_) + "); try again later");
  return out;
}

session_protocol::request_outcome session_protocol::on_request(std::string_view line) {
  auto req = proto::parse_request(line);
  if (!req) return {std::nullopt, proto::error_line("bad_request", req.error().message())};
  filter_ = req->filter;
  return {std::move(*req), {}};
}

std::string session_protocol::request_timeout_line() const {
  return proto::error_line(
      "bad_request", "no request line within " + std::to_string(stall_timeout_.count()) + " ms");
}

std::string session_protocol::request_too_long_line() {
  return proto::error_line("bad_request", "request line longer than 64 KiB");
}

std::optional<std::string> session_protocol::start_watch(const proto::request& r,
                                                         std::uint64_t hello_seq,
                                                         std::uint64_t oldest, std::uint64_t last) {
  if (!r.since) {
    cursor_ = hello_seq;  // SPEC §5: live events with seq > the hello's seq
    return std::nullopt;
  }
  if (*r.since + 1 < oldest)
    return proto::gone_line(oldest, "events after seq " + std::to_string(*r.since) +
                                        " are no longer in the journal (oldest is " +
                                        std::to_string(oldest) + "); resynchronise with sync");
  if (*r.since > last)
    return proto::gone_line(oldest, "seq " + std::to_string(*r.since) + " is beyond the last seq " +
                                        std::to_string(last) +
                                        " (was the state reset?); resynchronise with sync");
  cursor_ = *r.since;
  return std::nullopt;
}

std::string session_protocol::snapshot_too_slow_text() const {
  return "the client took more than " + std::to_string(snapshot_limit().count()) +
         " ms to read the current state (list/sync); ask again";
}

bool session_protocol::wanted(const line_view& v) const {
  if (filter_.empty()) return true;
  if (v.meta) return filter_.matches(*v.meta);
  auto meta = proto::parse_event_meta(v.line.substr(0, v.line.size() - 1));
  return meta && filter_.matches(*meta);
}

void session_protocol::push_control(std::string line) {
  if (controls_.size() >= max_pending_controls) controls_.pop_front();
  controls_.push_back(std::move(line));
}

void session_protocol::take_controls(line_writer& out) {
  while (!controls_.empty()) {
    out.append(controls_.front());
    controls_.pop_front();
  }
}

session_protocol::next session_protocol::next_step(bool more_to_skip, std::size_t unsent,
                                                   std::uint64_t last) const {
  // A long run filtered away: let the rest of the daemon run.
  if (more_to_skip && unsent == 0) return next::yield;
  if (unsent == 0 && cursor_ >= last) return next::wait;
  return next::write;
}

std::string session_protocol::overflow_text() const {
  return "the client accepted nothing for " + std::to_string(stall_timeout_.count()) +
         " ms while events waited; reconnect with since = the last seq received";
}

std::string session_protocol::pruned_line(std::uint64_t oldest, std::uint64_t after) {
  return proto::gone_line(oldest, "events after seq " + std::to_string(after) +
                                      " were pruned from the journal before this client read "
                                      "them; resynchronise with sync");
}

}  // namespace hssjw
