// cringe/loss/batch.hpp - what every loss policy takes and returns.
//
// Shapes: logits [B,T,V] (a tape variable), targets [B,T] (token ids; pad_id marks "no token"),
// labels [B] with one label per sequence: 1 positive, 0 negative, -1 unlabeled. A sequence label
// applies to every non-pad token of that sequence (docs/losses.md, "Inputs and outputs").
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

#include "../rng.hpp"
#include "../tape.hpp"

namespace cringe::loss {

// Sequence labels.
inline constexpr int kNegative = 0;    ///< a sequence labeled bad
inline constexpr int kPositive = 1;    ///< a sequence labeled good
inline constexpr int kUnlabeled = -1;  ///< no label (plain language-model data)

/// The batch description shared by all policies.
struct Batch {
    IdTensor targets;                                  ///< [B,T]
    std::vector<int> labels;                           ///< [B] in {-1, 0, 1}
    /// Target id that marks padding (no loss).
    std::int64_t pad_id = 0;
    std::vector<std::pair<std::size_t, std::size_t>> pairs;  ///< (chosen row, rejected row): pairwise only
};

/// Where the CRINGE positives come from: a seeded RNG, or ids injected by the caller ([B,T], -1
/// where none), which gradient checks and cross-implementation tests use to hold sampling fixed.
struct Sampler {
    /// Draws the CRINGE positives; required by the losses that sample.
    Rng* rng = nullptr;
    /// Positives to use instead of sampling [B,T], for exact cross-implementation tests.
    const IdTensor* injected = nullptr;
};

/// Joint: one denominator, every supervised token (ParlAI CRINGE). Separate: a mean per term
/// (ParlAI's unlikelihood agent, Click's CRINGE).
enum class Normalization { joint, separate };

/// The names of Normalization's values in requests and messages.
constexpr std::array<std::pair<std::string_view, Normalization>, 2> choices(Normalization) {
    return {{{"joint", Normalization::joint}, {"separate", Normalization::separate}}};
}

/// Per-token diagnostics for logging (not differentiated).
struct Diagnostics {
    Tensor<double> ce;            ///< [B,T] cross-entropy where CE applied, else 0
    Tensor<double> contrastive;   ///< [B,T] UL / Cr / sigmoid negative term where applied, else 0
    IdTensor sampled;             ///< [B,T] CRINGE positive used, -1 where none
    std::size_t n_supervised = 0; ///< the joint denominator
    std::size_t n_ce = 0;           ///< how many tokens got CE
    std::size_t n_contrastive = 0;  ///< how many got the contrastive (or unlikelihood) term

    /// Zero terms and no sampled ids for a [B,T] batch.
    static Diagnostics empty(std::size_t B, std::size_t T) {
        Diagnostics d;
        d.ce = zeros<double>({B, T});
        d.contrastive = zeros<double>({B, T});
        d.sampled = IdTensor::from_shape({B, T});
        d.sampled.fill(-1);
        return d;
    }
};

/// A loss value and what went into it.
template <class T>
struct Output {
    Var<T> loss;          ///< scalar tape variable
    /// Per-token terms and counts.
    Diagnostics diagnostics;
};

/// Checks shapes, ids and labels; throws naming `loss_name`, the field and what was expected.
template <class T>
void validate(const char* loss_name, const Var<T>& logits, const Batch& batch, const Sampler& sampler) {
    const auto& s = logits.value().shape();
    if (s.size() != 3)
        throw ShapeError(cat(loss_name, ": logits have shape ", shape_str(s), "; expected [B,T,V]"));
    const std::size_t B = s[0], T_ = s[1], V = s[2];
    if (V < 2) throw ShapeError(cat(loss_name, ": logits have V = ", V, "; expected V >= 2"));
    if (batch.targets.dimension() != 2 || batch.targets.shape()[0] != B || batch.targets.shape()[1] != T_)
        throw ShapeError(cat(loss_name, ": targets have shape ", shape_str(batch.targets.shape()),
                             " but logits have shape ", shape_str(s), "; expected targets [", B, ",", T_, "]"));
    if (batch.labels.size() != B)
        throw ShapeError(cat(loss_name, ": labels has ", batch.labels.size(), " entries; expected one per sequence (B = ", B, ")"));
    for (std::size_t b = 0; b < B; ++b)
        if (batch.labels[b] < -1 || batch.labels[b] > 1)
            throw ValueError(cat(loss_name, ": labels[", b, "] is ", batch.labels[b], "; expected -1 (unlabeled), 0 (negative) or 1 (positive)"));
    for (std::size_t i = 0; i < batch.targets.size(); ++i) {
        const auto y = batch.targets.data()[i];
        if (y != batch.pad_id && (y < 0 || static_cast<std::size_t>(y) >= V))
            throw ValueError(cat(loss_name, ": targets[", i / T_, "][", i % T_, "] is ", y, "; expected 0 <= id < V = ", V, " or pad_id ", batch.pad_id));
    }
    if (sampler.injected) {
        const IdTensor& inj = *sampler.injected;
        if (inj.dimension() != 2 || inj.shape()[0] != B || inj.shape()[1] != T_)
            throw ShapeError(cat(loss_name, ": injected sampled ids have shape ", shape_str(inj.shape()), "; expected [", B, ",", T_, "]"));
        for (std::size_t i = 0; i < inj.size(); ++i) {
            const auto id = inj.data()[i];
            if (id < -1 || id >= static_cast<std::int64_t>(V))
                throw ValueError(cat(loss_name, ": sampled[", i / T_, "][", i % T_, "] is ", id, "; expected -1 or 0 <= id < V = ", V));
        }
    }
    for (std::size_t k = 0; k < batch.pairs.size(); ++k)
        if (batch.pairs[k].first >= B || batch.pairs[k].second >= B)
            throw ValueError(cat(loss_name, ": pairs[", k, "] = [", batch.pairs[k].first, ",", batch.pairs[k].second,
                                 "] names a row outside the batch; expected row indices < B = ", B));
}

/// ValueError unless alpha is finite and >= 0.
inline void check_alpha(const char* loss_name, double alpha) {
    if (!(alpha >= 0.0) || !std::isfinite(alpha))
        throw ValueError(cat(loss_name, ": alpha is ", alpha, "; expected a finite alpha >= 0"));
}
/// ValueError unless k >= 1.
inline void check_k(const char* loss_name, long k) {
    if (k < 1) throw ValueError(cat(loss_name, ": k is ", k, "; expected k >= 1"));
}

}  // namespace cringe::loss
