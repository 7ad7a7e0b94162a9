// Helpers for the auth tests: a private temporary directory, files with a
// given mode, an environment variable set for one test, and a logger whose
// lines the test can read.
#pragma once

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

namespace hssjw::test {

class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "hssjw-auth-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }

  // Writes `content` to a new file (replacing it by rename, so the inode
  // changes as with a real rotation) and sets `mode`.
  std::string write(const std::string& name, const std::string& content, mode_t mode = 0600) const {
    auto target = path_ / name;
    auto tmp = path_ / (name + ".tmp");
    { std::ofstream(tmp, std::ios::binary | std::ios::trunc) << content; }
    ::chmod(tmp.c_str(), mode);
    std::filesystem::rename(tmp, target);
    return target.string();
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Sets (or unsets, with nullopt) an environment variable for one scope.
class env_guard {
 public:
  env_guard(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~env_guard() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  env_guard(const env_guard&) = delete;
  env_guard& operator=(const env_guard&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A logger writing "level message" lines into a string.
struct captured_log {
  std::shared_ptr<std::ostringstream> out = std::make_shared<std::ostringstream>();
  std::shared_ptr<spdlog::logger> logger;

  captured_log() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(*out);
    sink->set_pattern("%l %v");
    logger = std::make_shared<spdlog::logger>("auth-test", sink);
    logger->set_level(spdlog::level::trace);
  }
  std::string text() const { return out->str(); }
  // How many lines at `level` ("warning", "error", ...) contain `needle`.
  int count(const std::string& level, const std::string& needle) const {
    std::istringstream in(out->str());
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with(level + " ") && line.find(needle) != std::string::npos) ++n;
    }
    return n;
  }
};

}  // namespace hssjw::test
