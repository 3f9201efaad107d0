// train::balance_generations (include/cringe/train/iterative.hpp), iterative CRINGE's data step:
// keep equal numbers of positive and negative generations, at most `max_positive_repeats` copies of a
// positive reply, then shuffle with the given Rng. Hand-worked cases; the output is compared as a
// sorted list where only the kept multiset is determined.
#include "../support/testing.hpp"

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include <cringe/train/iterative.hpp>

using namespace cringe;
using cringe::train::balance_generations;
using cringe::train::LabeledGeneration;

namespace {

LabeledGeneration labeled(const std::string& prompt, const std::string& reply, int label) { return {prompt, reply, label}; }

/// (label, prompt, reply) triples, sorted: the kept multiset, whatever the shuffle did.
std::vector<std::tuple<int, std::string, std::string>> kept(const std::vector<LabeledGeneration>& gs) {
    std::vector<std::tuple<int, std::string, std::string>> out;
    for (const auto& g : gs) out.emplace_back(g.label, g.prompt, g.reply);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("balance_generations: the larger side is cut to the smaller, keeping the first ones", "[train][iterative]") {
    Rng rng(1);
    // 3 positives, 1 negative -> the first positive and the negative
    const auto more_positives = balance_generations(
        {labeled("p1", "fine", 1), labeled("p2", "good", 1), labeled("p3", "nice", 1), labeled("p4", "rude", 0)}, 2, rng);
    CHECK(kept(more_positives) == kept({labeled("p1", "fine", 1), labeled("p4", "rude", 0)}));
    // 1 positive, 3 negatives (interleaved) -> the positive and the FIRST negative
    const auto more_negatives = balance_generations(
        {labeled("p1", "bad", 0), labeled("p2", "fine", 1), labeled("p3", "worse", 0), labeled("p4", "worst", 0)}, 2, rng);
    CHECK(kept(more_negatives) == kept({labeled("p2", "fine", 1), labeled("p1", "bad", 0)}));
}

TEST_CASE("balance_generations: a positive reply text is kept at most max_positive_repeats times", "[train][iterative]") {
    Rng rng(2);
    // "ok" five times (for different prompts), "sure" once; 5 negatives. With a cap of 2: ok, ok, sure
    // survive (the first two "ok"), so 3 positives and the first 3 negatives.
    const std::vector<LabeledGeneration> gs = {
        labeled("a", "ok", 1),   labeled("b", "ok", 1),  labeled("c", "no", 0),   labeled("d", "ok", 1), labeled("e", "sure", 1),
        labeled("f", "ok", 1),   labeled("g", "no!", 0), labeled("h", "nope", 0), labeled("i", "ok", 1), labeled("j", "never", 0),
        labeled("k", "stop", 0)};
    CHECK(kept(balance_generations(gs, 2, rng)) ==
          kept({labeled("a", "ok", 1), labeled("b", "ok", 1), labeled("e", "sure", 1), labeled("c", "no", 0), labeled("g", "no!", 0), labeled("h", "nope", 0)}));
    // cap 1: ok (from a), sure; the first 2 negatives
    CHECK(kept(balance_generations(gs, 1, rng)) ==
          kept({labeled("a", "ok", 1), labeled("e", "sure", 1), labeled("c", "no", 0), labeled("g", "no!", 0)}));
    // cap 0: no positive survives, so nothing is kept
    CHECK(balance_generations(gs, 0, rng).empty());
    // the cap counts positives only: repeated NEGATIVE texts are all candidates
    const auto repeated_negatives = balance_generations(
        {labeled("a", "no", 0), labeled("b", "no", 0), labeled("c", "no", 0), labeled("d", "yes", 1), labeled("e", "sure", 1), labeled("f", "fine", 1)}, 1, rng);
    CHECK(kept(repeated_negatives) == kept({labeled("a", "no", 0), labeled("b", "no", 0), labeled("c", "no", 0), labeled("d", "yes", 1),
                                            labeled("e", "sure", 1), labeled("f", "fine", 1)}));
}

TEST_CASE("balance_generations: empty and one-sided inputs give nothing", "[train][iterative]") {
    Rng rng(3);
    CHECK(balance_generations({}, 2, rng).empty());
    CHECK(balance_generations({labeled("a", "fine", 1), labeled("b", "good", 1)}, 2, rng).empty());
    CHECK(balance_generations({labeled("a", "bad", 0)}, 2, rng).empty());
}

TEST_CASE("balance_generations: the shuffle is a permutation fixed by the seed", "[train][iterative]") {
    std::vector<LabeledGeneration> gs;
    for (int i = 0; i < 10; ++i) {
        gs.push_back(labeled("pos" + std::to_string(i), "reply " + std::to_string(i), 1));
        gs.push_back(labeled("neg" + std::to_string(i), "insult " + std::to_string(i), 0));
    }
    Rng a(5), b(5), c(6);
    const auto first = balance_generations(gs, 2, a);
    const auto again = balance_generations(gs, 2, b);
    const auto other = balance_generations(gs, 2, c);
    REQUIRE(first.size() == 20);
    CHECK(kept(first) == kept(gs));  // nothing lost or duplicated
    auto order = [](const std::vector<LabeledGeneration>& v) {
        std::vector<std::string> prompts;
        for (const auto& g : v) prompts.push_back(g.prompt);
        return prompts;
    };
    CHECK(order(first) == order(again));
    CHECK(order(first) != order(other));  // two seeds agree on one of 20! orders with probability 1/20!
    // the input order (all positives first, then negatives) is not kept: the output is shuffled
    std::vector<std::string> unshuffled;
    for (int i = 0; i < 10; ++i) unshuffled.push_back("pos" + std::to_string(i));
    for (int i = 0; i < 10; ++i) unshuffled.push_back("neg" + std::to_string(i));
    CHECK(order(first) != unshuffled);
}
