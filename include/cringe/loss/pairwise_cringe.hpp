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

#include <array>
#include <map>
#include <string_view>
#include <utility>

#include "policy.hpp"
#include "token_loss.hpp"

namespace cringe::loss {

/// A sequence's log-likelihood: the sum over its tokens, or their mean.
enum class LogLikelihood { sum, mean };

/// The names of LogLikelihood's values in requests and messages.
constexpr std::array<std::pair<std::string_view, LogLikelihood>, 2> choices(LogLikelihood) {
    return {{{"sum", LogLikelihood::sum}, {"mean", LogLikelihood::mean}}};
}

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
        TokenGrid<T> grid(logits, batch);  // the shared bookkeeping: rows, targets, counts, G, the fused node
        const std::size_t V = grid.V;
        Diagnostics& d = grid.diagnostics();
        for (const auto& [w, l] : batch.pairs) d.n_supervised += grid.count(w) + grid.count(l);
        if (d.n_supervised == 0) return grid.finish(name, T(0), where);
        const T inv_n = T(1.0 / static_cast<double>(d.n_supervised));

        // Sampled positives for every token of a rejected row, drawn once per row.
        std::map<std::size_t, bool> sampled_rows;
        for (const auto& pair : batch.pairs) {
            const std::size_t l = pair.second;
            if (sampled_rows[l]) continue;
            sampled_rows[l] = true;
            for (std::size_t t = 0; t < grid.T_; ++t)
                if (grid.is_token(l, t))
                    d.sampled(l, t) = pick_positive(name, sampler, grid.row(l, t), V, l, t, grid.target(l, t), static_cast<std::size_t>(k));
        }
        // log p(y) of a row, and (when asked) adding scale * d log p(y)/ds into G.
        auto log_likelihood = [&](std::size_t b) {
            T total(0);
            for (std::size_t t = 0; t < grid.T_; ++t)
                if (grid.is_token(b, t)) total += grid.row(b, t)[grid.target(b, t)] - row_logsumexp(grid.row(b, t), V);
            if (loglik == LogLikelihood::mean && grid.count(b) > 0) total /= T(static_cast<double>(grid.count(b)));
            return total;
        };
        auto add_loglik_gradient = [&](std::size_t b, T scale) {
            if (loglik == LogLikelihood::mean) scale /= T(static_cast<double>(std::max<std::size_t>(grid.count(b), 1)));
            for (std::size_t t = 0; t < grid.T_; ++t) {
                if (!grid.is_token(b, t)) continue;
                const T lse = row_logsumexp(grid.row(b, t), V);
                T* grad = grid.grad_row(b, t);
                for (std::size_t j = 0; j < V; ++j) grad[j] -= scale * exp(grid.row(b, t)[j] - lse);
                grad[grid.target(b, t)] += scale;
            }
        };

        T total(0);
        for (const auto& [w, l] : batch.pairs) {
            const T M = log_likelihood(w) - log_likelihood(l);
            const T raw_gate = sigmoid((T(margin) - M) / T(tau));
            const T gate = detach_gate ? detach(raw_gate) : raw_gate;
            for (std::size_t t = 0; t < grid.T_; ++t) {
                if (!grid.is_token(w, t)) continue;
                const T ce = cross_entropy_term(grid.row(w, t), V, grid.target(w, t), inv_n, grid.grad_row(w, t));
                d.ce(w, t) += value_of(ce);
                total += inv_n * ce;
            }
            const T cr_weight = T(alpha) * gate * inv_n;
            T cr_sum(0);
            for (std::size_t t = 0; t < grid.T_; ++t) {
                if (!grid.is_token(l, t) || d.sampled(l, t) < 0) continue;
                const T cr = contrastive_term(grid.row(l, t), grid.target(l, t), static_cast<std::size_t>(d.sampled(l, t)), false,
                                              detach_positive, cr_weight, grid.grad_row(l, t));
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
            d.n_ce += grid.count(w);
            d.n_contrastive += grid.count(l);
        }
        return grid.finish(name, total, where);
    }

    /// The options by name, for the registry (loss/registry.hpp).
    static constexpr auto option_table() {
        return std::tuple{Option{"alpha", &PairwiseCringe::alpha}, Option{"k", &PairwiseCringe::k}, Option{"margin", &PairwiseCringe::margin},
                          Option{"tau", &PairwiseCringe::tau}, Option{"detach_gate", &PairwiseCringe::detach_gate},
                          Option{"detach_positive", &PairwiseCringe::detach_positive}, Option{"loglik", &PairwiseCringe::loglik}};
    }
};

}  // namespace cringe::loss
