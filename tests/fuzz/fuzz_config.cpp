// Fuzzes config::load_string with arbitrary YAML. Besides not crashing: a
// config that loads renders, and the rendering loads again (the daemon
// prints it for --check-config and users feed it back).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/loader.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto loaded = hssjw::config::load_string(yaml, "/etc/hss-jobwatch/config.yaml");
  if (!loaded) {
    FUZZ_CHECK(!loaded.error().message().empty());
    return 0;
  }
  const std::string rendered = hssjw::config::render_effective(*loaded);
  auto again = hssjw::config::load_string(rendered, "/etc/hss-jobwatch/config.yaml");
  FUZZ_CHECK(again.has_value());
  (void)hssjw::config::scopes(*again);
  return 0;
}
