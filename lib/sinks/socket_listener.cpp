// Creating (or adopting) the events socket. The liveness probe before
// unlinking matters: unlinking a live daemon's socket would silently cut
// its subscribers off from every future connection.
#include "sinks/socket_listener.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace hssjw {

namespace {

namespace sys = boost::system;

// A failure with the errno behind it.
error sys_error(int e, std::string message) {
  return error(sys::error_code(e, sys::system_category()), std::move(message));
}
// A failure with no errno behind it.
error fail(sys::errc::errc_t code, std::string message) {
  return error(sys::errc::make_error_code(code), std::move(message));
}

std::string errno_text(int e) { return std::strerror(e); }

bool make_address(const std::string& path, sockaddr_un& addr) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return true;
}

// true: somebody accepted (or queued) our connection: a live daemon.
bool someone_listens(const sockaddr_un& addr) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int e = errno;
  ::close(fd);
  // EAGAIN: the backlog is full, which only a live listener has.
  return rc == 0 || e == EAGAIN || e == EINPROGRESS;
}

// Leaves the path free for bind(), or says why it cannot.
result<void> clear_path(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    const int e = errno;
    if (e == ENOENT) return {};
    return sys_error(e, "socket " + path + ": " + errno_text(e));
  }
  if (!S_ISSOCK(st.st_mode))
    return fail(sys::errc::file_exists, "socket " + path +
                                            " exists and is not a socket; remove it or choose "
                                            "another socket.path");
  if (someone_listens(addr))
    return fail(
        sys::errc::address_in_use,
        "socket " + path + " is in use by another process (is another hss-jobwatchd running?)");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    const int e = errno;
    return sys_error(e, "cannot remove the stale socket " + path + ": " + errno_text(e));
  }
  return {};
}

result<listen_socket> adopt_activated_socket() {
  const int fd = SD_LISTEN_FDS_START;
  if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) <= 0)
    return fail(sys::errc::not_a_socket,
                "systemd passed fd 3, but it is not a listening Unix stream socket; check "
                "ListenStream= in the .socket unit");
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  listen_socket s;
  s.fd = fd;
  s.activated = true;
  return s;
}

result<listen_socket> bind_path(const config::socket_config& cfg, const sockaddr_un& addr) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const int e = errno;
    return sys_error(e, "socket(): " + errno_text(e));
  }
  // The file is born with socket.mode, never briefly wider (single
  // threaded here, so the process-wide umask is ours for the moment).
  const mode_t old = ::umask(static_cast<mode_t>(~cfg.mode & 0777));
  const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int e = errno;
  ::umask(old);
  if (rc != 0) {
    ::close(fd);
    return sys_error(e, "cannot create socket " + cfg.path + ": " + errno_text(e));
  }
  struct stat st {};
  if (::chmod(cfg.path.c_str(), cfg.mode) != 0 || ::stat(cfg.path.c_str(), &st) != 0 ||
      ::listen(fd, 128) != 0) {
    const int e2 = errno;
    ::close(fd);
    ::unlink(cfg.path.c_str());
    return sys_error(e2, "cannot set up socket " + cfg.path + ": " + errno_text(e2));
  }
  listen_socket s;
  s.fd = fd;
  s.path = cfg.path;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  return s;
}

}  // namespace

result<listen_socket> open_listen_socket(const config::socket_config& cfg) {
  if (sd_listen_fds(0) >= 1) return adopt_activated_socket();
  sockaddr_un addr;
  if (!make_address(cfg.path, addr))
    return fail(sys::errc::filename_too_long,
                "socket.path " + cfg.path + " is too long for a Unix socket (at most 107 bytes)");
  const auto parent = std::filesystem::path(cfg.path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec)
      return sys_error(ec.value(),
                       "cannot create the directory of socket " + cfg.path + ": " + ec.message());
  }
  if (auto cleared = clear_path(cfg.path, addr); !cleared) return cleared.error();
  return bind_path(cfg, addr);
}

void remove_socket_file(const listen_socket& s) {
  if (s.activated || s.path.empty()) return;
  struct stat st {};
  if (::lstat(s.path.c_str(), &st) == 0 && st.st_dev == s.dev && st.st_ino == s.ino)
    ::unlink(s.path.c_str());
}

}  // namespace hssjw
