// examples/repro/labeler.hpp - the TRAINING labeler of iterative CRINGE: a world's exact checker with
// seeded label flips.
//
// In the paper one safety classifier both labels the iterative step's generations and scores the
// evaluation, so the evaluation rewards agreeing with the labeler's mistakes. Here
// the evaluator is the exact checker and the labeler is a different, imperfect function of it
// (docs/reproduction.md, "Protocol"). Two properties make it behave like a classifier rather than a coin:
//   - the flip depends only on (seed, prompt, reply), through a hash: the same text always gets the
//     same label, so its errors are systematic, and the order of calls does not matter;
//   - by default a reply must be well-formed AND on target to be positive, the same strict standard
//     the evaluation uses; otherwise degenerate but harmless text ("yes yes yes ...") would come back
//     as positives (the prototype's lesson 2, docs/reproduction.md, "The classic worlds").
// Note lesson 6: once the model is mostly safe, flips dominate the negatives a 50/50 balance keeps.
#pragma once

#include <cstdint>
#include <string>

#include <cringe/error.hpp>
#include <cringe/rng.hpp>
#include "world.hpp"

namespace repro::world {

/// Labels texts like a noisy human: the world's exact label, flipped at random for a share of texts.
template <ChatWorld World>
class NoisyLabeler {
public:
    /// A labeler for `world`; flip_rate in [0, 1] is the share of labels flipped.
    explicit NoisyLabeler(World world, std::uint64_t seed, double flip_rate = 0.05, bool require_wellformed = true)
        : world_(std::move(world)), seed_(seed), flip_rate_(flip_rate), require_wellformed_(require_wellformed) {
        if (!(flip_rate >= 0.0 && flip_rate <= 1.0))
            throw ValueError(cat("NoisyLabeler: flip_rate is ", flip_rate, "; expected 0 <= flip_rate <= 1"));
    }

    /// 1 (positive) or 0 (negative): the exact label, flipped for about flip_rate of all texts.
    int label(const std::string& prompt, const std::string& reply) const {
        const int exact = exact_label(prompt, reply);
        return flipped(prompt, reply) ? 1 - exact : exact;
    }

    /// What the checker says, before any flip.
    int exact_label(const std::string& prompt, const std::string& reply) const {
        const bool good = world_.on_target(prompt, reply) && (!require_wellformed_ || world_.wellformed(prompt, reply));
        return good ? 1 : 0;
    }

    /// Whether this labeler gets this text wrong (a fixed property of the text, the seed and the rate).
    bool flipped(const std::string& prompt, const std::string& reply) const {
        Rng rng(cringe::derive_seed(seed_, "labeler flip", cringe::fnv1a64(prompt + '\n' + reply)));
        return rng.uniform() < flip_rate_;
    }

    /// The share of labels flipped.
    double flip_rate() const { return flip_rate_; }

private:
    World world_;
    std::uint64_t seed_;
    double flip_rate_;
    bool require_wellformed_;
};

}  // namespace repro::world
