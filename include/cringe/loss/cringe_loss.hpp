// cringe/loss/cringe_loss.hpp - the CRINGE loss (Adolphs et al. 2022), released ParlAI semantics.
//
// For every token y- of a NEGATIVE sequence: take the model's top-k tokens other than y- (k_eff =
// min(k, V-1), ties to the lower id, non-finite logits skipped), sample one, y+, with probability
// softmax over those k logits, and apply a two-way cross-entropy that prefers y+ over y-:
//   Cr = -log(e^{s+} / (e^{s+} + e^{s-})) = softplus(s_y- - s_y+)
// Positive and unlabeled tokens get CE. With the joint normalisation (default):
//   L = (sum CE + alpha sum Cr) / N_sup
// Cr's gradient touches only two logits: d/ds_y- = sigmoid(z), d/ds_y+ = -sigmoid(z), z = s_y- - s_y+.
// It depends only on a logit difference: the softmax normaliser cancels.
//
// Options beyond the paper (docs/losses.md, "CRINGE", the options table): detach_positive (no gradient into s_y+),
// ct_on_positives (the intended version of ParlAI's no-op flag: positive tokens also get
// softplus(s_j - s_y) against a sampled j), ce_on_positives = false (CE only on unlabeled data).
#pragma once

#include "policy.hpp"
#include "token_loss.hpp"

namespace cringe::loss {

/// The CRINGE loss (Adolphs et al. 2022): CE on positive and unlabeled tokens, a sampled two-way contrast on negative ones.
template <class T>
struct Cringe {
    /// The scalar type.
    using scalar_type = T;
    /// The loss's name in messages and requests.
    static constexpr const char* name = "cringe";

    /// Weight of the contrastive term.
    double alpha = 1.0;
    long k = 5;                       ///< paper value; ParlAI's default is 1
    /// No gradient into the sampled positive's logit.
    bool detach_positive = false;
    /// How the sums are normalised (joint: by all supervised tokens).
    Normalization normalization = Normalization::joint;
    /// Positive tokens also get the contrastive term against a sampled token.
    bool ct_on_positives = false;
    /// Positive tokens get CE (false: CE only on unlabeled data).
    bool ce_on_positives = true;

    /// ValueError for an option out of range.
    void validate_options() const {
        check_alpha(name, alpha);
        check_k(name, k);
    }

    /// The loss of `logits` [B,T,V] on `batch`.
    Output<T> operator()(const Var<T>& logits, const Batch& batch, const Sampler& sampler = {},
                         Where where = Where::current()) const {
        validate_options();
        validate(name, logits, batch, sampler);
        return token_loss<T>(name, *this, logits, batch, sampler, {.normalization = normalization, .alpha = alpha}, where);
    }

    /// The engine's question: CE on unlabeled (and, by default, positive) tokens; Cr on negative
    /// (and, with ct_on_positives, positive) tokens.
    TermsFor terms(int label) const {
        return {.likelihood = label == kUnlabeled || (label == kPositive && ce_on_positives),
                .contrastive = label == kNegative || (label == kPositive && ct_on_positives)};
    }
    /// CE at one token.
    T likelihood(const TokenSite<T>& site, T weight) const {
        return cross_entropy_term(site.logits, site.V, site.target, weight, site.grad);
    }
    /// Cr at one token against a positive drawn from the row's top-k (or injected).
    ContrastiveTerm<T> contrastive(const TokenSite<T>& site, T weight, const Sampler& sampler) const {
        const std::int64_t sampled = pick_positive(name, sampler, site.logits, site.V, site.b, site.t, site.target, static_cast<std::size_t>(k));
        if (sampled < 0) return {.value = T(0), .sampled = sampled};  // no finite candidate: the token is skipped
        const auto other = static_cast<std::size_t>(sampled);
        if (site.label == kNegative)  // push y- down against the sampled positive
            return {.value = contrastive_term(site.logits, site.target, other, false, detach_positive, weight, site.grad), .sampled = sampled};
        // ct_on_positives: push the sampled competitor down against the target; as in the
        // released code, detach_positive detaches the SAMPLED logit in both uses
        return {.value = contrastive_term(site.logits, other, site.target, detach_positive, false, weight, site.grad), .sampled = sampled};
    }

    /// The options by name, for the registry (loss/registry.hpp).
    static constexpr auto option_table() {
        return std::tuple{Option{"alpha", &Cringe::alpha}, Option{"k", &Cringe::k}, Option{"detach_positive", &Cringe::detach_positive},
                          Option{"normalization", &Cringe::normalization}, Option{"ct_on_positives", &Cringe::ct_on_positives},
                          Option{"ce_on_positives", &Cringe::ce_on_positives}};
    }
};

}  // namespace cringe::loss
