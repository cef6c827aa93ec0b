// numpy_random.cpp: SeedSequence hashing and the 64-bit bounded draw, transcribed from NumPy's
// bit_generator.pyx and distributions.c (the Philox block, from philox.h, is inline in the header).
#include "datasets/numpy_random.hpp"

#include <numeric>

namespace hrm {

namespace {

// SeedSequence's constants (bit_generator.pyx).
constexpr std::uint32_t kInitA = 0x43b0d7e5, kMultA = 0x931e8875;
constexpr std::uint32_t kInitB = 0x8b51f9dd, kMultB = 0x58f38ded;
constexpr std::uint32_t kMixMultL = 0xca01f9dd, kMixMultR = 0x4973f715;
constexpr int kXShift = 16;
constexpr std::size_t kPoolSize = 4;

std::uint32_t hashmix(std::uint32_t value, std::uint32_t& hash_const) {
  value ^= hash_const;
  hash_const *= kMultA;
  value *= hash_const;
  return value ^ (value >> kXShift);
}

std::uint32_t mix(std::uint32_t x, std::uint32_t y) {
  const std::uint32_t r = kMixMultL * x - kMixMultR * y;
  return r ^ (r >> kXShift);
}

// SeedSequence.mix_entropy into a pool of 4 words (no spawn key).
std::array<std::uint32_t, kPoolSize> seed_pool(std::span<const std::uint32_t> entropy) {
  std::array<std::uint32_t, kPoolSize> pool{};
  std::uint32_t hash_const = kInitA;
  for (std::size_t i = 0; i < kPoolSize; ++i) pool[i] = hashmix(i < entropy.size() ? entropy[i] : 0, hash_const);
  // Every word mixes into every other, so late entropy words affect early pool words.
  for (std::size_t src = 0; src < kPoolSize; ++src)
    for (std::size_t dst = 0; dst < kPoolSize; ++dst)
      if (src != dst) pool[dst] = mix(pool[dst], hashmix(pool[src], hash_const));
  for (std::size_t src = kPoolSize; src < entropy.size(); ++src)
    for (std::size_t dst = 0; dst < kPoolSize; ++dst) pool[dst] = mix(pool[dst], hashmix(entropy[src], hash_const));
  return pool;
}

}  // namespace

std::vector<std::uint32_t> seed_sequence_words(std::uint64_t value) {
  std::vector<std::uint32_t> w;
  do {
    w.push_back(static_cast<std::uint32_t>(value));
    value >>= 32;
  } while (value != 0);
  return w;
}

std::vector<std::uint32_t> seed_sequence_generate_state(std::span<const std::uint32_t> entropy, std::size_t n_words) {
  const auto pool = seed_pool(entropy);
  std::vector<std::uint32_t> out(n_words);
  std::uint32_t hash_const = kInitB;
  for (std::size_t i = 0; i < n_words; ++i) {
    std::uint32_t v = pool[i % kPoolSize] ^ hash_const;
    hash_const *= kMultB;
    v *= hash_const;
    out[i] = v ^ (v >> kXShift);
  }
  return out;
}

NumpyPhilox::NumpyPhilox(std::uint64_t seed) : NumpyPhilox(seed_sequence_words(seed)) {}

NumpyPhilox::NumpyPhilox(std::span<const std::uint32_t> entropy) {
  // Philox(seed) takes its 128-bit key as generate_state(2, np.uint64): 4 words, little-endian pairs.
  const auto w = seed_sequence_generate_state(entropy, 4);
  key_[0] = w[0] | (static_cast<std::uint64_t>(w[1]) << 32);
  key_[1] = w[2] | (static_cast<std::uint64_t>(w[3]) << 32);
}

__extension__ typedef unsigned __int128 u128;  // GCC/Clang; -Wpedantic wants the __extension__

std::uint64_t NumpyPhilox::lemire64(std::uint64_t rng) {
  const std::uint64_t excl = rng + 1;
  u128 m = static_cast<u128>(next_uint64()) * excl;
  auto leftover = static_cast<std::uint64_t>(m);
  if (leftover < excl) {
    const std::uint64_t threshold = (~0ULL - rng) % excl;
    while (leftover < threshold) {
      m = static_cast<u128>(next_uint64()) * excl;
      leftover = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

std::vector<std::int64_t> NumpyPhilox::permutation(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  shuffle(std::span<std::int64_t>(v));
  return v;
}

}  // namespace hrm
