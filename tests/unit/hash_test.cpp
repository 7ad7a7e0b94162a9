// The key hash is stored (state.db jobs.key_hash): a change to it would
// make every stored job look removed and re-added. These pin it.
#include "core/hash.hpp"

#include <gtest/gtest.h>

#include "model/job.hpp"
#include "model/scope.hpp"

namespace hssjw {
namespace {

// Published MurmurHash64A values (other implementations' test vectors).
TEST(key_hash, murmur64a_matches_published_vectors) {
  EXPECT_EQ(murmur64a("zhenhao", 0x1234), 0xe232aca990972561ULL);
  EXPECT_EQ(murmur64a("", 0xc6a4a7935bd1e995ULL), 0x1ab11ea5a7b2c56eULL);
  EXPECT_EQ(murmur64a("a", 0xc6a4a7935bd1e995ULL), 0x4292cee227b9150aULL);
}

// key_hash_of's own values, as stored by every state.db since schema 2.
TEST(key_hash, key_hash_values_never_change) {
  EXPECT_EQ(key_hash_of(job_key{"cluster-a", "default", "nightly-backup-28901234"}),
            0x7b6afff85030dee6ULL);
  EXPECT_EQ(key_hash_of(job_key{"", "", ""}), 0xa622000a5fc3cb5bULL);
  EXPECT_EQ(key_hash_of(job_key{"ab", "c", "d"}), 0x503d7a493388f900ULL);
  EXPECT_EQ(key_hash_of(job_key{"a", "bc", "d"}), 0x344bd22aaacce2c6ULL);
}

// A view hashes as its key, and moving a character across a part
// boundary changes the hash (each part's length is mixed in).
TEST(key_hash, views_and_part_boundaries) {
  const job_key k{"cluster-a", "kube-system", "job-1"};
  EXPECT_EQ(key_hash_of(job_key_view{k.cluster, k.ns, k.name}), key_hash_of(k));
  EXPECT_EQ(job_key_hash{}(k), key_hash_of(k));
  EXPECT_NE(key_hash_of(job_key{"ab", "", "c"}), key_hash_of(job_key{"a", "b", "c"}));
  EXPECT_NE(key_hash_of(job_key{"a", "b", "c"}), key_hash_of(job_key{"a", "", "bc"}));
}

}  // namespace
}  // namespace hssjw
