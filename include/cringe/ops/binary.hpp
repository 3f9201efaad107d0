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

/// How b lines up with a in a broadcast binary op. Most broadcasts in a model are one of two
/// cheap shapes, which get tight loops; everything else takes the general strided loop.
enum class BroadcastKind {
    same,     // equal shapes: one flat loop
    suffix,   // b's shape is a suffix of a's (bias [C] on [B,T,C], positions [T,C] on [B,T,C]):
              // a is `rows` repeats of a block of b.size() elements
    general   // anything else (for_each_broadcast)
};

template <class SA, class SB>
BroadcastKind broadcast_kind(const SA& a, const SB& b) {
    if (a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin())) return BroadcastKind::same;
    if (b.size() < a.size() && std::equal(b.begin(), b.end(), a.end() - static_cast<long>(b.size())) && numel(b) > 0)
        return BroadcastKind::suffix;
    return BroadcastKind::general;
}

/// out[i] = f(a[ia], b[ib]) over the broadcast shape.
template <class T, class F>
Tensor<T> broadcast_apply(const Tensor<T>& a, const Tensor<T>& b, const char* op, F f) {
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
    Tensor<T> out = Tensor<T>::from_shape(shape);
    const T* pa = a.data();
    const T* pb = b.data();
    T* po = out.data();
    switch (broadcast_kind(a.shape(), b.shape())) {
        case BroadcastKind::same:
            for (std::size_t i = 0, n = a.size(); i < n; ++i) po[i] = f(pa[i], pb[i]);
            break;
        case BroadcastKind::suffix: {
            const std::size_t block = b.size();
            for (std::size_t r = 0, rows = a.size() / block; r < rows; ++r)
                for (std::size_t j = 0; j < block; ++j) po[r * block + j] = f(pa[r * block + j], pb[j]);
            break;
        }
        case BroadcastKind::general:
            for_each_broadcast(a.shape(), b.shape(), shape,
                               [&](std::size_t i, std::size_t ia, std::size_t ib) { po[i] = f(pa[ia], pb[ib]); });
    }
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
    switch (broadcast_kind(a.shape(), b.shape())) {
        case BroadcastKind::same:
            for (std::size_t i = 0, n = a.size(); i < n; ++i) {
                if (want_a) ga[i] += pg[i] * da(pa[i], pb[i]);
                if (want_b) gb[i] += pg[i] * db(pa[i], pb[i]);
            }
            break;
        case BroadcastKind::suffix: {
            const std::size_t block = b.size();
            for (std::size_t r = 0, rows = a.size() / block; r < rows; ++r)
                for (std::size_t j = 0; j < block; ++j) {
                    const std::size_t i = r * block + j;
                    if (want_a) ga[i] += pg[i] * da(pa[i], pb[j]);
                    if (want_b) gb[j] += pg[i] * db(pa[i], pb[j]);
                }
            break;
        }
        case BroadcastKind::general:
            for_each_broadcast(a.shape(), b.shape(), to_shape(g.shape()), [&](std::size_t i, std::size_t ia, std::size_t ib) {
                if (want_a) ga[ia] += pg[i] * da(pa[ia], pb[ib]);
                if (want_b) gb[ib] += pg[i] * db(pa[ia], pb[ib]);
            });
    }
}

/// adjoint(in) += sign * (g summed over the dimensions that `in` was broadcast along).
/// The backward of add and sub: no values needed, only the reduction, done with Eigen when the
/// broadcast is the common suffix kind (a bias: sum g over rows).
template <class T>
void add_reduced(Tape<T>& tape, std::size_t in, const Tensor<T>& g, T sign) {
    if (!tape.wants_grad(in)) return;
    Tensor<T>& gin = tape.adjoint(in);
    const auto& out_shape = g.shape();
    switch (broadcast_kind(out_shape, gin.shape())) {
        case BroadcastKind::same:
            flat(gin) += sign * flat(g);
            return;
        case BroadcastKind::suffix: {
            const auto block = static_cast<Eigen::Index>(gin.size());
            ConstMatrixMap<T> rows(g.data(), static_cast<Eigen::Index>(g.size()) / block, block);
            flat(gin) += sign * rows.colwise().sum().transpose().array();
            return;
        }
        case BroadcastKind::general:
            flat(gin) += sign * flat(sum_to_shape(g, to_shape(gin.shape())));
    }
}

}  // namespace detail

/// a + b, with broadcasting.
template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b, Where where = Where::current()) {
    auto out = detail::broadcast_apply<T>(a.value(), b.value(), "add", [](T x, T y) { return x + y; });
    return a.tape().record("add", std::move(out), {a, b}, [](Tape<T>& tape, const Node<T>& node) {
        detail::add_reduced(tape, node.inputs[0], node.adjoint, T(1));
        detail::add_reduced(tape, node.inputs[1], node.adjoint, T(1));
    }, where);
}

/// a - b, with broadcasting.
template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b, Where where = Where::current()) {
    auto out = detail::broadcast_apply<T>(a.value(), b.value(), "sub", [](T x, T y) { return x - y; });
    return a.tape().record("sub", std::move(out), {a, b}, [](Tape<T>& tape, const Node<T>& node) {
        detail::add_reduced(tape, node.inputs[0], node.adjoint, T(1));
        detail::add_reduced(tape, node.inputs[1], node.adjoint, T(-1));
    }, where);
}

/// a * b elementwise, with broadcasting.
template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b, Where where = Where::current()) {
    auto out = detail::broadcast_apply<T>(a.value(), b.value(), "mul", [](T x, T y) { return x * y; });
    return a.tape().record("mul", std::move(out), {a, b}, [](Tape<T>& tape, const Node<T>& node) {
        detail::broadcast_backward<T>(tape, node, [](T, T y) { return y; }, [](T x, T) { return x; });
    }, where);
}

/// a / b elementwise, with broadcasting.
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
