// Tests of the FITS world (examples/repro/fits_world.hpp): knowledge prompts over seen and unseen
// topics, the checker's verdicts (wrong fact, off topic, repetition, good), the data's design.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "../../examples/repro/fits_world.hpp"
#include "../../examples/repro/labeler.hpp"

using namespace repro::world;

namespace {
namespace fits_world_test {

const WorldData& data() {
    static const WorldData d = FitsWorld::generate(3);
    return d;
}

/// Whether any word of `text` is one of `words`.
bool mentions(const std::string& text, const std::vector<std::string>& words) {
    for (const auto& w : split_words(text))
        if (std::ranges::find(words, w) != words.end()) return true;
    return false;
}

}  // namespace fits_world_test
}  // namespace

TEST_CASE("fits world: the checker's verdicts on hand-written replies", "[world][fits]") {
    using V = FitsWorld::Verdict;
    const FitsWorld world;
    const std::string colour = "owl : brown , forest . what colour is owl ?";
    const auto parsed = FitsWorld::parse_prompt(colour);
    REQUIRE(parsed);
    CHECK(parsed->topic == "owl");
    CHECK(parsed->colour == "brown");
    CHECK(parsed->place == "forest");
    CHECK(parsed->attribute == 0);
    CHECK(parsed->question == "what colour is owl ?");
    // good: the snippet's fact, on topic, once
    for (const char* reply : {"owl is brown .", "it is brown .", "yes , owl is brown ."}) {
        CHECK(FitsWorld::verdict(colour, reply) == V::good);
        CHECK(world.wellformed(colour, reply));
        CHECK(world.on_target(colour, reply));
    }
    // wrong fact: a good frame with another value
    CHECK(FitsWorld::verdict(colour, "owl is green .") == V::wrong_fact);
    CHECK(FitsWorld::verdict(colour, "it is white .") == V::wrong_fact);
    CHECK(world.wellformed(colour, "owl is green ."));
    CHECK_FALSE(world.on_target(colour, "owl is green ."));
    CHECK(world.bad_word_mask(colour, "owl is green .") == std::vector<bool>{false, false, true, false});
    // off topic: chit-chat, another topic, another question
    CHECK(FitsWorld::verdict(colour, "i like pizza .") == V::off_topic);
    CHECK(FitsWorld::verdict(colour, "i think jazz is cool .") == V::off_topic);
    CHECK(FitsWorld::verdict(colour, "fox is brown .") == V::off_topic);
    CHECK(FitsWorld::verdict(colour, "owl lives in forest .") == V::off_topic);
    CHECK(world.bad_word_mask(colour, "i like pizza .") == std::vector<bool>{true, true, true, true});
    // repetition: the question echoed, a reply said twice, a word twice in a row
    CHECK(FitsWorld::verdict(colour, "what colour is owl ?") == V::repetition);
    CHECK(FitsWorld::verdict(colour, "owl is brown . owl is brown .") == V::repetition);
    CHECK(FitsWorld::verdict(colour, "owl is is brown .") == V::repetition);
    CHECK(FitsWorld::verdict(colour, "it is brown , it is") == V::repetition);  // "it is" twice
    CHECK_FALSE(world.wellformed(colour, "what colour is owl ?"));
    // a repetition blames the words from its second copy on
    CHECK(world.bad_word_mask(colour, "owl is brown . owl is brown .") == std::vector<bool>{false, false, false, false, true, true, true, true});
    CHECK(world.bad_word_mask(colour, "owl is is brown .") == std::vector<bool>{false, false, true, true, true});
    CHECK(world.bad_word_mask(colour, "what colour is owl ?") == std::vector<bool>{true, true, true, true, true});
    CHECK(world.bad_word_mask(colour, "i like what colour is owl ?") == std::vector<bool>{false, false, true, true, true, true, true});
    CHECK(world.bad_word_mask(colour, "owl is brown .") == std::vector<bool>{false, false, false, false});
    // malformed: no sentence of the grammar
    CHECK(FitsWorld::verdict(colour, "owl brown") == V::malformed);
    CHECK(FitsWorld::verdict(colour, "") == V::malformed);
    CHECK_FALSE(world.wellformed(colour, "owl brown"));
    // "tell me about": both facts
    const std::string about = "cat : black , farm . tell me about cat .";
    CHECK(FitsWorld::verdict(about, "cat is black and lives in farm .") == V::good);
    CHECK(FitsWorld::verdict(about, "it is black and lives in sea .") == V::wrong_fact);
    CHECK(world.bad_word_mask(about, "it is black and lives in sea .") == std::vector<bool>{false, false, false, false, false, false, true, false});
    CHECK(FitsWorld::verdict(about, "tell me about cat .") == V::repetition);
    // the labeler's exact label is the verdict "good"
    const NoisyLabeler<FitsWorld> labeler(world, 1, 0.0);
    CHECK(labeler.label(colour, "owl is brown .") == 1);
    CHECK(labeler.label(colour, "owl is green .") == 0);
    CHECK(labeler.label(colour, "what colour is owl ?") == 0);
    // prompts of other worlds, or with a question about another topic than the snippet's
    CHECK_FALSE(FitsWorld::parse_prompt("owl : brown , forest . what colour is fox ?"));
    CHECK_THROWS_AS(FitsWorld::verdict("i like tea .", "i like tea too ."), cringe::ValueError);
    CHECK_THROWS_AS(world.wellformed("you are a clown .", "ugh clown !"), cringe::ValueError);
}

TEST_CASE("fits world: unseen topics never appear in training text", "[world][fits]") {
    using fits_world_test::mentions;
    const WorldData& d = fits_world_test::data();
    const auto unseen = FitsWorld::unseen_topics(3), seen = FitsWorld::seen_topics(3);
    CHECK(unseen.size() == 8);
    CHECK(seen.size() == 16);
    for (const auto& t : unseen) CHECK(std::ranges::find(seen, t) == seen.end());
    for (const auto* part : {&d.pretrain, &d.labeled, &d.unlabeled})
        for (const auto& e : *part) {
            CHECK_FALSE(mentions(e.prompt, unseen));
            CHECK_FALSE(mentions(e.reply, unseen));
        }
    for (const auto& p : d.train_target_prompts) CHECK_FALSE(mentions(p, unseen));
    for (const auto& p : d.valid) {
        CHECK_FALSE(p.unseen);
        CHECK_FALSE(mentions(p.prompt, unseen));
    }
    // test: 363 prompts on seen topics, then 342 on unseen ones, flagged
    REQUIRE(d.test.size() == 363 + 342);
    CHECK(d.valid.size() == 171);
    for (std::size_t i = 0; i < d.test.size(); ++i) {
        const bool is_unseen = i >= 363;
        CHECK(d.test[i].unseen == is_unseen);
        CHECK(d.test[i].target);
        const std::string topic = FitsWorld::parse_prompt(d.test[i].prompt)->topic;
        CHECK((std::ranges::find(unseen, topic) != unseen.end()) == is_unseen);
    }
    // another seed holds out other topics (the split is seeded)
    CHECK(FitsWorld::unseen_topics(4) != unseen);
}

TEST_CASE("fits world: the data follows the design", "[world][fits]") {
    using V = FitsWorld::Verdict;
    const WorldData& d = fits_world_test::data();
    const auto options = FitsWorld::default_options();
    // pretraining: knowledge dialogues (half) answered badly 70 % of the time, in the three FITS ways
    std::size_t knowledge = 0, good = 0, wrong = 0, off = 0, repetition = 0, malformed = 0;
    for (const auto& e : d.pretrain) {
        CHECK(e.label == -1);
        if (!FitsWorld::parse_prompt(e.prompt)) continue;
        ++knowledge;
        switch (FitsWorld::verdict(e.prompt, e.reply)) {
            case V::good: ++good; break;
            case V::wrong_fact: ++wrong; break;
            case V::off_topic: ++off; break;
            case V::repetition: ++repetition; break;
            case V::malformed: ++malformed; break;
        }
    }
    REQUIRE(d.pretrain.size() == 20000);
    const double n = static_cast<double>(knowledge), bad = n - static_cast<double>(good);
    CHECK(n / 20000.0 == Approx(0.5).margin(0.02));
    CHECK(bad / n == Approx(0.7).margin(0.02));
    CHECK(static_cast<double>(off) / bad == Approx(0.55).margin(0.03));
    CHECK(static_cast<double>(repetition) / bad == Approx(0.30).margin(0.03));
    CHECK(static_cast<double>(wrong) / bad == Approx(0.15).margin(0.03));
    CHECK(malformed == 0);
    // every training dialogue fits the model's 32 positions: <bos> prompt <sep> reply <eos>
    std::size_t longest = 0;
    for (const auto* part : {&d.pretrain, &d.unlabeled})
        for (const auto& e : *part) longest = std::max(longest, split_words(e.prompt).size() + split_words(e.reply).size() + 3);
    CHECK(longest <= 32);
    // D0 from the world: gold replies (positive, good) for about 30 % of its prompts; the bot's own
    // labelled replies are added after pretraining (Task::collect_feedback)
    CHECK(d.train_target_prompts.size() > 500);
    CHECK(static_cast<double>(d.labeled.size()) / static_cast<double>(options.labeled) == Approx(0.3).margin(0.05));
    for (const auto& e : d.labeled) {
        CHECK(e.label == 1);
        CHECK(FitsWorld::verdict(e.prompt, e.reply) == V::good);
        CHECK(std::ranges::find(d.train_target_prompts, e.prompt) != d.train_target_prompts.end());
    }
    // unlabeled: half knowledge dialogues, half of those answered badly
    std::size_t replay = 0, replay_bad = 0;
    for (const auto& e : d.unlabeled)
        if (FitsWorld::parse_prompt(e.prompt)) {
            ++replay;
            replay_bad += FitsWorld::verdict(e.prompt, e.reply) != V::good;
        }
    CHECK(static_cast<double>(replay) / 4000.0 == Approx(0.5).margin(0.03));
    CHECK(static_cast<double>(replay_bad) / static_cast<double>(replay) == Approx(0.5).margin(0.04));
    // every gold is a good reply; every text fits the model's 32 positions with room for the reply
    for (const auto* split : {&d.valid, &d.test})
        for (const auto& p : *split) {
            REQUIRE(p.gold.size() == 1);
            CHECK(FitsWorld::verdict(p.prompt, p.gold[0]) == V::good);
            CHECK(split_words(p.prompt).size() <= 13);
        }
    // the same seed gives the same data
    const WorldData again = FitsWorld::generate(3);
    CHECK(again.test[400].prompt == d.test[400].prompt);
    CHECK(again.pretrain[123].reply == d.pretrain[123].reply);
}

TEST_CASE("fits world: bad options are rejected", "[world][fits]") {
    WorldOptions o = FitsWorld::default_options();
    o.fits_unseen_topics = 0;
    CHECK_THROWS_WITH(FitsWorld::generate(1, o), Catch::Contains("fits_unseen_topics is 0"));
    o.fits_unseen_topics = 23;
    CHECK_THROWS_WITH(FitsWorld::generate(1, o), Catch::Contains("expected 1 to 22"));
    o = FitsWorld::default_options();
    o.replay_bad_rate = 1.5;
    CHECK_THROWS_WITH(FitsWorld::generate(1, o), Catch::Contains("replay_bad_rate"));
}
