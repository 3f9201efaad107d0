// cringe/loss/policy.hpp - the LossPolicy concept: what training code needs from a loss.
//
// Training code is written once as `template <LossPolicy L> void train(..., const L& loss)`, and the
// loss is swapped by changing a type: CrossEntropy<T>, Unlikelihood<T>, Cringe<T>,
// PairwiseCringe<T>, SigmoidOnly<T>. A policy is a small struct of options (spec defaults) that
// maps (logits [B,T,V], batch, sampler) to a scalar tape variable plus per-token diagnostics.
#pragma once

#include <concepts>
#include <string_view>
#include <tuple>

#include "batch.hpp"

namespace cringe::loss {

/// One named option of a policy: its name in requests and the member it sets (a double, long,
/// bool or an enum with a choices() overload). Each policy lists its options in option_table().
template <class P, class M>
struct Option {
    /// The option's name ("alpha").
    std::string_view name;
    /// The policy's member it sets (&Cringe::alpha).
    M P::*member;
};
/// Deduces Option's types from the member pointer.
template <class P, class M>
Option(std::string_view, M P::*) -> Option<P, M>;

/// What training code needs from a loss: a name, options that validate, a call on logits, and
/// the option table the registry (loss/registry.hpp) reads.
template <class L>
concept LossPolicy = requires(const L& policy, const Var<typename L::scalar_type>& logits, const Batch& batch,
                              const Sampler& sampler) {
    typename L::scalar_type;
    { L::name } -> std::convertible_to<std::string_view>;
    { policy(logits, batch, sampler) } -> std::same_as<Output<typename L::scalar_type>>;
    { policy.validate_options() };
    { L::option_table() };
};

}  // namespace cringe::loss
