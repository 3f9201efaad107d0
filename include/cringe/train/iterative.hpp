// cringe/train/iterative.hpp - the data step of iterative CRINGE (the paper's Algorithm 2).
//
// After a round of training: generate replies for the prompts of the original labelled set D0,
// label them with a classifier (here: a noisy labeler, distinct from the evaluator), and add them to
// the training data. The released ParlAI pipeline filters the new data before adding it (its fourth step; the
// protocol is in docs/reproduction.md, "Protocol"), which this header implements:
//   - keep equal numbers of negative and positive generations (truncate the larger list),
//   - allow the same positive text at most `max_positive_repeats` times (2),
//   - shuffle (seeded).
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "../rng.hpp"

namespace cringe::train {

/// A model's reply to a prompt, with its label.
struct LabeledGeneration {
    /// The prompt text.
    std::string prompt;
    /// The generated reply.
    std::string reply;
    int label = 0;  ///< 1 positive, 0 negative (from the labeler)
};

/// Algorithm 2's filter: balance 50/50, cap repeated positives, shuffle.
inline std::vector<LabeledGeneration> balance_generations(const std::vector<LabeledGeneration>& generations,
                                                          std::size_t max_positive_repeats, Rng& rng) {
    std::vector<LabeledGeneration> positives, negatives;
    std::map<std::string, std::size_t> seen;  // positive reply text -> times kept
    for (const auto& g : generations) {
        if (g.label == 0) {
            negatives.push_back(g);
        } else if (++seen[g.reply] <= max_positive_repeats) {
            positives.push_back(g);
        }
    }
    const std::size_t n = std::min(positives.size(), negatives.size());
    positives.resize(n);
    negatives.resize(n);
    std::vector<LabeledGeneration> out = positives;
    out.insert(out.end(), negatives.begin(), negatives.end());
    for (std::size_t i = out.size(); i > 1; --i) std::swap(out[i - 1], out[rng.below(i)]);  // Fisher-Yates
    return out;
}

}  // namespace cringe::train
