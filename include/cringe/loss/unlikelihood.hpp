// cringe/loss/unlikelihood.hpp - unlikelihood on negative sequences (Welleck et al. 2019, as the
// CRINGE paper's baseline; docs/losses.md, "Unlikelihood").
//
//   positive/unlabeled token: CE = logsumexp(s) - s_y
//   negative token:           UL = -log(max(1 - p_y, clamp))
//   L = (sum CE + alpha sum UL) / N_sup              (joint, default; as CRINGE, for a fair comparison)
//   L = sum CE / n_CE + alpha sum UL / n_UL          (separate, as ParlAI's unlikelihood agent)
// Gradient of UL: d/ds_j = q([j = y] - p_j)/(1 - q) with q = p_y: the mass taken from y is handed to
// EVERY other token in proportion to its probability (CRINGE instead hands it to one sampled token).
#pragma once

#include "policy.hpp"
#include "token_loss.hpp"

namespace cringe::loss {

/// Unlikelihood training on negative sequences (Welleck et al. 2019).
template <class T>
struct Unlikelihood {
    /// The scalar type.
    using scalar_type = T;
    /// The loss's name in messages and requests.
    static constexpr const char* name = "unlikelihood";

    /// Weight of the unlikelihood term.
    double alpha = 1.0;
    double clamp = 1e-20;  ///< floor of 1 - p before the log (ParlAI fp32 value)
    /// How the sums are normalised (joint or separate).
    Normalization normalization = Normalization::joint;

    /// ValueError for an option out of range.
    void validate_options() const {
        check_alpha(name, alpha);
        if (!(clamp > 0.0 && clamp < 1.0)) throw ValueError(cat(name, ": clamp is ", clamp, "; expected 0 < clamp < 1"));
    }

    /// The loss of `logits` [B,T,V] on `batch`.
    Output<T> operator()(const Var<T>& logits, const Batch& batch, const Sampler& sampler = {},
                         Where where = Where::current()) const {
        validate_options();
        validate(name, logits, batch, sampler);
        return token_loss<T>(name, *this, logits, batch, sampler, {.normalization = normalization, .alpha = alpha}, where);
    }

    /// The engine's question: CE on positive and unlabeled tokens, UL on negative ones.
    TermsFor terms(int label) const { return {.likelihood = label != kNegative, .contrastive = label == kNegative}; }
    /// CE at one token.
    T likelihood(const TokenSite<T>& site, T weight) const {
        return cross_entropy_term(site.logits, site.V, site.target, weight, site.grad);
    }
    /// UL at one negative token (samples nothing).
    ContrastiveTerm<T> contrastive(const TokenSite<T>& site, T weight, const Sampler&) const {
        return {.value = unlikelihood_term(site.logits, site.V, site.target, clamp, weight, site.grad)};
    }

    /// The options by name, for the registry (loss/registry.hpp).
    static constexpr auto option_table() {
        return std::tuple{Option{"alpha", &Unlikelihood::alpha}, Option{"clamp", &Unlikelihood::clamp},
                          Option{"normalization", &Unlikelihood::normalization}};
    }
};

}  // namespace cringe::loss
