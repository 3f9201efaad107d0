// cringe/train/model.hpp - what train::train needs of a model: its parameters and a forward.
//
// A model is anything with
//   using scalar_type = T;                                     the scalar of its parameters
//   std::vector<Parameter<T>>& parameters();                   (or any range of Parameter<T>&)
//   Var<T> forward(Tape<T>& tape, const Input& inputs);        the output on the tape
// nn::Linear, nn::Mlp and nn::Gpt are models; so is a teacher's own struct with those members.
// A model with dropout (nn::Gpt) may also take forward(tape, inputs, training, Rng*): the loop calls
// that form with training = true when it exists, so dropout masks come from the run's seeded Rng.
#pragma once

#include <concepts>
#include <ranges>
#include <type_traits>

#include "../rng.hpp"
#include "../tape.hpp"

namespace cringe::train {

/// A model with parameters the loop can optimise: scalar_type and parameters(), a range of Parameter lvalues.
template <class M>
concept HasParameters = requires(M& model) {
    typename M::scalar_type;
    { model.parameters() } -> std::ranges::range;
} && std::same_as<std::ranges::range_reference_t<decltype(std::declval<M&>().parameters())>, Parameter<typename M::scalar_type>&>;

/// A model of inputs `Input`: HasParameters plus forward(tape, inputs) returning a tape variable.
template <class M, class Input>
concept Model = HasParameters<M> && requires(M& model, Tape<typename M::scalar_type>& tape, const Input& inputs) {
    { model.forward(tape, inputs) } -> std::same_as<Var<typename M::scalar_type>>;
};

/// The forward pass in training mode: forward(tape, inputs, true, &rng) for a model that takes it
/// (dropout), forward(tape, inputs) otherwise.
template <class M, class Input>
    requires Model<M, Input>
Var<typename M::scalar_type> training_forward(M& model, Tape<typename M::scalar_type>& tape, const Input& inputs, Rng& rng) {
    if constexpr (requires { { model.forward(tape, inputs, true, &rng) } -> std::same_as<Var<typename M::scalar_type>>; })
        return model.forward(tape, inputs, /*training=*/true, &rng);
    else
        return model.forward(tape, inputs);
}

}  // namespace cringe::train
