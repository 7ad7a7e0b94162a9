// Hashing and naming for the job model.
#include "hss/job.hpp"

#include "core/hash.hpp"

#include <string_view>

namespace hssjw {

// Hashed on every lookup of a walk (walker, planner, differ): libstdc++'s
// string hash mixed per part is several times cheaper than
// boost::hash_combine over std::string, which was 14 % of a steady walk.
// In memory only: nothing stores these values.
std::size_t job_key_hash::operator()(const job_key_view& k) const noexcept {
  const std::hash<std::string_view> h;
  std::uint64_t seed = mix64(h(k.cluster) + 0x9E3779B97F4A7C15ULL);
  seed = mix64(seed ^ h(k.ns));
  return mix64(seed ^ h(k.name));
}

std::size_t job_key_hash::operator()(const job_key& k) const noexcept {
  return (*this)(job_key_view{k.cluster, k.ns, k.name});
}

std::string scope_id::str() const {
  std::string out = project_id;
  out += '/';
  out += enterprise_project_id.empty() ? "-" : enterprise_project_id;
  if (!filters.empty()) {
    out += '?';
    out += filters;
  }
  return out;
}

}  // namespace hssjw
