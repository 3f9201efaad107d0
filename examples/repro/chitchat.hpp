// examples/repro/chitchat.hpp - the ordinary small talk both worlds share (the ConvAI2 / BST analog),
// and assemble(), the recipe that mixes it with a world's target dialogues into a WorldData.
//
// Ordinary prompts are where the quality metric (unigram F1) is measured, and the unlabeled pool is
// made of them. Two choices follow from the prototype's lesson 3 (docs/reproduction.md, "The classic worlds": F1
// was 1.000 for every method because the ordinary prompts were too easy):
//   - every prompt accepts three or four reply frames, most with a free adjective, so a prompt has
//     dozens of valid replies and the gold is one of them. A model that samples the true reply
//     distribution scores about 0.51 F1, one that always answers with one fixed frame about 0.52;
//     off-topic or broken replies score less. So F1 can move both ways;
//   - one prompt template ("what do you like about {NOUN} ?") is held out of all training data and
//     used only in evaluation.
// A reply must talk about the prompt's noun: slots named in both prompt and reply must agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "world.hpp"

namespace repro::world {

/// The ordinary-dialogue grammar: prompts and the reply frames each accepts.
class ChitChat {
public:
    /// One prompt pattern and its reply frames.
    struct Template {
        /// The prompt pattern, with slots.
        std::string prompt;
        std::vector<std::string> replies;  ///< the reply frames the grammar accepts after this prompt
        bool held_out;                     ///< used only for evaluation prompts
    };

    /// The slot words.
    static const Lexicon& lexicon() {
        static const Lexicon lex = [] {
            const std::vector<std::string> nouns = {"music", "pizza", "coffee", "tea", "rain", "summer", "winter",
                                                    "football", "chess", "art", "cake", "soup", "jazz", "cooking",
                                                    "hiking", "reading", "dancing", "swimming", "gardening", "baking"};
            const std::vector<std::string> adjectives = {"great",  "fun",      "nice", "special", "cool",
                                                         "lovely", "relaxing", "fine", "amazing", "okay"};
            return Lexicon{{"NOUN", nouns}, {"ADJ", adjectives}, {"ADJ2", adjectives}};
        }();
        return lex;
    }

    /// Every prompt template.
    static const std::vector<Template>& templates() {
        static const std::string too = "i like {NOUN} too .", is = "{NOUN} is {ADJ} .",
                                 think = "i think {NOUN} is {ADJ} .", yes = "yes , {NOUN} is really {ADJ} .",
                                 dislike = "i do not like {NOUN} much .", love = "{NOUN} is {ADJ} , i love it .",
                                 agree = "i agree , {NOUN} is {ADJ} .", find = "really ? i find {NOUN} {ADJ2} .";
        static const std::vector<Template> all = {
            {"i like {NOUN} .", {too, is, think, dislike}, false},
            {"what do you think of {NOUN} ?", {is, think, dislike, love}, false},
            {"do you like {NOUN} ?", {yes, dislike, love}, false},
            {"tell me about {NOUN} .", {is, think, love}, false},
            {"i think {NOUN} is {ADJ} .", {agree, find, dislike}, false},  // "agree" repeats the prompt's ADJ
            {"what do you like about {NOUN} ?", {is, think, dislike, love}, true},
        };
        return all;
    }

    /// The template a prompt comes from (index into templates()) and its slot values, if any.
    static std::optional<Parse> parse_prompt(const std::string& prompt) {
        std::vector<std::string> patterns;
        for (const auto& t : templates()) patterns.push_back(t.prompt);
        return parse(patterns, prompt, lexicon());
    }

    /// A random ordinary prompt: a uniform template of the set, then uniform slot words.
    static std::string sample_prompt(Rng& rng, TemplateSet set) {
        std::vector<std::string> patterns;
        for (const auto& t : templates())
            if (in_set(t.held_out, set)) patterns.push_back(t.prompt);
        return fill_random(rng, pick(rng, patterns), lexicon());
    }

    /// A random valid reply to an ordinary prompt: a random frame, the prompt's noun, a random adjective.
    static std::string sample_reply(Rng& rng, const Parse& prompt) {
        return fill_random(rng, pick(rng, templates()[prompt.index].replies), lexicon(), prompt.slots);
    }

    /// An ordinary dialogue from the training templates, unlabeled.
    static Dialogue sample_dialogue(Rng& rng) {
        const std::string prompt = sample_prompt(rng, TemplateSet::training);
        return {prompt, sample_reply(rng, *parse_prompt(prompt)), -1};
    }

    /// An ordinary evaluation prompt (any template, held-out one included) with `golds` gold replies.
    static EvalPrompt sample_eval_prompt(Rng& rng, std::size_t golds) {
        EvalPrompt out{sample_prompt(rng, TemplateSet::all), {}, false};
        const Parse parsed = *parse_prompt(out.prompt);
        for (std::size_t i = 0; i < golds; ++i) out.gold.push_back(sample_reply(rng, parsed));
        return out;
    }

    /// Whether `reply` is a reply frame the parsed prompt accepts.
    static bool wellformed(const Parse& prompt, const std::string& reply) {
        for (const auto& frame : templates()[prompt.index].replies)
            if (auto slots = match(frame, reply, lexicon()); slots && agree(*slots, prompt.slots)) return true;
        return false;
    }

    /// Every word the grammar can produce.
    static std::set<std::string> words() {
        std::vector<std::string> patterns;
        for (const auto& t : templates()) {
            patterns.push_back(t.prompt);
            patterns.insert(patterns.end(), t.replies.begin(), t.replies.end());
        }
        return words_of(patterns, lexicon());
    }
};

/// The recipe both worlds follow to build a data set; `World` supplies the target dialogues through
///   World::sample_target_prompt(rng, TemplateSet), World::good_reply(rng, prompt),
///   World::bad_reply(rng, prompt, shared_frame_probability).
/// Ordinary dialogues come from ChitChat. Every part draws from its own random stream.
template <class World>
WorldData assemble(std::uint64_t seed, const WorldOptions& options) {
    auto target_dialogue = [](Rng& rng, TemplateSet set, bool good, double shared_frame) {
        Dialogue e{World::sample_target_prompt(rng, set), "", good ? 1 : 0};
        e.reply = good ? World::good_reply(rng, e.prompt) : World::bad_reply(rng, e.prompt, shared_frame);
        return e;
    };
    WorldData data;

    // Pretraining: ordinary and target dialogues mixed, bad replies included, nothing labeled.
    Rng rng = part_rng(seed, "world pretraining corpus");
    const TemplateSet pretrain_set = options.heldout_in_pretrain ? TemplateSet::all : TemplateSet::training;
    for (std::size_t i = 0; i < options.pretrain; ++i) {
        Dialogue e;
        if (chance(rng, options.pretrain_target_share)) {
            const bool good = !chance(rng, options.pretrain_bad_rate);
            e = target_dialogue(rng, pretrain_set, good, options.negative_shared_frame);
        } else {
            e = ChitChat::sample_dialogue(rng);
        }
        e.label = -1;
        data.pretrain.push_back(e);
    }

    // D0: target prompts from the training templates only, labeled by the exact checker.
    rng = part_rng(seed, "world D0");
    for (std::size_t i = 0; i < options.labeled; ++i) {
        const bool good = chance(rng, options.labeled_positive_share);
        data.labeled.push_back(target_dialogue(rng, TemplateSet::training, good, options.negative_shared_frame));
    }
    std::set<std::string> seen;
    for (const auto& e : data.labeled)
        if (seen.insert(e.prompt).second) data.train_target_prompts.push_back(e.prompt);

    rng = part_rng(seed, "world unlabeled pool");
    for (std::size_t i = 0; i < options.unlabeled; ++i) data.unlabeled.push_back(ChitChat::sample_dialogue(rng));

    // Evaluation: target prompts from the held-out templates only, then ordinary prompts with golds.
    for (auto [split, part] : {std::pair{&data.valid, "world validation prompts"}, std::pair{&data.test, "world test prompts"}}) {
        rng = part_rng(seed, part);
        for (std::size_t i = 0; i < options.eval_target; ++i)
            split->push_back({World::sample_target_prompt(rng, TemplateSet::held_out), {}, true});
        for (std::size_t i = 0; i < options.eval_ordinary; ++i)
            split->push_back(ChitChat::sample_eval_prompt(rng, options.golds_per_prompt));
    }
    return data;
}

}  // namespace repro::world
