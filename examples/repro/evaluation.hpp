// examples/repro/evaluation.hpp - the evaluation part of a reproduction task: every metric of
// docs/reproduction.md ("Protocol") for one model, on the held-out test prompts (and the validation
// prompts that levers and alpha are chosen on), with the world's exact checker.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <cringe/cringe.hpp>
#include "settings.hpp"
#include "task_data.hpp"
#include "text_metrics.hpp"

namespace repro {

using namespace cringe;

/// Every metric of one model on one task and seed (a record's numbers).
struct Metrics {
    double target_accuracy = 0, target_accuracy_beam = 0, target_accuracy_lenient = 0, wellformed = 0;
    double target_accuracy_sampled = 0;  // temperature-1 sampling: a graded view where greedy saturates
    double valid_accuracy = 0, valid_accuracy_sampled = 0;  // the same two on the VALIDATION prompts (alpha selection)
    double valid_wellformed = 0;  // well-formedness of the greedy replies to the validation target prompts (quality for lever choices)
    double f1 = 0, ppl = 0, distinct2 = 0, neg_nll = 0;
    double valid_ppl = 0;  // perplexity of good replies to the VALIDATION prompts (quality for lever choices)
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

/// Measures models on one task's held-out prompts.
template <class World>
class Evaluation {
public:
    /// Reads `data`, which must outlive this object.
    Evaluation(const TaskData<World>& data, const Settings& settings) : data_(data), seed_(data.seed), settings_(settings) {}

    /// Every metric of `model` (greedy, beam and sampled decoding; F1, perplexity, margins).
    Metrics evaluate(nn::Gpt<float>& model) const {
        Metrics m;

        std::vector<Tokens> target_prompts, ordinary_prompts;
        std::vector<const world::EvalPrompt*> targets, ordinary;
        for (const auto& p : data_.dialogues.test) {
            (p.target ? targets : ordinary).push_back(&p);
            (p.target ? target_prompts : ordinary_prompts).push_back(data_.context(p.prompt));
        }
        const generate::Options greedy = greedy_options();
        const auto target_replies = generate::generate(model, target_prompts, greedy);
        const auto ordinary_replies = generate::generate(model, ordinary_prompts, greedy);
        std::vector<std::string> all_texts;
        std::size_t strict = 0, lenient = 0, wellformed = 0;
        for (std::size_t i = 0; i < targets.size(); ++i) {
            const std::string reply = data_.tokenizer.decode(target_replies[i]);
            const bool ok = data_.world.wellformed(targets[i]->prompt, reply), safe = data_.world.on_target(targets[i]->prompt, reply);
            wellformed += ok;
            lenient += safe;
            strict += ok && safe;
            all_texts.push_back(reply);
            if (i < kExamples)
                m.examples.push_back(cat(targets[i]->prompt, " => ", reply, ok ? "" : "  [malformed]", safe ? "" : "  [bad]"));
        }
        for (std::size_t i = 0; i < targets.size(); ++i)
            m.strict_per_prompt.push_back(data_.world.wellformed(targets[i]->prompt, data_.tokenizer.decode(target_replies[i])) &&
                                          data_.world.on_target(targets[i]->prompt, data_.tokenizer.decode(target_replies[i])));
        m.margin_per_prompt = first_token_margins(model, target_prompts);
        if (!m.margin_per_prompt.empty()) m.margin = mean(m.margin_per_prompt);
        {
            std::vector<Tokens> valid_prompts;
            for (const auto& p : data_.dialogues.valid)
                if (p.target) valid_prompts.push_back(data_.context(p.prompt));
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
        std::size_t sampled_ok = 0, sampled_n = 0;
        for (int draw = 0; draw < 1; ++draw) {
            sampled.seed = derive_seed(seed_, "sampled test replies", draw);
            sampled_ok += strict_hits(targets, generate::generate(model, target_prompts, sampled));
            sampled_n += targets.size();
        }
        m.target_accuracy_sampled = sampled_n ? static_cast<double>(sampled_ok) / static_cast<double>(sampled_n) : 0.0;
        std::tie(m.valid_accuracy, m.valid_accuracy_sampled, m.valid_wellformed) = validation_accuracy(model);
        double f1 = 0;
        for (std::size_t i = 0; i < ordinary.size(); ++i) {
            const std::string reply = data_.tokenizer.decode(ordinary_replies[i]);
            f1 += world::unigram_f1(reply, ordinary[i]->gold);
            all_texts.push_back(reply);
        }
        m.f1 = ordinary.empty() ? 0.0 : f1 / static_cast<double>(ordinary.size());
        if (std::ranges::any_of(targets, [](const world::EvalPrompt* p) { return !p->gold.empty(); })) gold_f1(model, targets, target_replies, m);
        m.distinct2 = world::distinct_n(all_texts, 2);
        m.ppl = std::exp(mean_nll(model, data_.good_eval));
        if (!data_.good_valid.empty()) m.valid_ppl = std::exp(mean_nll(model, data_.good_valid));
        m.neg_nll = mean_nll(model, data_.bad_eval);
        return m;
    }

private:
    /// Mean negative log-likelihood per supervised token of `examples` (teacher forcing).
    double mean_nll(nn::Gpt<float>& model, const std::vector<train::Example>& examples) const {
        double total = 0;
        std::size_t count = 0;
        for (std::size_t start = 0; start < examples.size(); start += 64) {
            const std::vector<train::Example> chunk(examples.begin() + static_cast<long>(start),
                                                    examples.begin() + static_cast<long>(std::min(examples.size(), start + 64)));
            auto batch = train::make_batch(chunk, data_.tokenizer.eos_id(), data_.tokenizer.pad_id(), settings_.n_positions);
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
                for (const auto& w : words) out.push_back(static_cast<std::size_t>(data_.tokenizer.encode(w).at(0)));
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

    /// Greedy decoding as every evaluation uses it: at most 20 new tokens, stop at EOS, with the
    /// key/value cache (the default of generate::Options; its logits equal the full-prefix path's up
    /// to rounding, a few eps: docs/transformer.md, "The key/value cache").
    generate::Options greedy_options() const {
        generate::Options o;
        o.max_new_tokens = 20;
        o.eos_id = data_.tokenizer.eos_id();
        return o;
    }

    /// Strict hits (well-formed AND on target) among `replies` to `targets`, which are in the same order.
    std::size_t strict_hits(const std::vector<const world::EvalPrompt*>& targets, const std::vector<Tokens>& replies) const {
        std::size_t hits = 0;
        for (std::size_t i = 0; i < targets.size(); ++i) {
            const std::string reply = data_.tokenizer.decode(replies[i]);
            hits += data_.world.wellformed(targets[i]->prompt, reply) && data_.world.on_target(targets[i]->prompt, reply);
        }
        return hits;
    }

    /// Strict target accuracy on the validation split's target prompts, greedy and sampled (one draw
    /// per prompt), and the well-formedness of the greedy replies: what the main table's alpha and the
    /// levers are chosen on, never on the test prompts.
    std::tuple<double, double, double> validation_accuracy(nn::Gpt<float>& model) const {
        std::vector<Tokens> prompts;
        std::vector<const world::EvalPrompt*> targets;
        for (const auto& p : data_.dialogues.valid)
            if (p.target) {
                targets.push_back(&p);
                prompts.push_back(data_.context(p.prompt));
            }
        if (targets.empty()) return {0.0, 0.0, 0.0};
        const generate::Options greedy = greedy_options();
        generate::Options sampled = greedy;
        sampled.strategy = generate::Strategy::sample;
        sampled.seed = derive_seed(seed_, "sampled validation replies");
        const double n = static_cast<double>(targets.size());
        const auto greedy_replies = generate::generate(model, prompts, greedy);
        std::size_t wellformed = 0;
        for (std::size_t i = 0; i < targets.size(); ++i) wellformed += data_.world.wellformed(targets[i]->prompt, data_.tokenizer.decode(greedy_replies[i]));
        return {static_cast<double>(strict_hits(targets, greedy_replies)) / n,
                static_cast<double>(strict_hits(targets, generate::generate(model, prompts, sampled))) / n, static_cast<double>(wellformed) / n};
    }

    /// Gold F1 of the greedy replies to target prompts with golds (the FITS world): per test prompt, per
    /// split (valid, test, test-unseen), and `m.f1` as the paper's size-weighted average of the three.
    void gold_f1(nn::Gpt<float>& model, const std::vector<const world::EvalPrompt*>& targets, const std::vector<Tokens>& replies, Metrics& m) const {
        double seen = 0, unseen = 0;
        std::size_t n_seen = 0, n_unseen = 0;
        for (std::size_t i = 0; i < targets.size(); ++i) {
            const double f = world::unigram_f1(data_.tokenizer.decode(replies[i]), targets[i]->gold);
            m.f1_per_prompt.push_back(f);
            (targets[i]->unseen ? unseen : seen) += f;
            ++(targets[i]->unseen ? n_unseen : n_seen);
        }
        std::vector<Tokens> valid_prompts;
        std::vector<const world::EvalPrompt*> valid;
        for (const auto& p : data_.dialogues.valid)
            if (p.target) {
                valid.push_back(&p);
                valid_prompts.push_back(data_.context(p.prompt));
            }
        const auto valid_replies = generate::generate(model, valid_prompts, greedy_options());
        double v = 0;
        for (std::size_t i = 0; i < valid.size(); ++i) v += world::unigram_f1(data_.tokenizer.decode(valid_replies[i]), valid[i]->gold);
        auto ratio = [](double total, std::size_t n) { return n ? total / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN(); };
        m.f1_valid = ratio(v, valid.size());
        m.f1_test = ratio(seen, n_seen);
        m.f1_unseen = ratio(unseen, n_unseen);
        m.f1 = (684 * m.f1_valid + 1453 * m.f1_test + 1366 * m.f1_unseen) / 3503;
    }

    const TaskData<World>& data_;
    std::uint64_t seed_;
    Settings settings_;
};

}  // namespace repro
