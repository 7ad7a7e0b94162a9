// The scratch directory (see temp_dir.hpp).
#include "common/temp_dir.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace hssjw::test {

namespace fs = std::filesystem;

// Under /tmp, not $TMPDIR: the daemon's Unix socket lives in here, and a
// socket path must stay under 108 bytes however long $TMPDIR is.
temp_dir::temp_dir() {
  std::string tmpl = "/tmp/hssjw-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("temp_dir: mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string temp_dir::write(const std::string& name, const std::string& text, mode_t mode) const {
  const fs::path target = file(name);
  const fs::path tmp = target.string() + ".tmp";
  fs::create_directories(target.parent_path());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("temp_dir: cannot write " + tmp.string());
  }
  if (::chmod(tmp.c_str(), mode) != 0)
    throw std::runtime_error("temp_dir: cannot chmod " + tmp.string());
  fs::rename(tmp, target);
  return target.string();
}

}  // namespace hssjw::test
