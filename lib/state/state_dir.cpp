// Creating and locking the state directory (see state_dir.hpp).
#include "state/state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

namespace hssjw {

dir_lock::dir_lock(dir_lock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}

dir_lock& dir_lock::operator=(dir_lock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

dir_lock::~dir_lock() {
  // Closing drops the flock. The file stays: removing it would let a
  // newcomer lock a fresh inode while someone still holds the old one.
  if (fd_ >= 0) ::close(fd_);
}

result<void> ensure_state_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return error(errc::state_io, dir +
                                     ": state_dir exists but is not a directory; "
                                     "point state_dir elsewhere");
  }
  std::error_code ec;
  const auto parent = std::filesystem::path(dir).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (!ec && ::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    ec = std::error_code(errno, std::generic_category());
  }
  if (ec) {
    return error(errc::state_io, dir + ": cannot create state_dir: " + ec.message() +
                                     "; create it for the daemon's user or fix state_dir");
  }
  // mkdir's mode is filtered by the umask; the state holds inventory data,
  // so the directory is exactly owner rwx, group rx.
  ::chmod(dir.c_str(), 0750);
  return {};
}

namespace {

std::string read_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? std::string("unknown") : pid;
}

}  // namespace

result<dir_lock> lock_state_dir(const std::string& dir) {
  const std::string path = dir + "/lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return error(errc::state_io, path + ": cannot open lock file: " + std::strerror(errno) +
                                     "; make state_dir writable by the daemon's user");
  }
  dir_lock lock(fd);  // closes fd on every path below
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return error(errc::state_locked,
                   dir + ": state_dir is in use by another hss-jobwatchd (pid " + read_pid(fd) +
                       ", from " + path +
                       "); stop it first or give this instance its own state_dir");
    }
    return error(errc::state_io, path + ": cannot lock: " + std::strerror(errno));
  }
  // The pid only feeds the message above; failing to write it is harmless.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const auto n = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return lock;
}

}  // namespace hssjw
