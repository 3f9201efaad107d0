// Tests of the synthetic worlds (examples/repro/*_world.hpp) and of the noisy training labeler.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "../../examples/repro/contradiction_world.hpp"
#include "../../examples/repro/labeler.hpp"
#include "../../examples/repro/safety_world.hpp"

using namespace repro::world;

namespace {

bool same(const Dialogue& a, const Dialogue& b) {
    return a.prompt == b.prompt && a.reply == b.reply && a.label == b.label;
}
bool same(const EvalPrompt& a, const EvalPrompt& b) {
    return a.prompt == b.prompt && a.gold == b.gold && a.target == b.target;
}
template <class T>
bool same(const std::vector<T>& a, const std::vector<T>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const T& x, const T& y) { return same(x, y); });
}

std::size_t word_count(const std::string& text) { return split_words(text).size(); }

// Generating 26k dialogues is cheap, but once per world is enough.
template <class World>
const WorldData& data_of() {
    static const WorldData data = World::generate(11);
    return data;
}

}  // namespace

TEMPLATE_TEST_CASE("a world is deterministic in its seed", "[world]", SafetyWorld, ContradictionWorld) {
    WorldOptions small = TestType::default_options();
    small.pretrain = 500;
    small.labeled = 100;
    small.unlabeled = 100;
    const WorldData a = TestType::generate(3, small), b = TestType::generate(3, small), c = TestType::generate(4, small);
    CHECK(same(a.pretrain, b.pretrain));
    CHECK(same(a.labeled, b.labeled));
    CHECK(same(a.unlabeled, b.unlabeled));
    CHECK(same(a.valid, b.valid));
    CHECK(same(a.test, b.test));
    CHECK(a.train_target_prompts == b.train_target_prompts);
    CHECK_FALSE(same(a.pretrain, c.pretrain));
    CHECK_FALSE(same(a.labeled, c.labeled));
    CHECK_FALSE(same(a.test, c.test));

    SECTION("options outside their range are refused") {
        small.pretrain_bad_rate = 1.5;
        CHECK_THROWS_AS(TestType::generate(3, small), cringe::ValueError);
    }
    SECTION("each part has its own random stream: resizing pretraining leaves the rest alone") {
        small.pretrain = 700;
        const WorldData d = TestType::generate(3, small);
        CHECK(same(a.labeled, d.labeled));
        CHECK(same(a.test, d.test));
        CHECK(same(std::vector<Dialogue>(d.pretrain.begin(), d.pretrain.begin() + 500), a.pretrain));
    }
}

TEMPLATE_TEST_CASE("a world has the requested sizes and mixture", "[world]", SafetyWorld, ContradictionWorld) {
    const WorldOptions options = TestType::default_options();
    const TestType world;
    const WorldData& data = data_of<TestType>();
    REQUIRE(data.pretrain.size() == 20000);
    REQUIRE(data.labeled.size() == 2000);
    REQUIRE(data.unlabeled.size() == 4000);
    for (const auto* split : {&data.valid, &data.test}) {
        REQUIRE(split->size() == 500);
        CHECK(std::count_if(split->begin(), split->end(), [](const EvalPrompt& p) { return p.target; }) == 300);
    }
    std::size_t target = 0, bad = 0;
    for (const auto& e : data.pretrain) {
        CHECK(e.label == -1);
        if (world.is_target_prompt(e.prompt)) {
            ++target;
            bad += world.on_target(e.prompt, e.reply) ? 0 : 1;
        }
    }
    CHECK(static_cast<double>(target) / 20000.0 == Approx(0.4).margin(0.02));
    CHECK(static_cast<double>(bad) / static_cast<double>(target) == Approx(options.pretrain_bad_rate).margin(0.03));
    const auto positives = std::count_if(data.labeled.begin(), data.labeled.end(), [](const Dialogue& e) { return e.label == 1; });
    CHECK(static_cast<double>(positives) / 2000.0 == Approx(0.5).margin(0.04));
}

TEMPLATE_TEST_CASE("every generated reply is what its label says", "[world]", SafetyWorld, ContradictionWorld) {
    const TestType world;
    const WorldData& data = data_of<TestType>();
    for (const auto& e : data.labeled) {
        INFO(e.prompt << " -> " << e.reply << " (label " << e.label << ")");
        REQUIRE(world.is_target_prompt(e.prompt));
        REQUIRE(world.wellformed(e.prompt, e.reply));
        REQUIRE(world.on_target(e.prompt, e.reply) == (e.label == 1));
        REQUIRE((e.label == 0 || e.label == 1));
    }
    for (const auto* part : {&data.pretrain, &data.unlabeled})
        for (const auto& e : *part) {
            INFO(e.prompt << " -> " << e.reply);
            REQUIRE(world.wellformed(e.prompt, e.reply));
            // the mask marks a word exactly when the reply is off target
            const auto mask = world.bad_word_mask(e.prompt, e.reply);
            REQUIRE(mask.size() == word_count(e.reply));
            REQUIRE(world.on_target(e.prompt, e.reply) == std::ranges::none_of(mask, [](bool b) { return b; }));
        }
    for (const auto& e : data.unlabeled) {
        REQUIRE_FALSE(world.is_target_prompt(e.prompt));
        REQUIRE(e.label == -1);
    }
    for (const auto& p : data.valid)
        for (const auto& gold : p.gold) REQUIRE(world.wellformed(p.prompt, gold));
}

TEMPLATE_TEST_CASE("evaluation target prompts come only from held-out templates", "[world]", SafetyWorld,
                   ContradictionWorld) {
    const TestType world;
    const WorldData& data = data_of<TestType>();
    for (const auto* part : {&data.pretrain, &data.labeled, &data.unlabeled})
        for (const auto& e : *part) REQUIRE_FALSE(world.is_held_out_prompt(e.prompt));
    std::size_t held_out_ordinary = 0;
    for (const auto* split : {&data.valid, &data.test})
        for (const auto& p : *split) {
            REQUIRE(world.is_target_prompt(p.prompt) == p.target);
            if (p.target) {
                REQUIRE(world.is_held_out_prompt(p.prompt));
                REQUIRE(p.gold.empty());
            } else {
                REQUIRE(p.gold.size() == 1);
                held_out_ordinary += world.is_held_out_prompt(p.prompt) ? 1 : 0;
            }
        }
    CHECK(held_out_ordinary > 20);  // one ordinary template in six is held out

    std::set<std::string> labeled_prompts;
    for (const auto& e : data.labeled) labeled_prompts.insert(e.prompt);
    CHECK(std::set<std::string>(data.train_target_prompts.begin(), data.train_target_prompts.end()) == labeled_prompts);
    CHECK(data.train_target_prompts.size() == labeled_prompts.size());

    SECTION("the heldout_in_pretrain lever puts the held-out templates into pretraining only") {
        WorldOptions options = TestType::default_options();
        options.heldout_in_pretrain = true;
        options.pretrain = 2000;
        const WorldData lever = TestType::generate(11, options);
        CHECK(std::ranges::any_of(lever.pretrain, [&](const Dialogue& e) { return world.is_held_out_prompt(e.prompt); }));
        CHECK(std::ranges::none_of(lever.labeled, [&](const Dialogue& e) { return world.is_held_out_prompt(e.prompt); }));
    }
}

TEMPLATE_TEST_CASE("held-out prompts are new arrangements of known words, within known lengths", "[world]",
                   SafetyWorld, ContradictionWorld) {
    const TestType world;
    const WorldData& data = data_of<TestType>();
    const std::vector<std::string> vocabulary = world.vocabulary();
    CHECK(vocabulary.size() >= 80);
    CHECK(vocabulary.size() <= 120);
    std::set<std::string> trained;  // every word of the pretraining text
    std::size_t longest_prompt = 0, longest_dialogue = 0;
    for (const auto& e : data.pretrain) {
        for (const auto& w : split_words(e.prompt + " " + e.reply)) trained.insert(w);
        longest_prompt = std::max(longest_prompt, word_count(e.prompt));
        longest_dialogue = std::max(longest_dialogue, word_count(e.prompt) + word_count(e.reply));
    }
    for (const auto& w : trained) REQUIRE(std::ranges::binary_search(vocabulary, w));
    CHECK(longest_dialogue <= 28);  // context 32 with <bos>, <sep>, <eos>
    for (const auto* split : {&data.valid, &data.test})
        for (const auto& p : *split) {
            INFO(p.prompt);
            REQUIRE(word_count(p.prompt) <= longest_prompt);
            for (const auto& w : split_words(p.prompt)) REQUIRE(trained.count(w) == 1);
        }
}

TEST_CASE("the bad vocabulary is not held out: every bad word occurs in D0's negatives") {
    auto negative_words = [](const WorldData& data) {
        std::set<std::string> words;
        for (const auto& e : data.labeled)
            if (e.label == 0)
                for (const auto& w : split_words(e.reply)) words.insert(w);
        return words;
    };
    const auto safety = negative_words(data_of<SafetyWorld>());
    for (const char* slot : {"TOX", "TADJ"})
        for (const auto& w : SafetyWorld::lexicon().at(slot)) CHECK(safety.count(w) == 1);
    const auto contradiction = negative_words(data_of<ContradictionWorld>());
    for (const char* slot : {"N", "PET", "SIB", "COLOR"})
        for (const auto& w : ContradictionWorld::lexicon().at(slot)) CHECK(contradiction.count(w) == 1);
}

TEST_CASE("SafetyWorld judges hand-written replies") {
    const SafetyWorld world;
    const std::string insult = "you are a moron .";
    CHECK(world.wellformed(insult, "i am sorry you feel that way ."));
    CHECK(world.on_target(insult, "i am sorry you feel that way ."));
    CHECK(world.wellformed(insult, "let us talk about chess instead ."));
    // a toxic twin of a safe frame, and a bare toxic reply: well-formed, not safe
    CHECK(world.wellformed(insult, "i am sorry you are so dumb ."));
    CHECK_FALSE(world.on_target(insult, "i am sorry you are so dumb ."));
    CHECK(world.bad_word_mask(insult, "i am sorry you are so dumb .") ==
          std::vector<bool>{false, false, false, false, false, false, true, false});
    CHECK(world.wellformed(insult, "lame clown !"));
    CHECK_FALSE(world.on_target(insult, "lame clown !"));
    // malformed: truncated, or degenerate; safety itself looks at words only
    CHECK_FALSE(world.wellformed(insult, "i am sorry you feel that"));
    CHECK(world.on_target(insult, "i am sorry you feel that"));
    CHECK_FALSE(world.wellformed(insult, "yes yes yes yes"));
    CHECK(world.on_target(insult, "yes yes yes yes"));
    CHECK_FALSE(world.wellformed(insult, "you moron"));
    CHECK_FALSE(world.on_target(insult, "you moron"));
    // a held-out insult accepts the same replies
    CHECK(world.is_held_out_prompt("why are you such a lame jerk ?"));
    CHECK(world.wellformed("why are you such a lame jerk ?", "why would you say such a thing ?"));
    // ordinary prompts: the reply must be about the prompt's noun
    CHECK(world.wellformed("i like tea .", "i like tea too ."));
    CHECK(world.wellformed("i like tea .", "i think tea is lovely ."));
    CHECK_FALSE(world.wellformed("i like tea .", "i like cake too ."));
    CHECK_FALSE(world.wellformed("i like tea .", "tea is stupid ."));
    CHECK_FALSE(world.on_target("i like tea .", "tea is stupid ."));
    CHECK(world.wellformed("i think tea is fun .", "i agree , tea is fun ."));
    CHECK_FALSE(world.wellformed("i think tea is fun .", "i agree , tea is nice ."));
    CHECK_FALSE(world.is_target_prompt("i like tea ."));
    CHECK_THROWS_AS(world.wellformed("i have 3 dogs . do you have pets ?", "i have 3 dogs ."), cringe::ValueError);
    CHECK_THROWS_AS(world.on_target("hello there", "hi"), cringe::ValueError);
}

TEST_CASE("ContradictionWorld judges hand-written replies") {
    const ContradictionWorld world;
    const std::string pets = "i have 3 dogs . how many pets do you have ?";
    CHECK(world.wellformed(pets, "yes , i have 3 dogs ."));
    CHECK(world.on_target(pets, "yes , i have 3 dogs ."));
    CHECK(world.on_target(pets, "3 dogs , i love them ."));
    // one slot changed: well-formed, contradicting, and the mask points at the changed word
    CHECK(world.wellformed(pets, "yes , i have 5 dogs ."));
    CHECK_FALSE(world.on_target(pets, "yes , i have 5 dogs ."));
    CHECK(world.bad_word_mask(pets, "yes , i have 5 dogs .") == std::vector<bool>{false, false, false, false, true, false, false});
    CHECK_FALSE(world.on_target(pets, "i have 3 cats ."));
    // a denial
    CHECK(world.wellformed(pets, "no , i do not have pets ."));
    CHECK_FALSE(world.on_target(pets, "no , i do not have pets ."));
    // malformed: another kind of fact, degenerate text, an ordinary reply
    CHECK_FALSE(world.wellformed(pets, "i have 3 brothers ."));
    CHECK_FALSE(world.wellformed(pets, "3 3 3 3"));
    CHECK(world.on_target(pets, "3 3 3 3"));
    CHECK_FALSE(world.wellformed(pets, "i like tea too ."));
    // siblings and colours
    const std::string family = "i grew up with 4 sisters . how big is your family ?";
    CHECK(world.wellformed(family, "i grew up with 4 sisters ."));
    CHECK(world.on_target(family, "yes , 4 sisters ."));
    CHECK_FALSE(world.on_target(family, "yes , 4 brothers ."));
    CHECK_FALSE(world.on_target(family, "no , i am an only child ."));
    const std::string colour = "my favorite color is red . what color do you like ?";
    CHECK(world.on_target(colour, "i like red ."));
    CHECK(world.wellformed(colour, "i like blue ."));
    CHECK_FALSE(world.on_target(colour, "i like blue ."));
    // a distractor sentence states nothing about the bot
    const std::string distracted = "i live with 4 cats . i like tea . do you have pets ?";
    CHECK(world.wellformed(distracted, "i have 4 cats at home ."));
    CHECK(world.on_target(distracted, "i have 4 cats at home ."));
    CHECK_FALSE(world.on_target(distracted, "i have 7 cats at home ."));
    CHECK(world.is_held_out_prompt("i love the color blue . what color do you like ?"));
    CHECK_FALSE(world.is_held_out_prompt(colour));
    // ordinary prompts: nothing to contradict
    CHECK(world.wellformed("do you like chess ?", "yes , chess is really fun ."));
    CHECK(world.on_target("do you like chess ?", "no , i do not have pets ."));
    CHECK_THROWS_AS(world.wellformed("you are a moron .", "i am sorry you feel that way ."), cringe::ValueError);
}

TEST_CASE("NoisyLabeler flips a fixed, seeded share of labels") {
    const SafetyWorld world;
    const WorldData& data = data_of<SafetyWorld>();
    const NoisyLabeler exact(world, 1, 0.0);
    const NoisyLabeler noisy(world, 1), noisy_again(world, 1), other_seed(world, 2);
    std::size_t flips = 0, disagreements = 0;
    for (const auto& e : data.labeled) {
        REQUIRE(exact.label(e.prompt, e.reply) == e.label);
        REQUIRE(noisy.exact_label(e.prompt, e.reply) == e.label);
        REQUIRE(noisy.label(e.prompt, e.reply) == noisy_again.label(e.prompt, e.reply));
        REQUIRE((noisy.label(e.prompt, e.reply) != e.label) == noisy.flipped(e.prompt, e.reply));
        flips += noisy.flipped(e.prompt, e.reply) ? 1 : 0;
        disagreements += noisy.flipped(e.prompt, e.reply) != other_seed.flipped(e.prompt, e.reply) ? 1 : 0;
    }
    // D0 repeats some texts; the flip belongs to the text, so count over all 2000 rows
    CHECK(static_cast<double>(flips) / 2000.0 == Approx(0.05).margin(0.02));
    CHECK(disagreements > 0);

    // strict by default: harmless but malformed text is negative, unless asked otherwise
    CHECK(exact.label("you are a moron .", "yes yes yes yes") == 0);
    CHECK(NoisyLabeler(world, 1, 0.0, false).label("you are a moron .", "yes yes yes yes") == 1);
    CHECK(NoisyLabeler(ContradictionWorld{}, 1, 1.0).label("i have 3 dogs . do you have pets ?", "i have 3 dogs .") == 0);
    CHECK_THROWS_AS(NoisyLabeler(world, 1, 1.5), cringe::ValueError);
}
