// Secrets kept in files (SPEC §6): a path or `credential:NAME` (systemd
// LoadCredential=), read whole, surrounding whitespace stripped. Only
// regular files are read (opened O_NONBLOCK, so a FIFO cannot block); an
// ordinary path is refused when group or others may access it, a
// credential is systemd's and must be a file inside $CREDENTIALS_DIRECTORY.
// The `secret` type wipes its bytes when it dies and cannot be printed, so a
// token, password or SK never ends up in a log line or an error message by
// accident.
#pragma once

#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace hssjw {

struct secret_contents;

// Overwrites every byte a string owns (its whole capacity, OPENSSL_cleanse)
// and empties it, keeping the buffer: for buffers that held a secret but
// are not a `secret`, e.g. a request body carrying a password.
void wipe_string(std::string& s) noexcept;

// Holds one secret. Copies and moves wipe what they leave behind; there is
// deliberately no operator<< and no implicit conversion to a string.
class secret {
 public:
  secret() = default;
  explicit secret(std::string value) : value_(std::move(value)) {}
  secret(const secret& other) : value_(other.value_) {}
  secret(secret&& other) noexcept;
  secret& operator=(const secret& other);
  secret& operator=(secret&& other) noexcept;
  ~secret() { wipe(); }

  // The plain bytes, for the one place that must send or use them. The
  // name is long on purpose: every use is easy to find and review.
  std::string_view reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  std::size_t size() const { return value_.size(); }

  // Overwrites the buffer (OPENSSL_cleanse) and empties it.
  void wipe() noexcept;

 private:
  // The reader fills value_ in place, so no unwiped copy is left behind.
  friend result<secret_contents> read_secret(std::string_view spec);

  std::string value_;
};

// Identifies one version of a file cheaply (stat): a rename over the file
// changes dev/ino, an in-place rewrite mtime and size, a chmod or chown the
// ctime (so a file that became too open is checked again).
struct file_stamp {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::int64_t size = 0;
  bool operator==(const file_stamp&) const = default;
};

struct secret_contents {
  secret value;
  file_stamp stamp;  // of the file that was read (fstat of the open file)
  std::string path;  // the resolved path, for messages
};

// Secrets larger than this are refused: IAM tokens are a few KB (HSS takes
// up to 32768 characters), so anything bigger is the wrong file.
inline constexpr std::size_t max_secret_size = 64 * 1024;

// Turns a spec into a path: `credential:NAME` -> $CREDENTIALS_DIRECTORY/NAME,
// anything else is a path as written. The error is a message for the user.
result<std::string> resolve_secret_path(std::string_view spec);

// The stamp of the file behind `path` (following symlinks, as reading does).
result<file_stamp> stat_secret_file(const std::string& path);

// Reads the secret named by `spec`. Errors (messages name the file and the
// fix, never the contents): unresolvable spec, missing or unreadable file,
// not a regular file (FIFO, device, directory; for a credential also a
// symlink), an ordinary path whose mode allows group/other access, too
// large, empty after stripping whitespace. Never blocks.
result<secret_contents> read_secret(std::string_view spec);

// A secret file that is re-read when it changes: get() costs one stat() while
// the stamp stays the same, so callers may call it before every request.
class watched_secret {
 public:
  explicit watched_secret(std::string spec) : spec_(std::move(spec)) {}

  // The current secret, re-read when the file's stamp changed. On an error
  // the cached secret is dropped (and wiped): a file that became unreadable
  // or too open must not keep working from memory.
  result<const secret*> get();

  // The stamp and path of the cached secret (only valid after a good get()).
  const file_stamp& stamp() const { return current_->stamp; }
  const std::string& path() const { return current_->path; }
  bool loaded() const { return current_.has_value(); }
  const std::string& spec() const { return spec_; }

 private:
  std::string spec_;
  std::optional<secret_contents> current_;
};

}  // namespace hssjw
