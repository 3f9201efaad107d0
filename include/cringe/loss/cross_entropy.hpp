// cringe/loss/cross_entropy.hpp - maximum likelihood on positive and unlabeled sequences.
//
//   L = sum_{tokens of label 1 or -1} (logsumexp(s_t) - s_t[y_t]) / N,   N = number of those tokens
// Negative sequences are ignored entirely (they are what the other losses are for).
// Gradient per supervised row: (softmax(s_t) - onehot(y_t)) / N.
#pragma once

#include "policy.hpp"
#include "token_loss.hpp"

namespace cringe::loss {

/// Plain cross-entropy on every non-pad token, whatever its label.
template <class T>
struct CrossEntropy {
    /// The scalar type.
    using scalar_type = T;
    /// The loss's name in messages and requests.
    static constexpr const char* name = "cross_entropy";

    /// No options to check.
    void validate_options() const {}

    /// The loss of `logits` [B,T,V] on `batch`.
    Output<T> operator()(const Var<T>& logits, const Batch& batch, const Sampler& sampler = {},
                         Where where = Where::current()) const {
        validate(name, logits, batch, sampler);
        return token_loss<T>(name, *this, logits, batch, sampler, {.normalization = Normalization::joint, .alpha = 0.0}, where);
    }

    /// The engine's question: every token of a positive or unlabeled sequence gets CE, nothing else.
    TermsFor terms(int label) const { return {.likelihood = label != kNegative, .contrastive = false}; }
    /// CE at one token (adds `weight` times its gradient).
    T likelihood(const TokenSite<T>& site, T weight) const {
        return cross_entropy_term(site.logits, site.V, site.target, weight, site.grad);
    }

    /// The options by name (none), for the registry (loss/registry.hpp).
    static constexpr auto option_table() { return std::tuple<>{}; }
};

}  // namespace cringe::loss
