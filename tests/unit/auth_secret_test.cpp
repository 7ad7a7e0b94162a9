// Secret files: permission checks with messages that name the fix,
// credential:NAME through $CREDENTIALS_DIRECTORY, whitespace stripping,
// empty and oversized files, stamps, and re-reading on change; systemd
// credentials with an ACL (mode 0440), FIFOs and devices that must never
// block, symlinks, and wipe_string.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <future>
#include <vector>

#include "auth/secret_file.hpp"
#include "unit/auth_test_support.hpp"

namespace hssjw {
namespace {

using test::env_guard;
using test::temp_dir;

TEST(auth_secret, reads_a_private_file_and_strips_whitespace) {
  temp_dir dir;
  auto path = dir.write("token", "  \n\tMIIabc def\r\n\n", 0600);
  auto got = read_secret(path);
  ASSERT_TRUE(got.has_value()) << got.error();
  EXPECT_EQ(got->value.reveal(), "MIIabc def");  // inner whitespace kept
  EXPECT_EQ(got->path, path);
  EXPECT_GT(got->stamp.ino, 0u);
  EXPECT_EQ(got->stamp.size, 17);
}

TEST(auth_secret, read_only_for_owner_is_accepted) {
  temp_dir dir;
  auto got = read_secret(dir.write("sk", "secret", 0400));
  ASSERT_TRUE(got.has_value()) << got.error();
  EXPECT_EQ(got->value.reveal(), "secret");
}

TEST(auth_secret, refuses_files_others_can_access) {
  temp_dir dir;
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
    SCOPED_TRACE(mode);
    auto path = dir.write("pw", "hunter2-secret", mode);
    auto got = read_secret(path);
    ASSERT_FALSE(got.has_value());
    EXPECT_NE(got.error().message().find(path), std::string::npos) << got.error();
    EXPECT_NE(got.error().message().find("chmod 600 " + path), std::string::npos) << got.error();
    EXPECT_EQ(got.error().message().find("hunter2"), std::string::npos)
        << "message leaks the secret";
  }
  auto got = read_secret(dir.write("pw", "x", 0644));
  EXPECT_NE(got.error().message().find("mode 0644"), std::string::npos) << got.error();
}

TEST(auth_secret, refuses_empty_and_whitespace_only_files) {
  temp_dir dir;
  for (std::string content : {"", " \n\t\r\n"}) {
    auto path = dir.write("empty", content);
    auto got = read_secret(path);
    ASSERT_FALSE(got.has_value());
    EXPECT_NE(got.error().message().find("empty"), std::string::npos) << got.error();
    EXPECT_NE(got.error().message().find(path), std::string::npos) << got.error();
  }
}

TEST(auth_secret, refuses_missing_files_directories_and_huge_files) {
  temp_dir dir;
  auto missing = read_secret(dir.file("nope"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find(dir.file("nope")), std::string::npos);
  EXPECT_NE(missing.error().message().find("No such file"), std::string::npos) << missing.error();

  ::chmod(dir.path().c_str(), 0700);
  auto directory = read_secret(dir.path());
  ASSERT_FALSE(directory.has_value());
  EXPECT_NE(directory.error().message().find("not a regular file"), std::string::npos)
      << directory.error();

  auto huge = read_secret(dir.write("huge", std::string(max_secret_size + 1, 'x')));
  ASSERT_FALSE(huge.has_value());
  EXPECT_NE(huge.error().message().find("larger than"), std::string::npos) << huge.error();

  auto none = read_secret("");
  ASSERT_FALSE(none.has_value());
}

TEST(auth_secret, credential_reads_from_credentials_directory) {
  temp_dir dir;
  dir.write("hss-token", "tok-from-systemd\n", 0400);
  env_guard env("CREDENTIALS_DIRECTORY", dir.path());
  auto got = read_secret("credential:hss-token");
  ASSERT_TRUE(got.has_value()) << got.error();
  EXPECT_EQ(got->value.reveal(), "tok-from-systemd");
  EXPECT_EQ(got->path, dir.file("hss-token"));

  auto missing = read_secret("credential:other");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find(dir.file("other")), std::string::npos)
      << missing.error();
}

TEST(auth_secret, credential_without_credentials_directory_is_a_clear_error) {
  env_guard env("CREDENTIALS_DIRECTORY", std::nullopt);
  auto got = read_secret("credential:hss-token");
  ASSERT_FALSE(got.has_value());
  EXPECT_NE(got.error().message().find("CREDENTIALS_DIRECTORY"), std::string::npos) << got.error();
  EXPECT_NE(got.error().message().find("credential:hss-token"), std::string::npos) << got.error();
}

TEST(auth_secret, credential_names_cannot_escape_the_directory) {
  env_guard env("CREDENTIALS_DIRECTORY", "/run/credentials/x");
  EXPECT_FALSE(resolve_secret_path("credential:../etc/shadow").has_value());
  EXPECT_FALSE(resolve_secret_path("credential:").has_value());
  EXPECT_FALSE(resolve_secret_path("credential:..").has_value());
  auto ok = resolve_secret_path("credential:sk");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, "/run/credentials/x/sk");
}

TEST(auth_secret, stamp_changes_when_the_file_is_replaced) {
  temp_dir dir;
  auto path = dir.write("t", "one");
  auto a = stat_secret_file(path);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, *stat_secret_file(path));
  dir.write("t", "two");  // rename: new inode
  auto b = stat_secret_file(path);
  ASSERT_TRUE(b.has_value());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(read_secret(path)->stamp, *b);
  EXPECT_FALSE(stat_secret_file(dir.file("gone")).has_value());
}

TEST(auth_secret, secret_wipes_what_it_leaves_behind) {
  secret a(std::string("short"));
  secret b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(b.reveal(), "short");
  secret c;
  c = b;
  EXPECT_EQ(c.reveal(), "short");
  c = secret(std::string("a much longer secret value, beyond the small buffer"));
  EXPECT_EQ(c.size(), 51u);
  c.wipe();
  EXPECT_TRUE(c.empty());
}

TEST(auth_secret, watched_secret_rereads_only_when_the_file_changes) {
  temp_dir dir;
  auto path = dir.write("t", "first\n");
  watched_secret w(path);
  auto one = w.get();
  ASSERT_TRUE(one.has_value()) << one.error();
  EXPECT_EQ((*one)->reveal(), "first");
  auto stamp = w.stamp();
  EXPECT_EQ((*w.get())->reveal(), "first");
  EXPECT_EQ(w.stamp(), stamp);

  dir.write("t", "second\n");
  auto two = w.get();
  ASSERT_TRUE(two.has_value()) << two.error();
  EXPECT_EQ((*two)->reveal(), "second");
  EXPECT_NE(w.stamp(), stamp);

  // A file that became too open stops working, also from memory.
  ::chmod(path.c_str(), 0644);
  auto three = w.get();
  ASSERT_FALSE(three.has_value());
  EXPECT_NE(three.error().message().find("chmod 600"), std::string::npos);
  EXPECT_FALSE(w.loaded());
}

// Gives `path` the ACL systemd >= 254 puts on a credential: u::r,
// u:nobody:r, g::-, m::r, o::-. stat() then reports mode 0440 (the mask
// shows in the group bits). With setfacl when installed, else by writing
// the system.posix_acl_access attribute directly (the same bytes setfacl
// writes). Returns why it could not, or "".
std::string add_service_user_acl(const std::string& path) {
  if (std::system("command -v setfacl >/dev/null 2>&1") == 0) {
    std::string cmd = "setfacl -m u:nobody:r '" + path + "' 2>&1";
    if (std::system(cmd.c_str()) == 0) return {};
    return "setfacl -m u:nobody:r failed (no ACL support on this file system?)";
  }
  struct entry {
    std::uint16_t tag, perm;
    std::uint32_t id;
  };
  constexpr std::uint32_t undefined = 0xFFFFFFFF;
  const entry entries[] = {{0x01, 4, undefined},
                           {0x02, 4, 65534},
                           {0x04, 0, undefined},
                           {0x10, 4, undefined},
                           {0x20, 0, undefined}};
  unsigned char buf[4 + 8 * std::size(entries)];
  const std::uint32_t version = 2;
  std::memcpy(buf, &version, 4);
  unsigned char* at = buf + 4;
  for (const entry& e : entries) {  // little-endian, as the kernel reads it on x86
    std::memcpy(at, &e.tag, 2);
    std::memcpy(at + 2, &e.perm, 2);
    std::memcpy(at + 4, &e.id, 4);
    at += 8;
  }
  if (::setxattr(path.c_str(), "system.posix_acl_access", buf, sizeof buf, 0) != 0)
    return std::string("cannot set an ACL (setfacl not installed, setxattr: ") +
           std::strerror(errno) + ")";
  return {};
}

// systemd >= 254 on an ACL-capable tmpfs: mode 0400 plus an ACL for the
// service user, which stat reads as 0440. Accepted as a credential (it is
// systemd's, in $CREDENTIALS_DIRECTORY); refused as an ordinary path.
TEST(auth_secret, credential_with_a_service_user_acl_is_accepted) {
  temp_dir dir;
  auto path = dir.write("hss_token", "tok-with-acl\n", 0400);
  if (auto why = add_service_user_acl(path); !why.empty()) GTEST_SKIP() << why;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  ASSERT_EQ(st.st_mode & 0777, 0440u) << "the ACL mask did not show in the group bits";

  env_guard env("CREDENTIALS_DIRECTORY", dir.path());
  auto got = read_secret("credential:hss_token");
  ASSERT_TRUE(got.has_value()) << got.error();
  EXPECT_EQ(got->value.reveal(), "tok-with-acl");
  watched_secret w("credential:hss_token");
  ASSERT_TRUE(w.get().has_value());

  // The same file named by its path is an ordinary secret file: too open.
  auto plain = read_secret(path);
  ASSERT_FALSE(plain.has_value());
  EXPECT_NE(plain.error().message().find("mode 0440"), std::string::npos) << plain.error();
  EXPECT_NE(plain.error().message().find("chmod 600 " + path), std::string::npos) << plain.error();
}

// An ordinary path keeps the strict check whatever ACL it carries, and a
// plain group-readable file is refused as before.
TEST(auth_secret, ordinary_path_with_an_acl_is_still_refused) {
  temp_dir dir;
  auto path = dir.write("token", "tok\n", 0600);
  if (auto why = add_service_user_acl(path); !why.empty()) GTEST_SKIP() << why;
  auto got = read_secret(path);
  ASSERT_FALSE(got.has_value());
  EXPECT_NE(got.error().message().find("accessible by group or others"), std::string::npos)
      << got.error();
}

// A credential must be the file systemd placed: a symlink out of the
// directory is refused (O_NOFOLLOW), an ordinary path may be a symlink.
TEST(auth_secret, credential_symlinks_are_refused_ordinary_symlinks_followed) {
  temp_dir dir;
  temp_dir elsewhere;
  auto target = elsewhere.write("real", "linked-token\n", 0600);
  ASSERT_EQ(::symlink(target.c_str(), dir.file("hss_token").c_str()), 0);
  env_guard env("CREDENTIALS_DIRECTORY", dir.path());
  auto cred = read_secret("credential:hss_token");
  ASSERT_FALSE(cred.has_value());
  EXPECT_NE(cred.error().message().find("symbolic link"), std::string::npos) << cred.error();

  auto plain = read_secret(dir.file("hss_token"));
  ASSERT_TRUE(plain.has_value()) << plain.error();
  EXPECT_EQ(plain->value.reveal(), "linked-token");
}

// Runs read_secret(spec) on a thread and waits at most 5 s. A FIFO with no
// writer blocks open() forever: if it does, a writer is attached so the
// thread can end, and the test fails.
std::optional<result<secret_contents>> read_bounded(const std::string& spec,
                                                    const std::string& fifo) {
  auto fut = std::async(std::launch::async, [spec] { return read_secret(spec); });
  if (fut.wait_for(std::chrono::seconds(5)) == std::future_status::ready) return fut.get();
  int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);  // unblocks the reader
  fut.wait();
  if (w >= 0) ::close(w);
  return std::nullopt;
}

TEST(auth_secret, fifo_is_refused_without_blocking) {
  temp_dir dir;
  auto fifo = dir.file("token");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto got = read_bounded(fifo, fifo);
  ASSERT_TRUE(got.has_value()) << "read_secret blocked on a FIFO";
  ASSERT_FALSE(got->has_value());
  EXPECT_NE(got->error().message().find("not a regular file"), std::string::npos) << got->error();
  EXPECT_NE(got->error().message().find(fifo), std::string::npos) << got->error();

  env_guard env("CREDENTIALS_DIRECTORY", dir.path());
  auto cred = read_bounded("credential:token", fifo);
  ASSERT_TRUE(cred.has_value()) << "read_secret blocked on a FIFO credential";
  ASSERT_FALSE(cred->has_value());
  EXPECT_NE(cred->error().message().find("not a regular file"), std::string::npos) << cred->error();
}

TEST(auth_secret, devices_are_refused) {
  for (const char* dev : {"/dev/null", "/dev/zero"}) {
    auto got = read_secret(dev);
    ASSERT_FALSE(got.has_value()) << dev;
    EXPECT_NE(got.error().message().find("not a regular file"), std::string::npos) << got.error();
  }
}

TEST(auth_secret, wipe_string_overwrites_the_whole_buffer) {
  std::string s(100, 'p');
  s.resize(10);  // bytes past size() still hold the old content
  const char* data = s.data();
  const auto cap = s.capacity();
  wipe_string(s);
  EXPECT_TRUE(s.empty());
  ASSERT_EQ(s.data(), data);  // the same buffer, still ours to read
  EXPECT_EQ(std::string_view(data, cap).find_first_not_of('\0'), std::string_view::npos);
}

}  // namespace
}  // namespace hssjw
