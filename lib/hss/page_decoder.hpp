// Decodes one HSS list page (Boost.JSON) straight into the job model:
// key fields and types checked against the resource table, unknown fields
// kept, labels sorted, each new or changed job rendered once as canonical
// JSON text (an unchanged one, when the caller says which are known, not
// at all).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "hss/resource.hpp"
#include "model/job.hpp"
#include "model/scope.hpp"

namespace hssjw {

// A job of the page as listed: what the walk planner's listing identity
// is made of, for every accepted job, unchanged or not.
struct listed_job {
  std::uint64_t key_hash = 0;  // key_hash_of
  std::optional<std::int64_t> create_time;
};

struct decoded_page {
  std::int64_t total_num = 0;
  std::optional<std::int64_t> last_update_time;
  std::vector<keyed_job> jobs;  // new or changed, in list order; rejected jobs are not here
  // Jobs the caller's known_job_fn found unchanged (no key, no body built
  // for them: the caller has them).
  std::size_t unchanged = 0;
  std::vector<listed_job> listed;  // every accepted job, in list order
  std::size_t rejected = 0;        // jobs missing a key field or with a wrong type
  std::string reject_reason;       // the first rejection, for the log
};

// True when the snapshot has the job (by key hash) exactly so; the caller
// notes it as seen. Such a job is only counted in decoded_page::unchanged:
// no key strings, no body (an unchanged job makes no event and no write).
using known_job_fn = std::function<bool(std::uint64_t key_hash, const job_digest&)>;

class page_decoder {
 public:
  page_decoder(const resource_def& resource, std::vector<std::string> ignore_fields);
  ~page_decoder();
  page_decoder(page_decoder&&) noexcept;
  page_decoder& operator=(page_decoder&&) noexcept;

  // An error (errc::bad_response, the message saying what the body is)
  // when the body is not a list page at all (not JSON, too deep, no total,
  // list not an array). Rejected jobs are not an error here: they are
  // counted in `out.rejected`. `out` is reused: its capacity stays.
  result<void> decode(std::string_view body, decoded_page& out,
                      const known_job_fn* known = nullptr);

  // The fingerprint of a canonical job body under this decoder's ignore
  // set (used when loading stored snapshots).
  std::uint64_t fingerprint_of(std::string_view canonical_body) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hssjw
