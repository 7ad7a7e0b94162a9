// Blocking Unix-socket line I/O with poll() deadlines, for the CLI.
#include "client/line_client.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hssjw::cli {

namespace {

using steady = std::chrono::steady_clock;

int remaining_ms(steady::time_point end) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - steady::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

std::string group_name(gid_t gid) {
  if (const auto* g = ::getgrgid(gid)) return g->gr_name;
  return std::to_string(gid);
}

std::string user_name(uid_t uid) {
  if (const auto* p = ::getpwuid(uid)) return p->pw_name;
  return std::to_string(uid);
}

std::string explain(const std::string& path, int e) {
  switch (e) {
    case ENOENT:
      return "no socket at " + path +
             ": is hss-jobwatchd running? (choose another with --socket or HSS_JOBWATCH_SOCKET)";
    case EACCES:
    case EPERM:
      return permission_denied_message(path);
    case ECONNREFUSED:
      return "nobody is listening on " + path +
             ": hss-jobwatchd is not running (the file is left from an earlier run)";
    case ENOTSOCK:
      return path + " is not a socket";
    case ETIMEDOUT:
      return "connecting to " + path + " timed out: the daemon is overloaded or stuck";
    default:
      return "cannot connect to " + path + ": " + std::strerror(e);
  }
}

}  // namespace

// Names the group the socket file really has (whatever the packaging calls
// it), so the user knows which one to join.
std::string permission_denied_message(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {  // a directory on the way is closed to us
    return "permission denied on " + path + " (" + std::strerror(errno) +
           "): a directory on the way is not searchable by this user; use an account in the "
           "socket's group "
           "(socket.mode), or root";
  }
  const auto group = group_name(st.st_gid);
  const auto mode = octal_mode(st.st_mode);
  const std::string me = user_name(::geteuid());
  if ((st.st_mode & S_IWGRP) == 0) {
    return "permission denied: " + path + " is owner " + user_name(st.st_uid) + ", group " + group +
           ", mode " + mode + ": only its owner can connect; run as " + user_name(st.st_uid) +
           " or root, or give the group access (socket.mode: \"0660\")";
  }
  return "permission denied: " + path + " is group " + group + ", mode " + mode +
         "; join that group (usermod -aG " + group + " " + me +
         ", then log in again) or run as root";
}

line_client::~line_client() { close(); }

line_client::line_client(line_client&& o) noexcept
    : fd_(o.fd_), buf_(std::move(o.buf_)), pos_(o.pos_) {
  o.fd_ = -1;
}

line_client& line_client::operator=(line_client&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    buf_ = std::move(o.buf_);
    pos_ = o.pos_;
    o.fd_ = -1;
  }
  return *this;
}

void line_client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buf_.clear();
  pos_ = 0;
}

bool line_client::connect(const std::string& path, std::chrono::milliseconds deadline,
                          connect_error& error) {
  close();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    error = {ENAMETOOLONG, "socket path too long: " + path};
    return false;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    error = {errno, std::string("socket(): ") + std::strerror(errno)};
    return false;
  }
  int rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int e = rc == 0 ? 0 : errno;
  if (e == EAGAIN || e == EINPROGRESS) {  // a full backlog: wait for room
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(deadline.count())) != 1) {
      e = ETIMEDOUT;
    } else {
      socklen_t len = sizeof e;
      ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &e, &len);
    }
  }
  if (e != 0) {
    error = {e, explain(path, e)};
    close();
    return false;
  }
  return true;
}

bool line_client::send_line(const std::string& line, std::chrono::milliseconds deadline) {
  const std::string data = line + '\n';
  const auto end = steady::now() + deadline;
  std::size_t done = 0;
  while (done < data.size()) {
    auto n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(end)) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

std::optional<std::string> line_client::read_line(
    std::optional<std::chrono::milliseconds> deadline) {
  timed_out_ = false;
  const auto end = deadline ? steady::now() + *deadline : steady::time_point::max();
  for (;;) {
    const auto nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      std::string line = buf_.substr(pos_, nl - pos_);
      pos_ = nl + 1;
      if (pos_ > 65536) {
        buf_.erase(0, pos_);
        pos_ = 0;
      }
      return line;
    }
    if (fd_ < 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    const int rc = ::poll(&p, 1, deadline ? remaining_ms(end) : -1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      timed_out_ = true;
      return std::nullopt;
    }
    if (rc < 0) return std::nullopt;
    char chunk[65536];
    const auto n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return std::nullopt;
    buf_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace hssjw::cli
