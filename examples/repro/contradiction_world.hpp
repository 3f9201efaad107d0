// examples/repro/contradiction_world.hpp - the DECODE analog: the bot states a fact, then contradicts
// itself or not.
//
// A target prompt is the bot's earlier statement followed by the partner's question, e.g.
//     "i have 3 dogs . how many pets do you have ?"
// A consistent reply restates the fact ("yes , i have 3 dogs ."); a contradicting one changes it
// ("yes , i have 5 dogs .") or denies it ("no , i do not have pets ."). Facts are of three kinds:
// pets (number and animal), siblings (number and kind) and a favourite colour. The pretraining corpus
// has 40 % fact prompts, a quarter of them answered with a contradiction (the paper's baseline is
// about 80 % coherent).
//
// Design choices, each tied to a lesson of the earlier PyTorch prototype (numbered as in
// docs/reproduction.md, "The classic worlds"):
//   - Evaluation prompts come from six TEMPLATES held out of D0 and, by default, of the pretraining
//     corpus (lesson 1). Some pair a known statement with a question it was never asked with, some
//     put a small-talk sentence between statement and question ("i have 3 brothers . i like tea .
//     how big is your family ?"), so the model must find the fact further back. Training has such
//     distractor templates too, with other pairings, so held-out prompts are no longer than training
//     ones (no untrained positions) and use only words that training text uses.
//   - No number, animal or colour is held out (lesson 6): every value occurs in D0's negatives.
//   - A contradiction is either a consistent frame with ONE slot changed (lever
//     WorldOptions::negative_shared_frame; the case the reproduction was designed around, where CRINGE's contrast with
//     the right number should help most) or a denial frame that shares only a few words.
//   - Several consistent frames per kind, so no reply token is fully determined (lesson 6).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "chitchat.hpp"
#include "world.hpp"

namespace repro::world {

/// The contradiction world: facts stated in a dialogue that a bad reply denies.
class ContradictionWorld {
public:
    /// A kind of fact the bot states about itself, and the reply frames that restate or deny it.
    struct FactKind {
        std::string value_slot;               ///< the slot naming the thing: PET, SIB or COLOR
        std::vector<std::string> consistent;  ///< restate the fact (its slot words must match)
        std::vector<std::string> denials;     ///< deny having any such thing
    };
    /// One target prompt pattern.
    struct Template {
        /// The prompt, with slots.
        std::string pattern;
        std::size_t kind;  ///< index into kinds()
        /// Used only for evaluation prompts.
        bool held_out;
    };

    /// The slot words.
    static const Lexicon& lexicon() {
        static const Lexicon lex = [] {
            Lexicon l = ChitChat::lexicon();
            l["N"] = {"2", "3", "4", "5", "6", "7", "8", "9"};
            l["PET"] = {"dogs", "cats", "birds", "fish", "rabbits", "hamsters"};
            l["SIB"] = {"brothers", "sisters", "cousins"};
            l["COLOR"] = {"red", "blue", "green", "yellow", "purple", "orange", "black", "white"};
            return l;
        }();
        return lex;
    }

    /// The kinds of fact a prompt can state.
    static const std::vector<FactKind>& kinds() {
        static const std::vector<FactKind> all = {
            {"PET",
             {"i have {N} {PET} .", "yes , i have {N} {PET} .", "i have {N} {PET} at home .", "{N} {PET} , i love them ."},
             {"no , i do not have pets .", "i do not have any pets ."}},
            {"SIB",
             {"i have {N} {SIB} .", "yes , {N} {SIB} .", "i grew up with {N} {SIB} ."},
             {"no , i am an only child .", "i do not have any siblings ."}},
            {"COLOR",
             {"my favorite color is {COLOR} .", "i like {COLOR} .", "{COLOR} , i love it .", "i love the color {COLOR} ."},
             {"i do not have a favorite color .", "no , i do not like colors ."}},
        };
        return all;
    }

    /// The target prompt templates.
    static const std::vector<Template>& target_prompts() {
        static const std::vector<Template> all = {
            {"i have {N} {PET} . do you have pets ?", 0, false},
            {"i have {N} {PET} . how many pets do you have ?", 0, false},
            {"i live with {N} {PET} . what pets do you have ?", 0, false},
            {"i live with {N} {PET} . i like {NOUN} . do you have pets ?", 0, false},
            {"i have {N} {SIB} . do you have siblings ?", 1, false},
            {"i grew up with {N} {SIB} . how big is your family ?", 1, false},
            {"i have {N} {SIB} . i think {NOUN} is {ADJ} . tell me about your family .", 1, false},
            {"my favorite color is {COLOR} . what color do you like ?", 2, false},
            {"i love the color {COLOR} . what is your favorite color ?", 2, false},
            {"my favorite color is {COLOR} . i like {NOUN} . what is your favorite color ?", 2, false},
            // Held out: evaluation only.
            {"at home i have {N} {PET} . tell me about your pets .", 0, true},
            {"i have {N} {PET} . i think {NOUN} is {ADJ} . what pets do you have ?", 0, true},
            {"i grew up with {N} {SIB} . do you have siblings ?", 1, true},
            {"i have {N} {SIB} . i like {NOUN} . how big is your family ?", 1, true},
            {"i love the color {COLOR} . what color do you like ?", 2, true},
            {"i love the color {COLOR} . i like {NOUN} . what color do you like ?", 2, true},
        };
        return all;
    }

    /// The words that make a denial a denial (marked bad by bad_word_mask after a fact prompt).
    static bool is_denial_word(const std::string& word) { return word == "no" || word == "not" || word == "only"; }

    // ---- generation -------------------------------------------------------------------------------

    /// The default sizes and levers, with pretrain_bad_rate 0.25.
    static WorldOptions default_options() {
        WorldOptions options;
        options.pretrain_bad_rate = 0.25;
        return options;
    }

    /// The world's corpora, drawn deterministically from `seed`.
    static WorldData generate(std::uint64_t seed, const WorldOptions& options = default_options()) {
        options.validate("ContradictionWorld::generate");
        return assemble<ContradictionWorld>(seed, options);
    }

    /// A uniform template of the set, then uniform slot words.
    static std::string sample_target_prompt(Rng& rng, TemplateSet set) {
        return fill_random(rng, pick(rng, patterns(set)), lexicon());
    }

    /// A consistent frame filled with the stated fact.
    static std::string good_reply(Rng& rng, const std::string& prompt) {
        const Parse fact = parse_fact(prompt, "good_reply");
        return fill(pick(rng, kinds()[kind_of(fact)].consistent), fact.slots);
    }

    /// A consistent frame with its number (or colour) changed, or a denial.
    static std::string bad_reply(Rng& rng, const std::string& prompt, double shared_frame) {
        const Parse fact = parse_fact(prompt, "bad_reply");
        const FactKind& kind = kinds()[kind_of(fact)];
        if (!chance(rng, shared_frame)) return pick(rng, kind.denials);
        Slots slots = fact.slots;
        const std::string changed = fact.slots.count("N") ? "N" : kind.value_slot;
        slots[changed] = pick_other(rng, lexicon().at(changed), slots[changed]);
        return fill(pick(rng, kind.consistent), slots);
    }

    // ---- the exact checker ------------------------------------------------------------------------

    /// After a fact prompt: a consistent or denial frame of that kind of fact, any slot words (a
    /// wrong number is well-formed, just contradicting). After an ordinary prompt: ChitChat's grammar.
    bool wellformed(const std::string& prompt, const std::string& reply) const {
        if (auto fact = parse(patterns(), prompt, lexicon())) {
            const FactKind& kind = kinds()[kind_of(*fact)];
            return parse(kind.consistent, reply, lexicon()) || parse(kind.denials, reply, lexicon());
        }
        return ChitChat::wellformed(known_ordinary(prompt, "wellformed"), reply);
    }

    /// Consistent: no reply word contradicts the stated fact (see bad_word_mask). Judged word by word,
    /// so a malformed reply can be consistent; that is the lenient number, wellformed() the strict one.
    bool on_target(const std::string& prompt, const std::string& reply) const {
        const auto mask = bad_word_mask(prompt, reply);
        return std::ranges::none_of(mask, [](bool bad) { return bad; });
    }

    /// One flag per reply word: after a fact prompt, true for a value the fact states differently
    /// (another number, animal, sibling or colour) and for the denial words; after an ordinary prompt,
    /// all false.
    std::vector<bool> bad_word_mask(const std::string& prompt, const std::string& reply) const {
        const auto words = split_words(reply);
        std::vector<bool> mask(words.size(), false);
        const auto fact = parse(patterns(), prompt, lexicon());
        if (!fact) {
            known_ordinary(prompt, "bad_word_mask");
            return mask;
        }
        // The fact's slots are N (pets, siblings) and PET, SIB or COLOR; a distractor's NOUN and ADJ
        // state nothing about the bot.
        auto contradicts = [&](const std::string& word) {
            for (const std::string& slot : {std::string("N"), kinds()[kind_of(*fact)].value_slot}) {
                const auto stated = fact->slots.find(slot);
                if (stated != fact->slots.end() && word != stated->second &&
                    std::ranges::count(lexicon().at(slot), word) > 0)
                    return true;
            }
            return false;
        };
        for (std::size_t i = 0; i < words.size(); ++i) mask[i] = is_denial_word(words[i]) || contradicts(words[i]);
        return mask;
    }

    /// True for fact prompts (the prompts the target metric is measured on); throws for a foreign prompt.
    bool is_target_prompt(const std::string& prompt) const {
        if (parse(patterns(), prompt, lexicon())) return true;
        known_ordinary(prompt, "is_target_prompt");
        return false;
    }

    /// True for prompts of templates reserved for evaluation (fact or ordinary).
    bool is_held_out_prompt(const std::string& prompt) const {
        if (auto fact = parse(patterns(), prompt, lexicon())) return target_prompts()[fact->index].held_out;
        return ChitChat::templates()[known_ordinary(prompt, "is_held_out_prompt").index].held_out;
    }

    /// Every word this world can produce, sorted (for a fixed tokenizer).
    std::vector<std::string> vocabulary() const {
        std::vector<std::string> all = patterns();
        for (const auto& kind : kinds()) {
            all.insert(all.end(), kind.consistent.begin(), kind.consistent.end());
            all.insert(all.end(), kind.denials.begin(), kind.denials.end());
        }
        std::set<std::string> words = words_of(all, lexicon());
        words.merge(ChitChat::words());
        return {words.begin(), words.end()};
    }

private:
    /// The fact-prompt patterns of a set, in target_prompts() order (all of them: Parse::index
    /// then indexes target_prompts()).
    static std::vector<std::string> patterns(TemplateSet set = TemplateSet::all) {
        std::vector<std::string> out;
        for (const auto& t : target_prompts())
            if (in_set(t.held_out, set)) out.push_back(t.pattern);
        return out;
    }

    static std::size_t kind_of(const Parse& fact) { return target_prompts()[fact.index].kind; }

    static Parse parse_fact(const std::string& prompt, const char* who) {
        if (auto fact = parse(patterns(), prompt, lexicon())) return *fact;
        throw ValueError(cat("ContradictionWorld::", who, ": '", prompt, "' is not a fact prompt"));
    }

    static Parse known_ordinary(const std::string& prompt, const char* who) {
        if (auto p = ChitChat::parse_prompt(prompt)) return *p;
        throw ValueError(cat("ContradictionWorld::", who, ": '", prompt,
                             "' is not a prompt of the contradiction world; was it made by another world?"));
    }

    /// A uniform word of `values` other than `not_this`.
    static std::string pick_other(Rng& rng, const std::vector<std::string>& values, const std::string& not_this) {
        std::vector<std::string> others;
        for (const auto& v : values)
            if (v != not_this) others.push_back(v);
        return pick(rng, others);
    }
};

static_assert(ChatWorld<ContradictionWorld>);

}  // namespace repro::world
