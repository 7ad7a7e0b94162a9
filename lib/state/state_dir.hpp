// The state directory itself: creating it, and the lock that keeps a
// second daemon out of it (two writers would hand out the same seqs).
#pragma once

#include <string>

#include "core/error.hpp"

namespace hssjw {

// Owns the open lock file; the flock lasts as long as this object (or the
// process: the kernel drops it on kill -9, so a stale file never blocks a
// restart).
class dir_lock {
 public:
  dir_lock() = default;
  explicit dir_lock(int fd) : fd_(fd) {}
  dir_lock(dir_lock&& o) noexcept;
  dir_lock& operator=(dir_lock&& o) noexcept;
  dir_lock(const dir_lock&) = delete;
  dir_lock& operator=(const dir_lock&) = delete;
  ~dir_lock();

  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Creates `dir` (mode 0750, parents as needed) unless it exists.
result<void> ensure_state_dir(const std::string& dir);

// Takes an exclusive, non-blocking flock on dir/lock and writes our pid
// into it; errc::state_locked names the holder's pid.
result<dir_lock> lock_state_dir(const std::string& dir);

}  // namespace hssjw
