// Reading secret files safely: one open(), checks on the opened file
// (fstat, so the checked file is the read file), a buffer that is wiped on
// every path out, and messages that tell the operator what to fix.
#include "auth/secret_file.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace hssjw {

void wipe_string(std::string& s) noexcept {
  // capacity(), not size(): bytes past the end (after stripping, or from a
  // longer previous value) may still hold parts of the secret.
  if (s.capacity() > 0) OPENSSL_cleanse(s.data(), s.capacity());
  s.clear();
}

void secret::wipe() noexcept { wipe_string(value_); }

secret::secret(secret&& other) noexcept : value_(std::move(other.value_)) {
  // A moved-from short string keeps its bytes in the small buffer.
  other.wipe();
}

secret& secret::operator=(const secret& other) {
  if (this != &other) {
    wipe();
    value_ = other.value_;
  }
  return *this;
}

secret& secret::operator=(secret&& other) noexcept {
  if (this != &other) {
    wipe();
    value_ = std::move(other.value_);
    other.wipe();
  }
  return *this;
}

namespace {

using boost::system::in_place_error;

constexpr std::string_view credential_prefix = "credential:";
constexpr std::string_view whitespace = " \t\r\n\v\f";

// Every secret-file failure: no usable credentials, with the sentence
// that names the file and the fix (never the contents).
error unusable(std::string message) { return {errc::auth_unavailable, std::move(message)}; }

std::string errno_text(int err) { return std::generic_category().message(err); }

file_stamp stamp_of(const struct stat& st) {
  return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec,
          static_cast<std::int64_t>(st.st_size)};
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Closes the descriptor on every path out of read_secret.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

// Where a spec points: an ordinary path, or NAME inside the credentials
// directory systemd set up for the unit.
struct location {
  std::string path;             // for messages and stat
  std::string credentials_dir;  // set for credential:NAME
  std::string name;             // NAME, for openat in credentials_dir
  bool credential() const { return !credentials_dir.empty(); }
};

std::string size_problem(const std::string& path, const struct stat& st) {
  if (static_cast<std::uint64_t>(st.st_size) > max_secret_size) {
    return "secret file " + path + " is larger than " + std::to_string(max_secret_size) +
           " bytes; is it the right file?";
  }
  return {};
}

// Checks what fstat says about the opened file; "" when it may be read.
// Credentials are systemd's: it creates them read-only in a directory only
// the service can enter, and on an ACL-capable tmpfs (systemd >= 254) gives
// the service user an ACL entry whose mask shows in the group bits (0440).
// So their mode is not judged; an ordinary path must be 0600 or stricter.
std::string check_file(const location& at, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return "secret file " + at.path + " is not a regular file";
  if (!at.credential() && (st.st_mode & 077) != 0) {
    return "secret file " + at.path + " is accessible by group or others (mode " +
           mode_text(st.st_mode) + "); restrict it with: chmod 600 " + at.path;
  }
  return size_problem(at.path, st);
}

result<location> locate(std::string_view spec) {
  auto path = resolve_secret_path(spec);
  if (!path) return {in_place_error, path.error()};
  location at;
  at.path = std::move(*path);
  if (spec.starts_with(credential_prefix)) {
    at.name = std::string(spec.substr(credential_prefix.size()));
    at.credentials_dir = at.path.substr(0, at.path.size() - at.name.size());
  }
  return at;
}

// Opens the secret without ever blocking and without touching anything but
// a regular file. A FIFO would block open() and read() until a writer came
// (the event loop with it); a device may act on open. So: refuse what stat
// says is not a regular file before opening, open O_NONBLOCK, and check
// the opened file again (it may have been swapped in between).
// credential:NAME is opened inside the credentials directory with
// O_NOFOLLOW: the file read is the one systemd placed there, not a link
// out of it. Ordinary paths follow symlinks (operators link secrets from
// elsewhere); the checks apply to the file the link leads to.
result<int> open_secret(const location& at) {
  constexpr int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  struct stat pre {};
  if (at.credential()) {
    fd_guard dir{::open(at.credentials_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (dir.fd < 0) {
      return {in_place_error,
              unusable("cannot open the credentials directory " + at.credentials_dir +
                       " ($CREDENTIALS_DIRECTORY): " + errno_text(errno))};
    }
    if (::fstatat(dir.fd, at.name.c_str(), &pre, AT_SYMLINK_NOFOLLOW) != 0) {
      return {in_place_error,
              unusable("cannot open secret file " + at.path + ": " + errno_text(errno))};
    }
    if (S_ISLNK(pre.st_mode)) {
      return {in_place_error, unusable("secret file " + at.path +
                                       " is a symbolic link; a credential must be a file in "
                                       "$CREDENTIALS_DIRECTORY (use LoadCredential=)")};
    }
    if (!S_ISREG(pre.st_mode)) {
      return {in_place_error, unusable("secret file " + at.path + " is not a regular file")};
    }
    int fd = ::openat(dir.fd, at.name.c_str(), flags | O_NOFOLLOW);
    if (fd < 0) {
      return {in_place_error,
              unusable("cannot open secret file " + at.path + ": " + errno_text(errno))};
    }
    return fd;
  }
  if (::stat(at.path.c_str(), &pre) != 0) {
    return {in_place_error,
            unusable("cannot open secret file " + at.path + ": " + errno_text(errno))};
  }
  if (!S_ISREG(pre.st_mode)) {
    return {in_place_error, unusable("secret file " + at.path + " is not a regular file")};
  }
  int fd = ::open(at.path.c_str(), flags);
  if (fd < 0) {
    return {in_place_error,
            unusable("cannot open secret file " + at.path + ": " + errno_text(errno))};
  }
  return fd;
}

// Grows `buf` to `cap` bytes without leaving an unwiped copy behind
// (std::string's own growth frees the old buffer as is).
void grow_wiped(std::string& buf, std::size_t cap) {
  std::string bigger(cap, '\0');
  std::memcpy(bigger.data(), buf.data(), buf.size());
  OPENSSL_cleanse(buf.data(), buf.capacity());
  buf.swap(bigger);
}

// Reads the whole file into `buf`; returns errno, 0 on success, or -1 when
// the file is larger than max_secret_size.
int read_all(int fd, std::size_t size_hint, std::string& buf) {
  std::size_t cap = std::min(size_hint, max_secret_size) + 1;
  buf.assign(cap, '\0');
  std::size_t used = 0;
  for (;;) {
    if (used == buf.size()) {
      // The file grew after fstat; allow it up to the limit.
      if (buf.size() > max_secret_size) return -1;
      grow_wiped(buf, std::min(buf.size() * 2, max_secret_size + 1));
    }
    ssize_t n = ::read(fd, buf.data() + used, buf.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  buf.resize(used);  // shrinking never reallocates
  return 0;
}

// Strips surrounding whitespace in place (no reallocation, no copy).
void strip_in_place(std::string& s) {
  auto last = s.find_last_not_of(whitespace);
  if (last == std::string::npos) {
    s.clear();
    return;
  }
  s.resize(last + 1);
  s.erase(0, s.find_first_not_of(whitespace));
}

}  // namespace

result<std::string> resolve_secret_path(std::string_view spec) {
  if (spec.empty()) return {in_place_error, unusable("no secret file configured")};
  if (!spec.starts_with(credential_prefix))
    return {boost::system::in_place_value, std::string(spec)};
  auto name = spec.substr(credential_prefix.size());
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
    return {in_place_error, unusable("invalid credential name in \"" + std::string(spec) +
                                     "\": expected credential:NAME without '/'")};
  }
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (dir == nullptr || *dir == '\0') {
    return {in_place_error,
            unusable(std::string(spec) +
                     ": $CREDENTIALS_DIRECTORY is not set (it is set by systemd for "
                     "units with LoadCredential=); use a file path instead")};
  }
  std::string path(dir);
  if (!path.ends_with('/')) path += '/';
  path += name;
  return {boost::system::in_place_value, std::move(path)};
}

result<file_stamp> stat_secret_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return {in_place_error, unusable("cannot stat secret file " + path + ": " + errno_text(errno))};
  }
  return stamp_of(st);
}

result<secret_contents> read_secret(std::string_view spec) {
  auto at = locate(spec);
  if (!at) return {in_place_error, at.error()};
  auto opened = open_secret(*at);
  if (!opened) return {in_place_error, opened.error()};
  fd_guard fd{*opened};
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) {
    return {in_place_error,
            unusable("cannot stat secret file " + at->path + ": " + errno_text(errno))};
  }
  if (auto problem = check_file(*at, st); !problem.empty())
    return {in_place_error, unusable(problem)};
  const std::string* path = &at->path;

  secret_contents out;
  out.path = *path;
  out.stamp = stamp_of(st);
  std::string& buf = out.value.value_;
  if (int err = read_all(fd.fd, static_cast<std::size_t>(st.st_size), buf); err != 0) {
    out.value.wipe();
    if (err < 0) {
      return {in_place_error, unusable("secret file " + *path + " is larger than " +
                                       std::to_string(max_secret_size) + " bytes")};
    }
    return {in_place_error, unusable("cannot read secret file " + *path + ": " + errno_text(err))};
  }
  strip_in_place(buf);
  if (buf.empty()) {
    return {in_place_error, unusable("secret file " + *path + " is empty (or only whitespace)")};
  }
  return out;
}

result<const secret*> watched_secret::get() {
  auto path = resolve_secret_path(spec_);
  if (!path) {
    current_.reset();
    return {in_place_error, path.error()};
  }
  auto stamp = stat_secret_file(*path);
  if (!stamp) {
    current_.reset();
    return {in_place_error, stamp.error()};
  }
  if (current_ && current_->path == *path && current_->stamp == *stamp) return &current_->value;
  auto fresh = read_secret(spec_);
  if (!fresh) {
    current_.reset();
    return {in_place_error, fresh.error()};
  }
  current_ = std::move(*fresh);
  return &current_->value;
}

}  // namespace hssjw
