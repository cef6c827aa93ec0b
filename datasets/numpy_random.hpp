// numpy_random.hpp: a bit-exact replica of `np.random.Generator(np.random.Philox(seed))` (NumPy
// 1.17+), the RNG of HRM's training sampler (HRM-SPEC 5.1).
//
// What is reproduced, each exactly as NumPy's C code does it:
//  - SeedSequence(entropy).generate_state(): the hash pool that turns an int seed into the key;
//  - Philox4x64-10 with NumPy's counter handling (increment before each block, start at 0) and its
//    buffering: next_uint64 hands out the block's 4 words in order; next_uint32 splits one 64-bit
//    word, low half first, keeping the high half for the next 32-bit call;
//  - Generator.permutation(n) / shuffle: Fisher-Yates from the end, j = random_interval(i), a
//    masked rejection draw on 32-bit words when i < 2^32;
//  - Generator.integers(lo, hi) for int64 output: Lemire's multiply-and-reject on 32-bit draws when
//    hi - lo - 1 < 2^32, on 64-bit draws otherwise; a range of one value draws nothing.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace hrm {

// SeedSequence's entropy words for a non-negative Python int: 32-bit little-endian words, [0] for 0.
std::vector<std::uint32_t> seed_sequence_words(std::uint64_t value);

// np.random.SeedSequence(entropy).generate_state(n_words, np.uint32), entropy given as its words
// (a list of ints is the concatenation of each int's words).
std::vector<std::uint32_t> seed_sequence_generate_state(std::span<const std::uint32_t> entropy, std::size_t n_words);

class NumpyPhilox {
 public:
  // np.random.Generator(np.random.Philox(seed=seed)).
  explicit NumpyPhilox(std::uint64_t seed);
  // np.random.Generator(np.random.Philox(np.random.SeedSequence(entropy))).
  explicit NumpyPhilox(std::span<const std::uint32_t> entropy);

  std::uint64_t next_uint64() {  // bit_generator.random_raw()
    if (buffer_pos_ == kBlock) refill();
    return buffer_[buffer_pos_++];
  }
  std::uint32_t next_uint32() {
    if (has_uint32_) {
      has_uint32_ = false;
      return uinteger_;
    }
    const std::uint64_t w = next_uint64();
    has_uint32_ = true;
    uinteger_ = static_cast<std::uint32_t>(w >> 32);
    return static_cast<std::uint32_t>(w);
  }

  // Uniform on [0, max] by masked rejection: what shuffle/permutation use.
  std::uint64_t random_interval(std::uint64_t max) {
    if (max == 0) return 0;
    std::uint64_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    std::uint64_t v;
    if (max <= 0xFFFFFFFFULL) {
      while ((v = (next_uint32() & mask)) > max) {}
    } else {
      while ((v = (next_uint64() & mask)) > max) {}
    }
    return v;
  }

  // Generator.integers(lo, hi): uniform on [lo, hi), int64. Requires lo < hi.
  std::int64_t integers(std::int64_t lo, std::int64_t hi) {
    const std::uint64_t rng = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) - 1;
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + bounded(rng));
  }

  // Generator.shuffle on a 1-D array.
  template <class T> void shuffle(std::span<T> v) {
    for (std::size_t i = v.size(); i-- > 1;) std::swap(v[i], v[random_interval(i)]);
  }
  std::vector<std::int64_t> permutation(std::int64_t n);  // Generator.permutation(n)

 private:
  static constexpr int kBlock = 4;
  std::array<std::uint64_t, 4> counter_{};
  std::array<std::uint64_t, 2> key_{};
  std::array<std::uint64_t, kBlock> buffer_{};
  int buffer_pos_ = kBlock;  // empty: the first draw computes block counter + 1
  bool has_uint32_ = false;
  std::uint32_t uinteger_ = 0;

  // The Philox4x64-10 block: inline, so the draw loops keep the generator's state in registers.
  void refill() {
    __extension__ typedef unsigned __int128 u128;  // GCC/Clang; -Wpedantic wants the __extension__
    for (auto& c : counter_)  // 256-bit counter, incremented before each block
      if (++c != 0) break;
    std::uint64_t x0 = counter_[0], x1 = counter_[1], x2 = counter_[2], x3 = counter_[3];
    std::uint64_t k0 = key_[0], k1 = key_[1];
    for (int round = 0; round < 10; ++round) {
      if (round > 0) {
        k0 += 0x9E3779B97F4A7C15ULL;  // Weyl key increments (Random123)
        k1 += 0xBB67AE8584CAA73BULL;
      }
      const u128 p0 = static_cast<u128>(0xD2E7470EE14C6C93ULL) * x0;  // Philox4x64 multipliers
      const u128 p1 = static_cast<u128>(0xCA5A826395121157ULL) * x2;
      const auto hi0 = static_cast<std::uint64_t>(p0 >> 64), lo0 = static_cast<std::uint64_t>(p0);
      const auto hi1 = static_cast<std::uint64_t>(p1 >> 64), lo1 = static_cast<std::uint64_t>(p1);
      x0 = hi1 ^ x1 ^ k0;
      x1 = lo1;
      x2 = hi0 ^ x3 ^ k1;
      x3 = lo0;
    }
    buffer_ = {x0, x1, x2, x3};
    buffer_pos_ = 0;
  }
  // Uniform on [0, rng] (random_bounded_uint64_fill, unmasked).
  std::uint64_t bounded(std::uint64_t rng) {
    if (rng == 0) return 0;
    if (rng < 0xFFFFFFFFULL) return lemire32(static_cast<std::uint32_t>(rng));
    if (rng == 0xFFFFFFFFULL) return next_uint32();
    return lemire64(rng);  // rng < 2^64 - 1: integers() cannot span all of int64
  }
  std::uint32_t lemire32(std::uint32_t rng) {
    const std::uint32_t excl = rng + 1;
    std::uint64_t m = static_cast<std::uint64_t>(next_uint32()) * excl;
    auto leftover = static_cast<std::uint32_t>(m);
    if (leftover < excl) {
      const std::uint32_t threshold = (0xFFFFFFFFU - rng) % excl;
      while (leftover < threshold) {
        m = static_cast<std::uint64_t>(next_uint32()) * excl;
        leftover = static_cast<std::uint32_t>(m);
      }
    }
    return static_cast<std::uint32_t>(m >> 32);
  }
  std::uint64_t lemire64(std::uint64_t rng);
};

}  // namespace hrm
