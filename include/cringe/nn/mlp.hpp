// cringe/nn/mlp.hpp - a multi-layer perceptron: linear layers with an activation between them.
//
// For sizes {n0, n1, ..., nL}:   h0 = x                                   [..., n0]
//                                h_i = act(h_{i-1} W_i + b_i),  i < L    [..., n_i]
//                                y   = h_{L-1} W_L + b_L                  [..., nL] (no activation)
// The last layer is linear so the output can be any real number (a regression target, or logits
// for a softmax cross-entropy). Parameters are "layers.{i}.weight" [n_i, n_{i+1}] and
// "layers.{i}.bias" [n_{i+1}], in layer order; weights are drawn Kaiming-uniform for ReLU and
// Xavier-uniform otherwise (nn/init.hpp), biases start at zero. The backward is the tape's: each
// layer is nn::linear (matmul + add) and the activation is an op of ops/unary.hpp.
#pragma once

#include <string>
#include <vector>

#include "linear.hpp"

namespace cringe::nn {

/// The nonlinearity between the layers of an nn::Mlp.
enum class Activation {
    relu,     ///< max(x, 0)
    tanh,     ///< tanh(x)
    gelu,     ///< GELU, tanh approximation (as GPT-2)
    sigmoid,  ///< 1 / (1 + e^-x)
};

/// Applies `activation` to x (an op of ops/unary.hpp on the tape).
template <class T>
Var<T> activate(const Var<T>& x, Activation activation) {
    switch (activation) {
        case Activation::relu: return relu(x);
        case Activation::tanh: return tanh(x);
        case Activation::gelu: return gelu(x);
        case Activation::sigmoid: return sigmoid(x);
    }
    throw ValueError(cat("nn::activate: unknown Activation value ", static_cast<int>(activation)));
}

/// A multi-layer perceptron over the last axis of its input; see the file comment.
template <class T>
class Mlp {
public:
    /// The scalar type.
    using scalar_type = T;

    /// Layers of `sizes` (inputs first, outputs last, at least two sizes), weights seeded from `rng`.
    Mlp(const std::vector<std::size_t>& sizes, Rng& rng, Activation activation = Activation::tanh) : Mlp(sizes, activation) {
        const Init init = activation == Activation::relu ? Init::kaiming_uniform : Init::xavier_uniform;
        for (std::size_t i = 0; i < layers(); ++i) weight_of(i).value = initialise<T>(init, {sizes[i], sizes[i + 1]}, rng);
    }

    /// The same network with every parameter zero (to load values into, or for gradcheck's forward_with).
    explicit Mlp(const std::vector<std::size_t>& sizes, Activation activation = Activation::tanh) : activation_(activation) {
        if (sizes.size() < 2) throw ValueError(cat("nn::Mlp: ", sizes.size(), " sizes; expected at least 2 (inputs and outputs)"));
        for (std::size_t i = 0; i < sizes.size(); ++i)
            if (sizes[i] == 0) throw ValueError(cat("nn::Mlp: size ", i, " is 0; expected every layer width >= 1"));
        for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
            const std::string layer = "layers." + std::to_string(i) + ".";
            params_.emplace_back(layer + "weight", zeros<T>({sizes[i], sizes[i + 1]}));
            params_.emplace_back(layer + "bias", zeros<T>({sizes[i + 1]}));
        }
    }

    /// The number of linear layers (sizes - 1).
    std::size_t layers() const { return params_.size() / 2; }
    /// The activation between layers.
    Activation activation() const { return activation_; }

    /// Every parameter: layer 0's weight and bias, layer 1's, ...
    std::vector<Parameter<T>>& parameters() { return params_; }
    /// The same list, read-only.
    const std::vector<Parameter<T>>& parameters() const { return params_; }

    /// y [..., nL] for x [..., n0]; gradients accumulate into the Parameters.
    Var<T> forward(Tape<T>& tape, const Var<T>& x) {
        Var<T> h = x;
        for (std::size_t i = 0; i < layers(); ++i) {
            h = linear(h, tape.parameter(weight_of(i)), tape.parameter(bias_of(i)), "nn::Mlp::forward");
            if (i + 1 < layers()) h = activate(h, activation_);
        }
        return h;
    }
    /// The same for an input tensor (recorded as a constant: no gradient for the data).
    Var<T> forward(Tape<T>& tape, const Tensor<T>& x) { return forward(tape, tape.constant(x)); }

    /// The same forward with the weights given as tape variables, in parameters() order (this is
    /// how gradcheck checks the whole network: it owns the inputs).
    Var<T> forward_with(const Var<T>& x, const std::vector<Var<T>>& weights) const {
        if (weights.size() != params_.size())
            throw ValueError(cat("nn::Mlp::forward_with: ", weights.size(), " weights given; expected ", params_.size()));
        Var<T> h = x;
        for (std::size_t i = 0; i < layers(); ++i) {
            h = linear(h, weights[2 * i], weights[2 * i + 1], "nn::Mlp::forward_with");
            if (i + 1 < layers()) h = activate(h, activation_);
        }
        return h;
    }

private:
    Parameter<T>& weight_of(std::size_t layer) { return params_[2 * layer]; }
    Parameter<T>& bias_of(std::size_t layer) { return params_[2 * layer + 1]; }

    Activation activation_;
    std::vector<Parameter<T>> params_;
};

}  // namespace cringe::nn
