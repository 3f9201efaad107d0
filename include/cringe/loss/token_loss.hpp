// cringe/loss/token_loss.hpp - the engine shared by the per-sequence-label losses.
//
// A loss here is: for every non-pad token (b,t), a "likelihood" term and/or a "contrastive" term,
// chosen by the sequence label, combined as
//   joint:    L = (sum likelihood + alpha * sum contrastive) / N_sup      N_sup = tokens with any term
//   separate: L = sum likelihood / n_lik + alpha * sum contrastive / n_con (each only if its count > 0)
// An all-pad batch (N_sup = 0) gives L = 0 and zero gradients, never 0/0.
//
// The engine knows the normalisation and the bookkeeping (TokenGrid, also used by pairwise CRINGE);
// each policy supplies, as named members, which terms apply to a label and the two term functions,
// which see one token as a TokenSite. The gradient with respect to the logits is accumulated in the
// forward pass from the closed forms (token_terms.hpp) and handed to the tape as one fused node:
// backward is then dlogits += g * G, one pass over [B,T,V].
#pragma once

#include "batch.hpp"
#include "sampling.hpp"
#include "token_terms.hpp"

namespace cringe::loss {

/// The per-token terms of a token-level loss.
struct TermsFor {
    bool likelihood = false;   ///< CE (or sigmoid-only's positive term)
    bool contrastive = false;  ///< UL / Cr / sigmoid-only's negative term
};

/// One supervised token as the engine hands it to a policy's term functions.
template <class T>
struct TokenSite {
    const T* logits = nullptr;  ///< the row s [V] of logits at (b,t)
    T* grad = nullptr;          ///< the row [V] of dL/ds to ADD the term's weighted gradient into
    std::size_t V = 0;          ///< vocabulary size (length of both rows)
    std::size_t b = 0;          ///< sequence
    std::size_t t = 0;          ///< position
    std::size_t target = 0;     ///< the target id y at (b,t)
    int label = kUnlabeled;     ///< the sequence's label
};

/// A contrastive term's value and the positive it sampled (-1: none, e.g. unlikelihood).
template <class T>
struct ContrastiveTerm {
    /// The term's value (unweighted).
    T value = T(0);
    /// The CRINGE positive used at this token, or -1.
    std::int64_t sampled = -1;
};

/// How the engine weighs the two sums (see the file comment).
struct TermWeights {
    /// Joint: one denominator N_sup; separate: one per term.
    Normalization normalization = Normalization::joint;
    /// Weight of the contrastive sum.
    double alpha = 0.0;
};

/// Records a scalar loss whose gradient w.r.t. `logits` is already known (G, same shape).
/// Backward: grad_logits += grad * G (grad: the incoming gradient, one number).
template <class T>
Var<T> record_fused_loss(const char* name, const Var<T>& logits, T value, Tensor<T> gradient, Where where) {
    return logits.tape().record(name, scalar_tensor(value), {logits}, [G = std::move(gradient)](Tape<T>& tape, const Node<T>& node) {
        const T& grad = node.adjoint();
        tape.accumulate(node.inputs[0], flat(G) * grad);  // grad_logits += grad * G
    }, where);
}

/// The bookkeeping every token loss shares: which positions are tokens, their rows of logits and of
/// the fused gradient G [B,T,V], the diagnostics, and recording the result as one fused node.
/// Under no-grad (or for logits that need no gradient) G is never built: every site writes into
/// one scratch row, whose contents are discarded.
template <class T>
class TokenGrid {
public:
    /// A grid over `logits` [B,T,V] and `batch` (already validated).
    TokenGrid(const Var<T>& logits, const Batch& batch)
        : logits_(logits), batch_(batch), wants_gradient_(logits.requires_grad() && logits.tape().grad_enabled()) {
        const auto& shape = logits.value().shape();
        B = shape[0];
        T_ = shape[1];
        V = shape[2];
        out_.diagnostics = Diagnostics::empty(B, T_);
        gradient_ = wants_gradient_ ? zeros<T>({B, T_, V}) : zeros<T>({V});
    }

    std::size_t B = 0;   ///< sequences
    std::size_t T_ = 0;  ///< positions
    std::size_t V = 0;   ///< vocabulary

    /// Whether (b,t) holds a token (its target is not pad_id).
    bool is_token(std::size_t b, std::size_t t) const { return batch_.targets(b, t) != batch_.pad_id; }
    /// The target id at (b,t) (a token position).
    std::size_t target(std::size_t b, std::size_t t) const { return static_cast<std::size_t>(batch_.targets(b, t)); }
    /// Tokens in sequence b.
    std::size_t count(std::size_t b) const {
        std::size_t n = 0;
        for (std::size_t t = 0; t < T_; ++t) n += is_token(b, t);
        return n;
    }
    /// The row of logits at (b,t).
    const T* row(std::size_t b, std::size_t t) const { return logits_.value().data() + (b * T_ + t) * V; }
    /// The row of G at (b,t) to add gradients into (the scratch row under no-grad).
    T* grad_row(std::size_t b, std::size_t t) { return gradient_.data() + (wants_gradient_ ? (b * T_ + t) * V : 0); }
    /// Everything a term function needs about the token at (b,t).
    TokenSite<T> site(std::size_t b, std::size_t t) {
        return {.logits = row(b, t), .grad = grad_row(b, t), .V = V, .b = b, .t = t, .target = target(b, t), .label = batch_.labels[b]};
    }
    /// The per-token diagnostics being filled.
    Diagnostics& diagnostics() { return out_.diagnostics; }

    /// The Output: the loss `total` recorded with G as its gradient, and the diagnostics.
    Output<T> finish(const char* name, T total, Where where) {
        out_.loss = record_fused_loss(name, logits_, total, wants_gradient_ ? std::move(gradient_) : Tensor<T>{}, where);
        return std::move(out_);
    }

private:
    const Var<T>& logits_;
    const Batch& batch_;
    bool wants_gradient_;
    Tensor<T> gradient_;
    Output<T> out_;
};

/// The engine. `policy` supplies, as named members:
///   TermsFor terms(int label)                                       which terms a label's tokens get
///   T likelihood(const TokenSite<T>&, T weight)                     the likelihood term (adds weight * its gradient)
///   ContrastiveTerm<T> contrastive(const TokenSite<T>&, T weight, const Sampler&)   the contrastive term
///                                                                   (optional: a policy whose terms() never asks for it)
/// and the engine does the counting, the weights, the diagnostics and the fused node.
template <class T, class Policy>
Output<T> token_loss(const char* name, const Policy& policy, const Var<T>& logits, const Batch& batch, const Sampler& sampler,
                     TermWeights weights, Where where) {
    TokenGrid<T> grid(logits, batch);
    Diagnostics& d = grid.diagnostics();

    // Pass 1: counts, which fix the weights of every term.
    for (std::size_t b = 0; b < grid.B; ++b) {
        const TermsFor use = policy.terms(batch.labels[b]);
        for (std::size_t t = 0; t < grid.T_; ++t) {
            if (!grid.is_token(b, t)) continue;
            d.n_ce += use.likelihood;
            d.n_contrastive += use.contrastive;
            d.n_supervised += use.likelihood || use.contrastive;
        }
    }
    T w_lik(0), w_con(0);
    if (weights.normalization == Normalization::joint) {
        if (d.n_supervised > 0) {
            w_lik = T(1.0 / static_cast<double>(d.n_supervised));
            w_con = T(weights.alpha / static_cast<double>(d.n_supervised));
        }
    } else {
        if (d.n_ce > 0) w_lik = T(1.0 / static_cast<double>(d.n_ce));
        if (d.n_contrastive > 0) w_con = T(weights.alpha / static_cast<double>(d.n_contrastive));
    }

    // Pass 2: values and gradients.
    T total(0);
    for (std::size_t b = 0; b < grid.B; ++b) {
        const TermsFor use = policy.terms(batch.labels[b]);
        for (std::size_t t = 0; t < grid.T_; ++t) {
            if (!grid.is_token(b, t)) continue;
            const TokenSite<T> site = grid.site(b, t);
            if (use.likelihood) {
                const T value = policy.likelihood(site, w_lik);
                d.ce(b, t) = value_of(value);
                total += w_lik * value;
            }
            if constexpr (requires { policy.contrastive(site, w_con, sampler); }) {
                if (use.contrastive) {
                    const ContrastiveTerm<T> term = policy.contrastive(site, w_con, sampler);
                    d.contrastive(b, t) = value_of(term.value);
                    d.sampled(b, t) = term.sampled;
                    total += w_con * term.value;
                }
            } else if (use.contrastive) {
                throw ValueError(cat(name, ": terms() asked for a contrastive term but the policy has no contrastive()"));
            }
        }
    }
    return grid.finish(name, total, where);
}

/// The CRINGE positive for token (b,t): injected, or drawn from the row's top-k (see sampling.hpp).
template <class T>
std::int64_t pick_positive(const char* name, const Sampler& sampler, const T* row, std::size_t V, std::size_t b,
                           std::size_t t, std::size_t exclude, std::size_t k) {
    if (sampler.injected) return (*sampler.injected)(b, t);
    if (!sampler.rng)
        throw ValueError(cat(name, ": no way to choose positives: pass a seeded Rng or injected sampled ids in the Sampler"));
    return sample_positive(row, V, exclude, k, *sampler.rng);
}

}  // namespace cringe::loss
