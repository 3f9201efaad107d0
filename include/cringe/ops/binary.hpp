// cringe/ops/binary.hpp - + - * / between tensors (numpy broadcasting) and with scalars.
//
// Shapes: a [..A], b [..B] -> out = broadcast(A, B).
// Backward of broadcasting: an input dimension of size 1 (or missing) was repeated to fill the
// output, so its gradient is the SUM of the output gradient over the repeats (sum_to_shape).
//   add: da += g,          db += g
//   sub: da += g,          db -= g
//   mul: da += g * b,      db += g * a
//   div: da += g / b,      db -= g * a / b^2
#pragma once

#include <type_traits>

#include "../tape.hpp"

namespace cringe {

namespace detail {

/// out[i] = f(a[ia], b[ib]) over the broadcast shape; fast path when shapes are equal.
template <class T, class F>
Tensor<T> broadcast_apply(const Tensor<T>& a, const Tensor<T>& b, const char* op, F f) {
    if (a.shape() == b.shape()) {
        Tensor<T> out(a.shape());
        const T* pa = a.data();
        const T* pb = b.data();
        T* po = out.data();
        for (std::size_t i = 0, n = a.size(); i < n; ++i) po[i] = f(pa[i], pb[i]);
        return out;
    }
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
    Tensor<T> out = Tensor<T>::from_shape(shape);
    const T* pa = a.data();
    const T* pb = b.data();
    T* po = out.data();
    for_each_broadcast(a.shape(), b.shape(), shape,
                       [&](std::size_t i, std::size_t ia, std::size_t ib) { po[i] = f(pa[ia], pb[ib]); });
    return out;
}

/// Backward of a broadcast binary op: ga[ia] += g[i] * da(a,b), gb[ib] += g[i] * db(a,b).
template <class T, class DA, class DB>
void broadcast_backward(Tape<T>& tape, const Node<T>& node, DA da, DB db) {
    const std::size_t ia_node = node.inputs[0], ib_node = node.inputs[1];
    const Tensor<T>& a = tape.value(ia_node);
    const Tensor<T>& b = tape.value(ib_node);
    const Tensor<T>& g = node.adjoint;
    const bool want_a = tape.wants_grad(ia_node), want_b = tape.wants_grad(ib_node);
    T* ga = want_a ? tape.adjoint(ia_node).data() : nullptr;
    T* gb = want_b ? tape.adjoint(ib_node).data() : nullptr;
    const T* pa = a.data();
    const T* pb = b.data();
    const T* pg = g.data();
    for_each_broadcast(a.shape(), b.shape(), to_shape(g.shape()), [&](std::size_t i, std::size_t ia, std::size_t ib) {
        if (want_a) ga[ia] += pg[i] * da(pa[ia], pb[ib]);
        if (want_b) gb[ib] += pg[i] * db(pa[ia], pb[ib]);
    });
}

}  // namespace detail

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b, Where where = Where::current()) {
    auto out = detail::broadcast_apply<T>(a.value(), b.value(), "add", [](T x, T y) { return x + y; });
    return a.tape().record("add", std::move(out), {a, b}, [](Tape<T>& tape, const Node<T>& node) {
        detail::broadcast_backward<T>(tape, node, [](T, T) { return T(1); }, [](T, T) { return T(1); });
    }, where);
}

template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b, Where where = Where::current()) {
    auto out = detail::broadcast_apply<T>(a.value(), b.value(), "sub", [](T x, T y) { return x - y; });
    return a.tape().record("sub", std::move(out), {a, b}, [](Tape<T>& tape, const Node<T>& node) {
        detail::broadcast_backward<T>(tape, node, [](T, T) { return T(1); }, [](T, T) { return T(-1); });
    }, where);
}

template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b, Where where = Where::current()) {
    auto out = detail::broadcast_apply<T>(a.value(), b.value(), "mul", [](T x, T y) { return x * y; });
    return a.tape().record("mul", std::move(out), {a, b}, [](Tape<T>& tape, const Node<T>& node) {
        detail::broadcast_backward<T>(tape, node, [](T, T y) { return y; }, [](T x, T) { return x; });
    }, where);
}

template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b, Where where = Where::current()) {
    auto out = detail::broadcast_apply<T>(a.value(), b.value(), "div", [](T x, T y) { return x / y; });
    return a.tape().record("div", std::move(out), {a, b}, [](Tape<T>& tape, const Node<T>& node) {
        detail::broadcast_backward<T>(tape, node, [](T, T y) { return T(1) / y; },
                                      [](T x, T y) { return -x / (y * y); });
    }, where);
}

/// -a. Backward: da -= g.
template <class T>
Var<T> neg(const Var<T>& a, Where where = Where::current()) {
    Tensor<T> out(a.value().shape());
    flat(out) = -flat(a.value());
    return a.tape().record("neg", std::move(out), {a}, [](Tape<T>& tape, const Node<T>& node) {
        if (tape.wants_grad(node.inputs[0])) flat(tape.adjoint(node.inputs[0])) -= flat(node.adjoint);
    }, where);
}

/// a * s + t for plain numbers s, t (scale and shift). Backward: da += g * s.
template <class T>
Var<T> affine(const Var<T>& a, T scale, T shift, Where where = Where::current()) {
    Tensor<T> out(a.value().shape());
    flat(out) = flat(a.value()) * scale + shift;
    return a.tape().record("affine", std::move(out), {a}, [scale](Tape<T>& tape, const Node<T>& node) {
        if (tape.wants_grad(node.inputs[0])) flat(tape.adjoint(node.inputs[0])) += flat(node.adjoint) * scale;
    }, where);
}

/// s / a for a plain number s. Backward: da -= g * s / a^2.
template <class T>
Var<T> rdiv(T s, const Var<T>& a, Where where = Where::current()) {
    Tensor<T> out(a.value().shape());
    flat(out) = s / flat(a.value());
    return a.tape().record("rdiv", std::move(out), {a}, [s](Tape<T>& tape, const Node<T>& node) {
        const auto x = flat(tape.value(node.inputs[0]));
        if (tape.wants_grad(node.inputs[0])) flat(tape.adjoint(node.inputs[0])) -= flat(node.adjoint) * s / (x * x);
    }, where);
}

// Operators. A plain number on either side becomes T (so x * 0.5 works for Dual<double> too).
template <class S, class T>
concept PlainNumber = std::is_arithmetic_v<S> && !std::is_same_v<S, bool>;

template <class T> Var<T> operator+(const Var<T>& a, const Var<T>& b) { return add(a, b); }
template <class T> Var<T> operator-(const Var<T>& a, const Var<T>& b) { return sub(a, b); }
template <class T> Var<T> operator*(const Var<T>& a, const Var<T>& b) { return mul(a, b); }
template <class T> Var<T> operator/(const Var<T>& a, const Var<T>& b) { return div(a, b); }
template <class T> Var<T> operator-(const Var<T>& a) { return neg(a); }

template <class T, class S> requires PlainNumber<S, T>
Var<T> operator+(const Var<T>& a, S s) { return affine(a, T(1), T(s)); }
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator+(S s, const Var<T>& a) { return affine(a, T(1), T(s)); }
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator-(const Var<T>& a, S s) { return affine(a, T(1), T(-s)); }
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator-(S s, const Var<T>& a) { return affine(a, T(-1), T(s)); }
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator*(const Var<T>& a, S s) { return affine(a, T(s), T(0)); }
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator*(S s, const Var<T>& a) { return affine(a, T(s), T(0)); }
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator/(const Var<T>& a, S s) { return affine(a, T(1) / T(s), T(0)); }
template <class T, class S> requires PlainNumber<S, T>
Var<T> operator/(S s, const Var<T>& a) { return rdiv(T(s), a); }

}  // namespace cringe
