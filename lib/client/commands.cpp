// The CLI's commands. watch keeps `resume`, the seq after which nothing is
// left to print (the last event printed, a synced point or a bookmark),
// and reconnects with since = resume, so a daemon restart or a dropped
// connection neither loses nor repeats an event.
#include "client/commands.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <random>
#include <thread>

#include "client/line_client.hpp"
#include "client/render.hpp"

namespace hssjw::cli {

namespace json = boost::json;

namespace {

std::optional<json::object> parse_line(const std::string& line) {
  boost::system::error_code ec;
  auto v = json::parse(line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::string field(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<std::uint64_t> seq_of(const json::object& o) {
  const auto* v = o.if_contains("seq");
  if (v && v->is_uint64()) return v->as_uint64();
  if (v && v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
  return std::nullopt;
}

void emit(std::FILE* out, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), out);
  std::fputc('\n', out);
  std::fflush(out);
}

// Connects and reads the hello; a message on failure.
bool open_session(const options& o, const run_settings& s, line_client& c, json::object& hello,
                  std::string& why, int& errno_value) {
  connect_error ce;
  if (!c.connect(o.socket, s.connect_timeout, ce)) {
    why = ce.message;
    errno_value = ce.errno_value;
    return false;
  }
  errno_value = 0;
  auto line = c.read_line(s.reply_timeout);
  auto parsed = line ? parse_line(*line) : std::nullopt;
  if (!parsed) {
    why = "no hello from " + o.socket + (c.timed_out() ? " (timed out)" : " (connection closed)");
    return false;
  }
  hello = std::move(*parsed);
  if (field(hello, "type") == "error") {  // busy, shutting_down
    why = "the daemon refused the connection: " + field(hello, "code") + ": " +
          field(hello, "message");
    return false;
  }
  return true;
}

std::string error_text(const json::object& e) {
  return field(e, "code") + ": " + field(e, "message");
}

// ------------------------------------------------------------ list/status

int run_once(const options& o, std::FILE* out, std::FILE* err, const run_settings& s) {
  line_client c;
  json::object hello;
  std::string why;
  int e = 0;
  if (!open_session(o, s, c, hello, why, e)) {
    std::fprintf(err, "hss-jobwatch: %s\n", why.c_str());
    return 1;
  }
  if (!c.send_line(request_line(o, std::nullopt), s.reply_timeout)) {
    std::fprintf(err, "hss-jobwatch: the daemon closed the connection\n");
    return 1;
  }
  std::vector<json::object> existing;
  for (;;) {
    auto line = c.read_line(s.reply_timeout);
    if (!line) {
      std::fprintf(err, "hss-jobwatch: %s before the answer was complete\n",
                   c.timed_out() ? "timed out" : "the connection closed");
      return 1;
    }
    auto msg = parse_line(*line);
    if (!msg) continue;
    const auto type = field(*msg, "type");
    if (type == "error") {
      std::fprintf(err, "hss-jobwatch: %s\n", error_text(*msg).c_str());
      return 1;
    }
    if (o.out == output::json) emit(out, *line);
    if (type == "status") {
      if (o.out != output::json) std::fputs(status_table(*msg, o.out == output::wide).c_str(), out);
      return 0;
    }
    if (type == "existing" && o.out != output::json) existing.push_back(std::move(*msg));
    if (type == "end") {
      if (o.out != output::json)
        std::fputs(list_table(std::move(existing), o.out == output::wide).c_str(), out);
      return 0;
    }
  }
}

// ------------------------------------------------------------------ watch

class watcher {
 public:
  watcher(const options& o, std::FILE* out, std::FILE* err, const run_settings& s)
      : o_(o), out_(out), err_(err), s_(s), backoff_(s.backoff_initial) {}
  int run();

 private:
  enum class outcome { dropped, retry_later, fatal };
  outcome follow(line_client& c);
  bool handle(const std::string& line, const json::object& msg, outcome& end);
  void sleep_backoff();

  const options& o_;
  std::FILE* out_;
  std::FILE* err_;
  const run_settings& s_;
  std::optional<std::uint64_t> resume_;  // since for the next connection
  std::chrono::milliseconds backoff_;
  std::mt19937 rng_{std::random_device{}()};
};

void watcher::sleep_backoff() {
  std::uniform_int_distribution<long> jitter(0, backoff_.count() / 2);
  std::this_thread::sleep_for(backoff_ + std::chrono::milliseconds(jitter(rng_)));
  backoff_ = std::min(backoff_ * 2, s_.backoff_max);
}

int watcher::run() {
  bool connected_once = false;
  bool said_waiting = false;
  for (;;) {
    line_client c;
    json::object hello;
    std::string why;
    int e = 0;
    if (!open_session(o_, s_, c, hello, why, e)) {
      // A first failure is the user's to fix (wrong path, permissions, no
      // daemon); later ones are a daemon restarting.
      if (!connected_once) {
        std::fprintf(err_, "hss-jobwatch: %s\n", why.c_str());
        return 1;
      }
      if (!said_waiting) std::fprintf(err_, "hss-jobwatch: %s; retrying\n", why.c_str());
      said_waiting = true;
      sleep_backoff();
      continue;
    }
    if (said_waiting) std::fprintf(err_, "hss-jobwatch: reconnected\n");
    said_waiting = false;
    connected_once = true;
    backoff_ = s_.backoff_initial;
    // A plain watch starts after the hello's seq; remember it so that a
    // drop before the first event still resumes without a gap.
    if (!resume_ && !o_.since && !o_.sync) resume_ = seq_of(hello);
    if (!c.send_line(request_line(o_, resume_), s_.reply_timeout)) continue;
    switch (follow(c)) {
      case outcome::fatal:
        return 1;
      case outcome::retry_later:
        sleep_backoff();
        break;
      case outcome::dropped:
        break;
    }
  }
}

watcher::outcome watcher::follow(line_client& c) {
  for (;;) {
    auto line = c.read_line(std::nullopt);
    if (!line) {
      std::fprintf(err_, "hss-jobwatch: connection lost; reconnecting\n");
      return outcome::retry_later;
    }
    auto msg = parse_line(*line);
    if (!msg) continue;
    outcome end;
    if (!handle(*line, *msg, end)) return end;
  }
}

// false: the connection is over (`end` says what next).
bool watcher::handle(const std::string& line, const json::object& msg, outcome& end) {
  const auto type = field(msg, "type");
  const auto seq = seq_of(msg);
  if (type == "error") {
    const auto code = field(msg, "code");
    std::fprintf(err_, "hss-jobwatch: %s\n", error_text(msg).c_str());
    if (code == "gone" || code == "bad_request") {
      end = outcome::fatal;
    } else {  // overflow, shutting_down, busy: come back and resume
      end = code == "overflow" ? outcome::dropped : outcome::retry_later;
    }
    return false;
  }
  if (type == "bookmark" || type == "hello") {
    if (seq && type == "bookmark") resume_ = *seq;
    return true;
  }
  if (type == "scope_status") {  // json: part of the stream; text: a note beside it
    if (o_.out == output::json) {
      emit(out_, line);
    } else {
      const auto* sc = msg.if_contains("scope");
      const auto scope = sc && sc->is_object() ? field(sc->as_object(), "project_id") + "/" +
                                                     field(sc->as_object(), "enterprise_project_id")
                                               : std::string("?");
      std::fprintf(err_, "hss-jobwatch: scope %s is %s%s%s\n", scope.c_str(),
                   field(msg, "state").c_str(), field(msg, "error").empty() ? "" : ": ",
                   field(msg, "error").c_str());
    }
    return true;
  }
  if (o_.out == output::json) {
    emit(out_, line);
  } else if (type == "existing") {
    emit(out_, existing_text(msg));
  } else if (type == "synced") {
    emit(out_, "synced at seq " + (seq ? std::to_string(*seq) : std::string("?")));
  } else {
    emit(out_, event_text(msg));
  }
  if (seq && type != "existing") resume_ = *seq;
  return true;
}

}  // namespace

int run(const options& o, std::FILE* out, std::FILE* err, const run_settings& s) {
  if (o.cmd == command::watch) return watcher(o, out, err, s).run();
  return run_once(o, out, err, s);
}

}  // namespace hssjw::cli
