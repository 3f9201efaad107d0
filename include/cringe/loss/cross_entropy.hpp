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
        return token_loss<T>(
            name, logits, batch, Normalization::joint, 0.0,
            [](int label) { return TermsFor{.likelihood = label != kNegative, .contrastive = false}; },
            [](const T* row, std::size_t V, std::size_t y, T w, T* grad) { return cross_entropy_term(row, V, y, w, grad); },
            [](const T*, std::size_t, std::size_t, std::size_t, std::size_t, int, T, T*, std::int64_t&) { return T(0); },
            where);
    }
};

}  // namespace cringe::loss
