// cringe/loss/token_loss.hpp - the engine shared by the per-sequence-label losses.
//
// A loss here is: for every non-pad token (b,t), a "likelihood" term and/or a "contrastive" term,
// chosen by the sequence label, combined as
//   joint:    L = (sum likelihood + alpha * sum contrastive) / N_sup      N_sup = tokens with any term
//   separate: L = sum likelihood / n_lik + alpha * sum contrastive / n_con (each only if its count > 0)
// An all-pad batch (N_sup = 0) gives L = 0 and zero gradients, never 0/0.
//
// The engine knows the normalisation and the bookkeeping; each policy supplies which terms apply to a
// label and the two term functions. The gradient with respect to the logits is accumulated in the
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

/// Records a scalar loss whose gradient w.r.t. `logits` is already known (G, same shape).
template <class T>
Var<T> record_fused_loss(const char* name, const Var<T>& logits, T value, Tensor<T> gradient, Where where) {
    return logits.tape().record(name, scalar_tensor(value), {logits}, [G = std::move(gradient)](Tape<T>& tape, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        if (tape.wants_grad(in)) flat(tape.adjoint(in)) += flat(G) * node.adjoint();
    }, where);
}

/// terms(label) -> TermsFor; likelihood(row, V, y, w, grad) -> T;
/// contrastive(row, V, b, t, y, label, w, grad, sampled&) -> T (sets sampled id, or leaves -1).
template <class T, class Terms, class Likelihood, class Contrastive>
Output<T> token_loss(const char* name, const Var<T>& logits, const Batch& batch, Normalization normalization,
                     double alpha, Terms terms, Likelihood likelihood, Contrastive contrastive, Where where) {
    const auto& shape = logits.value().shape();
    const std::size_t B = shape[0], T_ = shape[1], V = shape[2];
    auto is_token = [&](std::size_t b, std::size_t t) { return batch.targets(b, t) != batch.pad_id; };

    Output<T> out;
    out.diagnostics = Diagnostics::empty(B, T_);
    Diagnostics& d = out.diagnostics;

    // Pass 1: counts, which fix the weights of every term.
    for (std::size_t b = 0; b < B; ++b) {
        const TermsFor use = terms(batch.labels[b]);
        for (std::size_t t = 0; t < T_; ++t) {
            if (!is_token(b, t)) continue;
            d.n_ce += use.likelihood;
            d.n_contrastive += use.contrastive;
            d.n_supervised += use.likelihood || use.contrastive;
        }
    }
    T w_lik(0), w_con(0);
    if (normalization == Normalization::joint) {
        if (d.n_supervised > 0) {
            w_lik = T(1.0 / static_cast<double>(d.n_supervised));
            w_con = T(alpha / static_cast<double>(d.n_supervised));
        }
    } else {
        if (d.n_ce > 0) w_lik = T(1.0 / static_cast<double>(d.n_ce));
        if (d.n_contrastive > 0) w_con = T(alpha / static_cast<double>(d.n_contrastive));
    }

    // Pass 2: values and gradients.
    Tensor<T> G = zeros<T>({B, T_, V});
    T total(0);
    for (std::size_t b = 0; b < B; ++b) {
        const TermsFor use = terms(batch.labels[b]);
        for (std::size_t t = 0; t < T_; ++t) {
            if (!is_token(b, t)) continue;
            const T* row = logits.value().data() + (b * T_ + t) * V;
            T* grad = G.data() + (b * T_ + t) * V;
            const auto y = static_cast<std::size_t>(batch.targets(b, t));
            if (use.likelihood) {
                const T value = likelihood(row, V, y, w_lik, grad);
                d.ce(b, t) = value_of(value);
                total += w_lik * value;
            }
            if (use.contrastive) {
                std::int64_t sampled = -1;
                const T value = contrastive(row, V, b, t, y, batch.labels[b], w_con, grad, sampled);
                d.contrastive(b, t) = value_of(value);
                d.sampled(b, t) = sampled;
                total += w_con * value;
            }
        }
    }
    out.loss = record_fused_loss(name, logits, total, std::move(G), where);
    return out;
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
