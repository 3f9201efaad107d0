// cringe/ops/unary.hpp - elementwise functions, defined as a table (one small struct per function).
//
// Each row gives the forward f(x) and the local derivative f'(x) written with the input x and the
// op's output `result`, both as Eigen array expressions (vectorised exp/log/tanh; xtensor's scalar
// versions are ~60x slower).
// Shapes: x [..] -> result [..]. Backward for every row: grad_x += grad * f'(x, result).
#pragma once

#include <type_traits>

#include "../tape.hpp"
#include "portable_exp.hpp"

namespace cringe {

namespace unary {

/// @var cringe::unary::Exp::name
/// The op's name on the tape.
/// @fn template <class X> static auto cringe::unary::Exp::f(const X& x)
/// The forward value.
/// @fn template <class X, class Y> static auto cringe::unary::Exp::df(const X&, const Y& result)
/// d result / dx from x and the result.

/// Exponential.
struct Exp {  // result = e^x, d result/dx = result
    static constexpr const char* name = "exp";
    /// Results below the smallest normal number are set to 0, so exp(-inf) = 0 on every SIMD path
    /// (see portable_exp.hpp).
    static constexpr bool flush_underflow = true;
    template <class X> static auto f(const X& x) { return x.exp(); }
    template <class X, class Y> static auto df(const X&, const Y& result) { return result; }
};
/// Natural logarithm.
struct Log {  // result = ln x, d result/dx = 1/x
    /// The op's name on the tape.
    static constexpr const char* name = "log";
    /// The forward value.
    template <class X> static auto f(const X& x) { return x.log(); }
    /// d result/dx from x and the result.
    template <class X, class Y> static auto df(const X& x, const Y&) { return x.inverse(); }
};
/// Square root.
struct Sqrt {  // result = sqrt x, d result/dx = 1/(2 result)
    /// The op's name on the tape.
    static constexpr const char* name = "sqrt";
    /// The forward value.
    template <class X> static auto f(const X& x) { return x.sqrt(); }
    /// d result/dx from x and the result.
    template <class X, class Y> static auto df(const X&, const Y& result) { return (result * 2).inverse(); }
};
/// Hyperbolic tangent.
struct Tanh {  // result = tanh x, d result/dx = 1 - result^2
    /// The op's name on the tape.
    static constexpr const char* name = "tanh";
    /// The forward value.
    template <class X> static auto f(const X& x) { return x.tanh(); }
    /// d result/dx from x and the result.
    template <class X, class Y> static auto df(const X&, const Y& result) { return 1 - result * result; }
};
/// Logistic sigmoid.
struct Sigmoid {  // result = 1/(1+e^-x), d result/dx = result (1 - result)
    /// The op's name on the tape.
    static constexpr const char* name = "sigmoid";
    /// The forward value.
    template <class X> static auto f(const X& x) { return (1 + (-x).exp()).inverse(); }
    /// d result/dx from x and the result.
    template <class X, class Y> static auto df(const X&, const Y& result) { return result * (1 - result); }
};
/// Rectified linear unit.
struct Relu {  // result = max(x, 0), d result/dx = [x > 0]; kink at 0
    /// The op's name on the tape.
    static constexpr const char* name = "relu";
    /// The forward value.
    template <class X> static auto f(const X& x) { return x.max(typename X::Scalar(0)); }
    /// d result/dx from x and the result.
    template <class X, class Y> static auto df(const X& x, const Y&) {
        using S = typename X::Scalar;
        return (x > S(0)).select(X::Constant(x.size(), S(1)), X::Constant(x.size(), S(0)));
    }
};
/// GELU, tanh approximation as GPT-2 ("gelu_new"):
///   result = x/2 (1 + tanh(u)),  u = c (x + 0.044715 x^3),  c = sqrt(2/pi)
/// written with s = (1 + tanh u)/2, so result = x s and
///   d result/dx = s + x/2 (1 - tanh^2 u) u' = s + 2 x s (1 - s) c (1 + 3 * 0.044715 x^2)
/// For float, s comes from Eigen's vectorised tanh (its fastest path); for every other scalar from
/// the identity s = 1/(1 + e^(-2u)): Eigen vectorises exp for double, while its double tanh is scalar
/// libm (20 % of a float64 training step). Both are exact rewrites of the same function.
struct Gelu {
    /// The op's name on the tape.
    static constexpr const char* name = "gelu";
    /// sqrt(2/pi).
    static constexpr double c = 0.7978845608028654;  // sqrt(2/pi)
    /// The cubic coefficient of GPT-2's tanh approximation.
    static constexpr double a = 0.044715;
    /// (1 + tanh(c (x + a x^3))) / 2.
    template <class X> static auto half_one_plus_tanh(const X& x) {
        if constexpr (std::is_same_v<typename X::Scalar, float>) return 0.5f * (1 + (c * (x + a * x.cube())).tanh());
        else return (1 + (-2 * c * (x + a * x.cube())).exp()).inverse();
    }
    /// The forward value.
    template <class X> static auto f(const X& x) { return x * half_one_plus_tanh(x); }
    // Lazy on purpose: s is computed twice per element instead of being stored, because a stored
    // full-size Eigen temporary is a fresh malloc (mmap above 128 KiB) and its page faults cost more
    // than the second tanh/exp. The expression holds only x (by value), so returning it is safe.
    /// d result/dx from x.
    template <class X, class Y> static auto df(const X& x, const Y&) { return df_given_s(x, half_one_plus_tanh(x)); }
    /// d result/dx from x and s = half_one_plus_tanh(x): s + 2 x s (1 - s) c (1 + 3 a x^2). A kernel that
    /// keeps s in a scratch block (kernels/bias_gelu.hpp) passes it here and evaluates exp once, with the
    /// same bits as df (the same operations on the same values).
    template <class X, class S> static auto df_given_s(const X& x, const S& s) {
        return s * (1 + 2 * c * x * (1 - s) * (1 + 3 * a * x.square()));
    }
};

}  // namespace unary

/// Applies one row of the table: result = Fn::f(x), backward grad_x += grad * Fn::df(x, result).
template <class Fn, class T>
Var<T> apply_unary(const Var<T>& x, Where where) {
    Tensor<T> out(x.value().shape());
    flat(out) = Fn::f(flat(x.value()));
    if constexpr (requires { Fn::flush_underflow; }) detail::flush_exp_underflow(flat(out));
    return x.tape().record(Fn::name, std::move(out), {x}, [](Tape<T>& tape, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        const Tensor<T>& grad = node.adjoint;
        const Tensor<T>& result = node.value;
        tape.accumulate(in, flat(grad) * Fn::df(flat(tape.value(in)), flat(result)));  // grad_x += grad * f'(x, result)
    }, where);
}

/// e^x elementwise.
template <class T> Var<T> exp(const Var<T>& x, Where w = Where::current()) { return apply_unary<unary::Exp>(x, w); }
/// ln x elementwise.
template <class T> Var<T> log(const Var<T>& x, Where w = Where::current()) { return apply_unary<unary::Log>(x, w); }
/// Square root elementwise.
template <class T> Var<T> sqrt(const Var<T>& x, Where w = Where::current()) { return apply_unary<unary::Sqrt>(x, w); }
/// tanh x elementwise.
template <class T> Var<T> tanh(const Var<T>& x, Where w = Where::current()) { return apply_unary<unary::Tanh>(x, w); }
/// 1 / (1 + e^-x) elementwise.
template <class T> Var<T> sigmoid(const Var<T>& x, Where w = Where::current()) { return apply_unary<unary::Sigmoid>(x, w); }
/// max(x, 0) elementwise.
template <class T> Var<T> relu(const Var<T>& x, Where w = Where::current()) { return apply_unary<unary::Relu>(x, w); }
/// GPT-2's tanh GELU elementwise.
template <class T> Var<T> gelu(const Var<T>& x, Where w = Where::current()) { return apply_unary<unary::Gelu>(x, w); }

/// result = x^p for a plain exponent p. Backward: grad_x += grad * p x^(p-1), and 0 when p = 0 (x^0 = 1 is
/// constant; the formula would give 0 * 0^-1 = 0 * inf = NaN at x = 0). Same as PyTorch.
template <class T>
Var<T> pow(const Var<T>& x, double p, Where where = Where::current()) {
    using std::pow;
    const T exponent(p);
    Tensor<T> out(x.value().shape());
    for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] = pow(x.value().data()[i], exponent);
    return x.tape().record("pow", std::move(out), {x}, [exponent](Tape<T>& tape, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        if (!tape.wants_grad(in)) return;
        const T* x_value = tape.value(in).data();
        const T* grad = node.adjoint.data();
        if (exponent == T(0)) return;  // d(x^0)/dx = 0 everywhere, including x = 0: no contribution
        tape.accumulate(in, [&](Tensor<T>& grad_x, auto store) {
            for (std::size_t i = 0; i < node.adjoint.size(); ++i)
                store(grad_x.data()[i], grad[i] * exponent * pow(x_value[i], exponent - T(1)));  // grad_x += ...
        });
    }, where);
}

}  // namespace cringe
