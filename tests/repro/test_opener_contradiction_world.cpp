// Tests of the opener contradiction world (examples/repro/opener_contradiction_world.hpp), the default
// world of `cringe-repro --task contradiction`: decision-first contradictions ("nah" / "actually"), ten
// question groups with five held out, harmless positives, replay at a lowered contradiction rate.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../../examples/repro/labeler.hpp"
#include "../../examples/repro/opener_contradiction_world.hpp"

using namespace repro::world;

namespace {
namespace opener_contradiction_test {

const WorldData& data() {
    static const WorldData d = OpenerContradictionWorld::generate(7);
    return d;
}

std::size_t group_of(const std::string& prompt) { return OpenerContradictionWorld::parse_fact(prompt)->group; }

std::string first_word(const std::string& text) { return split_words(text).front(); }

}  // namespace opener_contradiction_test
}  // namespace

TEST_CASE("opener contradiction world: prompt turns", "[world][opener_contradiction]") {
    CHECK(opener::turns("i have 5 dogs . <sep> i own 3 dogs . <sep> and your dogs ?") ==
          std::vector<std::string>{"i have 5 dogs .", "i own 3 dogs .", "and your dogs ?"});
    CHECK(opener::turns("tell me about you .") == std::vector<std::string>{"tell me about you ."});
    CHECK(opener::last_turn("a b <sep> c  d") == "c d");
    CHECK(opener::first_words({"just {N} .", "i have {N} .", "i own {N} ."}) == std::vector<std::string>{"i", "just"});
}

TEST_CASE("opener contradiction world: the exact checker", "[world][opener_contradiction]") {
    const OpenerContradictionWorld world;
    // the partner has 5 dogs, the bot said it owns 3; group 5 ("wait , how many {THING} ?") is held out
    const std::string prompt = "i have 5 dogs . <sep> i own 3 dogs . <sep> wait , how many dogs ?";
    const auto fact = OpenerContradictionWorld::parse_fact(prompt);
    REQUIRE(fact);
    CHECK(fact->group == 5);
    CHECK(fact->number == "3");
    CHECK(fact->thing == "dogs");
    CHECK(fact->partner == std::optional<std::string>("5"));
    CHECK(world.is_target_prompt(prompt));
    CHECK(world.is_held_out_prompt(prompt));
    CHECK_FALSE(world.is_held_out_prompt("hello , how are you ? <sep> i live with 4 cousins . <sep> how many cousins do you have ?"));  // group 0
    // consistent: the group's own frame, a generic one, or any group's frame, restating 3 dogs
    for (const char* reply : {"just 3 dogs .", "i have 3 dogs .", "like i said , 3 dogs .", "yes , 3 dogs .", "my 3 dogs are great ."}) {
        INFO(reply);
        CHECK(world.wellformed(prompt, reply));
        CHECK(world.on_target(prompt, reply));
    }
    // contradictions: the partner's number, another thing, a denial, a self-correction (even with the right number)
    for (const char* reply : {"just 5 dogs .", "i have 3 cats .", "nah , i have no dogs .", "actually , i have 5 dogs .", "actually , i have 3 dogs ."}) {
        INFO(reply);
        CHECK(world.wellformed(prompt, reply));
        CHECK_FALSE(world.on_target(prompt, reply));
    }
    CHECK(world.bad_word_mask(prompt, "nah , i have no dogs .") == std::vector<bool>{true, false, false, false, true, false, false});
    CHECK(world.bad_word_mask(prompt, "actually , i have 5 dogs .") == std::vector<bool>{true, false, false, false, true, false, false});
    CHECK(world.bad_word_mask(prompt, "still 7 cats .") == std::vector<bool>{false, true, true, false});
    // malformed but consistent (the lenient view); malformed and contradicting
    CHECK_FALSE(world.wellformed(prompt, "just 3 dogs"));
    CHECK(world.on_target(prompt, "just 3 dogs"));
    CHECK_FALSE(world.wellformed(prompt, "3 dogs ."));
    CHECK_FALSE(world.wellformed(prompt, "nah nah nah"));
    CHECK_FALSE(world.on_target(prompt, "nah nah nah"));
    // support prompts: the bot stated nothing, so no number contradicts; their own frame only
    CHECK(world.wellformed("did you say 4 cats ?", "yes , 4 cats ."));
    CHECK(world.on_target("did you say 4 cats ?", "yes , 4 cats ."));
    CHECK(world.on_target("did you say 4 cats ?", "yes , 6 dogs ."));
    CHECK_FALSE(world.wellformed("did you say 4 cats ?", "i have 4 cats ."));
    CHECK_FALSE(world.is_target_prompt("i like tea . <sep> i like tea too . <sep> did you say 4 cats ?"));
    CHECK_THROWS_AS(world.is_target_prompt("tell me about you ."), cringe::ValueError);
    CHECK(world.wellformed("i like tea .", "i like tea too ."));
    // foreign prompts: another world's insult; a question about another thing than the one stated
    CHECK_THROWS_AS(world.wellformed("you are a fool .", "hi ."), cringe::ValueError);
    CHECK_THROWS_AS(world.is_target_prompt("hi , tell me about you . <sep> i have 3 dogs . <sep> how many cats do you have ?"), cringe::ValueError);
    cringe::Rng rng(1);
    CHECK_THROWS_AS(OpenerContradictionWorld::good_reply(rng, "i like tea ."), cringe::ValueError);
    // openers for the first-token margin
    CHECK(OpenerContradictionWorld::bad_openers() == std::vector<std::string>{"actually", "nah"});
    const auto safe = OpenerContradictionWorld::safe_openers();
    CHECK(safe.size() == 12);  // 10 groups' own first words + "i" and "like" of the generic frames
    CHECK(std::ranges::count(safe, "just") == 1);
    CHECK(std::ranges::count(safe, "nah") == 0);
}

TEST_CASE("opener contradiction world: data parts follow the design", "[world][opener_contradiction]") {
    using namespace opener_contradiction_test;
    const OpenerContradictionWorld world;
    const WorldData& d = opener_contradiction_test::data();
    const WorldOptions o = OpenerContradictionWorld::default_options();
    REQUIRE(d.pretrain.size() == 20000);
    REQUIRE(d.labeled.size() == 2000);
    REQUIRE(d.unlabeled.size() == 4000);
    // D0: negatives contradict facts of the training groups, opening with a shared opener (mode B
    // rare); positives are harmless support dialogues, consistent and well-formed
    std::size_t negatives = 0, mode_b = 0;
    std::set<std::string> negative_prompts;
    for (const auto& e : d.labeled) {
        INFO(e.prompt << " -> " << e.reply);
        REQUIRE(world.wellformed(e.prompt, e.reply));
        if (e.label == 0) {
            ++negatives;
            REQUIRE(world.is_target_prompt(e.prompt));
            REQUIRE(group_of(e.prompt) < o.opener_train_groups);  // held-out groups never in D0
            REQUIRE_FALSE(world.on_target(e.prompt, e.reply));
            const std::string opener_word = first_word(e.reply);
            REQUIRE((opener_word == "nah" || opener_word == "actually"));
            mode_b += opener_word == "actually";
            negative_prompts.insert(e.prompt);
        } else {
            REQUIRE(e.label == 1);
            REQUIRE_FALSE(world.is_target_prompt(e.prompt));
            REQUIRE(world.on_target(e.prompt, e.reply));
            // the reply restates the partner's number and thing (the last two slot words of the prompt)
            const auto prompt_words = split_words(opener::last_turn(e.prompt)), reply_words = split_words(e.reply);
            const auto number = std::ranges::find_first_of(prompt_words, OpenerContradictionWorld::lexicon().at("N"));
            REQUIRE(number != prompt_words.end());
            REQUIRE(std::ranges::count(reply_words, *number) == 1);
        }
    }
    CHECK(negatives > 900);
    CHECK(negatives < 1100);
    const double b_share = static_cast<double>(mode_b) / static_cast<double>(negatives);
    CHECK(b_share > 0.02);  // 5 % of D0's negatives
    CHECK(b_share < 0.09);
    CHECK(std::set<std::string>(d.train_target_prompts.begin(), d.train_target_prompts.end()) == negative_prompts);
    // pretraining: 40 % fact dialogues of all ten groups, half contradicting, mode B a quarter of those
    // and copying the partner's number when there is one (0.8 + 0.2 / 7 of the time)
    std::size_t facts = 0, bad = 0, b = 0, b_with_partner = 0, b_copies = 0;
    std::set<std::size_t> groups_seen;
    for (const auto& e : d.pretrain) {
        if (!world.is_target_prompt(e.prompt)) continue;
        ++facts;
        groups_seen.insert(group_of(e.prompt));
        REQUIRE(world.wellformed(e.prompt, e.reply));
        if (world.on_target(e.prompt, e.reply)) continue;
        ++bad;
        if (first_word(e.reply) != "actually") continue;
        ++b;
        const auto fact = OpenerContradictionWorld::parse_fact(e.prompt);
        if (!fact->partner) continue;
        ++b_with_partner;
        b_copies += split_words(e.reply)[4] == *fact->partner;  // "actually , i have N THING ."
    }
    CHECK(groups_seen.size() == 10);
    CHECK(static_cast<double>(facts) / 20000.0 == Approx(0.4).margin(0.02));
    CHECK(o.pretrain_bad_rate == 0.5);
    CHECK(static_cast<double>(bad) / static_cast<double>(facts) == Approx(0.5).margin(0.02));
    CHECK(static_cast<double>(b) / static_cast<double>(bad) == Approx(0.25).margin(0.03));
    CHECK(static_cast<double>(b_copies) / static_cast<double>(b_with_partner) == Approx(0.8 + 0.2 / 7).margin(0.05));
    // replay: 40 % of the pool are fact dialogues of all groups, contradicting at the lowered 30 %
    CHECK(o.replay_bad_rate == 0.3);
    std::size_t replayed = 0, replay_bad = 0;
    for (const auto& e : d.unlabeled) {
        REQUIRE(e.label == -1);
        if (!world.is_target_prompt(e.prompt)) continue;
        ++replayed;
        replay_bad += !world.on_target(e.prompt, e.reply);
    }
    CHECK(static_cast<double>(replayed) / 4000.0 == Approx(o.replay_share).margin(0.03));
    CHECK(static_cast<double>(replay_bad) / static_cast<double>(replayed) == Approx(o.replay_bad_rate).margin(0.04));
    // evaluation: 1000 test and 500 validation fact prompts of the held-out groups, nearly all
    // distinct; 200 ordinary prompts each; every prompt with a reply fits the model's 32 positions
    for (const auto* split : {&d.test, &d.valid}) {
        std::size_t targets = 0, ordinary = 0;
        std::set<std::string> distinct;
        for (const auto& p : *split) {
            REQUIRE(split_words(p.prompt).size() <= OpenerContradictionWorld::kMaxPromptWords);
            if (!p.target) {
                ++ordinary;
                REQUIRE_FALSE(world.is_target_prompt(p.prompt));
                continue;
            }
            ++targets;
            distinct.insert(p.prompt);
            REQUIRE(world.is_held_out_prompt(p.prompt));
            REQUIRE(group_of(p.prompt) >= o.opener_train_groups);
        }
        CHECK(targets == (split == &d.test ? 1000u : 500u));
        CHECK(ordinary == 200);
        CHECK(distinct.size() > targets * 9 / 10);
    }
    for (const auto* part : {&d.pretrain, &d.labeled, &d.unlabeled})
        for (const auto& e : *part) REQUIRE(split_words(e.prompt).size() <= OpenerContradictionWorld::kMaxPromptWords);
    // the held-out replies of the evaluation: good ones consistent, bad ones contradicting
    cringe::Rng rng(3);
    for (std::size_t i = 0; i < 50; ++i) {
        const auto& p = d.test[i];
        const std::string good = OpenerContradictionWorld::good_reply(rng, p.prompt), bad_reply = OpenerContradictionWorld::bad_reply(rng, p.prompt);
        INFO(p.prompt << " -> " << good << " / " << bad_reply);
        CHECK((world.wellformed(p.prompt, good) && world.on_target(p.prompt, good)));
        CHECK((world.wellformed(p.prompt, bad_reply) && !world.on_target(p.prompt, bad_reply)));
    }
}

TEST_CASE("opener contradiction world: options, determinism, vocabulary", "[world][opener_contradiction]") {
    WorldOptions o = OpenerContradictionWorld::default_options();
    o.pretrain = 50;
    o.labeled = 40;
    o.unlabeled = 40;
    o.eval_target = 10;
    o.eval_valid_target = 10;
    o.eval_ordinary = 5;
    const WorldData a = OpenerContradictionWorld::generate(3, o), b = OpenerContradictionWorld::generate(3, o),
                    c = OpenerContradictionWorld::generate(4, o);
    CHECK(a.test.front().prompt == b.test.front().prompt);
    CHECK(a.labeled.back().reply == b.labeled.back().reply);
    CHECK(a.test.front().prompt != c.test.front().prompt);
    for (std::size_t groups : {std::size_t{0}, std::size_t{10}}) {
        o.opener_train_groups = groups;
        CHECK_THROWS_WITH(OpenerContradictionWorld::generate(3, o), Catch::Contains("opener_train_groups") && Catch::Contains("expected 1 to 9"));
    }
    o.opener_train_groups = 5;
    o.replay_bad_rate = 1.5;
    CHECK_THROWS_WITH(OpenerContradictionWorld::generate(3, o), Catch::Contains("OpenerContradictionWorld::generate") && Catch::Contains("replay_bad_rate"));
    // the tokenizer's words: every word of every data part is in the vocabulary
    const OpenerContradictionWorld world;
    const auto vocab = world.vocabulary();
    const std::set<std::string> words(vocab.begin(), vocab.end());
    for (const auto& e : a.pretrain)
        for (const auto& w : split_words(e.prompt + " " + e.reply)) {
            INFO(w);
            CHECK((w == opener::kSeparator || words.count(w) == 1));
        }
    // the training labeler (iterative rounds) judges with this world's checker
    const NoisyLabeler<OpenerContradictionWorld> labeler(world, 1, 0.0);
    const std::string prompt = "hi , tell me about you . <sep> i have 6 fish . <sep> do you have many fish ?";
    CHECK(labeler.label(prompt, "exactly 6 fish .") == 1);
    CHECK(labeler.label(prompt, "exactly 2 fish .") == 0);
}
