// Hashing and naming for the job model.
#include "hss/job.hpp"

#include <boost/container_hash/hash.hpp>

namespace hssjw {

std::size_t job_key_hash::operator()(const job_key& k) const noexcept {
  std::size_t seed = 0;
  boost::hash_combine(seed, k.cluster);
  boost::hash_combine(seed, k.ns);
  boost::hash_combine(seed, k.name);
  return seed;
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
