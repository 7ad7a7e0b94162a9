// Secret files: permission checks with messages that name the fix,
// credential:NAME through $CREDENTIALS_DIRECTORY, whitespace stripping,
// empty and oversized files, stamps, and re-reading on change.
#include "auth/secret_file.hpp"

#include "unit/auth_test_support.hpp"

#include <gtest/gtest.h>

namespace hssjw {
namespace {

using test::env_guard;
using test::temp_dir;

TEST(AuthSecret, ReadsAPrivateFileAndStripsWhitespace) {
  temp_dir dir;
  auto path = dir.write("token", "  \n\tMIIabc def\r\n\n", 0600);
  auto got = read_secret(path);
  ASSERT_TRUE(got.has_value()) << got.error();
  EXPECT_EQ(got->value.reveal(), "MIIabc def");  // inner whitespace kept
  EXPECT_EQ(got->path, path);
  EXPECT_GT(got->stamp.ino, 0u);
  EXPECT_EQ(got->stamp.size, 17);
}

TEST(AuthSecret, ReadOnlyForOwnerIsAccepted) {
  temp_dir dir;
  auto got = read_secret(dir.write("sk", "secret", 0400));
  ASSERT_TRUE(got.has_value()) << got.error();
  EXPECT_EQ(got->value.reveal(), "secret");
}

TEST(AuthSecret, RefusesFilesOthersCanAccess) {
  temp_dir dir;
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
    SCOPED_TRACE(mode);
    auto path = dir.write("pw", "hunter2-secret", mode);
    auto got = read_secret(path);
    ASSERT_FALSE(got.has_value());
    EXPECT_NE(got.error().find(path), std::string::npos) << got.error();
    EXPECT_NE(got.error().find("chmod 600 " + path), std::string::npos) << got.error();
    EXPECT_EQ(got.error().find("hunter2"), std::string::npos) << "message leaks the secret";
  }
  auto got = read_secret(dir.write("pw", "x", 0644));
  EXPECT_NE(got.error().find("mode 0644"), std::string::npos) << got.error();
}

TEST(AuthSecret, RefusesEmptyAndWhitespaceOnlyFiles) {
  temp_dir dir;
  for (std::string content : {"", " \n\t\r\n"}) {
    auto path = dir.write("empty", content);
    auto got = read_secret(path);
    ASSERT_FALSE(got.has_value());
    EXPECT_NE(got.error().find("empty"), std::string::npos) << got.error();
    EXPECT_NE(got.error().find(path), std::string::npos) << got.error();
  }
}

TEST(AuthSecret, RefusesMissingFilesDirectoriesAndHugeFiles) {
  temp_dir dir;
  auto missing = read_secret(dir.file("nope"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().find(dir.file("nope")), std::string::npos);
  EXPECT_NE(missing.error().find("No such file"), std::string::npos) << missing.error();

  ::chmod(dir.path().c_str(), 0700);
  auto directory = read_secret(dir.path().string());
  ASSERT_FALSE(directory.has_value());
  EXPECT_NE(directory.error().find("not a regular file"), std::string::npos) << directory.error();

  auto huge = read_secret(dir.write("huge", std::string(max_secret_size + 1, 'x')));
  ASSERT_FALSE(huge.has_value());
  EXPECT_NE(huge.error().find("larger than"), std::string::npos) << huge.error();

  auto none = read_secret("");
  ASSERT_FALSE(none.has_value());
}

TEST(AuthSecret, CredentialReadsFromCredentialsDirectory) {
  temp_dir dir;
  dir.write("hss-token", "tok-from-systemd\n", 0400);
  env_guard env("CREDENTIALS_DIRECTORY", dir.path().string());
  auto got = read_secret("credential:hss-token");
  ASSERT_TRUE(got.has_value()) << got.error();
  EXPECT_EQ(got->value.reveal(), "tok-from-systemd");
  EXPECT_EQ(got->path, dir.file("hss-token"));

  auto missing = read_secret("credential:other");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().find(dir.file("other")), std::string::npos) << missing.error();
}

TEST(AuthSecret, CredentialWithoutCredentialsDirectoryIsAClearError) {
  env_guard env("CREDENTIALS_DIRECTORY", std::nullopt);
  auto got = read_secret("credential:hss-token");
  ASSERT_FALSE(got.has_value());
  EXPECT_NE(got.error().find("CREDENTIALS_DIRECTORY"), std::string::npos) << got.error();
  EXPECT_NE(got.error().find("credential:hss-token"), std::string::npos) << got.error();
}

TEST(AuthSecret, CredentialNamesCannotEscapeTheDirectory) {
  env_guard env("CREDENTIALS_DIRECTORY", "/run/credentials/x");
  EXPECT_FALSE(resolve_secret_path("credential:../etc/shadow").has_value());
  EXPECT_FALSE(resolve_secret_path("credential:").has_value());
  EXPECT_FALSE(resolve_secret_path("credential:..").has_value());
  auto ok = resolve_secret_path("credential:sk");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, "/run/credentials/x/sk");
}

TEST(AuthSecret, StampChangesWhenTheFileIsReplaced) {
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

TEST(AuthSecret, SecretWipesWhatItLeavesBehind) {
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

TEST(AuthSecret, WatchedSecretRereadsOnlyWhenTheFileChanges) {
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
  EXPECT_NE(three.error().find("chmod 600"), std::string::npos);
  EXPECT_FALSE(w.loaded());
}

}  // namespace
}  // namespace hssjw
