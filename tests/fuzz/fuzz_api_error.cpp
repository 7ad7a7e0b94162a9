// Fuzzes parse_api_error: the first two bytes are the HTTP status, the
// rest the body. Whatever comes back goes into log lines, so it must be
// printable (no control bytes) and bounded.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "hss/http.hpp"

namespace {

bool printable(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const unsigned status = 400u + (static_cast<unsigned>(data[0]) << 8 | data[1]) % 200u;
  const std::string body(reinterpret_cast<const char*>(data + 2), size - 2);
  const auto e = hssjw::parse_api_error(status, body, size % 3 == 0 ? body.substr(0, 40) : "");
  FUZZ_CHECK(printable(e.error_code) && printable(e.error_msg) && printable(e.request_id));
  FUZZ_CHECK(e.error_msg.size() <= 600 && e.error_code.size() <= 600);
  (void)hssjw::is_throttled(e);
  (void)hssjw::is_auth_rejected(e);
  FUZZ_CHECK(!e.to_string().empty());
  return 0;
}
