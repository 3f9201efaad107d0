// cringe/loss/pairwise_cringe.hpp - pairwise CRINGE (Xu et al. 2023, arXiv 2312.16682).
//
// RECONSTRUCTED, NOT PAPER-VERIFIED: only the abstract could be read (docs/losses.md, "Pairwise CRINGE").
// Every open choice is an option, with the spec's defaults.
//
// For a pair (chosen row w, rejected row l) of the batch:
//   log p(y_w) = sum_t log_softmax(s_t)[y_t] over w's tokens      (loglik = mean: divided by the count)
//   M = log p(y_w) - log p(y_l)                                   how much the model prefers y_w
//   g = sigmoid((margin - M) / tau)                               ~1 if it does not yet prefer y_w by
//                                                                 the margin, ~0 once it does
//   L_pair = sum CE(y_w) + alpha * g * sum Cr(y_l)                Cr as in CRINGE, sampled from top-k
//   L = sum over pairs of L_pair / N,     N = non-pad tokens of the chosen and rejected rows of all pairs
// Gradient: CE and Cr as usual, scaled by 1/N and alpha g/N. With detach_gate = false there is one
// more term, alpha/N * sum Cr(y_l) * dg/dM * (d log p(y_w) - d log p(y_l)), dg/dM = -g (1 - g) / tau,
// and d log p(y)/ds_t = onehot(y_t) - softmax(s_t) per token (over the count for loglik = mean).
#pragma once

#include <map>

#include "policy.hpp"
#include "token_loss.hpp"

namespace cringe::loss {

/// A sequence's log-likelihood: the sum over its tokens, or their mean.
enum class LogLikelihood { sum, mean };

/// Pairwise CRINGE (Xu et al. 2023): CRINGE on the rejected row, gated by how much the model already prefers the chosen one.
template <class T>
struct PairwiseCringe {
    /// The scalar type.
    using scalar_type = T;
    /// The loss's name in messages and requests.
    static constexpr const char* name = "pairwise_cringe";

    /// Weight of the contrastive term.
    double alpha = 1.0;
    /// Top-k candidates for the sampled positive.
    long k = 5;
    double margin = 0.0;   ///< b
    /// Temperature of the gate's sigmoid.
    double tau = 1.0;
    /// No gradient through the gate.
    bool detach_gate = true;
    /// No gradient into the sampled positive's logit.
    bool detach_positive = false;
    /// Sequence log-likelihood as a sum or a mean over tokens.
    LogLikelihood loglik = LogLikelihood::sum;

    /// ValueError for an option out of range.
    void validate_options() const {
        check_alpha(name, alpha);
        check_k(name, k);
        if (!(tau > 0.0)) throw ValueError(cat(name, ": tau is ", tau, "; expected tau > 0"));
        if (!std::isfinite(margin)) throw ValueError(cat(name, ": margin is ", margin, "; expected a finite number"));
    }

    /// The loss of `logits` [B,T,V] on `batch` and its pairs.
    Output<T> operator()(const Var<T>& logits, const Batch& batch, const Sampler& sampler = {},
                         Where where = Where::current()) const {
        using std::exp;
        validate_options();
        validate(name, logits, batch, sampler);
        const auto& shape = logits.value().shape();
        const std::size_t B = shape[0], T_ = shape[1], V = shape[2];
        const T* s = logits.value().data();
        auto row = [&](std::size_t b, std::size_t t) { return s + (b * T_ + t) * V; };
        auto is_token = [&](std::size_t b, std::size_t t) { return batch.targets(b, t) != batch.pad_id; };
        auto target = [&](std::size_t b, std::size_t t) { return static_cast<std::size_t>(batch.targets(b, t)); };
        auto count = [&](std::size_t b) {
            std::size_t n = 0;
            for (std::size_t t = 0; t < T_; ++t) n += is_token(b, t);
            return n;
        };

        Output<T> out;
        out.diagnostics = Diagnostics::empty(B, T_);
        Diagnostics& d = out.diagnostics;
        for (const auto& [w, l] : batch.pairs) d.n_supervised += count(w) + count(l);
        Tensor<T> G = zeros<T>({B, T_, V});
        if (d.n_supervised == 0) {
            out.loss = record_fused_loss(name, logits, T(0), std::move(G), where);
            return out;
        }
        const T inv_n = T(1.0 / static_cast<double>(d.n_supervised));

        // Sampled positives for every token of a rejected row, drawn once per row.
        std::map<std::size_t, bool> sampled_rows;
        for (const auto& pair : batch.pairs) {
            const std::size_t l = pair.second;
            if (sampled_rows[l]) continue;
            sampled_rows[l] = true;
            for (std::size_t t = 0; t < T_; ++t)
                if (is_token(l, t)) d.sampled(l, t) = pick_positive(name, sampler, row(l, t), V, l, t, target(l, t), static_cast<std::size_t>(k));
        }
        // log p(y) of a row, and (when asked) adding scale * d log p(y)/ds into G.
        auto log_likelihood = [&](std::size_t b) {
            T total(0);
            for (std::size_t t = 0; t < T_; ++t)
                if (is_token(b, t)) total += row(b, t)[target(b, t)] - row_logsumexp(row(b, t), V);
            if (loglik == LogLikelihood::mean && count(b) > 0) total /= T(static_cast<double>(count(b)));
            return total;
        };
        auto add_loglik_gradient = [&](std::size_t b, T scale) {
            if (loglik == LogLikelihood::mean) scale /= T(static_cast<double>(std::max<std::size_t>(count(b), 1)));
            for (std::size_t t = 0; t < T_; ++t) {
                if (!is_token(b, t)) continue;
                const T lse = row_logsumexp(row(b, t), V);
                T* grad = G.data() + (b * T_ + t) * V;
                for (std::size_t j = 0; j < V; ++j) grad[j] -= scale * exp(row(b, t)[j] - lse);
                grad[target(b, t)] += scale;
            }
        };

        T total(0);
        for (const auto& [w, l] : batch.pairs) {
            const T M = log_likelihood(w) - log_likelihood(l);
            const T raw_gate = sigmoid((T(margin) - M) / T(tau));
            const T gate = detach_gate ? detach(raw_gate) : raw_gate;
            for (std::size_t t = 0; t < T_; ++t) {
                if (!is_token(w, t)) continue;
                const T ce = cross_entropy_term(row(w, t), V, target(w, t), inv_n, G.data() + (w * T_ + t) * V);
                d.ce(w, t) += value_of(ce);
                total += inv_n * ce;
            }
            const T cr_weight = T(alpha) * gate * inv_n;
            T cr_sum(0);
            for (std::size_t t = 0; t < T_; ++t) {
                if (!is_token(l, t) || d.sampled(l, t) < 0) continue;
                const T cr = contrastive_term(row(l, t), target(l, t), static_cast<std::size_t>(d.sampled(l, t)), false,
                                              detach_positive, cr_weight, G.data() + (l * T_ + t) * V);
                d.contrastive(l, t) += value_of(cr);
                cr_sum += cr;
            }
            total += cr_weight * cr_sum;
            if (!detach_gate) {  // the gate's own gradient: d(alpha g Cr / N)/dM = alpha Cr/N * (-g(1-g)/tau)
                const T dL_dM = T(alpha) * inv_n * cr_sum * (-gate * (T(1) - gate) / T(tau));
                add_loglik_gradient(w, dL_dM);
                add_loglik_gradient(l, -dL_dM);
            }
        }
        d.n_ce = d.n_contrastive = 0;
        for (const auto& [w, l] : batch.pairs) {
            d.n_ce += count(w);
            d.n_contrastive += count(l);
        }
        out.loss = record_fused_loss(name, logits, total, std::move(G), where);
        return out;
    }
};

}  // namespace cringe::loss
