// A blocking newline-delimited client for the events socket: what a CLI
// needs, with a deadline on every step (poll), and errors as values with
// messages a person can act on (missing socket, permission denied, ...).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace hssjw::cli {

struct connect_error {
  int errno_value = 0;
  std::string message;  // names the path and says what to do
};

// What to say when connecting to `path` was refused (EACCES): the socket
// file's group and mode, and which group to join.
std::string permission_denied_message(const std::string& path);

class line_client {
 public:
  line_client() = default;
  ~line_client();
  line_client(line_client&& o) noexcept;
  line_client& operator=(line_client&& o) noexcept;
  line_client(const line_client&) = delete;
  line_client& operator=(const line_client&) = delete;

  // Connects within `deadline`; fills `error` and returns false on failure.
  bool connect(const std::string& path, std::chrono::milliseconds deadline, connect_error& error);
  bool send_line(const std::string& line, std::chrono::milliseconds deadline);
  // The next line without its newline; nothing on EOF, error or timeout
  // (nullopt deadline: wait as long as it takes). A final line cut off by
  // EOF is dropped: it may be incomplete.
  std::optional<std::string> read_line(std::optional<std::chrono::milliseconds> deadline);
  bool timed_out() const { return timed_out_; }
  void close();

 private:
  int fd_ = -1;
  std::string buf_;
  std::size_t pos_ = 0;
  bool timed_out_ = false;
};

}  // namespace hssjw::cli
