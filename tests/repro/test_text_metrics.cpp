// Tests of examples/repro/text_metrics.hpp: ParlAI unigram F1 and distinct-n on hand-computed cases.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "../../examples/repro/text_metrics.hpp"

using repro::world::distinct_n;
using repro::world::f1_tokens;
using repro::world::unigram_f1;
using Strings = std::vector<std::string>;

TEST_CASE("f1_tokens lowercases, turns punctuation into spaces and drops articles") {
    CHECK(f1_tokens("The Cat, sat!") == Strings{"cat", "sat"});
    CHECK(f1_tokens("don't  stop .") == Strings{"don", "t", "stop"});
    CHECK(f1_tokens("an apple a day the end") == Strings{"apple", "day", "end"});
    CHECK(f1_tokens("another theme") == Strings{"another", "theme"});  // whole words only
    CHECK(f1_tokens(" . , ? ").empty());
}

TEST_CASE("unigram_f1 matches hand-computed values") {
    // guess {cat, sat}, gold {cat, sat, down}: P = 1, R = 2/3, F1 = 2 * (2/3) / (5/3) = 0.8
    CHECK(unigram_f1("the cat sat", {"a cat sat down"}) == Approx(0.8));
    CHECK(unigram_f1("i like tea too .", {"i like tea too ."}) == Approx(1.0));
    // multiset overlap: guess {cat x3}, gold {cat}: overlap 1, P = 1/3, R = 1, F1 = 0.5
    CHECK(unigram_f1("cat cat cat", {"cat"}) == Approx(0.5));
    // guess {tea, is, great} vs gold {i, think, tea, is, nice}: overlap 2, P = 2/3, R = 2/5, F1 = 0.5
    CHECK(unigram_f1("tea is great .", {"i think tea is nice ."}) == Approx(0.5));
    CHECK(unigram_f1("Cat, SAT!", {"cat sat ."}) == Approx(1.0));
}

TEST_CASE("unigram_f1 takes the best gold and is 0 without overlap or without words") {
    CHECK(unigram_f1("the cat sat", {"dogs run", "a cat sat down", "cat"}) == Approx(0.8));
    CHECK(unigram_f1("dogs run", {"a cat sat down"}) == 0.0);
    CHECK(unigram_f1("", {"a cat sat down"}) == 0.0);
    CHECK(unigram_f1("the cat", {""}) == 0.0);
    CHECK(unigram_f1("the . a", {"the a ."}) == 0.0);  // both sides normalise to nothing
    CHECK(unigram_f1("cat", {}) == 0.0);
}

TEST_CASE("distinct_n matches hand-computed values") {
    CHECK(distinct_n({"a b a b"}, 2) == Approx(2.0 / 3.0));  // "a b", "b a", "a b"
    CHECK(distinct_n({"a b", "a b"}, 2) == Approx(0.5));
    CHECK(distinct_n({"x y x"}, 1) == Approx(2.0 / 3.0));
    CHECK(distinct_n({"i like tea .", "i like cake ."}, 2) == Approx(5.0 / 6.0));  // "i like" twice
    CHECK(distinct_n({"a b c"}, 3) == Approx(1.0));
}

TEST_CASE("distinct_n: n-grams never cross texts; no n-grams gives 0; n < 1 throws") {
    CHECK(distinct_n({"a", "b"}, 2) == 0.0);
    CHECK(distinct_n({}, 2) == 0.0);
    CHECK(distinct_n({"", "a b"}, 2) == Approx(1.0));
    CHECK_THROWS_AS(distinct_n({"a b"}, 0), cringe::ValueError);
}
