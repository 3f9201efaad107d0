// cringe/rng.hpp - a small, portable, seeded random number generator.
//
// Why not <random>? The standard fixes mt19937's bit stream but not the algorithms of its
// distributions, so std::normal_distribution gives different numbers with libstdc++ and libc++.
// cringe promises "the same seed gives the same numbers on every platform build", so the
// distributions below are written out (and tested against fixed values).
//
// Seed streams. A run has one seed, but many random choices (the data, the initial weights, the
// batches of each method, the sampled evaluation): each draws from its own NAMED stream,
// Rng(derive_seed(seed, "batches", ...)). Arithmetic such as seed * 7 + k collides across seeds
// (seed 1's stream 7 is seed 2's stream 0) and std::hash differs between standard libraries;
// derive_seed is a fixed function, specified below to the bit.
#pragma once

#include <cmath>
#include <concepts>
#include <cstdint>
#include <numbers>
#include <string_view>

#include "error.hpp"

namespace cringe {

/// 64-bit FNV-1a of the bytes of `text`: h = 0xcbf29ce484222325, then for each byte b,
/// h = (h XOR b) * 0x100000001b3 (mod 2^64). The same on every platform, unlike std::hash.
constexpr std::uint64_t fnv1a64(std::string_view text) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const char ch : text) h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001b3ULL;
    return h;
}

/// The SplitMix64 output function (Steele, Lea and Flood 2014): z ^= z >> 30; z *= 0xbf58476d1ce4e5b9;
/// z ^= z >> 27; z *= 0x94d049bb133111eb; z ^= z >> 31. A bijection of 64-bit words in which every
/// input bit changes about half the output bits.
constexpr std::uint64_t splitmix64_mix(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/// The seed of the random stream named `stream` (and numbered by `index`..., if given) of a run
/// seeded with `base`. With G = 0x9e3779b97f4a7c15, mix = splitmix64_mix and all arithmetic mod 2^64:
///
///     h = mix(base + G)                          (SplitMix64's first output for state `base`)
///     h = mix((h XOR fnv1a64(stream)) + G)
///     h = mix((h XOR index) + G)                 for each index, in order
///
/// Every step is a bijection of h, so two different base seeds never give the same seed for the same
/// stream and indices; different streams or indices collide only by chance (about n^2 / 2^65 for
/// n seeds). A negative index counts as its two's complement (index + 2^64).
template <std::integral... Index>
constexpr std::uint64_t derive_seed(std::uint64_t base, std::string_view stream, Index... index) noexcept {
    constexpr std::uint64_t golden = 0x9e3779b97f4a7c15ULL;
    std::uint64_t h = splitmix64_mix(base + golden);
    h = splitmix64_mix((h ^ fnv1a64(stream)) + golden);
    ((h = splitmix64_mix((h ^ static_cast<std::uint64_t>(index)) + golden)), ...);
    return h;
}

/// xoshiro256** (Blackman & Vigna), seeded through splitmix64. Fast, small state, good quality.
class Rng {
public:
    /// A generator seeded with `seed`.
    explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

    /// Restarts the sequence from `seed`.
    void reseed(std::uint64_t seed) {
        std::uint64_t x = seed;
        for (auto& word : state_) word = splitmix64(x);
        has_spare_normal_ = false;
    }

    /// 64 random bits.
    std::uint64_t next_u64() {
        const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

    /// Uniform double in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

    /// Uniform integer in [0, n), unbiased (rejection sampling). n must be > 0.
    std::uint64_t below(std::uint64_t n) {
        if (n == 0) throw ValueError("Rng::below: n is 0; expected n >= 1 (an empty range has no element to draw)");
        const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        std::uint64_t r;
        do { r = next_u64(); } while (r >= limit);
        return r % n;
    }

    /// Standard normal by the Box-Muller transform (the second value of each pair is kept).
    double normal() {
        if (has_spare_normal_) {
            has_spare_normal_ = false;
            return spare_normal_;
        }
        double u1 = uniform();
        while (u1 <= 0.0) u1 = uniform();
        const double u2 = uniform();
        const double radius = std::sqrt(-2.0 * std::log(u1));
        const double angle = 2.0 * std::numbers::pi * u2;
        spare_normal_ = radius * std::sin(angle);
        has_spare_normal_ = true;
        return radius * std::cos(angle);
    }

    /// Normal with the given mean and standard deviation.
    double normal(double mean, double stddev) { return mean + stddev * normal(); }

    /// The complete state, for checkpoints that resume a run exactly.
    struct State {
        /// The xoshiro256 state.
        std::uint64_t words[4];
        /// The second Box-Muller value, kept for the next normal().
        double spare_normal;
        /// Whether spare_normal is pending.
        bool has_spare_normal;
    };
    /// The complete state.
    State state() const { return {{state_[0], state_[1], state_[2], state_[3]}, spare_normal_, has_spare_normal_}; }
    /// Restores a state from state().
    void set_state(const State& s) {
        for (int i = 0; i < 4; ++i) state_[i] = s.words[i];
        spare_normal_ = s.spare_normal;
        has_spare_normal_ = s.has_spare_normal;
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static std::uint64_t splitmix64(std::uint64_t& x) { return splitmix64_mix(x += 0x9e3779b97f4a7c15ULL); }

    std::uint64_t state_[4]{};
    double spare_normal_ = 0.0;
    bool has_spare_normal_ = false;
};

}  // namespace cringe
