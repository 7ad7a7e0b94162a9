// Fuzzes page_decoder::decode with arbitrary response bodies. Besides not
// crashing: every accepted job's stored body must read back as JSON with
// the same fingerprint (what a restart relies on to avoid false
// "modified" events), and the counts must add up.
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "hss/page_decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static hssjw::page_decoder decoder(hssjw::jobs_resource(), {"execute_time"});
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  hssjw::decoded_page page;
  if (auto decoded = decoder.decode(body, page); !decoded) {
    FUZZ_CHECK(!decoded.error().message().empty());
    return 0;
  }
  FUZZ_CHECK(page.total_num >= 0);
  FUZZ_CHECK((page.rejected == 0) == page.reject_reason.empty());
  for (const auto& job : page.jobs) {
    boost::system::error_code ec;
    auto v = boost::json::parse(job.record.body, ec);
    FUZZ_CHECK(!ec && v.is_object());
    FUZZ_CHECK(decoder.fingerprint_of(job.record.body) == job.record.fingerprint);
  }
  return 0;
}
