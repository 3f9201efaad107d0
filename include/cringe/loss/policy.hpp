// cringe/loss/policy.hpp - the LossPolicy concept: what training code needs from a loss.
//
// Training code is written once as `template <LossPolicy L> void train(..., const L& loss)`, and the
// loss is swapped by changing a type: CrossEntropy<T>, Unlikelihood<T>, Cringe<T>,
// PairwiseCringe<T>, SigmoidOnly<T>. A policy is a small struct of options (spec defaults) that
// maps (logits [B,T,V], batch, sampler) to a scalar tape variable plus per-token diagnostics.
#pragma once

#include <concepts>
#include <string_view>

#include "batch.hpp"

namespace cringe::loss {

template <class L>
concept LossPolicy = requires(const L& policy, const Var<typename L::scalar_type>& logits, const Batch& batch,
                              const Sampler& sampler) {
    typename L::scalar_type;
    { L::name } -> std::convertible_to<std::string_view>;
    { policy(logits, batch, sampler) } -> std::same_as<Output<typename L::scalar_type>>;
    { policy.validate_options() };
};

}  // namespace cringe::loss
