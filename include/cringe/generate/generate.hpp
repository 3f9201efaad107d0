// cringe/generate/generate.hpp - decoding: greedy, temperature / top-k / top-p sampling, beam search.
//
// Two paths compute the next-token distribution, chosen by Options::use_cache:
// - with the key/value cache (the default, kv_cache.hpp): the prompt is run once, then each step
//   feeds only the newest token of every row; beam search reorders the cache's rows as the beams
//   are reordered. No tape at all.
// - without (the reference): each step re-runs nn::Gpt::forward on the whole prefix, on a no-grad
//   tape (nothing recorded for backward), so memory stays flat. Slower, but it is the model's own
//   forward, and tests/generate/test_kv_cache.cpp checks that both paths decode the same tokens.
//
// Batched: prompts of equal length are decoded together as one [B,T] batch (learned positions and a
// causal mask need no padding then); different lengths form separate batches.
// Beam search follows the CRINGE paper's evaluation (beam 10, min length 20, 3-gram blocking):
// EOS is forbidden before min_length tokens, a token that would repeat an n-gram already in the
// reply (and, with block_context, in the prompt) is forbidden, and finished hypotheses are ranked by
// sum log p / length^length_penalty.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <vector>

#include "../nn/gpt.hpp"
#include "kv_cache.hpp"

namespace cringe::generate {

/// The decoding strategy.
enum class Strategy { greedy, sample, beam };

/// Decoding settings; each field says which strategies use it.
struct Options {
    /// greedy, sample or beam.
    Strategy strategy = Strategy::greedy;
    std::size_t max_new_tokens = 32;   ///< also capped by n_positions
    std::int64_t eos_id = -1;          ///< -1: never stop early
    double temperature = 1.0;          ///< sample
    std::size_t top_k = 0;             ///< sample: 0 = all tokens
    double top_p = 1.0;                ///< sample: nucleus mass
    std::size_t beam_size = 4;         ///< beam
    std::size_t min_length = 0;        ///< no EOS before this many new tokens (all strategies)
    std::size_t no_repeat_ngram = 0;   ///< beam/greedy/sample: forbid repeating n-grams (0 = off)
    bool block_context = false;        ///< n-gram blocking also against the prompt
    double length_penalty = 0.65;      ///< beam: score = logp / len^length_penalty (ParlAI default)
    std::uint64_t seed = 0;            ///< sample
    /// All strategies: decode with a key/value cache (KvCache: each step runs the newest token
    /// only). false: re-run the model on the whole prefix every step (the reference path, slower).
    bool use_cache = true;

    /// ValueError naming the first setting out of range.
    void validate(std::size_t vocab) const {
        if (!(temperature > 0.0)) throw ValueError(cat("generate: temperature is ", temperature, "; expected > 0"));
        if (!(top_p > 0.0 && top_p <= 1.0)) throw ValueError(cat("generate: top_p is ", top_p, "; expected 0 < top_p <= 1"));
        if (strategy == Strategy::beam && beam_size < 1) throw ValueError("generate: beam_size is 0; expected >= 1");
        if (eos_id >= static_cast<std::int64_t>(vocab) || eos_id < -1)
            throw ValueError(cat("generate: eos_id ", eos_id, " is outside the vocabulary of ", vocab));
    }
};

namespace detail {

/// True if appending `next` to `seq` would repeat an n-gram that already occurs in `seq` (or in
/// `context` when given).
inline bool repeats_ngram(const Tokens& seq, std::int64_t next, std::size_t n, const Tokens* context) {
    if (n == 0 || seq.size() + 1 < n) return false;
    auto contains = [&](const Tokens& hay) {
        if (hay.size() < n) return false;
        for (std::size_t i = 0; i + n <= hay.size(); ++i) {
            bool same = hay[i + n - 1] == next;
            for (std::size_t j = 0; same && j + 1 < n; ++j) same = hay[i + j] == seq[seq.size() - (n - 1) + j];
            if (same) return true;
        }
        return false;
    };
    return contains(seq) || (context && contains(*context));
}

/// Log-probabilities (in double) of B rows of V logits, row b starting at logits + b * stride.
template <class T>
std::vector<std::vector<double>> log_softmax_rows(const T* logits, std::size_t B, std::size_t V, std::size_t stride) {
    std::vector<std::vector<double>> out(B, std::vector<double>(V));
    for (std::size_t b = 0; b < B; ++b) {
        const T* row = logits + b * stride;
        double m = -std::numeric_limits<double>::infinity();
        for (std::size_t v = 0; v < V; ++v) m = std::max(m, static_cast<double>(row[v]));
        double total = 0;
        for (std::size_t v = 0; v < V; ++v) total += std::exp(static_cast<double>(row[v]) - m);
        const double lse = m + std::log(total);
        for (std::size_t v = 0; v < V; ++v) out[b][v] = static_cast<double>(row[v]) - lse;
    }
    return out;
}

/// Log-probabilities of the next token for every row of tokens [B,T] (last position), in double:
/// the reference path, the whole prefix through nn::Gpt::forward.
template <class T>
std::vector<std::vector<double>> next_token_logprobs(nn::Gpt<T>& model, const std::vector<Tokens>& rows) {
    const std::size_t B = rows.size(), Tn = rows[0].size(), V = model.config().vocab_size;
    IdTensor tokens = IdTensor::from_shape({B, Tn});
    for (std::size_t b = 0; b < B; ++b) std::copy(rows[b].begin(), rows[b].end(), tokens.data() + b * Tn);
    Tape<T> tape;
    auto guard = tape.no_grad();
    const Tensor<T>& logits = model.forward(tape, tokens).value();
    return log_softmax_rows(logits.data() + (Tn - 1) * V, B, V, Tn * V);
}

/// The next-token log-probabilities of every row, by either path. With the cache, the first call
/// feeds the rows whole (the prompt) and every later call only each row's newest token: a row must
/// have grown by exactly one token since the previous call (after reorder(), if rows were reordered).
template <class T>
class NextToken {
public:
    /// `rows` sequences decoded with `model`, with or without a KvCache.
    NextToken(nn::Gpt<T>& model, std::size_t rows, bool use_cache) : model_(model) {
        if (use_cache) cache_.emplace(model, rows);
    }
    /// log p(next token | row) for every row.
    std::vector<std::vector<double>> logprobs(const std::vector<Tokens>& rows) {
        if (!cache_) return next_token_logprobs(model_, rows);
        std::vector<Tokens> fresh;
        for (const Tokens& row : rows)
            fresh.push_back(cache_->length() == 0 ? row : Tokens{row.back()});
        const Tensor<T> logits = cache_->append(fresh);
        const std::size_t V = model_.config().vocab_size;
        return log_softmax_rows(logits.data(), rows.size(), V, V);
    }
    /// Row i continues old row parents[i] (beam search); nothing to do without the cache.
    void reorder(const std::vector<std::size_t>& parents) {
        if (cache_) cache_->reorder(parents);
    }

private:
    nn::Gpt<T>& model_;
    std::optional<KvCache<T>> cache_;
};

/// Forbids tokens (sets -inf) by min_length and n-gram blocking.
inline void apply_constraints(std::vector<double>& logp, const Tokens& reply, const Tokens& prompt, const Options& o) {
    const double ninf = -std::numeric_limits<double>::infinity();
    if (o.eos_id >= 0 && reply.size() < o.min_length) logp[static_cast<std::size_t>(o.eos_id)] = ninf;
    if (o.no_repeat_ngram > 0)
        for (std::size_t v = 0; v < logp.size(); ++v)
            if (logp[v] > ninf && repeats_ngram(reply, static_cast<std::int64_t>(v), o.no_repeat_ngram, o.block_context ? &prompt : nullptr))
                logp[v] = ninf;
}

/// One draw from softmax(logp / temperature) restricted to the top-k and the top-p nucleus.
inline std::int64_t sample_token(const std::vector<double>& logp, const Options& o, Rng& rng) {
    std::vector<std::size_t> order(logp.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return logp[a] > logp[b]; });
    std::size_t keep = o.top_k > 0 ? std::min(o.top_k, order.size()) : order.size();
    std::vector<double> p(keep);
    const double top = logp[order[0]];
    double total = 0;
    for (std::size_t i = 0; i < keep; ++i) total += p[i] = std::exp((logp[order[i]] - top) / o.temperature);
    if (o.top_p < 1.0) {  // smallest prefix whose mass reaches top_p
        double mass = 0;
        std::size_t cut = 0;
        while (cut < keep && mass < o.top_p * total) mass += p[cut++];
        keep = std::max<std::size_t>(cut, 1);
        total = std::accumulate(p.begin(), p.begin() + static_cast<long>(keep), 0.0);
    }
    double u = rng.uniform() * total;
    for (std::size_t i = 0; i < keep; ++i) {
        if (u < p[i]) return static_cast<std::int64_t>(order[i]);
        u -= p[i];
    }
    return static_cast<std::int64_t>(order[keep - 1]);
}

template <class T>
std::vector<Tokens> greedy_or_sample(nn::Gpt<T>& model, const std::vector<Tokens>& prompts, const Options& o, Rng& rng) {
    std::vector<Tokens> rows = prompts, replies(prompts.size());
    std::vector<bool> done(prompts.size(), false);
    const std::size_t limit = std::min(o.max_new_tokens, model.config().n_positions - prompts[0].size());
    NextToken<T> next_token(model, rows.size(), o.use_cache);
    for (std::size_t step = 0; step < limit; ++step) {
        auto logp = next_token.logprobs(rows);
        bool all_done = true;
        for (std::size_t b = 0; b < rows.size(); ++b) {
            if (done[b]) {
                rows[b].push_back(0);  // keeps the batch rectangular; never read
                continue;
            }
            apply_constraints(logp[b], replies[b], prompts[b], o);
            const std::int64_t next = o.strategy == Strategy::greedy
                                          ? static_cast<std::int64_t>(std::max_element(logp[b].begin(), logp[b].end()) - logp[b].begin())
                                          : sample_token(logp[b], o, rng);
            rows[b].push_back(next);
            if (next == o.eos_id) done[b] = true;
            else replies[b].push_back(next);
            all_done = all_done && done[b];
        }
        if (all_done) break;
    }
    return replies;
}

template <class T>
Tokens beam_search(nn::Gpt<T>& model, const Tokens& prompt, const Options& o) {
    struct Hyp {
        Tokens reply;
        double logp = 0;
    };
    const double ninf = -std::numeric_limits<double>::infinity();
    auto score = [&](const Hyp& h) { return h.logp / std::pow(static_cast<double>(std::max<std::size_t>(h.reply.size() + 1, 1)), o.length_penalty); };
    std::vector<Hyp> beams{Hyp{}};
    std::vector<Hyp> finished;
    const std::size_t limit = std::min(o.max_new_tokens, model.config().n_positions - prompt.size());
    NextToken<T> next_token(model, 1, o.use_cache);  // one row (the prompt) until the first expansion
    for (std::size_t step = 0; step < limit && !beams.empty(); ++step) {
        std::vector<Tokens> rows;
        for (const Hyp& h : beams) {
            Tokens row = prompt;
            row.insert(row.end(), h.reply.begin(), h.reply.end());
            rows.push_back(std::move(row));
        }
        auto logp = next_token.logprobs(rows);
        struct Candidate {
            double logp;
            std::size_t beam;
            std::int64_t token;
        };
        std::vector<Candidate> candidates;
        for (std::size_t b = 0; b < beams.size(); ++b) {
            apply_constraints(logp[b], beams[b].reply, prompt, o);
            for (std::size_t v = 0; v < logp[b].size(); ++v)
                if (logp[b][v] > ninf) candidates.push_back({beams[b].logp + logp[b][v], b, static_cast<std::int64_t>(v)});
        }
        std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
            return a.logp > b.logp || (a.logp == b.logp && (a.beam < b.beam || (a.beam == b.beam && a.token < b.token)));
        });
        std::vector<Hyp> next;
        std::vector<std::size_t> parents;  // next[i] extends beams[parents[i]]: the cache rows follow
        for (const Candidate& c : candidates) {
            if (next.size() >= o.beam_size) break;
            Hyp h{beams[c.beam].reply, c.logp};
            if (c.token == o.eos_id) {
                finished.push_back(h);
                continue;
            }
            h.reply.push_back(c.token);
            next.push_back(std::move(h));
            parents.push_back(c.beam);
        }
        beams = std::move(next);
        next_token.reorder(parents);
        if (finished.size() >= o.beam_size) break;
    }
    for (const Hyp& h : beams) finished.push_back(h);  // hit the length limit
    if (finished.empty()) return {};
    return std::max_element(finished.begin(), finished.end(), [&](const Hyp& a, const Hyp& b) { return score(a) < score(b); })->reply;
}

}  // namespace detail

/// Continuations of every prompt (without the prompt and without EOS).
template <class T>
std::vector<Tokens> generate(nn::Gpt<T>& model, const std::vector<Tokens>& prompts, const Options& options) {
    options.validate(model.config().vocab_size);
    std::vector<Tokens> out(prompts.size());
    if (prompts.empty()) return out;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        if (prompts[i].empty()) throw ValueError(cat("generate: prompt ", i, " is empty; expected at least one token (e.g. BOS)"));
        if (prompts[i].size() >= model.config().n_positions)
            throw ValueError(cat("generate: prompt ", i, " has ", prompts[i].size(), " tokens; n_positions is ",
                                 model.config().n_positions, ", leaving no room to generate"));
        // here rather than in Gpt::forward, which would name a row of a length group, not the prompt
        for (std::size_t t = 0; t < prompts[i].size(); ++t)
            if (prompts[i][t] < 0 || static_cast<std::size_t>(prompts[i][t]) >= model.config().vocab_size)
                throw ValueError(cat("generate: prompt ", i, " has token id ", prompts[i][t], " at position ", t,
                                     "; expected 0 <= id < vocab_size = ", model.config().vocab_size));
    }
    Rng rng(options.seed);
    if (options.strategy == Strategy::beam) {
        for (std::size_t i = 0; i < prompts.size(); ++i) out[i] = detail::beam_search(model, prompts[i], options);
        return out;
    }
    std::map<std::size_t, std::vector<std::size_t>> by_length;  // equal lengths decode as one batch
    for (std::size_t i = 0; i < prompts.size(); ++i) by_length[prompts[i].size()].push_back(i);
    for (const auto& [length, members] : by_length) {
        std::vector<Tokens> group;
        for (std::size_t i : members) group.push_back(prompts[i]);
        auto replies = detail::greedy_or_sample(model, group, options, rng);
        for (std::size_t j = 0; j < members.size(); ++j) out[members[j]] = std::move(replies[j]);
    }
    return out;
}

}  // namespace cringe::generate
