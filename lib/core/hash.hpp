// A 64-bit integer mixer (the splitmix64 finaliser) for fingerprints and
// listing identities: cheap, and good enough that sums and XORs of mixed
// values do not collide in practice.
#pragma once

#include <cstdint>
#include <string_view>

namespace hssjw {

constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// MurmurHash64A (Austin Appleby, public domain), bytes read little-endian.
// Its values are STORED (jobs.key_hash in state.db, SPEC §8 state file):
// never change this function; tests/unit/hash_test.cpp pins its outputs.
// Written here because no library of the stack offers a string hash whose
// values are specified (std::hash and boost::hash may change with the
// toolchain).
inline std::uint64_t murmur64a(std::string_view bytes, std::uint64_t seed) {
  constexpr std::uint64_t m = 0xc6a4a7935bd1e995ULL;
  constexpr int r = 47;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::uint64_t h = seed ^ (n * m);
  const unsigned char* end = p + (n & ~std::size_t{7});
  for (; p != end; p += 8) {
    std::uint64_t k = 0;
    for (int i = 7; i >= 0; --i) k = (k << 8) | p[i];  // little-endian; one load on x86
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  switch (n & 7) {
    case 7:
      h ^= std::uint64_t{p[6]} << 48;
      [[fallthrough]];
    case 6:
      h ^= std::uint64_t{p[5]} << 40;
      [[fallthrough]];
    case 5:
      h ^= std::uint64_t{p[4]} << 32;
      [[fallthrough]];
    case 4:
      h ^= std::uint64_t{p[3]} << 24;
      [[fallthrough]];
    case 3:
      h ^= std::uint64_t{p[2]} << 16;
      [[fallthrough]];
    case 2:
      h ^= std::uint64_t{p[1]} << 8;
      [[fallthrough]];
    case 1:
      h ^= std::uint64_t{p[0]};
      h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

}  // namespace hssjw
