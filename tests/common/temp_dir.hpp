// The one scratch directory of the test suite: a fresh private directory
// (mode 0700) per object, removed with everything in it when the object
// goes. Unit and integration tests alike write their files here.
#pragma once

#include <sys/types.h>

#include <string>

namespace hssjw::test {

class temp_dir {
 public:
  temp_dir();  // throws std::runtime_error if no directory can be made
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  // Writes `text` to file(name) with `mode`, creating the directories on
  // the way, and returns its path. An existing file is replaced by rename:
  // the new one is a new inode, as after a real rotation or deployment,
  // and a process reading the file never sees half of it. Throws if the
  // file cannot be written.
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) const;

 private:
  std::string path_;
};

}  // namespace hssjw::test
