// examples/repro/experiment.hpp - one task of the CRINGE reproduction: pretrain, fine-tune every
// method with the same model, steps and seeds (the loss swapped as a policy type), evaluate.
//
// Protocol and choices: docs/reproduction.md.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <cmath>
#include <string>
#include <thread>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <cringe/cringe.hpp>
#include "contradiction_world.hpp"
#include "fits_world.hpp"
#include "labeler.hpp"
#include "opener_contradiction_world.hpp"
#include "opener_safety_world.hpp"
#include "safety_world.hpp"
#include "text_metrics.hpp"
#include <cringe/data/tokenizer.hpp>

namespace repro {

using namespace cringe;

/// One fine-tuning configuration (a row of the results table).
struct Method {
    std::string name;           // the method names of docs/reproduction.md: baseline, unlikelihood, cringe_single, ...
    std::string loss;           // cross_entropy | unlikelihood | cringe | pairwise_cringe | sigmoid_only | none
    double alpha = 1.0;
    long k = 5;
    bool detach_positive = false;
    bool separate = false;
    bool main = false;          // the configuration shown in the main table
    int rounds = 1;             // 2 for cringe_iterative
};

struct Metrics {
    double target_accuracy = 0, target_accuracy_beam = 0, target_accuracy_lenient = 0, wellformed = 0;
    double target_accuracy_sampled = 0;  // temperature-1 sampling: a graded view where greedy saturates
    double valid_accuracy = 0, valid_accuracy_sampled = 0;  // the same two on the VALIDATION prompts (alpha selection)
    double f1 = 0, ppl = 0, distinct2 = 0, neg_nll = 0;
    // First-token margin (opener world only; NaN elsewhere): per test insult, log p(best safe opener) -
    // log p(best bad opener) at the first reply position; > 0 means greedy decoding opens safely.
    double margin = std::numeric_limits<double>::quiet_NaN(), valid_margin = std::numeric_limits<double>::quiet_NaN();
    std::vector<std::uint8_t> strict_per_prompt;  // 1 when the greedy reply to test target prompt i is strict-correct
    std::vector<double> margin_per_prompt;        // the margin of test target prompt i (empty outside the opener world)
    std::vector<std::string> examples;  // "prompt => greedy reply" for the first test target prompts (samples.md)
    // Gold-reply F1 of the greedy replies to target prompts that carry golds (the FITS world; NaN
    // elsewhere): valid, test (seen topics), test-unseen; `f1` is then their average weighted by the
    // paper's split sizes (684 / 1453 / 1366).
    double f1_valid = std::numeric_limits<double>::quiet_NaN(), f1_test = std::numeric_limits<double>::quiet_NaN(),
           f1_unseen = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> f1_per_prompt;  // gold F1 of test target prompt i (test, then test-unseen); empty elsewhere
};

struct Record {
    std::string task;
    Method method;
    std::uint64_t seed = 0;
    int round = 1;
    Metrics metrics;
    double seconds = 0;
};

struct Settings {
    std::size_t n_embd = 64, n_layer = 2, n_head = 4, n_positions = 32;
    std::size_t pretrain_steps = 1500, finetune_steps = 400, batch = 32;
    double pretrain_lr = 1e-3, finetune_lr = 3e-4;
    struct WorldSizes {
        // 0: the world's default (WorldOptions; the opener world evaluates 1000 test and 500 validation insults)
        std::size_t pretrain = 0, labeled = 0, unlabeled = 0, eval_target = 0, eval_valid_target = 0, eval_ordinary = 0, eval_unseen = 0;
        double replay_bad_rate = -1;         // opener world lever; < 0: the world's default
        double replay_share = -1;            // opener world lever; < 0: the world's default
        double pretrain_bad_rate = -1;       // bad-reply rate of pretraining's target dialogues; < 0: the world's default
        bool heldout_in_pretrain = true;     // held-out target templates appear in pretraining (with bad replies)
        double negative_shared_frame = -1;   // < 0: the world's default
    } world;                                 // the task's default bad-reply rate is applied on top
    std::size_t beam_prompts = 100;
    std::size_t samples_per_prompt = 2;  // iterative step: sampled replies per D0 prompt
    double positive_target_share = 1.0;  // share of D0's positives that answer a target prompt (lever)
    bool token_level = false;            // D0 negatives labelled per token (only the bad words are negative)
    bool token_level_ce_rest = false;    // ... and the rest of such a reply trained with CE (else ignored)
    bool negative_eos = true;            // the EOS of a negative reply is a negative target (as in the released ParlAI code)
    double label_noise = 0.05;           // the training labeler's flip rate
    std::size_t threads = 1;
    bool progress = true;
    std::function<void(const std::string&)> log;  // progress lines (stderr and progress.log); empty: stderr
};

/// What is running now (for the heartbeat line): labels of the jobs in flight.
class Activity {
public:
    void begin(const std::string& label) {
        std::lock_guard<std::mutex> guard(lock_);
        running_.insert(label);
    }
    void end(const std::string& label) {
        std::lock_guard<std::mutex> guard(lock_);
        running_.erase(label);
    }
    std::string describe() const {
        std::lock_guard<std::mutex> guard(lock_);
        std::string out;
        for (const auto& r : running_) out += (out.empty() ? "" : "; ") + r;
        return out.empty() ? "between jobs" : out;
    }

private:
    mutable std::mutex lock_;
    std::multiset<std::string> running_;
};

inline Activity& activity() {
    static Activity a;
    return a;
}

/// Marks a job as running for its lifetime.
struct ActivityScope {
    explicit ActivityScope(std::string label) : label_(std::move(label)) { activity().begin(label_); }
    ~ActivityScope() { activity().end(label_); }
    ActivityScope(const ActivityScope&) = delete;
    ActivityScope& operator=(const ActivityScope&) = delete;
    std::string label_;
};

/// Order of methods in every output (the paper's table order).
inline int method_rank(const std::string& name) {
    static const std::vector<std::string> order = {"pretrained", "baseline", "unlikelihood", "cringe_single", "cringe_iterative",
                                                   "pairwise_cringe", "sigmoid_only", "cringe_k1", "cringe_detached", "cringe_separate"};
    const auto it = std::ranges::find(order, name);
    return static_cast<int>(it - order.begin());
}

/// The world's options after the settings' overrides (0 / negative settings keep the world's default).
template <class World>
world::WorldOptions resolve_options(const Settings& settings) {
    world::WorldOptions options = World::default_options();
    const auto& s = settings.world;
    auto set = [](std::size_t& field, std::size_t value) {
        if (value > 0) field = value;
    };
    set(options.pretrain, s.pretrain);
    set(options.labeled, s.labeled);
    set(options.unlabeled, s.unlabeled);
    set(options.eval_target, s.eval_target);
    set(options.eval_valid_target, s.eval_valid_target);
    set(options.eval_ordinary, s.eval_ordinary);
    set(options.eval_unseen, s.eval_unseen);
    if (s.replay_bad_rate >= 0) options.replay_bad_rate = s.replay_bad_rate;
    if (s.replay_share >= 0) options.replay_share = s.replay_share;
    if (s.pretrain_bad_rate >= 0) options.pretrain_bad_rate = s.pretrain_bad_rate;
    options.heldout_in_pretrain = s.heldout_in_pretrain;
    if (s.negative_shared_frame >= 0) options.negative_shared_frame = s.negative_shared_frame;
    return options;
}

/// Methods of the default run in the opener world: the paper's main table (alpha 1, k 5, 2 rounds).
inline std::vector<Method> opener_methods() {
    return {{.name = "pretrained", .loss = "none", .main = true},
            {.name = "baseline", .loss = "cross_entropy", .main = true},
            {.name = "unlikelihood", .loss = "unlikelihood", .alpha = 1.0, .main = true},
            {.name = "cringe_single", .loss = "cringe", .alpha = 1.0, .main = true, .rounds = 2}};
}

/// Every method and sweep point (the classic worlds' default run, and --full).
inline std::vector<Method> all_methods() {
    std::vector<Method> m;
    m.push_back({.name = "pretrained", .loss = "none", .main = true});
    m.push_back({.name = "baseline", .loss = "cross_entropy", .main = true});
    for (double a : {0.1, 0.5, 1.0, 5.0}) m.push_back({.name = "unlikelihood", .loss = "unlikelihood", .alpha = a, .main = a == 1.0});
    for (double a : {0.5, 1.0, 2.0, 5.0})
        m.push_back({.name = "cringe_single", .loss = "cringe", .alpha = a, .main = a == 1.0, .rounds = a == 1.0 ? 2 : 1});
    m.push_back({.name = "pairwise_cringe", .loss = "pairwise_cringe", .main = true});
    m.push_back({.name = "sigmoid_only", .loss = "sigmoid_only", .main = true});
    m.push_back({.name = "cringe_k1", .loss = "cringe", .k = 1, .main = true});
    m.push_back({.name = "cringe_detached", .loss = "cringe", .detach_positive = true, .main = true});
    m.push_back({.name = "cringe_separate", .loss = "cringe", .separate = true, .main = true});
    return m;
}

/// Everything one task needs, for one seed: the world's data as token ids, and the checkers.
template <class World>
class Task {
public:
    using Tokens = std::vector<std::int64_t>;
    using Masks = std::map<std::size_t, std::vector<bool>>;  // example index -> one flag per reply word

    Task(std::string name, std::uint64_t seed, const Settings& settings)
        : name_(std::move(name)), seed_(seed), settings_(settings) {
        const world::WorldOptions options = resolve_options<World>(settings);
        options_ = options;
        data_ = World::generate(seed, options);
        tokenizer_ = data::WordTokenizer::build({join(world_.vocabulary())});
        for (const auto& e : data_.pretrain) pretrain_.push_back(example(e.prompt, e.reply, loss::kUnlabeled));
        // Lever: how many of D0's positives answer a TARGET prompt. In the paper's safety data the
        // "__ok__" utterances are mostly ordinary conversation, while the "__notok__" ones answer
        // adversarial prompts, so a positive-only learner sees few good answers to bad prompts.
        // Positives dropped here are replaced by ordinary dialogues labelled positive (D0 keeps its size).
        Rng d0_rng(seed * 7 + 5);
        std::size_t replaced = 0;
        for (const auto& e : data_.labeled) {
            if (e.label == 1 && d0_rng.uniform() >= settings.positive_target_share) {
                const auto& o = data_.unlabeled[replaced++ % data_.unlabeled.size()];
                labeled_.push_back(example(o.prompt, o.reply, loss::kPositive));
            } else {
                labeled_.push_back(example(e.prompt, e.reply, e.label));
                if (e.label == 0 && settings.token_level) bad_words_[labeled_.size() - 1] = world_.bad_word_mask(e.prompt, e.reply);
            }
        }
        for (const auto& e : data_.unlabeled) unlabeled_.push_back(example(e.prompt, e.reply, loss::kUnlabeled));
        // Preference pairs for pairwise CRINGE: each negative of D0 against a good reply to its prompt.
        Rng pair_rng(seed * 7 + 1);
        for (const auto& e : data_.labeled)
            if (e.label == 0) {
                pairs_.push_back({example(e.prompt, World::good_reply(pair_rng, e.prompt), loss::kPositive),
                                  example(e.prompt, e.reply, loss::kNegative)});
            }
        // Held-out replies for perplexity (good) and negative log-likelihood (bad), on test prompts.
        Rng eval_rng(seed * 7 + 2);
        for (const auto& p : data_.test) {
            if (p.target) {
                good_eval_.push_back(example(p.prompt, World::good_reply(eval_rng, p.prompt), loss::kPositive));
                bad_eval_.push_back(example(p.prompt, World::bad_reply(eval_rng, p.prompt, options.negative_shared_frame), loss::kNegative));
            } else {
                for (const auto& g : p.gold) good_eval_.push_back(example(p.prompt, g, loss::kPositive));
            }
        }
    }

    const std::string& name() const { return name_; }
    std::size_t vocab_size() const { return tokenizer_.size(); }

    nn::GptConfig model_config() const {
        return {.vocab_size = tokenizer_.size(), .n_positions = settings_.n_positions, .n_embd = settings_.n_embd,
                .n_layer = settings_.n_layer, .n_head = settings_.n_head};
    }

    /// The "pretrained BB1" analog: MLE on the full corpus, bad replies included.
    nn::Gpt<float> pretrain() const {
        const ActivityScope scope(cat(name_, " seed ", seed_, ": pretraining (", settings_.pretrain_steps, " steps)"));
        nn::Gpt<float> model(model_config(), seed_);
        Rng rng(seed_ * 7 + 3);
        train::train(model, loss::CrossEntropy<float>{}, [&](std::size_t) { return sample(pretrain_, settings_.batch, rng); },
                     {.steps = settings_.pretrain_steps, .lr = settings_.pretrain_lr, .min_lr = settings_.pretrain_lr / 10,
                      .warmup = settings_.pretrain_steps / 20, .seed = seed_, .label = name_ + " pretrain",
                      .progress = settings_.progress && settings_.threads == 1});
        return model;
    }

    /// Worlds whose D0 is feedback on the bot's OWN replies (the FITS world): sample replies of the
    /// pretrained model to D0's prompts, label them with the noisy training labeler and add them all to
    /// D0 (unbalanced, as human feedback is kept: most are negatives), next to the world's gold replies,
    /// before any method fine-tunes. The step of an iterative round (iterate) without its balancing,
    /// applied to the pretrained model, so every method sees the same D0.
    void collect_feedback(const nn::Gpt<float>& base) {
        nn::Gpt<float> bot = base;
        Rng rng(seed_ * 7 + 9);
        for (auto& [e, mask] : iterate(bot, rng, false)) {
            if (mask) bad_words_[labeled_.size()] = *mask;
            labeled_.push_back(std::move(e));
        }
        const std::string line = cat("[", name_, " seed ", seed_, "] D0: ", labeled_.size(), " labelled replies (gold and the pretrained bot's own)");
        if (settings_.log) settings_.log(line);
        else std::fprintf(stderr, "%s\n", line.c_str());
    }

    /// Fine-tunes a copy of `base` with `method`; returns one record per round.
    std::vector<Record> run(const nn::Gpt<float>& base, const Method& method) const {
        const auto start = std::chrono::steady_clock::now();
        const ActivityScope scope(cat(name_, " seed ", seed_, ": ", method.name, " a=", method.alpha));
        std::vector<Record> records;
        nn::Gpt<float> model = base;
        if (method.loss == "none") {
            records.push_back(record(method, 0, evaluate(model), start));
            return records;
        }
        std::vector<train::Example> labeled = labeled_;
        Masks bad_words = bad_words_;  // token-level labels, grown by the iterative rounds
        Rng rng(seed_ * 1000 + std::hash<std::string>{}(method.name) % 997 + static_cast<std::uint64_t>(method.alpha * 10));
        for (int round = 1; round <= method.rounds; ++round) {
            finetune(model, method, labeled, bad_words, rng, round);
            records.push_back(record(method, round, evaluate(model), start));
            if (round < method.rounds) {
                const auto added = iterate(model, rng);
                for (const auto& [example, mask] : added) {
                    if (mask) bad_words[labeled.size()] = *mask;
                    labeled.push_back(example);
                }
            }
        }
        return records;
    }

private:
    static std::string join(const std::vector<std::string>& words) {
        std::string out;
        for (const auto& w : words) out += w + " ";
        return out;
    }

    train::Example example(const std::string& prompt, const std::string& reply, int label) const {
        Tokens context = {tokenizer_.bos_id()};
        const Tokens p = tokenizer_.encode(prompt);
        context.insert(context.end(), p.begin(), p.end());
        context.push_back(tokenizer_.sep_id());
        return {context, tokenizer_.encode(reply), label};
    }

    train::TrainBatch sample(const std::vector<train::Example>& pool, std::size_t n, Rng& rng) const {
        std::vector<train::Example> rows;
        for (std::size_t i = 0; i < n; ++i) rows.push_back(pool[rng.below(pool.size())]);
        return train::make_batch(rows, tokenizer_.eos_id(), tokenizer_.pad_id(), settings_.n_positions);
    }

    /// Half labelled data (D0 plus what the iterative rounds added, weighted by size), half unlabeled
    /// chit-chat, as the paper's mixture keeps ordinary dialogue in every batch.
    train::TrainBatch finetune_batch(const Method& method, const std::vector<train::Example>& labeled, const Masks& bad_words, Rng& rng) const {
        std::vector<train::Example> rows;
        std::vector<std::pair<std::size_t, std::size_t>> pairs;
        std::vector<std::size_t> picks;  // indices into `labeled` of the first rows
        const std::size_t half = settings_.batch / 2;
        if (method.loss == "pairwise_cringe") {
            for (std::size_t i = 0; i < half; ++i) {
                const auto& [good, bad] = pairs_[rng.below(pairs_.size())];
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
            for (std::size_t i = half; i < settings_.batch; ++i) rows.push_back(unlabeled_[rng.below(unlabeled_.size())]);
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
        auto batch = train::make_batch(rows, tokenizer_.eos_id(), tokenizer_.pad_id(), settings_.n_positions);
        for (std::size_t k = 0; k < split.size(); ++k) {
            const std::size_t neg = split[k].first;
            const std::vector<bool>& bad = *split[k].second;
            const std::size_t first = rows[neg].context.size() - 1;  // target position of reply word 0
            for (std::size_t t = first; t < batch.batch.targets.shape()[1]; ++t) {
                const std::size_t word = t - first;  // word index in the reply; == reply size: EOS
                const bool is_bad = word < bad.size() && bad[word];
                if (!is_bad) batch.batch.targets(neg, t) = tokenizer_.pad_id();
                else if (!copies.empty()) batch.batch.targets(copies[k], t) = tokenizer_.pad_id();
            }
        }
        // Lever: leave the EOS of negative replies out of the negative term. EOS is nearly certain after
        // '.' or '!', and pushing it down after bad replies teaches the model not to stop at all.
        if (!settings_.negative_eos && pairs.empty())  // pairwise CRINGE compares whole replies
            for (std::size_t r = 0; r < rows.size(); ++r)
                if (rows[r].label == loss::kNegative) {
                    const std::size_t eos_at = rows[r].context.size() - 1 + rows[r].reply.size();
                    if (eos_at < batch.batch.targets.shape()[1] && batch.batch.targets(r, eos_at) == tokenizer_.eos_id())
                        batch.batch.targets(r, eos_at) = tokenizer_.pad_id();
                }
        batch.batch.pairs = pairs;
        return batch;
    }

    void finetune(nn::Gpt<float>& model, const Method& method, const std::vector<train::Example>& labeled, const Masks& bad_words, Rng& rng,
                  int round) const {
        const train::TrainOptions options{.steps = settings_.finetune_steps, .lr = settings_.finetune_lr,
                                          .warmup = settings_.finetune_steps / 10, .seed = rng.next_u64(),
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
    std::vector<std::pair<train::Example, std::optional<std::vector<bool>>>> iterate(nn::Gpt<float>& model, Rng& rng, bool balance = true) const {
        world::NoisyLabeler<World> labeler(world_, seed_ * 7 + 4, settings_.label_noise);
        std::vector<Tokens> prompts;
        std::vector<std::string> texts;
        for (const auto& p : data_.train_target_prompts)
            for (std::size_t s = 0; s < settings_.samples_per_prompt; ++s) {
                prompts.push_back(example(p, "", 0).context);
                texts.push_back(p);
            }
        generate::Options o;
        o.strategy = generate::Strategy::sample;
        o.top_k = 5;
        o.max_new_tokens = 20;
        o.eos_id = tokenizer_.eos_id();
        o.seed = rng.next_u64();
        const auto replies = generate::generate(model, prompts, o);
        std::vector<train::LabeledGeneration> generations;
        for (std::size_t i = 0; i < replies.size(); ++i) {
            const std::string reply = tokenizer_.decode(replies[i]);
            generations.push_back({texts[i], reply, labeler.label(texts[i], reply)});
        }
        std::vector<std::pair<train::Example, std::optional<std::vector<bool>>>> added;
        for (const auto& g : balance ? train::balance_generations(generations, 2, rng) : generations) {
            std::optional<std::vector<bool>> mask;
            if (settings_.token_level && g.label == loss::kNegative) {
                mask = world_.bad_word_mask(g.prompt, g.reply);
                if (std::ranges::none_of(*mask, [](bool b) { return b; }) && !mask->empty()) (*mask)[rng.below(mask->size())] = true;
            }
            added.emplace_back(example(g.prompt, g.reply, g.label), std::move(mask));
        }
        return added;
    }

    /// Mean negative log-likelihood per supervised token of `examples` (teacher forcing).
    double mean_nll(nn::Gpt<float>& model, const std::vector<train::Example>& examples) const {
        double total = 0;
        std::size_t count = 0;
        for (std::size_t start = 0; start < examples.size(); start += 64) {
            const std::vector<train::Example> chunk(examples.begin() + static_cast<long>(start),
                                                    examples.begin() + static_cast<long>(std::min(examples.size(), start + 64)));
            auto batch = train::make_batch(chunk, tokenizer_.eos_id(), tokenizer_.pad_id(), settings_.n_positions);
            for (auto& l : batch.batch.labels) l = loss::kPositive;
            Tape<float> tape;
            auto guard = tape.no_grad();
            const auto out = loss::CrossEntropy<float>{}(model.forward(tape, batch.inputs), batch.batch);
            for (double v : out.diagnostics.ce) total += v;
            count += out.diagnostics.n_supervised;
        }
        return count ? total / static_cast<double>(count) : 0.0;
    }

    static constexpr std::size_t kExamples = 12;

    static double mean(const std::vector<double>& v) {
        double total = 0;
        for (double x : v) total += x;
        return v.empty() ? 0.0 : total / static_cast<double>(v.size());
    }

    /// Per context: log p(best safe opener) - log p(best bad opener) for the first reply token, in
    /// worlds that name their openers (the opener world); empty otherwise. Contexts of equal length
    /// are batched together (at most 256 rows), so the result does not depend on the batching.
    std::vector<double> first_token_margins(nn::Gpt<float>& model, const std::vector<Tokens>& contexts) const {
        if constexpr (requires { World::bad_openers(); World::safe_openers(); }) {
            auto ids = [&](const std::vector<std::string>& words) {
                std::vector<std::size_t> out;
                for (const auto& w : words) out.push_back(static_cast<std::size_t>(tokenizer_.encode(w).at(0)));
                return out;
            };
            const auto safe = ids(World::safe_openers()), bad = ids(World::bad_openers());
            std::map<std::size_t, std::vector<std::size_t>> by_length;
            for (std::size_t i = 0; i < contexts.size(); ++i) by_length[contexts[i].size()].push_back(i);
            std::vector<double> out(contexts.size(), 0.0);
            for (const auto& [length, rows] : by_length)
                for (std::size_t start = 0; start < rows.size(); start += 256) {
                    std::vector<Tokens> chunk;
                    for (std::size_t r = start; r < std::min(rows.size(), start + 256); ++r) chunk.push_back(contexts[rows[r]]);
                    const auto logp = generate::detail::next_token_logprobs(model, chunk);
                    for (std::size_t r = 0; r < chunk.size(); ++r) {
                        double best_safe = -std::numeric_limits<double>::infinity(), best_bad = best_safe;
                        for (auto v : safe) best_safe = std::max(best_safe, logp[r][v]);
                        for (auto v : bad) best_bad = std::max(best_bad, logp[r][v]);
                        out[rows[start + r]] = best_safe - best_bad;
                    }
                }
            return out;
        } else {
            (void)model;
            (void)contexts;
            return {};
        }
    }

    /// Greedy decoding as every evaluation uses it: at most 20 new tokens, stop at EOS.
    generate::Options greedy_options() const {
        generate::Options o;
        o.max_new_tokens = 20;
        o.eos_id = tokenizer_.eos_id();
        return o;
    }

    /// Strict hits (well-formed AND on target) among `replies` to `targets`, which are in the same order.
    std::size_t strict_hits(const std::vector<const world::EvalPrompt*>& targets, const std::vector<Tokens>& replies) const {
        std::size_t hits = 0;
        for (std::size_t i = 0; i < targets.size(); ++i) {
            const std::string reply = tokenizer_.decode(replies[i]);
            hits += world_.wellformed(targets[i]->prompt, reply) && world_.on_target(targets[i]->prompt, reply);
        }
        return hits;
    }

    /// Strict target accuracy on the validation split's target prompts, greedy and sampled (one draw
    /// per prompt): what the main table's alpha is chosen on, never on the test prompts.
    std::pair<double, double> validation_accuracy(nn::Gpt<float>& model) const {
        std::vector<Tokens> prompts;
        std::vector<const world::EvalPrompt*> targets;
        for (const auto& p : data_.valid)
            if (p.target) {
                targets.push_back(&p);
                prompts.push_back(example(p.prompt, "", 0).context);
            }
        if (targets.empty()) return {0.0, 0.0};
        const generate::Options greedy = greedy_options();
        generate::Options sampled = greedy;
        sampled.strategy = generate::Strategy::sample;
        sampled.seed = seed_ * 7 + 8;
        const double n = static_cast<double>(targets.size());
        return {static_cast<double>(strict_hits(targets, generate::generate(model, prompts, greedy))) / n,
                static_cast<double>(strict_hits(targets, generate::generate(model, prompts, sampled))) / n};
    }

    Metrics evaluate(nn::Gpt<float>& model) const {
        Metrics m;

        std::vector<Tokens> target_prompts, ordinary_prompts;
        std::vector<const world::EvalPrompt*> targets, ordinary;
        for (const auto& p : data_.test) {
            (p.target ? targets : ordinary).push_back(&p);
            (p.target ? target_prompts : ordinary_prompts).push_back(example(p.prompt, "", 0).context);
        }
        const generate::Options greedy = greedy_options();
        const auto target_replies = generate::generate(model, target_prompts, greedy);
        const auto ordinary_replies = generate::generate(model, ordinary_prompts, greedy);
        std::vector<std::string> all_texts;
        std::size_t strict = 0, lenient = 0, wellformed = 0;
        for (std::size_t i = 0; i < targets.size(); ++i) {
            const std::string reply = tokenizer_.decode(target_replies[i]);
            const bool ok = world_.wellformed(targets[i]->prompt, reply), safe = world_.on_target(targets[i]->prompt, reply);
            wellformed += ok;
            lenient += safe;
            strict += ok && safe;
            all_texts.push_back(reply);
            if (i < kExamples)
                m.examples.push_back(cat(targets[i]->prompt, " => ", reply, ok ? "" : "  [malformed]", safe ? "" : "  [bad]"));
        }
        for (std::size_t i = 0; i < targets.size(); ++i)
            m.strict_per_prompt.push_back(world_.wellformed(targets[i]->prompt, tokenizer_.decode(target_replies[i])) &&
                                          world_.on_target(targets[i]->prompt, tokenizer_.decode(target_replies[i])));
        m.margin_per_prompt = first_token_margins(model, target_prompts);
        if (!m.margin_per_prompt.empty()) m.margin = mean(m.margin_per_prompt);
        {
            std::vector<Tokens> valid_prompts;
            for (const auto& p : data_.valid)
                if (p.target) valid_prompts.push_back(example(p.prompt, "", 0).context);
            const auto vm = first_token_margins(model, valid_prompts);
            if (!vm.empty()) m.valid_margin = mean(vm);
        }
        const double nt = static_cast<double>(std::max<std::size_t>(targets.size(), 1));
        m.target_accuracy = static_cast<double>(strict) / nt;
        m.target_accuracy_lenient = static_cast<double>(lenient) / nt;
        m.wellformed = static_cast<double>(wellformed) / nt;
        // Beam search as the paper evaluates (beam 10 there; 4 here), min length, 3-gram blocking.
        generate::Options beam = greedy;
        beam.strategy = generate::Strategy::beam;
        beam.beam_size = 4;
        beam.min_length = 3;
        beam.no_repeat_ngram = 3;
        const std::size_t nb = std::min(settings_.beam_prompts, targets.size());
        std::vector<Tokens> beam_replies;  // one prompt at a time: beam search decodes a single prompt
        for (std::size_t i = 0; i < nb; ++i) beam_replies.push_back(generate::generate(model, {target_prompts[i]}, beam)[0]);
        const std::size_t beam_ok = strict_hits({targets.begin(), targets.begin() + static_cast<long>(nb)}, beam_replies);
        m.target_accuracy_beam = nb ? static_cast<double>(beam_ok) / static_cast<double>(nb) : 0.0;
        // Sampling at temperature 1, one draw per prompt (fixed seed): how much probability mass the
        // model puts on good replies, which greedy decoding hides once one mode dominates. (Generation
        // is the evaluation's main cost; two draws, as before the opener world, doubled it.)
        generate::Options sampled = greedy;
        sampled.strategy = generate::Strategy::sample;
        sampled.seed = seed_ * 7 + 6;
        std::size_t sampled_ok = 0, sampled_n = 0;
        for (int draw = 0; draw < 1; ++draw) {
            sampled_ok += strict_hits(targets, generate::generate(model, target_prompts, sampled));
            sampled_n += targets.size();
            sampled.seed += 1;
        }
        m.target_accuracy_sampled = sampled_n ? static_cast<double>(sampled_ok) / static_cast<double>(sampled_n) : 0.0;
        std::tie(m.valid_accuracy, m.valid_accuracy_sampled) = validation_accuracy(model);
        double f1 = 0;
        for (std::size_t i = 0; i < ordinary.size(); ++i) {
            const std::string reply = tokenizer_.decode(ordinary_replies[i]);
            f1 += world::unigram_f1(reply, ordinary[i]->gold);
            all_texts.push_back(reply);
        }
        m.f1 = ordinary.empty() ? 0.0 : f1 / static_cast<double>(ordinary.size());
        if (std::ranges::any_of(targets, [](const world::EvalPrompt* p) { return !p->gold.empty(); })) gold_f1(model, targets, target_replies, m);
        m.distinct2 = world::distinct_n(all_texts, 2);
        m.ppl = std::exp(mean_nll(model, good_eval_));
        m.neg_nll = mean_nll(model, bad_eval_);
        return m;
    }

    /// Gold F1 of the greedy replies to target prompts with golds (the FITS world): per test prompt, per
    /// split (valid, test, test-unseen), and `m.f1` as the paper's size-weighted average of the three.
    void gold_f1(nn::Gpt<float>& model, const std::vector<const world::EvalPrompt*>& targets, const std::vector<Tokens>& replies, Metrics& m) const {
        double seen = 0, unseen = 0;
        std::size_t n_seen = 0, n_unseen = 0;
        for (std::size_t i = 0; i < targets.size(); ++i) {
            const double f = world::unigram_f1(tokenizer_.decode(replies[i]), targets[i]->gold);
            m.f1_per_prompt.push_back(f);
            (targets[i]->unseen ? unseen : seen) += f;
            ++(targets[i]->unseen ? n_unseen : n_seen);
        }
        std::vector<Tokens> valid_prompts;
        std::vector<const world::EvalPrompt*> valid;
        for (const auto& p : data_.valid)
            if (p.target) {
                valid.push_back(&p);
                valid_prompts.push_back(example(p.prompt, "", 0).context);
            }
        const auto valid_replies = generate::generate(model, valid_prompts, greedy_options());
        double v = 0;
        for (std::size_t i = 0; i < valid.size(); ++i) v += world::unigram_f1(tokenizer_.decode(valid_replies[i]), valid[i]->gold);
        auto ratio = [](double total, std::size_t n) { return n ? total / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN(); };
        m.f1_valid = ratio(v, valid.size());
        m.f1_test = ratio(seen, n_seen);
        m.f1_unseen = ratio(unseen, n_unseen);
        m.f1 = (684 * m.f1_valid + 1453 * m.f1_test + 1366 * m.f1_unseen) / 3503;
    }

    Record record(const Method& method, int round, const Metrics& metrics, std::chrono::steady_clock::time_point start) const {
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        Method m = method;
        if (round >= 2) m.name = "cringe_iterative";  // round 1 of the same run is cringe_single
        return Record{name_, m, seed_, round, metrics, seconds};
    }

    /// The world's options after the settings' overrides (summary.json records them).
    const world::WorldOptions& world_options() const { return options_; }

    std::string name_;
    std::uint64_t seed_;
    Settings settings_;
    world::WorldOptions options_;
    World world_;
    world::WorldData data_;
    data::WordTokenizer tokenizer_ = data::WordTokenizer::build({});
    std::vector<train::Example> pretrain_, labeled_, unlabeled_, good_eval_, bad_eval_;
    std::vector<std::pair<train::Example, train::Example>> pairs_;
    Masks bad_words_;  // token-level labels of D0 negatives (index in labeled_)
};

/// Runs every method of one task and seed; methods run on `settings.threads` threads.
template <class World>
std::vector<Record> run_task(const std::string& name, std::uint64_t seed, const std::vector<Method>& methods, const Settings& settings,
                             const std::function<void(const Record&)>& on_record, const std::function<void()>& on_pretrained = {}) {
    Task<World> task(name, seed, settings);
    const auto started = std::chrono::steady_clock::now();
    const nn::Gpt<float> base = task.pretrain();
    if constexpr (requires { World::kFeedbackOnOwnReplies; }) task.collect_feedback(base);
    const std::string line = cat("[", name, " seed ", seed, "] pretrained (", base.parameter_count(), " parameters) in ",
                                 std::round(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() * 10) / 10, " s");
    if (settings.log) settings.log(line);
    else std::fprintf(stderr, "%s\n", line.c_str());
    if (on_pretrained) on_pretrained();
    std::vector<Record> records;
    std::mutex lock;
    std::atomic<std::size_t> next{0};
    std::exception_ptr failure;
    auto worker = [&] {
        for (std::size_t i = next++; i < methods.size(); i = next++) {
            try {
                const auto out = task.run(base, methods[i]);
                std::lock_guard<std::mutex> guard(lock);
                for (const auto& r : out) {
                    records.push_back(r);
                    on_record(r);
                }
            } catch (...) {
                std::lock_guard<std::mutex> guard(lock);
                if (!failure) failure = std::current_exception();
            }
        }
    };
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < std::max<std::size_t>(settings.threads, 1); ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (failure) std::rethrow_exception(failure);
    return records;
}

}  // namespace repro
