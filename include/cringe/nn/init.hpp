// cringe/nn/init.hpp - seeded weight initialisers: normal, uniform, Xavier/Glorot, Kaiming/He.
//
// A weight matrix is stored [fan_in, fan_out] (y = x W + b, the orientation of nn::Linear and of
// GPT-2's Conv1D; PyTorch's nn.Linear stores the transpose [out, in]). The rules keep the variance
// of activations (Xavier) or of pre-activations under ReLU (Kaiming) about the same from layer to
// layer, so a deep network neither saturates nor dies at step 0:
//   randn(shape, rng, std)          w ~ N(0, std^2)
//   uniform(shape, rng, lo, hi)     w ~ U[lo, hi)
//   xavier_uniform(shape, rng, g)   w ~ U[-a, a),  a = g * sqrt(6 / (fan_in + fan_out))    Var = g^2 * 2 / (fan_in + fan_out)
//   xavier_normal(shape, rng, g)    w ~ N(0, s^2), s = g * sqrt(2 / (fan_in + fan_out))
//   kaiming_uniform(shape, rng, g)  w ~ U[-b, b),  b = g * sqrt(3 / fan_in)                 Var = g^2 / fan_in
//   kaiming_normal(shape, rng, g)   w ~ N(0, s^2), s = g / sqrt(fan_in)
// (Glorot & Bengio 2010; He et al. 2015.) The gain g is 1 for Xavier and sqrt(2) (ReLU) for Kaiming
// by default, as torch.nn.init with its default `a` and nonlinearity='relu'. Every draw comes from
// cringe::Rng, so the same seed gives the same weights on every platform.
#pragma once

#include <cmath>
#include <numbers>

#include "../rng.hpp"
#include "../tensor.hpp"

namespace cringe::nn {

/// A tensor of N(0, std^2) draws (Box-Muller on `rng`), in storage order.
template <class T>
Tensor<T> randn(const Shape& shape, Rng& rng, double std = 1.0) {
    Tensor<T> out = zeros<T>(shape);
    for (auto& v : out) v = T(rng.normal(0.0, std));
    return out;
}

/// A tensor of U[lo, hi) draws, in storage order; ValueError unless lo <= hi.
template <class T>
Tensor<T> uniform(const Shape& shape, Rng& rng, double lo, double hi) {
    if (!(lo <= hi)) throw ValueError(cat("nn::uniform: lo ", lo, " and hi ", hi, "; expected lo <= hi"));
    Tensor<T> out = zeros<T>(shape);
    for (auto& v : out) v = T(lo + (hi - lo) * rng.uniform());
    return out;
}

/// The fans of a weight matrix [fan_in, fan_out]; ShapeError for another rank or an empty axis.
struct Fans {
    /// Inputs of each output unit (rows of the weight).
    double in = 0;
    /// Outputs fed by each input (columns of the weight).
    double out = 0;

    /// The fans of `shape`, named `who` in the error message.
    static Fans of(const Shape& shape, const char* who) {
        if (shape.size() != 2 || shape[0] == 0 || shape[1] == 0)
            throw ShapeError(cat(who, ": weight shape ", shape_str(shape), "; expected [fan_in, fan_out], both >= 1"));
        return {static_cast<double>(shape[0]), static_cast<double>(shape[1])};
    }
};

/// Xavier/Glorot uniform: U[-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)); shape [fan_in, fan_out].
template <class T>
Tensor<T> xavier_uniform(const Shape& shape, Rng& rng, double gain = 1.0) {
    const Fans f = Fans::of(shape, "nn::xavier_uniform");
    const double a = gain * std::sqrt(6.0 / (f.in + f.out));
    return uniform<T>(shape, rng, -a, a);
}

/// Xavier/Glorot normal: N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out)); shape [fan_in, fan_out].
template <class T>
Tensor<T> xavier_normal(const Shape& shape, Rng& rng, double gain = 1.0) {
    const Fans f = Fans::of(shape, "nn::xavier_normal");
    return randn<T>(shape, rng, gain * std::sqrt(2.0 / (f.in + f.out)));
}

/// Kaiming/He uniform: U[-b, b) with b = gain * sqrt(3 / fan_in); shape [fan_in, fan_out].
template <class T>
Tensor<T> kaiming_uniform(const Shape& shape, Rng& rng, double gain = std::numbers::sqrt2) {
    const Fans f = Fans::of(shape, "nn::kaiming_uniform");
    const double b = gain * std::sqrt(3.0 / f.in);
    return uniform<T>(shape, rng, -b, b);
}

/// Kaiming/He normal: N(0, s^2) with s = gain / sqrt(fan_in); shape [fan_in, fan_out].
template <class T>
Tensor<T> kaiming_normal(const Shape& shape, Rng& rng, double gain = std::numbers::sqrt2) {
    const Fans f = Fans::of(shape, "nn::kaiming_normal");
    return randn<T>(shape, rng, gain / std::sqrt(f.in));
}

/// The initialisers by name, for layers that take one as an option.
enum class Init {
    xavier_uniform,   ///< nn::xavier_uniform with gain 1 (tanh, sigmoid, linear layers)
    xavier_normal,    ///< nn::xavier_normal with gain 1
    kaiming_uniform,  ///< nn::kaiming_uniform with gain sqrt(2) (ReLU layers)
    kaiming_normal,   ///< nn::kaiming_normal with gain sqrt(2)
};

/// A weight of `shape` [fan_in, fan_out] drawn by the initialiser `init`.
template <class T>
Tensor<T> initialise(Init init, const Shape& shape, Rng& rng) {
    switch (init) {
        case Init::xavier_uniform: return xavier_uniform<T>(shape, rng);
        case Init::xavier_normal: return xavier_normal<T>(shape, rng);
        case Init::kaiming_uniform: return kaiming_uniform<T>(shape, rng);
        case Init::kaiming_normal: return kaiming_normal<T>(shape, rng);
    }
    throw ValueError(cat("nn::initialise: unknown Init value ", static_cast<int>(init)));
}

}  // namespace cringe::nn
