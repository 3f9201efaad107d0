// cringe/loss/sigmoid_only.hpp - the CRINGE paper's "Sigmoid-only" baseline (after SCONES).
//
// Softmax is replaced by an independent sigmoid per vocabulary entry (docs/losses.md, "Sigmoid-only"):
//   positive/unlabeled token y:  L+ + a_pm L±  = -log sigmoid(s_y) - a_pm sum_{x != y} log(1 - sigmoid(s_x))
//   negative token y-:           a_m L-        = -a_m log(1 - sigmoid(s_y-))
//   L = sum of those / N_sup (joint)
// Written with softplus: -log sigmoid(z) = softplus(-z), -log(1 - sigmoid(z)) = softplus(z).
// Our data labels whole sequences, so a token is either positive or negative; the paper's L± set
// "not in {x_t, x_t^-}" reduces to "not y" for a positive token (a decision recorded in docs/losses.md).
#pragma once

#include "policy.hpp"
#include "token_loss.hpp"

namespace cringe::loss {

/// The Sigmoid-only baseline: an independent sigmoid per vocabulary entry instead of a softmax.
template <class T>
struct SigmoidOnly {
    /// The scalar type.
    using scalar_type = T;
    /// The loss's name in messages and requests.
    static constexpr const char* name = "sigmoid_only";

    double a_pm = 1.0;  ///< weight of pushing every other token down at positive tokens
    double a_m = 1.0;   ///< weight of the negative token's term

    /// ValueError for an option out of range.
    void validate_options() const {
        if (!(a_pm >= 0.0) || !std::isfinite(a_pm)) throw ValueError(cat(name, ": a_pm is ", a_pm, "; expected a finite a_pm >= 0"));
        if (!(a_m >= 0.0) || !std::isfinite(a_m)) throw ValueError(cat(name, ": a_m is ", a_m, "; expected a finite a_m >= 0"));
    }

    /// The loss of `logits` [B,T,V] on `batch`.
    Output<T> operator()(const Var<T>& logits, const Batch& batch, const Sampler& sampler = {},
                         Where where = Where::current()) const {
        validate_options();
        validate(name, logits, batch, sampler);
        // joint normalisation with alpha = a_m: L = (sum pos + a_m sum neg) / N_sup
        return token_loss<T>(name, *this, logits, batch, sampler, {.normalization = Normalization::joint, .alpha = a_m}, where);
    }

    /// The engine's question: the positive term on positive and unlabeled tokens, the negative one on negative tokens.
    TermsFor terms(int label) const { return {.likelihood = label != kNegative, .contrastive = label == kNegative}; }
    /// The positive-token term L+ + a_pm L±.
    T likelihood(const TokenSite<T>& site, T weight) const {
        return sigmoid_positive_term(site.logits, site.V, site.target, a_pm, weight, site.grad);
    }
    /// The negative-token term L- (its weight a_m is the engine's alpha).
    ContrastiveTerm<T> contrastive(const TokenSite<T>& site, T weight, const Sampler&) const {
        return {.value = sigmoid_negative_term(site.logits, site.target, weight, site.grad)};
    }

    /// The options by name, for the registry (loss/registry.hpp).
    static constexpr auto option_table() { return std::tuple{Option{"a_pm", &SigmoidOnly::a_pm}, Option{"a_m", &SigmoidOnly::a_m}}; }
};

}  // namespace cringe::loss
