// examples/repro/finetuning.hpp - the fine-tuning part of a reproduction task: pretraining (the
// "pretrained BB1" analog), one method's training with its loss policy, and the iterative step
// (Algorithm 2: generate, label with the noisy training labeler, balance, add).
//
// Every method gets the same model, steps, data and batches' recipe; only the loss policy changes
// (docs/reproduction.md, "Protocol").
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <cringe/cringe.hpp>
#include "labeler.hpp"
#include "settings.hpp"
#include "task_data.hpp"

namespace repro {

using namespace cringe;

/// A labelled example the iterative step adds to D0, with its token-level mask (--token-level negatives).
using AddedExample = std::pair<train::Example, std::optional<std::vector<bool>>>;

/// Trains models on one task's data: pretraining, fine-tuning by method, the iterative step.
template <class World>
class FineTuning {
public:
    using Masks = typename TaskData<World>::Masks;

    /// Reads `data`, which must outlive this object; `name` labels progress lines.
    FineTuning(const TaskData<World>& data, std::string name, const Settings& settings)
        : data_(data), name_(std::move(name)), seed_(data.seed), settings_(settings) {}

    /// The "pretrained BB1" analog: MLE on the full corpus, bad replies included.
    nn::Gpt<float> pretrain() const {
        const ActivityScope scope(cat(name_, " seed ", seed_, ": pretraining (", settings_.pretrain_steps, " steps)"));
        nn::Gpt<float> model(data_.model_config(settings_), derive_seed(seed_, "model init"));
        Rng rng(derive_seed(seed_, "pretraining batches"));
        train::train(model, loss::CrossEntropy<float>{}, [&](std::size_t) { return sample(data_.pretrain, settings_.batch, rng); },
                     {.steps = settings_.pretrain_steps, .lr = settings_.pretrain_lr, .min_lr = settings_.pretrain_lr / 10,
                      .warmup = settings_.pretrain_steps / 20, .seed = derive_seed(seed_, "pretraining trainer"), .label = name_ + " pretrain",
                      .progress = settings_.progress && settings_.threads == 1});
        return model;
    }

    /// The FITS world's D0 (feedback on the bot's OWN replies): replies of the pretrained model `base`
    /// to D0's prompts, labelled by the noisy training labeler, all kept (unbalanced, as human feedback
    /// is kept: most are negatives). The step of an iterative round without its balancing.
    std::vector<AddedExample> feedback(const nn::Gpt<float>& base) const {
        nn::Gpt<float> bot = base;
        Rng rng(derive_seed(seed_, "feedback replies"));
        return iterate(bot, rng, false);
    }

    /// The prompts an iterative round generates for (--iterate-prompts): D0's distinct negative prompts
    /// ("d0", the training groups only), the distinct target prompts of the unlabeled pool ("replay":
    /// the replayed insults of EVERY group, so the round meets the held-out groups' failure mode on
    /// training data, never on evaluation prompts), or none ("none": the same-step control).
    /// `for_feedback`: the FITS world's feedback step, which always uses D0's prompts.
    std::vector<std::string> round_prompts(bool for_feedback) const {
        const std::string source = for_feedback ? std::string("d0") : settings_.iterate_prompts;
        if (source == "d0") return data_.dialogues.train_target_prompts;
        if (source == "none") return {};
        if (source == "replay") {
            if constexpr (requires(const World& w, const std::string& p) { w.is_target_prompt(p); }) {
                std::vector<std::string> out;
                std::set<std::string> seen;
                for (const auto& e : data_.dialogues.unlabeled)
                    if (data_.world.is_target_prompt(e.prompt) && seen.insert(e.prompt).second) out.push_back(e.prompt);
                return out;
            } else {
                throw ValueError(cat("FineTuning::round_prompts: --iterate-prompts replay needs a world that names its target prompts ",
                                     "(the opener and classic worlds); task '", name_, "' has none"));
            }
        }
        throw ValueError(cat("FineTuning::round_prompts: --iterate-prompts is '", source, "'; expected d0, replay or none"));
    }

    /// Fine-tunes `model` for one round of `method` on `labeled` (D0 plus what earlier rounds added)
    /// and the unlabeled pool; `rng` draws the batches and the trainer's seed.
    void finetune(nn::Gpt<float>& model, const Method& method, const std::vector<train::Example>& labeled, const Masks& bad_words, Rng& rng,
                  int round) const {
        // Round 2 and later may train for fewer steps (--round2-steps), e.g. so that the iterative run's
        // total matches a single round's.
        if (settings_.negative_tokens != "all" && settings_.negative_tokens != "first")
            throw ValueError(cat("FineTuning::finetune: --negative-tokens is '", settings_.negative_tokens, "'; expected all or first"));
        const std::size_t steps = round >= 2 && settings_.round2_steps > 0 ? settings_.round2_steps : settings_.finetune_steps;
        const train::TrainOptions options{.steps = steps, .lr = settings_.finetune_lr,
                                          .warmup = steps / 10, .seed = rng.next_u64(),
                                          .label = cat(name_, " ", method.name, " a=", method.alpha, " round ", round),
                                          .progress = settings_.progress && settings_.threads == 1};
        auto next = [&](std::size_t) { return finetune_batch(method, labeled, bad_words, rng); };
        // The policy by name from the registry; a method's settings go to the options of that name
        // the policy has (alpha, k, detach_positive, normalization), the rest keep their defaults.
        auto policy = loss::make_policy<float>(method.loss);
        std::visit([&](auto& p) {
            loss::for_each_option(p, [&](std::string_view option, auto& field) {
                using Field = std::remove_cvref_t<decltype(field)>;
                if constexpr (std::is_same_v<Field, double>) {
                    if (option == "alpha") field = method.alpha;
                } else if constexpr (std::is_same_v<Field, long>) {
                    if (option == "k") field = method.k;
                } else if constexpr (std::is_same_v<Field, bool>) {
                    if (option == "detach_positive") field = method.detach_positive;
                } else if constexpr (std::is_same_v<Field, loss::Normalization>) {
                    field = method.separate ? loss::Normalization::separate : loss::Normalization::joint;
                }
            });
            train::train(model, std::as_const(p), next, options);
        }, policy);
    }

    /// Algorithm 2: generate for the prompts of D0 (sampling, so both classes appear), label with the
    /// NOISY training labeler (never the evaluator), balance, cap repeated positives, return the new data.
    /// With --token-level a negative also gets the words its label blames: the checker's bad words, or,
    /// for a labeler false alarm (no bad word), one random word of the reply, as a token classifier's
    /// mistake would.
    /// balance = false (the FITS world's D0): keep every labelled reply, as human feedback is kept.
    std::vector<AddedExample> iterate(nn::Gpt<float>& model, Rng& rng, bool balance = true) const {
        world::NoisyLabeler<World> labeler(data_.world, derive_seed(seed_, "training labeler"), settings_.label_noise);
        std::vector<Tokens> prompts;
        std::vector<std::string> texts;
        const std::vector<std::string> sources = round_prompts(!balance);
        if (sources.empty()) {
            log(cat("[", name_, " seed ", seed_, "] iterative round: --iterate-prompts none, nothing added"));
            return {};
        }
        for (const auto& p : sources)
            for (std::size_t s = 0; s < settings_.samples_per_prompt; ++s) {
                prompts.push_back(data_.context(p));
                texts.push_back(p);
            }
        generate::Options o;
        o.strategy = generate::Strategy::sample;
        o.top_k = 5;
        o.max_new_tokens = 20;
        o.eos_id = data_.tokenizer.eos_id();
        o.seed = rng.next_u64();
        const auto replies = generate::generate(model, prompts, o);
        std::vector<train::LabeledGeneration> generations;
        for (std::size_t i = 0; i < replies.size(); ++i) {
            const std::string reply = data_.tokenizer.decode(replies[i]);
            generations.push_back({texts[i], reply, labeler.label(texts[i], reply)});
        }
        const auto kept = balance ? train::balance_generations(generations, settings_.positive_repeats, rng) : generations;
        // How many of the labelled negatives the exact checker also calls bad (true negatives) and how
        // many the round keeps: the evidence docs/reproduction.md reads for the iterative levers.
        auto count = [&](const std::vector<train::LabeledGeneration>& gs) {
            std::size_t negatives = 0, true_negatives = 0;
            for (const auto& g : gs)
                if (g.label == loss::kNegative) {
                    ++negatives;
                    true_negatives += !(data_.world.wellformed(g.prompt, g.reply) && data_.world.on_target(g.prompt, g.reply));
                }
            return std::pair{negatives, true_negatives};
        };
        const auto [labelled_neg, labelled_true] = count(generations);
        const auto [kept_neg, kept_true] = count(kept);
        log(cat("[", name_, " seed ", seed_, "] ", balance ? "iterative round" : "feedback", ": ", generations.size(), " replies to ",
                sources.size(), " prompts (", balance ? settings_.iterate_prompts : std::string("d0"), "), ", labelled_neg, " labelled negative (",
                labelled_true, " truly bad); kept ", kept.size() - kept_neg, " positive, ", kept_neg, " negative (", kept_true, " truly bad)"));
        std::vector<AddedExample> added;
        for (const auto& g : kept) {
            std::optional<std::vector<bool>> mask;
            if (settings_.token_level && g.label == loss::kNegative) {
                mask = data_.world.bad_word_mask(g.prompt, g.reply);
                if (std::ranges::none_of(*mask, [](bool b) { return b; }) && !mask->empty()) (*mask)[rng.below(mask->size())] = true;
            }
            added.emplace_back(data_.example(g.prompt, g.reply, g.label), std::move(mask));
        }
        return added;
    }

    /// One fine-tuning batch of `method`: half labelled data (D0 plus what the iterative rounds added,
    /// weighted by size), half unlabeled chit-chat, as the paper's mixture keeps ordinary dialogue in
    /// every batch; the data levers (--token-level, --no-negative-eos, --negative-tokens) applied to
    /// its targets. Public so that the tests can read what the loss sees.
    train::TrainBatch finetune_batch(const Method& method, const std::vector<train::Example>& labeled, const Masks& bad_words, Rng& rng) const {
        std::vector<train::Example> rows;
        std::vector<std::pair<std::size_t, std::size_t>> pairs;
        std::vector<std::size_t> picks;  // indices into `labeled` of the first rows
        const std::size_t half = settings_.batch / 2;
        if (method.loss == "pairwise_cringe") {
            for (std::size_t i = 0; i < half; ++i) {
                const auto& [good, bad] = data_.pairs[rng.below(data_.pairs.size())];
                pairs.emplace_back(rows.size(), rows.size() + 1);
                rows.push_back(good);
                rows.push_back(bad);
            }
        } else {
            for (std::size_t i = 0; i < half; ++i) {
                const std::size_t pick = rng.below(labeled.size());
                rows.push_back(labeled[pick]);
                picks.push_back(pick);
            }
            for (std::size_t i = half; i < settings_.batch; ++i) rows.push_back(data_.unlabeled[rng.below(data_.unlabeled.size())]);
        }
        // Token-level labels (--token-level): in a D0 negative only the bad words stay negative
        // targets, so the negative term never touches the tokens that good replies share. The rest of
        // the reply is ignored, or (--token-level-ce-rest) copied into an unlabeled CE row.
        std::vector<std::pair<std::size_t, const std::vector<bool>*>> split;  // (row of the negative, mask)
        std::vector<std::size_t> copies;  // the CE row of each split negative (rest mode only)
        for (std::size_t r = 0; r < picks.size(); ++r)
            if (auto it = bad_words.find(picks[r]); it != bad_words.end() && rows[r].label == loss::kNegative) {
                split.emplace_back(r, &it->second);
                if (settings_.token_level_ce_rest) {
                    rows.push_back(rows[r]);
                    rows.back().label = loss::kUnlabeled;
                    copies.push_back(rows.size() - 1);
                }
            }
        auto batch = train::make_batch(rows, data_.tokenizer.eos_id(), data_.tokenizer.pad_id(), settings_.n_positions);
        for (std::size_t k = 0; k < split.size(); ++k) {
            const std::size_t neg = split[k].first;
            const std::vector<bool>& bad = *split[k].second;
            const std::size_t first = rows[neg].context.size() - 1;  // target position of reply word 0
            for (std::size_t t = first; t < batch.batch.targets.shape()[1]; ++t) {
                const std::size_t word = t - first;  // word index in the reply; == reply size: EOS
                const bool is_bad = word < bad.size() && bad[word];
                if (!is_bad) batch.batch.targets(neg, t) = data_.tokenizer.pad_id();
                else if (!copies.empty()) batch.batch.targets(copies[k], t) = data_.tokenizer.pad_id();
            }
        }
        // Lever: leave the EOS of negative replies out of the negative term. EOS is nearly certain after
        // '.' or '!', and pushing it down after bad replies teaches the model not to stop at all.
        if (!settings_.negative_eos && pairs.empty())  // pairwise CRINGE compares whole replies
            for (std::size_t r = 0; r < rows.size(); ++r)
                if (rows[r].label == loss::kNegative) {
                    const std::size_t eos_at = rows[r].context.size() - 1 + rows[r].reply.size();
                    if (eos_at < batch.batch.targets.shape()[1] && batch.batch.targets(r, eos_at) == data_.tokenizer.eos_id())
                        batch.batch.targets(r, eos_at) = data_.tokenizer.pad_id();
                }
        // Lever (--negative-tokens first): only the first reply token of a negative row stays a negative
        // target. In the opener worlds the bad decision is that token (the rude opener); pushing down
        // the tokens after it as well (the toxic word, '!', EOS) teaches the model to continue a rude
        // opener with another frame ("ugh troll , i am sorry you feel that way ."), a malformed reply.
        if (settings_.negative_tokens == "first" && pairs.empty())
            for (std::size_t r = 0; r < rows.size(); ++r)
                if (rows[r].label == loss::kNegative)
                    for (std::size_t t = rows[r].context.size(); t < batch.batch.targets.shape()[1]; ++t)
                        batch.batch.targets(r, t) = data_.tokenizer.pad_id();
        batch.batch.pairs = pairs;
        return batch;
    }

private:
    /// A progress line (the run's log, else stderr).
    void log(const std::string& line) const {
        if (settings_.log) settings_.log(line);
        else std::fprintf(stderr, "%s\n", line.c_str());
    }

    /// n examples drawn uniformly (with replacement) from `pool`, as one padded batch.
    train::TrainBatch sample(const std::vector<train::Example>& pool, std::size_t n, Rng& rng) const {
        std::vector<train::Example> rows;
        for (std::size_t i = 0; i < n; ++i) rows.push_back(pool[rng.below(pool.size())]);
        return train::make_batch(rows, data_.tokenizer.eos_id(), data_.tokenizer.pad_id(), settings_.n_positions);
    }

    const TaskData<World>& data_;
    std::string name_;
    std::uint64_t seed_;
    Settings settings_;
};

}  // namespace repro
