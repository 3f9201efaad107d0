// cringe/nn/linear.hpp - a fully connected layer: y = x W + b.
//
// Shapes: x [..., in] (any leading axes), W [in, out], b [out] -> y [..., out].
// The backward needs no code of its own: y is matmul(x, W) + b on the tape, so
//   dL/dx = g W^T,   dL/dW = x^T g (summed over the leading axes),   dL/db = g summed over all but the last axis
// come from matmul's and add's backward (ops/matmul.hpp, ops/binary.hpp). W is stored [in, out]
// like GPT-2's Conv1D (PyTorch's nn.Linear stores W^T); nn/init.hpp draws it.
#pragma once

#include <string>
#include <vector>

#include "../ops/ops.hpp"
#include "init.hpp"

namespace cringe::nn {

/// The layer's math on tape variables: matmul(x, weight) + bias, with a ShapeError naming `who`
/// when x's last axis is not weight's first or bias is not [out].
template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, const char* who = "nn::linear") {
    const Shape& w = weight.shape();
    if (w.size() != 2 || bias.shape() != Shape{w[1]})
        throw ShapeError(cat(who, ": weight ", shape_str(w), " and bias ", shape_str(bias.shape()), "; expected [in, out] and [out]"));
    if (x.shape().empty() || x.shape().back() != w[0])
        throw ShapeError(cat(who, ": input has shape ", shape_str(x.shape()), "; expected [..., ", w[0], "] (the last axis is the layer's in)"));
    return matmul(x, weight) + bias;
}

/// A fully connected layer with parameters "weight" [in, out] and "bias" [out].
template <class T>
class Linear {
public:
    /// The scalar type.
    using scalar_type = T;

    /// A layer of `in` inputs and `out` outputs: weight drawn by `init`, bias zero.
    Linear(std::size_t in, std::size_t out, Rng& rng, Init init = Init::xavier_uniform) : Linear(in, out) {
        params_[0].value = initialise<T>(init, {in, out}, rng);
    }

    /// A layer whose parameters are all zero (to load values into, or for gradcheck's forward_with).
    Linear(std::size_t in, std::size_t out) {
        if (in == 0 || out == 0) throw ValueError(cat("nn::Linear: in ", in, ", out ", out, "; expected both >= 1"));
        params_.emplace_back("weight", zeros<T>({in, out}));
        params_.emplace_back("bias", zeros<T>({out}));
    }

    /// The number of inputs.
    std::size_t in() const { return params_[0].value.shape()[0]; }
    /// The number of outputs.
    std::size_t out() const { return params_[0].value.shape()[1]; }

    /// weight and bias, in that order.
    std::vector<Parameter<T>>& parameters() { return params_; }
    /// The same list, read-only.
    const std::vector<Parameter<T>>& parameters() const { return params_; }

    /// y [..., out] for x [..., in]; gradients accumulate into the Parameters.
    Var<T> forward(Tape<T>& tape, const Var<T>& x) {
        return linear(x, tape.parameter(params_[0]), tape.parameter(params_[1]), "nn::Linear::forward");
    }
    /// The same for an input tensor (recorded as a constant: no gradient for the data).
    Var<T> forward(Tape<T>& tape, const Tensor<T>& x) { return forward(tape, tape.constant(x)); }

private:
    std::vector<Parameter<T>> params_;
};

}  // namespace cringe::nn
