// Fuzzes the events socket's request parser (SPEC §5) with arbitrary
// request lines: any local user can send them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "protocol/socket_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto r = hssjw::proto::parse_request(line);
  if (!r) {
    FUZZ_CHECK(!r.error().message().empty());
    return 0;
  }
  if (r->operation != hssjw::proto::op::watch) FUZZ_CHECK(!r->since && !r->sync);
  hssjw::proto::event_meta m{"p", "0", "c", "n", "x", std::nullopt};
  (void)r->filter.matches(m);
  return 0;
}
