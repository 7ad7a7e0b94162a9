// A 64-bit integer mixer (the splitmix64 finaliser) for fingerprints and
// listing identities: cheap, and good enough that sums and XORs of mixed
// values do not collide in practice.
#pragma once

#include <cstdint>

namespace hssjw {

constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace hssjw
