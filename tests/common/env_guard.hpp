// An environment variable set (or unset) for one scope and restored after
// it, so a test that needs $CREDENTIALS_DIRECTORY or $JOURNAL_STREAM leaves
// the next test the environment it found.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

namespace hssjw::test {

class env_guard {
 public:
  // nullopt unsets the variable.
  env_guard(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    set(value);
  }
  ~env_guard() { set(old_); }
  env_guard(const env_guard&) = delete;
  env_guard& operator=(const env_guard&) = delete;

  void set(const std::optional<std::string>& value) const {
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace hssjw::test
