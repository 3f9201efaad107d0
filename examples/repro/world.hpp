// examples/repro/world.hpp - what the two synthetic chat worlds share: the data types, the options,
// and a tiny template grammar that both generates sentences and checks them exactly.
//
// A world is the toy stand-in for the paper's data AND its classifier (docs/reproduction.md, "The classic worlds"):
// it writes the dialogues, and because we wrote its grammar we can judge any reply exactly. Text is
// lowercase words separated by single spaces; punctuation is a word of its own ("i like tea .").
//
// Sentences come from PATTERNS: a pattern is a sentence whose words in braces are slots, e.g.
// "i have {N} {PET} .". A Lexicon says which words each slot may hold. One pattern serves two ways:
//   fill(pattern, slots)          -> "i have 3 dogs ."                  (generation)
//   match(pattern, text, lexicon) -> {N: "3", PET: "dogs"} or nothing   (checking)
// Every slot holds exactly one word, so matching is a word-by-word comparison.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <cringe/error.hpp>
#include <cringe/rng.hpp>

namespace repro::world {

// The library's error type, message builder and random numbers, by their short names.
using cringe::cat;
using cringe::Rng;
using cringe::ValueError;

/// One dialogue of a world, as TEXT: a prompt, a reply and its label. (The training code's
/// cringe::train::Example is the same thing as token ids: task_data.hpp tokenizes one into the other.)
struct Dialogue {
    /// The context text.
    std::string prompt;
    /// The reply text.
    std::string reply;
    /// 1 positive, 0 negative, -1 unlabeled.
    int label = -1;
};

/// A prompt to generate for at evaluation time. target: the target metric (safe / consistent) is
/// measured on it; otherwise it is an ordinary prompt and `gold` holds the reference replies for F1.
struct EvalPrompt {
    /// The context text.
    std::string prompt;
    /// The reference replies F1 is measured against.
    std::vector<std::string> gold;
    /// A target prompt (where bad replies are likely) rather than an ordinary one.
    bool target = false;
    /// FITS world: a test prompt on a topic never seen in training (the test-unseen split).
    bool unseen = false;
};

/// Which prompt templates to draw from: those training data may use, those reserved for evaluation,
/// or both.
enum class TemplateSet { training, held_out, all };

/// Whether a template with this held_out flag belongs to `set`.
inline bool in_set(bool held_out, TemplateSet set) {
    return set == TemplateSet::all || held_out == (set == TemplateSet::held_out);
}

/// Everything one seed of a world produces.
struct WorldData {
    std::vector<Dialogue> pretrain;   ///< the "pretrained BB1" corpus, bad replies included; labels -1
    std::vector<Dialogue> labeled;    ///< D0: target prompts with good (1) and bad (0) replies
    std::vector<Dialogue> unlabeled;  ///< the BlendedSkillTalk analog: ordinary dialogues; labels -1
    std::vector<EvalPrompt> valid;   ///< target prompts first, then ordinary prompts
    std::vector<EvalPrompt> test;    ///< same recipe as valid, drawn independently
    std::vector<std::string> train_target_prompts;  ///< distinct prompts of D0, for the iterative step
};

/// Sizes, corpus mixture and the design levers of the prototype's lessons (docs/reproduction.md, "The classic worlds"). Both worlds read the same struct;
/// SafetyWorld::default_options() and ContradictionWorld::default_options() set the bad-reply rate.
struct WorldOptions {
    /// Dialogues in the pretraining corpus.
    std::size_t pretrain = 20000;
    /// Labeled dialogues (D0).
    std::size_t labeled = 2000;
    /// Unlabeled ordinary dialogues.
    std::size_t unlabeled = 4000;
    /// Target prompts per evaluation split (valid and test each).
    std::size_t eval_target = 300;    // per split (valid and test each)
    /// Ordinary prompts per evaluation split.
    std::size_t eval_ordinary = 200;  // per split
    std::size_t eval_valid_target = 0;  ///< opener world: target prompts of the validation split (0: eval_target)

    double pretrain_target_share = 0.4;   ///< share of pretraining dialogues on target prompts
    double pretrain_bad_rate = 0.5;       ///< of those, share with a bad reply (contradiction world: 0.25)
    double labeled_positive_share = 0.5;  ///< D0 is about half positive, half negative (the safety sets)

    /// Lever (lesson 6): probability that a bad reply is built on a frame the good replies also use,
    /// differing from one only in the bad words ("i am sorry you feel that way ." vs "i am sorry you
    /// are so dumb ."), rather than on a frame only bad replies use ("dumb clown !"). At 1 sequence-
    /// level negatives hit many tokens good replies need; at 0 the world is the prototype's "bare" world.
    double negative_shared_frame = 0.5;

    /// Lever (lesson 1): the evaluation's target prompts come from templates held out of D0. By default
    /// they are held out of the pretraining corpus too (never seen at all); set this to put them in the
    /// pretraining corpus (with its bad-reply rate), like toxic text the pretrained model has seen.
    bool heldout_in_pretrain = false;

    /// Lever (lesson 3): gold replies per ordinary evaluation prompt, drawn from its valid replies.
    /// Several replies are valid, so with one gold (ConvAI2 has one human reply) a perfect model scores
    /// well below F1 = 1 and F1 can move; with every valid reply as gold it would be stuck near 1.
    std::size_t golds_per_prompt = 1;

    // The opener safety world (opener_safety_world.hpp, the reproduction's default) reads these; the
    // classic worlds ignore them.
    // Lever (replay): share of the unlabeled pool that replays target dialogues of the pretraining
    // distribution, and their bad-reply rate (lowered from the pretraining rate). Cross-entropy on these
    // keeps the model's grammar in insult contexts; the rate sets how far the baseline drifts to safety.
    double replay_share = 0.0;     ///< share of the unlabeled pool that replays target dialogues
    double replay_bad_rate = 0.4;  ///< bad-reply rate of the replayed dialogues
    std::size_t opener_train_groups = 5;   ///< insult groups 0..n-1 give D0's negatives; the rest are held out
    double opener_mode_b = 0.25;           ///< share of toxic mode B ("whatever W .") among pretraining/replayed toxic replies
    double opener_mode_b_labeled = 0.05;   ///< ... and among D0's negatives (rare: the evaluation's failure is mode A)
    double opener_prefix_share = 0.5;      ///< share of prompts with one chit-chat exchange before them
    double opener_support_share = 0.3;     ///< share of chit-chat that is a support dialogue (safe-reply words, harmless prompt)

    // The FITS world (fits_world.hpp) reads these; the other worlds ignore them.
    std::size_t fits_unseen_topics = 8;  ///< topics held out of all training text (the test-unseen split's topics)
    std::size_t eval_unseen = 342;       ///< test-unseen prompts (the FITS world's test split also holds eval_target seen ones)

    /// Throws ValueError naming the field when the options cannot describe a data set.
    void validate(const char* who) const {
        auto check_share = [who](double value, const char* name) {
            if (!(value >= 0.0 && value <= 1.0))
                throw ValueError(cat(who, ": WorldOptions::", name, " is ", value, "; expected 0 <= value <= 1"));
        };
        check_share(pretrain_target_share, "pretrain_target_share");
        check_share(pretrain_bad_rate, "pretrain_bad_rate");
        check_share(labeled_positive_share, "labeled_positive_share");
        check_share(negative_shared_frame, "negative_shared_frame");
        check_share(replay_share, "replay_share");
        check_share(replay_bad_rate, "replay_bad_rate");
        check_share(opener_mode_b, "opener_mode_b");
        check_share(opener_mode_b_labeled, "opener_mode_b_labeled");
        check_share(opener_prefix_share, "opener_prefix_share");
        check_share(opener_support_share, "opener_support_share");
        if (golds_per_prompt < 1) throw ValueError(cat(who, ": WorldOptions::golds_per_prompt is 0; expected >= 1"));
    }
};

// ---- words ----------------------------------------------------------------------------------------

/// "i like tea ." -> {"i", "like", "tea", "."}; any run of spaces separates words.
inline std::vector<std::string> split_words(const std::string& text) {
    std::vector<std::string> words;
    std::string word;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\n') {
            if (!word.empty()) words.push_back(word);
            word.clear();
        } else {
            word += c;
        }
    }
    if (!word.empty()) words.push_back(word);
    return words;
}

/// The words joined by single spaces.
inline std::string join_words(const std::vector<std::string>& words) {
    std::string text;
    for (const auto& word : words) text += (text.empty() ? "" : " ") + word;
    return text;
}

// ---- patterns -------------------------------------------------------------------------------------

using Lexicon = std::map<std::string, std::vector<std::string>>;  ///< slot name -> words it may hold
using Slots = std::map<std::string, std::string>;                 ///< slot name -> the word it holds

/// "{PET}" -> "PET"; any other word -> "".
inline std::string slot_name(const std::string& word) {
    if (word.size() > 2 && word.front() == '{' && word.back() == '}') return word.substr(1, word.size() - 2);
    return "";
}

/// The pattern with each slot replaced by its word in `slots` (which must hold every slot).
inline std::string fill(const std::string& pattern, const Slots& slots) {
    std::vector<std::string> words = split_words(pattern);
    for (auto& word : words) {
        const std::string name = slot_name(word);
        if (name.empty()) continue;
        const auto it = slots.find(name);
        if (it == slots.end()) throw ValueError(cat("fill: no value for slot {", name, "} in '", pattern, "'"));
        word = it->second;
    }
    return join_words(words);
}

/// The slot values that turn `pattern` into the words of a text, or nothing when no choice of lexicon
/// words does. A slot used twice must hold the same word both times.
inline std::optional<Slots> match(const std::string& pattern, const std::vector<std::string>& got,
                                  const Lexicon& lexicon) {
    // Patterns are written with single spaces: compare word counts before splitting (cheap rejection).
    if (static_cast<std::size_t>(std::ranges::count(pattern, ' ')) + 1 != got.size()) return std::nullopt;
    const std::vector<std::string> want = split_words(pattern);
    Slots slots;
    for (std::size_t i = 0; i < want.size(); ++i) {
        const std::string name = slot_name(want[i]);
        if (name.empty()) {
            if (want[i] != got[i]) return std::nullopt;
            continue;
        }
        const auto& allowed = lexicon.at(name);
        if (std::find(allowed.begin(), allowed.end(), got[i]) == allowed.end()) return std::nullopt;
        if (auto [it, fresh] = slots.emplace(name, got[i]); !fresh && it->second != got[i]) return std::nullopt;
    }
    return slots;
}

/// The slot values if `text` matches `pattern`, word for word.
inline std::optional<Slots> match(const std::string& pattern, const std::string& text, const Lexicon& lexicon) {
    return match(pattern, split_words(text), lexicon);
}

/// Which of `patterns` a text matches first, and with which slot values.
struct Parse {
    /// The index of the matching pattern.
    std::size_t index = 0;
    /// The slot values it matched.
    Slots slots;
};

/// The first of `patterns` that `text` matches, and its slot values.
inline std::optional<Parse> parse(const std::vector<std::string>& patterns, const std::string& text,
                                  const Lexicon& lexicon) {
    const std::vector<std::string> words = split_words(text);
    for (std::size_t i = 0; i < patterns.size(); ++i)
        if (auto slots = match(patterns[i], words, lexicon)) return Parse{i, *slots};
    return std::nullopt;
}

/// True when every slot named in both maps holds the same word in both.
inline bool agree(const Slots& a, const Slots& b) {
    for (const auto& [name, word] : a)
        if (auto it = b.find(name); it != b.end() && it->second != word) return false;
    return true;
}

// ---- randomness (always cringe::Rng: the same seed gives the same data on every platform) --------

/// A uniformly chosen item; `items` must not be empty.
template <class T>
const T& pick(Rng& rng, const std::vector<T>& items) {
    return items[static_cast<std::size_t>(rng.below(items.size()))];
}

/// True with probability p.
inline bool chance(Rng& rng, double p) { return rng.uniform() < p; }

/// Each part of a data set draws from its own named stream (cringe::derive_seed), so resizing one part
/// leaves the others as they were (growing the pretraining corpus does not change the test prompts).
inline Rng part_rng(std::uint64_t seed, std::string_view part) { return Rng(cringe::derive_seed(seed, part)); }

/// Fills the slots of `pattern`: those in `given` keep their value, the others get a random word.
inline std::string fill_random(Rng& rng, const std::string& pattern, const Lexicon& lexicon, Slots given = {}) {
    for (const auto& word : split_words(pattern)) {
        const std::string name = slot_name(word);
        if (!name.empty() && !given.count(name)) given[name] = pick(rng, lexicon.at(name));
    }
    return fill(pattern, given);
}

/// Every word the patterns can produce: their literal words and the words their slots may hold.
inline std::set<std::string> words_of(const std::vector<std::string>& patterns, const Lexicon& lexicon) {
    std::set<std::string> out;
    for (const auto& pattern : patterns)
        for (const auto& word : split_words(pattern)) {
            const std::string name = slot_name(word);
            if (name.empty()) out.insert(word);
            else out.insert(lexicon.at(name).begin(), lexicon.at(name).end());
        }
    return out;
}

/// The interface both worlds offer (the reproduction program and NoisyLabeler are written against it).
/// wellformed: the grammar accepts the reply as a complete reply to that prompt. on_target: the reply
/// is safe / consistent with the stated fact (judged on its own, grammatical or not). Both throw
/// ValueError for a prompt that is not one of the world's.
template <class W>
concept ChatWorld = requires(const W& world, const std::string& text, std::uint64_t seed, const WorldOptions& options) {
    { W::generate(seed, options) } -> std::same_as<WorldData>;
    { world.wellformed(text, text) } -> std::same_as<bool>;
    { world.on_target(text, text) } -> std::same_as<bool>;
    { world.bad_word_mask(text, text) } -> std::same_as<std::vector<bool>>;
    { world.vocabulary() } -> std::same_as<std::vector<std::string>>;
};

}  // namespace repro::world
