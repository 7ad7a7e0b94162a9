// Hashing and naming for the job model.
#include "model/job.hpp"

#include <cstdio>
#include <string_view>

#include "core/hash.hpp"

namespace hssjw {

// Once per listed job of a walk; stored, so fixed (see job.hpp). Each
// part is hashed with the previous result as its seed and its length
// mixed in, so ("ab", "c") and ("a", "bc") differ.
std::uint64_t key_hash_of(const job_key_view& k) noexcept {
  std::uint64_t h = murmur64a(k.cluster, 0x9E3779B97F4A7C15ULL);
  h = murmur64a(k.ns, h);
  return murmur64a(k.name, h);
}

std::uint64_t key_hash_of(const job_key& k) noexcept {
  return key_hash_of(job_key_view{k.cluster, k.ns, k.name});
}

std::string key_hash_hex(std::uint64_t key_hash) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(key_hash));
  return buf;
}

std::string job_key::str() const { return cluster + '/' + ns + '/' + name; }

}  // namespace hssjw
