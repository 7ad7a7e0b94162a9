// Fuzzes the HTTP response path: the bytes a peer sends, parsed exactly as
// https_client reads a response (same parser, header and body limits).
// The body limit is small so that the limit path is reached too.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "hss/client.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t body_limit = 4096;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto r = hssjw::parse_http_response(bytes, body_limit);
  if (r) {
    FUZZ_CHECK(r->status >= 100 && r->status <= 999);
    FUZZ_CHECK(r->body.size() <= body_limit);
  }
  return 0;
}
