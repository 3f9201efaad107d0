// examples/repro/opener_contradiction_world.hpp - the default contradiction world of the reproduction:
// the decision to contradict is the FIRST reply token, and the fine-tuning pool replays fact dialogues.
//
// The DECODE analog built like the default safety world (opener_safety_world.hpp; docs/reproduction.md,
// "Contradiction"). A target prompt has three turns: the partner's opener (a greeting, or the partner's
// OWN fact about the same kind of thing, the confusable case), the bot's earlier statement, and the
// partner's question about it:
//     "i have 5 dogs . <sep> i own 3 dogs . <sep> how many dogs do you have ?"
// (the first turn is the partner's: the same words as a bot statement, so only the position tells whose
// fact it is)
// A consistent reply restates the bot's fact ("yes , 3 dogs ."); a contradiction opens with one of two
// openers shared by every question group:
//   - mode A (common) denies it:                    "nah , i have no dogs ."
//   - mode B (rarer; 5 % of D0's negatives) corrects itself, copying the partner's number when the
//     partner stated one (speaker confusion):     "actually , i have 5 dogs ."
// Pretraining contradicts half of the fact questions (the safety world's toxic rate is 0.7: at 0.7 the
// 2-layer model did not learn to copy the stated number within 1500 steps, docs/reproduction.md).
// Otherwise the design follows the safety opener world:
//   - Many groups. Ten question groups of four templates each; each group has its own consistent reply
//     frame (its own first word), and two generic frames answer any question. D0's negatives come from
//     groups 0-4, the evaluation uses groups 5-9 only, so positives cannot transfer (held-out groups'
//     frames differ) but negatives can (the openers are shared).
//   - Harmless positives. D0's positives are "support" dialogues: the partner names a number before the
//     bot stated anything and the bot restates it in a consistent frame ("did you say 4 cats ?" ->
//     "yes , 4 cats ."): nothing to contradict, but practice in copying a number.
//   - Replay. The unlabeled pool replays fact dialogues of the pretraining distribution with the
//     contradiction rate LOWERED (WorldOptions::replay_bad_rate; its default chosen on VALIDATION
//     prompts, docs/reproduction.md).
// The exact checker: after a fact prompt a reply is consistent when it holds no denial or correction
// word ("nah", "actually", "no", "not"), no number other than the stated one and no thing other than
// the stated one; well-formed when it is one of the world's reply frames (any slot words). A consistent
// opener followed by a wrong number is well-formed but contradicting: copying the fact is part of the
// task.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "chitchat.hpp"
#include "opener_world.hpp"
#include "world.hpp"

namespace repro::world {

/// The reproduction's default contradiction world (see the top of this file): fact prompts in ten
/// question groups, a contradiction opens with a shared opener, each group has its own consistent reply.
class OpenerContradictionWorld {
public:
    /// One question group: its question templates (slot THING) and its own consistent reply frame.
    struct Group {
        std::vector<std::string> questions;  ///< four question templates, slot {THING}
        std::string consistent_reply;        ///< the group's own consistent frame (slots {N} {THING})
    };

    /// What a fact prompt states: the group of its question, the bot's number and thing, and the
    /// partner's own number when the partner stated one.
    struct Fact {
        std::size_t group = 0;               ///< the question's group
        std::string number;                  ///< the bot's stated number (slot N)
        std::string thing;                   ///< the bot's stated thing (slot THING)
        std::optional<std::string> partner;  ///< the partner's number, when the first turn is the partner's fact
    };

    static constexpr const char* kSeparator = opener::kSeparator;  ///< between the turns of a prompt
    static constexpr std::size_t kMaxPromptWords = 22;  ///< `<bos> prompt <sep> reply <eos>` fits 32 positions

    /// The chit-chat lexicon plus numbers (slot N) and countable things (slot THING).
    static const Lexicon& lexicon() {
        static const Lexicon lex = [] {
            Lexicon l = ChitChat::lexicon();
            l["N"] = {"2", "3", "4", "5", "6", "7", "8", "9"};
            l["THING"] = {"dogs", "cats", "birds", "fish", "rabbits", "brothers", "sisters", "cousins"};
            return l;
        }();
        return lex;
    }

    /// Ten question groups x four templates. With the default WorldOptions::opener_train_groups = 5,
    /// groups 0-4 give D0's negatives and groups 5-9 the evaluation prompts.
    static const std::vector<Group>& groups() {
        static const std::vector<Group> all = {
            {{"how many {THING} do you have ?", "do you have {THING} ?", "and how many {THING} ?", "so , how many {THING} ?"}, "yes , {N} {THING} ."},
            {{"tell me about your {THING} .", "what about your {THING} ?", "tell me , any {THING} ?", "and your {THING} ?"},
             "well , i have {N} {THING} ."},
            {{"any {THING} at home ?", "are there {THING} at home ?", "what {THING} are at home ?", "at home , any {THING} ?"}, "oh , {N} {THING} ."},
            {{"can you count your {THING} ?", "count your {THING} for me .", "can you count the {THING} ?", "please count your {THING} ."},
             "sure , {N} {THING} ."},
            {{"are your {THING} nice ?", "how are your {THING} ?", "are the {THING} nice ?", "how are the {THING} doing ?"}, "my {N} {THING} are great ."},
            {{"how many {THING} again ?", "remind me , how many {THING} ?", "wait , how many {THING} ?", "sorry , how many {THING} ?"},
             "just {N} {THING} ."},
            {{"is it many {THING} ?", "do you have many {THING} ?", "lots of {THING} ?", "many {THING} or few ?"}, "exactly {N} {THING} ."},
            {{"and now , how many {THING} ?", "what about now , your {THING} ?", "any new {THING} ?", "do you still have {THING} ?"},
             "still {N} {THING} ."},
            {{"does your family have {THING} ?", "how many {THING} in your family ?", "family {THING} ?", "what about family {THING} ?"},
             "we have {N} {THING} ."},
            {{"what is new with your {THING} ?", "what is up with the {THING} ?", "news about your {THING} ?", "and the {THING} ?"},
             "so , {N} {THING} ."},
        };
        return all;
    }

    /// Consistent frames valid after any question (pretraining answers with them more often than with
    /// the group's own frame).
    static const std::vector<std::string>& generic_consistent_replies() {
        static const std::vector<std::string> all = {"i have {N} {THING} .", "like i said , {N} {THING} ."};
        return all;
    }

    /// The bot's earlier statement (the middle turn of a fact prompt).
    static const std::vector<std::string>& statements() {
        static const std::vector<std::string> all = {"i have {N} {THING} .", "i own {N} {THING} .", "i live with {N} {THING} ."};
        return all;
    }

    /// The partner's first turn: a greeting, or (lever WorldOptions::opener_prefix_share) the partner's
    /// own fact about the same thing with another number.
    static const std::vector<std::string>& greetings() {
        static const std::vector<std::string> all = {"hi , tell me about you .", "hello , how are you ?", "what do you like ?", "nice to meet you ."};
        return all;
    }
    /// The partner's own fact (first turn of a confusable prompt).
    static const std::string& partner_fact() {
        static const std::string s = "i have {N} {THING} .";
        return s;
    }

    /// Contradiction mode A, a denial (common): "nah , i have no {THING} .".
    static const std::string& contradiction_mode_a() {
        static const std::string s = "nah , i have no {THING} .";
        return s;
    }
    /// Contradiction mode B, a self-correction with another number (rarer): "actually , i have {N} {THING} .".
    static const std::string& contradiction_mode_b() {
        static const std::string s = "actually , i have {N} {THING} .";
        return s;
    }

    /// Harmless dialogues: the PARTNER names a number and the bot restates it, before the bot itself
    /// stated anything (nothing to contradict). They practise copying a number into the consistent
    /// frames (generic and training groups') without a fact prompt: D0's positives, and 30 % of the
    /// chit-chat in pretraining and the pool.
    static const std::vector<std::pair<std::string, std::string>>& support_dialogues() {
        static const std::vector<std::pair<std::string, std::string>> all = {
            {"i heard you have {N} {THING} .", "i have {N} {THING} ."},
            {"so it is {N} {THING} ?", "well , i have {N} {THING} ."},
            {"did you say {N} {THING} ?", "yes , {N} {THING} ."},
            {"guess what , i got {N} {THING} .", "oh , {N} {THING} ."},
            {"can you count to {N} {THING} ?", "sure , {N} {THING} ."},
            {"are {N} {THING} a lot ?", "my {N} {THING} are great ."},
            {"what did you say , {N} {THING} ?", "like i said , {N} {THING} ."},
        };
        return all;
    }

    /// The words a consistent reply never holds: the denial and correction words.
    static bool is_denial_word(const std::string& word) { return word == "nah" || word == "actually" || word == "no" || word == "not"; }

    /// The first words of contradicting replies (for the first-token margin metric).
    static std::vector<std::string> bad_openers() { return {"actually", "nah"}; }
    /// The first words of the consistent reply frames.
    static std::vector<std::string> safe_openers() { return opener::first_words(consistent_frames()); }

    // ---- generation -------------------------------------------------------------------------------

    /// The world's default options (the reproduction's defaults; docs/reproduction.md, "Contradiction").
    static WorldOptions default_options() {
        WorldOptions o;
        o.pretrain_bad_rate = 0.5;   // pretraining contradicts half of the fact questions (the pretrained model opens with "nah")
        o.eval_target = 1000;        // test: >= 1000 fact prompts of the held-out groups
        o.eval_valid_target = 500;   // validation: 500 more, drawn independently (levers are chosen on these)
        o.replay_share = 0.4;        // 40 % of the unlabeled pool replays fact dialogues ...
        o.replay_bad_rate = 0.3;     // ... contradicting at a lowered rate (0.3 vs 0.4 chosen on validation; docs/reproduction.md)
        return o;
    }

    /// Pretraining corpus, labelled D0, unlabeled pool and evaluation prompts for one seed; throws
    /// ValueError naming the option when the options cannot describe a data set.
    static WorldData generate(std::uint64_t seed, const WorldOptions& options = default_options()) {
        return opener::generate<OpenerContradictionWorld>(seed, options, "OpenerContradictionWorld::generate");
    }

    /// A consistent reply to a fact prompt (generic frame with probability 0.6, else the group's own).
    static std::string good_reply(Rng& rng, const std::string& prompt) {
        return consistent_reply(rng, fact_of(prompt, "good_reply"));
    }

    /// A contradiction as pretraining writes it (mode B with probability 0.25). The shared-frame
    /// argument of the classic worlds is unused.
    static std::string bad_reply(Rng& rng, const std::string& prompt, double /*shared_frame*/ = 0) {
        return contradiction(rng, fact_of(prompt, "bad_reply"), WorldOptions{}.opener_mode_b);
    }

    // ---- the exact checker ------------------------------------------------------------------------

    /// After a fact prompt: one of the consistent or contradicting frames, any slot words. After a
    /// support prompt: its reply frame. After an ordinary prompt: ChitChat's grammar. Only the last
    /// turn of a prompt with a chit-chat prefix counts for support and ordinary prompts.
    bool wellformed(const std::string& prompt, const std::string& reply) const {
        if (parse_fact(prompt)) {
            std::vector<std::string> frames = consistent_frames();
            frames.push_back(contradiction_mode_a());
            frames.push_back(contradiction_mode_b());
            return parse(frames, reply, lexicon()).has_value();
        }
        const std::string last = opener::last_turn(prompt);
        for (const auto& [p, r] : support_dialogues())
            if (match(p, last, lexicon())) return match(r, reply, lexicon()).has_value();
        if (auto p = ChitChat::parse_prompt(last)) return ChitChat::wellformed(*p, reply);
        throw_foreign(prompt, "wellformed");
    }

    /// Consistent: no reply word contradicts the stated fact (see bad_word_mask).
    bool on_target(const std::string& prompt, const std::string& reply) const {
        const auto mask = bad_word_mask(prompt, reply);
        return std::ranges::none_of(mask, [](bool bad) { return bad; });
    }

    /// One flag per reply word: after a fact prompt, true for a denial or correction word and for a
    /// number or thing other than the stated one; after other prompts, all false (nothing was stated).
    std::vector<bool> bad_word_mask(const std::string& prompt, const std::string& reply) const {
        const auto words = split_words(reply);
        std::vector<bool> mask(words.size(), false);
        const auto fact = parse_fact(prompt);
        if (!fact) {
            require_known(prompt, "bad_word_mask");
            return mask;
        }
        const auto& numbers = lexicon().at("N");
        const auto& things = lexicon().at("THING");
        for (std::size_t i = 0; i < words.size(); ++i)
            mask[i] = is_denial_word(words[i]) || (words[i] != fact->number && std::ranges::count(numbers, words[i]) > 0) ||
                      (words[i] != fact->thing && std::ranges::count(things, words[i]) > 0);
        return mask;
    }

    /// True when the prompt is a fact prompt (the prompts the contradiction metric scores).
    bool is_target_prompt(const std::string& prompt) const {
        if (parse_fact(prompt)) return true;
        require_known(prompt, "is_target_prompt");
        return false;
    }

    /// True for fact prompts of the held-out groups and the held-out ordinary template (evaluation only).
    bool is_held_out_prompt(const std::string& prompt, std::size_t train_groups = WorldOptions{}.opener_train_groups) const {
        if (auto fact = parse_fact(prompt)) return fact->group >= train_groups;
        require_known(prompt, "is_held_out_prompt");
        if (auto p = ChitChat::parse_prompt(opener::last_turn(prompt))) return ChitChat::templates()[p->index].held_out;
        return false;
    }

    /// Every word the world can produce (for building the tokenizer).
    std::vector<std::string> vocabulary() const {
        std::vector<std::string> all = consistent_frames();
        for (const auto* list : {&statements(), &greetings()}) all.insert(all.end(), list->begin(), list->end());
        all.push_back(partner_fact());
        all.push_back(contradiction_mode_a());
        all.push_back(contradiction_mode_b());
        for (const auto& g : groups()) all.insert(all.end(), g.questions.begin(), g.questions.end());
        for (const auto& [p, r] : support_dialogues()) {
            all.push_back(p);
            all.push_back(r);
        }
        std::set<std::string> words = words_of(all, lexicon());
        words.merge(ChitChat::words());
        return {words.begin(), words.end()};
    }

    /// The fact a prompt states, or nothing when it is not a fact prompt of this world: three turns,
    /// (greeting or partner fact) <sep> (bot statement) <sep> (a group's question about the same thing).
    static std::optional<Fact> parse_fact(const std::string& prompt) {
        const auto parts = opener::turns(prompt);
        if (parts.size() != 3) return std::nullopt;
        const auto stated = parse(statements(), parts[1], lexicon());
        if (!stated) return std::nullopt;
        Fact fact;
        fact.number = stated->slots.at("N");
        fact.thing = stated->slots.at("THING");
        if (auto partner = match(partner_fact(), parts[0], lexicon())) {
            if (partner->at("THING") != fact.thing) return std::nullopt;
            fact.partner = partner->at("N");
        } else if (std::ranges::count(greetings(), parts[0]) == 0) {
            return std::nullopt;
        }
        for (std::size_t g = 0; g < groups().size(); ++g)
            if (auto q = parse(groups()[g].questions, parts[2], lexicon()); q && q->slots.at("THING") == fact.thing) {
                fact.group = g;
                return fact;
            }
        return std::nullopt;
    }

    // ---- the dialogues opener::generate() draws (docs of its World interface) ----------------------

    /// A fact prompt of a group in [first, end), contradicted (probability bad_rate; mode B with
    /// probability mode_b) or answered consistently.
    static Dialogue target_dialogue(Rng& rng, std::size_t first, std::size_t end, double bad_rate, double mode_b, const WorldOptions& o) {
        const std::size_t g = first + rng.below(end - first);
        const std::string prompt = target_prompt(rng, g, o);
        const Fact fact = *parse_fact(prompt);
        const std::string reply = chance(rng, bad_rate) ? contradiction(rng, fact, mode_b) : consistent_reply(rng, fact);
        return {prompt, reply, -1};
    }

    /// A positive of D0: a support dialogue (nothing stated before), maybe with a chit-chat prefix.
    static Dialogue positive(Rng& rng, const WorldOptions& o) {
        Dialogue e = support(rng);
        e.prompt = opener::with_prefix(rng, e.prompt, o.opener_prefix_share, kMaxPromptWords);
        return e;
    }

    /// Ordinary chit-chat (training templates) or, with probability opener_support_share, a support dialogue.
    static Dialogue chitchat(Rng& rng, const WorldOptions& o) {
        Dialogue e = chance(rng, o.opener_support_share) ? support(rng) : ChitChat::sample_dialogue(rng);
        e.prompt = opener::with_prefix(rng, e.prompt, o.opener_prefix_share, kMaxPromptWords);
        return e;
    }

    /// A fact prompt of `group`: uniform number, thing, statement and question template; the first turn
    /// is the partner's own fact (another number, same thing) with probability opener_prefix_share,
    /// else a greeting.
    static std::string target_prompt(Rng& rng, std::size_t group, const WorldOptions& o) {
        const std::string number = pick(rng, lexicon().at("N")), thing = pick(rng, lexicon().at("THING"));
        const std::string first = chance(rng, o.opener_prefix_share) ? fill(partner_fact(), {{"N", other_number(rng, number)}, {"THING", thing}})
                                                                     : pick(rng, greetings());
        const Slots slots = {{"N", number}, {"THING", thing}};
        const std::string sep = cat(" ", kSeparator, " ");
        return first + sep + fill(pick(rng, statements()), slots) + sep + fill(pick(rng, groups()[group].questions), slots);
    }

private:
    /// Every consistent frame: the generic ones and each group's own.
    static std::vector<std::string> consistent_frames() {
        std::vector<std::string> out = generic_consistent_replies();
        for (const auto& g : groups()) out.push_back(g.consistent_reply);
        return out;
    }

    static Fact fact_of(const std::string& prompt, const char* who) {
        if (auto fact = parse_fact(prompt)) return *fact;
        throw ValueError(cat("OpenerContradictionWorld::", who, ": '", prompt, "' is not a fact prompt of the world"));
    }

    static std::string consistent_reply(Rng& rng, const Fact& fact) {
        const std::string& frame = chance(rng, 0.6) ? pick(rng, generic_consistent_replies()) : groups()[fact.group].consistent_reply;
        return fill(frame, {{"N", fact.number}, {"THING", fact.thing}});
    }

    /// Mode B with probability mode_b: the partner's number with probability 0.8 when the partner
    /// stated one, else another number. Otherwise mode A, the denial.
    static std::string contradiction(Rng& rng, const Fact& fact, double mode_b) {
        if (!chance(rng, mode_b)) return fill(contradiction_mode_a(), {{"THING", fact.thing}});
        const std::string number = fact.partner && chance(rng, 0.8) ? *fact.partner : other_number(rng, fact.number);
        return fill(contradiction_mode_b(), {{"N", number}, {"THING", fact.thing}});
    }

    /// A uniform number other than `not_this`.
    static std::string other_number(Rng& rng, const std::string& not_this) {
        std::vector<std::string> others;
        for (const auto& n : lexicon().at("N"))
            if (n != not_this) others.push_back(n);
        return pick(rng, others);
    }

    /// A support dialogue: uniform dialogue, number and thing; the reply restates the partner's number.
    static Dialogue support(Rng& rng) {
        const auto& [p, r] = pick(rng, support_dialogues());
        const Slots slots = {{"N", pick(rng, lexicon().at("N"))}, {"THING", pick(rng, lexicon().at("THING"))}};
        return {fill(p, slots), fill(r, slots), -1};
    }

    static bool known(const std::string& prompt) {
        if (parse_fact(prompt)) return true;
        const std::string last = opener::last_turn(prompt);
        if (ChitChat::parse_prompt(last)) return true;
        return std::ranges::any_of(support_dialogues(), [&](const auto& d) { return match(d.first, last, lexicon()).has_value(); });
    }

    [[noreturn]] static void throw_foreign(const std::string& prompt, const char* who) {
        throw ValueError(cat("OpenerContradictionWorld::", who, ": '", prompt,
                             "' is not a prompt of the opener contradiction world; was it made by another world?"));
    }

    static void require_known(const std::string& prompt, const char* who) {
        if (!known(prompt)) throw_foreign(prompt, who);
    }
};

static_assert(ChatWorld<OpenerContradictionWorld>);

}  // namespace repro::world
