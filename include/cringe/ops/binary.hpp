// cringe/ops/binary.hpp - + - * / between tensors (numpy broadcasting) and with scalars.
//
// Shapes: a [..A], b [..B] -> result = broadcast(A, B) (detail/broadcast.hpp).
// Backward, in the vocabulary of every op (grad: the incoming gradient, shaped like the result;
// grad_a, grad_b: the inputs' gradients, which the backward adds into). An input dimension of size 1
// (or a missing one) was repeated to fill the result, so its gradient is the SUM over the repeats,
// sum_to_shape:
//   add: grad_a += sum_to_shape(grad, a.shape),          grad_b += sum_to_shape(grad, b.shape)
//   sub: grad_a += sum_to_shape(grad, a.shape),          grad_b -= sum_to_shape(grad, b.shape)
//   mul: grad_a += sum_to_shape(grad * b, a.shape),      grad_b += sum_to_shape(grad * a, b.shape)
//   div: grad_a += sum_to_shape(grad / b, a.shape),      grad_b -= sum_to_shape(grad * a / b^2, b.shape)
// In the closures of mul and div, a_i, b_i and grad_i are the elements that line up with one element
// of the result.
#pragma once

#include <type_traits>

#include "../detail/broadcast.hpp"
#include "../tape.hpp"

namespace cringe {

/// a + b, with broadcasting.
template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b, Where where = Where::current()) {
    auto out = detail::broadcast_apply<T>(a.value(), b.value(), "add", [](T a_i, T b_i) { return a_i + b_i; });
    return a.tape().record("add", std::move(out), {a, b}, [](Tape<T>& tape, const Node<T>& node) {
        const T* grad = node.adjoint.data();
        // grad_a += sum_to_shape(grad, a.shape),  grad_b += sum_to_shape(grad, b.shape)
        detail::accumulate_sum_to_shape<detail::Operand::a>(tape, node, [grad](std::size_t i) { return grad[i]; });
        detail::accumulate_sum_to_shape<detail::Operand::b>(tape, node, [grad](std::size_t i) { return grad[i]; });
    }, where);
}

/// a - b, with broadcasting.
template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b, Where where = Where::current()) {
    auto out = detail::broadcast_apply<T>(a.value(), b.value(), "sub", [](T a_i, T b_i) { return a_i - b_i; });
    return a.tape().record("sub", std::move(out), {a, b}, [](Tape<T>& tape, const Node<T>& node) {
        const T* grad = node.adjoint.data();
        // grad_a += sum_to_shape(grad, a.shape),  grad_b -= sum_to_shape(grad, b.shape)
        detail::accumulate_sum_to_shape<detail::Operand::a>(tape, node, [grad](std::size_t i) { return grad[i]; });
        detail::accumulate_sum_to_shape<detail::Operand::b>(tape, node, [grad](std::size_t i) { return -grad[i]; });
    }, where);
}

/// a * b elementwise, with broadcasting.
template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b, Where where = Where::current()) {
    auto out = detail::broadcast_apply<T>(a.value(), b.value(), "mul", [](T a_i, T b_i) { return a_i * b_i; });
    return a.tape().record("mul", std::move(out), {a, b}, [](Tape<T>& tape, const Node<T>& node) {
        const T* grad = node.adjoint.data();
        const T* a_ = tape.value(node.inputs[0]).data();
        const T* b_ = tape.value(node.inputs[1]).data();
        // grad_a += sum_to_shape(grad * b, a.shape),  grad_b += sum_to_shape(grad * a, b.shape)
        detail::accumulate_sum_to_shape<detail::Operand::a>(tape, node, [=](std::size_t i, std::size_t, std::size_t ib) { return grad[i] * b_[ib]; });
        detail::accumulate_sum_to_shape<detail::Operand::b>(tape, node, [=](std::size_t i, std::size_t ia, std::size_t) { return grad[i] * a_[ia]; });
    }, where);
}

/// a / b elementwise, with broadcasting.
template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b, Where where = Where::current()) {
    auto out = detail::broadcast_apply<T>(a.value(), b.value(), "div", [](T a_i, T b_i) { return a_i / b_i; });
    return a.tape().record("div", std::move(out), {a, b}, [](Tape<T>& tape, const Node<T>& node) {
        const T* grad = node.adjoint.data();
        const T* a_ = tape.value(node.inputs[0]).data();
        const T* b_ = tape.value(node.inputs[1]).data();
        // grad_a += sum_to_shape(grad / b, a.shape),  grad_b -= sum_to_shape(grad * a / b^2, b.shape)
        // (written grad * (1 / b): it rounds differently from grad / b, and results stay bitwise as before)
        detail::accumulate_sum_to_shape<detail::Operand::a>(tape, node, [=](std::size_t i, std::size_t, std::size_t ib) { return grad[i] * (T(1) / b_[ib]); });
        detail::accumulate_sum_to_shape<detail::Operand::b>(tape, node, [=](std::size_t i, std::size_t ia, std::size_t ib) {
            return grad[i] * (-a_[ia] / (b_[ib] * b_[ib]));
        });
    }, where);
}

/// -a. Backward: grad_a -= grad.
template <class T>
Var<T> neg(const Var<T>& a, Where where = Where::current()) {
    Tensor<T> out(a.value().shape());
    flat(out) = -flat(a.value());
    return a.tape().record("neg", std::move(out), {a}, [](Tape<T>& tape, const Node<T>& node) {
        tape.accumulate(node.inputs[0], -flat(node.adjoint));  // grad_a -= grad, written grad_a += -grad
    }, where);
}

/// a * s + t for plain numbers s, t (scale and shift). Backward: grad_a += grad * scale.
template <class T>
Var<T> affine(const Var<T>& a, T scale, T shift, Where where = Where::current()) {
    Tensor<T> out(a.value().shape());
    flat(out) = flat(a.value()) * scale + shift;
    return a.tape().record("affine", std::move(out), {a}, [scale](Tape<T>& tape, const Node<T>& node) {
        tape.accumulate(node.inputs[0], flat(node.adjoint) * scale);  // grad_a += grad * scale
    }, where);
}

/// s / a for a plain number s. Backward: grad_a -= grad * s / a^2.
template <class T>
Var<T> rdiv(T s, const Var<T>& a, Where where = Where::current()) {
    Tensor<T> out(a.value().shape());
    flat(out) = s / flat(a.value());
    return a.tape().record("rdiv", std::move(out), {a}, [s](Tape<T>& tape, const Node<T>& node) {
        const auto a_value = flat(tape.value(node.inputs[0]));
        tape.accumulate(node.inputs[0], -(flat(node.adjoint) * s / (a_value * a_value)));  // grad_a -= grad * s / a^2
    }, where);
}

// Operators. A plain number on either side becomes T (so x * 0.5 works for Dual<double> too).
// An operator cannot take the caller's line as a defaulted `where`, so the node it records names the
// operator's line below; call the named op (add, mul, affine, ...) where anomaly messages should name
// your line (nn/gpt.hpp does).
template <class S, class T>
concept PlainNumber = std::is_arithmetic_v<S> && !std::is_same_v<S, bool>;

/// add(a, b).
template <class T> Var<T> operator+(const Var<T>& a, const Var<T>& b) { return add(a, b); }
/// sub(a, b).
template <class T> Var<T> operator-(const Var<T>& a, const Var<T>& b) { return sub(a, b); }
/// mul(a, b).
template <class T> Var<T> operator*(const Var<T>& a, const Var<T>& b) { return mul(a, b); }
/// div(a, b).
template <class T> Var<T> operator/(const Var<T>& a, const Var<T>& b) { return div(a, b); }
/// neg(a).
template <class T> Var<T> operator-(const Var<T>& a) { return neg(a); }

/// a + s for a plain number s (one affine op, no constant tensor).
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator+(const Var<T>& a, S s) { return affine(a, T(1), T(s)); }
/// s + a.
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator+(S s, const Var<T>& a) { return affine(a, T(1), T(s)); }
/// a - s.
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator-(const Var<T>& a, S s) { return affine(a, T(1), T(-s)); }
/// s - a.
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator-(S s, const Var<T>& a) { return affine(a, T(-1), T(s)); }
/// a * s.
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator*(const Var<T>& a, S s) { return affine(a, T(s), T(0)); }
/// s * a.
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator*(S s, const Var<T>& a) { return affine(a, T(s), T(0)); }
/// a / s.
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator/(const Var<T>& a, S s) { return affine(a, T(1) / T(s), T(0)); }
/// s / a elementwise.
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator/(S s, const Var<T>& a) { return rdiv(T(s), a); }

}  // namespace cringe
