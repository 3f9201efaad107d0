// examples/repro/task_data.hpp - the data part of a reproduction task: one seed of a world, its
// tokenizer, and every corpus as token ids (pretraining, D0, the unlabeled pool, preference pairs,
// the held-out replies perplexity is measured on).
//
// Fine-tuning (finetuning.hpp) and evaluation (evaluation.hpp) read it; only the FITS world's
// feedback step (experiment.hpp, Task::collect_feedback) grows D0 after pretraining.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <cringe/cringe.hpp>
#include <cringe/data/tokenizer.hpp>
#include "settings.hpp"
#include "world.hpp"

namespace repro {

using namespace cringe;

/// One seed of a world as the model sees it. Built once per (task, seed); every method of the seed
/// trains and is measured on the same data.
template <class World>
struct TaskData {
    /// Token-level labels: example index in `labeled` -> one flag per reply word (true: a bad word).
    using Masks = std::map<std::size_t, std::vector<bool>>;

    /// Generates the world for `seed` with the settings' overrides and tokenizes every corpus.
    TaskData(std::uint64_t task_seed, const Settings& settings) : seed(task_seed), options(resolve_options<World>(settings)) {
        dialogues = World::generate(seed, options);
        tokenizer = data::WordTokenizer::build({join(world.vocabulary())});
        for (const auto& e : dialogues.pretrain) pretrain.push_back(example(e.prompt, e.reply, loss::kUnlabeled));
        // Lever: how many of D0's positives answer a TARGET prompt. In the paper's safety data the
        // "__ok__" utterances are mostly ordinary conversation, while the "__notok__" ones answer
        // adversarial prompts, so a positive-only learner sees few good answers to bad prompts.
        // Positives dropped here are replaced by ordinary dialogues labelled positive (D0 keeps its size).
        Rng d0_rng(derive_seed(seed, "d0 positive share"));
        std::size_t replaced = 0;
        for (const auto& e : dialogues.labeled) {
            if (e.label == 1 && d0_rng.uniform() >= settings.positive_target_share) {
                const auto& o = dialogues.unlabeled[replaced++ % dialogues.unlabeled.size()];
                labeled.push_back(example(o.prompt, o.reply, loss::kPositive));
            } else {
                labeled.push_back(example(e.prompt, e.reply, e.label));
                if (e.label == 0 && settings.token_level) bad_words[labeled.size() - 1] = world.bad_word_mask(e.prompt, e.reply);
            }
        }
        for (const auto& e : dialogues.unlabeled) unlabeled.push_back(example(e.prompt, e.reply, loss::kUnlabeled));
        // Preference pairs for pairwise CRINGE: each negative of D0 against a good reply to its prompt.
        Rng pair_rng(derive_seed(seed, "preference pairs"));
        for (const auto& e : dialogues.labeled)
            if (e.label == 0) {
                pairs.push_back({example(e.prompt, World::good_reply(pair_rng, e.prompt), loss::kPositive),
                                 example(e.prompt, e.reply, loss::kNegative)});
            }
        // Held-out replies for perplexity (good) and negative log-likelihood (bad), on test prompts.
        Rng eval_rng(derive_seed(seed, "held-out replies"));
        for (const auto& p : dialogues.test) {
            if (p.target) {
                good_eval.push_back(example(p.prompt, World::good_reply(eval_rng, p.prompt), loss::kPositive));
                bad_eval.push_back(example(p.prompt, World::bad_reply(eval_rng, p.prompt, options.negative_shared_frame), loss::kNegative));
            } else {
                for (const auto& g : p.gold) good_eval.push_back(example(p.prompt, g, loss::kPositive));
            }
        }
        // The same on the VALIDATION prompts (a perplexity that levers can be chosen on), own stream.
        Rng valid_rng(derive_seed(seed, "held-out validation replies"));
        for (const auto& p : dialogues.valid) {
            if (p.target) good_valid.push_back(example(p.prompt, World::good_reply(valid_rng, p.prompt), loss::kPositive));
            else
                for (const auto& g : p.gold) good_valid.push_back(example(p.prompt, g, loss::kPositive));
        }
    }

    /// `<bos>` prompt `<sep>` as context and the reply's ids, with the label (loss::kPositive, ...).
    train::Example example(const std::string& prompt, const std::string& reply, int label) const {
        Tokens context = {tokenizer.bos_id()};
        const Tokens p = tokenizer.encode(prompt);
        context.insert(context.end(), p.begin(), p.end());
        context.push_back(tokenizer.sep_id());
        return {context, tokenizer.encode(reply), label};
    }

    /// The context the model decodes a reply to `prompt` from: `<bos>` prompt `<sep>`.
    Tokens context(const std::string& prompt) const { return example(prompt, "", 0).context; }

    /// The model configuration for this vocabulary and the settings' sizes.
    nn::GptConfig model_config(const Settings& settings) const {
        return {.vocab_size = tokenizer.size(), .n_positions = settings.n_positions, .n_embd = settings.n_embd,
                .n_layer = settings.n_layer, .n_head = settings.n_head};
    }

    std::uint64_t seed;            ///< the task's seed: the world, the model's initialisation, every stream
    world::WorldOptions options;   ///< the world's options after the settings' overrides (summary.json records them)
    World world;                   ///< the exact checker
    world::WorldData dialogues;    ///< the world's text: corpora and evaluation prompts
    data::WordTokenizer tokenizer = data::WordTokenizer::build({});
    std::vector<train::Example> pretrain;   ///< the pretraining corpus (unlabeled)
    std::vector<train::Example> labeled;    ///< D0 (grown by the FITS world's feedback step)
    std::vector<train::Example> unlabeled;  ///< the unlabeled pool of every fine-tuning batch
    std::vector<train::Example> good_eval;  ///< held-out good replies (perplexity)
    std::vector<train::Example> good_valid;  ///< the same for the validation prompts (valid_ppl, for lever choices)
    std::vector<train::Example> bad_eval;   ///< held-out bad replies (negative log-likelihood)
    std::vector<std::pair<train::Example, train::Example>> pairs;  ///< (good, bad) for pairwise CRINGE
    Masks bad_words;  ///< token-level labels of D0 negatives (--token-level)

private:
    static std::string join(const std::vector<std::string>& words) {
        std::string out;
        for (const auto& w : words) out += w + " ";
        return out;
    }
};

}  // namespace repro
