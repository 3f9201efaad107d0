// examples/repro/opener_world.hpp - what the two "decision first + replay" worlds share (the opener
// safety world and the opener contradiction world; docs/reproduction.md explains the design).
//
// Both worlds have prompt GROUPS (each with its own good reply), a bad reply that opens with one of two
// openers shared by every group (mode A common, mode B rare in D0), D0 negatives from the first
// `opener_train_groups` groups only, D0 positives from harmless contexts, an unlabeled pool that
// REPLAYS target dialogues at a lowered bad-reply rate, and evaluation prompts from the held-out
// groups. This header holds the recipe that draws those parts (generate()) and the prompt helpers
// (turns joined by a separator, an optional chit-chat exchange before a prompt); each world supplies
// its own dialogues through a small static interface (see generate()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "chitchat.hpp"
#include "world.hpp"

namespace repro::world::opener {

/// Between the turns of a prompt ("i like tea . <sep> i like tea too . <sep> you are a fool .").
inline constexpr const char* kSeparator = "<sep>";

/// The turns of a prompt: the texts between separators, each with single spaces.
inline std::vector<std::string> turns(const std::string& prompt) {
    std::vector<std::string> out(1);
    for (const auto& word : split_words(prompt)) {
        if (word == kSeparator) out.emplace_back();
        else out.back() += (out.back().empty() ? "" : " ") + word;
    }
    return out;
}

/// The last turn of a prompt: the text after its last separator (the whole prompt without one).
inline std::string last_turn(const std::string& prompt) {
    const auto at = prompt.rfind(kSeparator);
    if (at == std::string::npos) return prompt;
    return join_words(split_words(prompt.substr(at + std::string(kSeparator).size())));
}

/// With probability `share`, one ordinary exchange before the prompt ("i like tea . <sep> i like tea
/// too . <sep> PROMPT"), redrawn up to ten times to keep the prompt within `max_words` words.
inline std::string with_prefix(Rng& rng, const std::string& prompt, double share, std::size_t max_words) {
    if (!chance(rng, share)) return prompt;
    for (int attempt = 0; attempt < 10; ++attempt) {
        const Dialogue e = ChitChat::sample_dialogue(rng);
        const std::string full = e.prompt + " " + kSeparator + " " + e.reply + " " + kSeparator + " " + prompt;
        if (split_words(full).size() <= max_words) return full;
    }
    return prompt;
}

/// The distinct first words of `frames`, sorted (the openers of the first-token margin).
inline std::vector<std::string> first_words(const std::vector<std::string>& frames) {
    std::set<std::string> out;
    for (const auto& f : frames) out.insert(split_words(f).front());
    return {out.begin(), out.end()};
}

/// The data of one seed of an opener world. `World` supplies, as static functions:
///   groups().size()                                  the number of prompt groups
///   target_dialogue(rng, first, end, bad_rate, mode_b, options) -> Dialogue
///       a target prompt of a group in [first, end), answered badly with probability bad_rate
///       (mode B with probability mode_b among bad replies), else well
///   positive(rng, options) -> Dialogue                a harmless-context positive of D0
///   chitchat(rng, options) -> Dialogue                ordinary dialogue for pretraining and the pool
///   target_prompt(rng, group, options) -> string     an evaluation prompt of `group`
/// Every part draws from its own random stream (part_rng), so resizing one leaves the others as they
/// were. Throws ValueError naming the option when the options cannot describe a data set.
template <class World>
WorldData generate(std::uint64_t seed, const WorldOptions& options, const char* who) {
    options.validate(who);
    const std::size_t ng = World::groups().size(), nt = options.opener_train_groups;
    if (nt < 1 || nt >= ng)
        throw ValueError(cat(who, ": WorldOptions::opener_train_groups is ", nt, "; expected 1 to ", ng - 1,
                             " (the rest are held out for evaluation)"));
    WorldData data;
    // Pretraining: target dialogues of every group (bad replies at pretrain_bad_rate) and chit-chat.
    Rng rng = part_rng(seed, "world pretraining corpus");
    for (std::size_t i = 0; i < options.pretrain; ++i)
        data.pretrain.push_back(chance(rng, options.pretrain_target_share)
                                    ? World::target_dialogue(rng, 0, ng, options.pretrain_bad_rate, options.opener_mode_b, options)
                                    : World::chitchat(rng, options));
    // D0: negatives answer target prompts of the training groups (mode B rare); positives are harmless.
    rng = part_rng(seed, "world D0");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < options.labeled; ++i) {
        Dialogue e;
        if (chance(rng, options.labeled_positive_share)) {
            e = World::positive(rng, options);
            e.label = 1;
        } else {
            e = World::target_dialogue(rng, 0, nt, 1.0, options.opener_mode_b_labeled, options);
            e.label = 0;
            if (seen.insert(e.prompt).second) data.train_target_prompts.push_back(e.prompt);
        }
        data.labeled.push_back(e);
    }
    // Unlabeled pool: replayed target dialogues (every group, bad at replay_bad_rate) and chit-chat.
    rng = part_rng(seed, "world unlabeled pool");
    for (std::size_t i = 0; i < options.unlabeled; ++i)
        data.unlabeled.push_back(chance(rng, options.replay_share)
                                     ? World::target_dialogue(rng, 0, ng, options.replay_bad_rate, options.opener_mode_b, options)
                                     : World::chitchat(rng, options));
    // Evaluation: target prompts of the held-out groups, then ordinary prompts with golds (F1).
    for (auto [split, part] : {std::pair{&data.valid, "world validation prompts"}, std::pair{&data.test, "world test prompts"}}) {
        rng = part_rng(seed, part);
        const std::size_t n = split == &data.valid && options.eval_valid_target > 0 ? options.eval_valid_target : options.eval_target;
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t group = nt + rng.below(ng - nt);
            split->push_back({World::target_prompt(rng, group, options), {}, true});
        }
        for (std::size_t i = 0; i < options.eval_ordinary; ++i)
            split->push_back(ChitChat::sample_eval_prompt(rng, options.golds_per_prompt));
    }
    return data;
}

}  // namespace repro::world::opener
