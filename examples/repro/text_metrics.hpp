// examples/repro/text_metrics.hpp - the text metrics of the reproduction: ParlAI's unigram F1 (the
// paper's quality metric) and distinct-n (a diversity diagnostic).
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <cringe/error.hpp>
#include "world.hpp"

namespace repro::world {

/// ParlAI's normalize_answer, split into words: lowercase; every ASCII punctuation character becomes
/// a space ("don't" -> "don t"); the articles a, an, the are dropped.
inline std::vector<std::string> f1_tokens(const std::string& text) {
    std::string clean;
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);  // <cctype> wants an unsigned char's value
        clean += std::ispunct(c) ? ' ' : static_cast<char>(std::tolower(c));
    }
    std::vector<std::string> out;
    for (auto& word : split_words(clean))
        if (word != "a" && word != "an" && word != "the") out.push_back(word);
    return out;
}

/// Unigram F1 of `guess` against the best of `golds`, as ParlAI's F1Metric: with both sides
/// normalised (f1_tokens), overlap = size of the multiset intersection, precision = overlap / |guess|,
/// recall = overlap / |gold|, F1 = 2PR / (P + R); 0 when there is no overlap (so also when either side
/// is empty, or there are no golds). Example: "the cat sat" vs "a cat sat down": P = 1, R = 2/3, F1 = 0.8.
inline double unigram_f1(const std::string& guess, const std::vector<std::string>& golds) {
    std::map<std::string, int> guess_counts;
    const auto guess_words = f1_tokens(guess);
    for (const auto& word : guess_words) ++guess_counts[word];
    double best = 0.0;
    for (const auto& gold : golds) {
        const auto gold_words = f1_tokens(gold);
        std::map<std::string, int> gold_counts;
        for (const auto& word : gold_words) ++gold_counts[word];
        int overlap = 0;
        for (const auto& [word, count] : guess_counts)
            if (auto it = gold_counts.find(word); it != gold_counts.end()) overlap += std::min(count, it->second);
        if (overlap == 0) continue;
        const double precision = static_cast<double>(overlap) / static_cast<double>(guess_words.size());
        const double recall = static_cast<double>(overlap) / static_cast<double>(gold_words.size());
        best = std::max(best, 2.0 * precision * recall / (precision + recall));
    }
    return best;
}

/// Distinct-n over a corpus: distinct n-grams / all n-grams, counted over every text together (words
/// split on spaces, no normalisation; n-grams never cross texts). 0 when no text has n words.
/// Example: {"a b a b"}, n = 2: bigrams "a b", "b a", "a b" -> 2 / 3.
inline double distinct_n(const std::vector<std::string>& texts, int n) {
    if (n < 1) throw ValueError(cat("distinct_n: n is ", n, "; expected n >= 1"));
    const auto size = static_cast<std::size_t>(n);
    std::set<std::vector<std::string>> distinct;
    std::size_t total = 0;
    for (const auto& text : texts) {
        const auto words = split_words(text);
        for (std::size_t i = 0; i + size <= words.size(); ++i, ++total)
            distinct.emplace(words.begin() + static_cast<std::ptrdiff_t>(i),
                             words.begin() + static_cast<std::ptrdiff_t>(i + size));
    }
    return total == 0 ? 0.0 : static_cast<double>(distinct.size()) / static_cast<double>(total);
}

}  // namespace repro::world
