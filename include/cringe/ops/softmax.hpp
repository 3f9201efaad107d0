// cringe/ops/softmax.hpp - softmax, log_softmax and logsumexp along one axis, fused and stable.
//
// All three subtract the slice maximum m first and work with z = x - m <= 0, so logits of +-1e4
// neither overflow nor lose the small entries:
//   s = sum_i exp(z_i),   softmax = exp(z) / s,   log_softmax = z - log(s),   lse = m + log(s).
// log_softmax and softmax never form m + log(s): at |x| ~ 1e4 that sum is rounded to the ulp of 1e4
// (1.8e-12 in double, 1e-3 in float), an error that x - lse would carry into every output.
// A slice of all -inf uses m = 0 and gives lse = -inf, softmax 0 and log_softmax -inf instead of NaN;
// exp results below the smallest normal number are flushed to exactly 0 (portable_exp.hpp), so that
// masked entries are exactly 0 whatever the SIMD width.
//
// Backward (per slice, y the output, g the incoming gradient):
//   softmax:      dx_i += y_i (g_i - sum_j g_j y_j)
//   log_softmax:  dx_i += g_i - softmax_i * sum_j g_j
//   logsumexp:    dx_i += g * softmax_i
// These are fused on purpose: composed from exp, sum and div, softmax overflows (exp(1e4) = inf) and
// keeps three intermediate tensors on the tape (docs/autodiff.md, "Fused ops: layer_norm"). The
// reductions loop over the buffer, never through a lazy xtensor keep_dims reduction, which gives wrong
// values in xtensor 0.24.3 (docs/pitfalls.md, "The xtensor 0.24.3 keep_dims reduction bug").
#pragma once

#include <cmath>
#include <limits>

#include "../tape.hpp"
#include "portable_exp.hpp"

namespace cringe {

namespace detail {

/// A slice of n elements with stride S (InnerStride<1> for the contiguous last axis, which Eigen
/// vectorises; InnerStride<> with a run-time stride for the other axes).
template <class T, class S>
using Row = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>, 0, S>;
template <class T, class S>
using ConstRow = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>, 0, S>;

/// Calls f(stride) with a compile-time unit stride when the axis is the last one.
template <class F>
void with_stride(const AxisSplit& s, F f) {
    if (s.inner == 1) f(Eigen::InnerStride<1>());
    else f(Eigen::InnerStride<>(static_cast<Eigen::Index>(s.inner)));
}

/// Calls f(offset_of_first_element) for every slice along the split axis.
template <class F>
void for_each_slice(const AxisSplit& s, F f) {
    for (std::size_t o = 0; o < s.outer; ++o)
        for (std::size_t j = 0; j < s.inner; ++j) f(o * s.n * s.inner + j);
}

/// The shift of a slice: its maximum, or 0 when that is not finite (all -inf: exp(x - 0) = 0 gives
/// lse = -inf; +inf or NaN present: the result is inf or NaN as it should be, never inf - inf).
template <class T, class Row>
T slice_shift(const Row& row) {
    const T m = row.maxCoeff();
    return is_finite(m) ? m : T(0);
}

/// e = exp(row - m) with underflow flushed to 0; returns sum(e), which is >= 1 unless every entry is
/// -inf (then 0), +inf (inf) or NaN (NaN).
template <class T, class Row, class Out>
T shifted_exp(const Row& row, const T& m, Out&& e) {
    e = (row - m).exp();
    flush_exp_underflow(e);
    return e.sum();
}

enum class SoftmaxKind { softmax, log_softmax, logsumexp };

template <SoftmaxKind kind, class T>
Var<T> softmax_family(const Var<T>& x, long axis, const char* name, Where where) {
    const auto& shape = x.value().shape();
    const std::size_t ax = normalize_axis(axis, shape.size(), name);
    const AxisSplit s = split_at_axis(shape, ax);
    if (s.n == 0) throw ShapeError(cat(name, ": axis ", ax, " of shape ", shape_str(shape), " is empty"));
    const Eigen::Index n = static_cast<Eigen::Index>(s.n);
    Shape out_shape = to_shape(shape);
    if (kind == SoftmaxKind::logsumexp) out_shape[ax] = 1;  // keepdims
    Tensor<T> out = Tensor<T>::from_shape(out_shape);
    // offset of slice `off`'s single output in the logsumexp result (the axis has size 1 there)
    auto reduced = [s](std::size_t off) { return (off / (s.n * s.inner)) * s.inner + off % s.inner; };
    using std::log;
    using Real = decltype(value_of(T{}));
    Eigen::Array<T, Eigen::Dynamic, 1> e(n);  // exp(x - m) of one slice
    with_stride(s, [&](auto stride) {
        using S = decltype(stride);
        for_each_slice(s, [&](std::size_t off) {
            ConstRow<T, S> row(x.value().data() + off, n, stride);
            const T m = slice_shift<T>(row);
            const T total = shifted_exp(row, m, e);
            const bool all_minus_inf = total == T(0);  // every entry is -inf
            if constexpr (kind == SoftmaxKind::logsumexp) {
                out.data()[reduced(off)] = m + log(total);
            } else {
                Row<T, S> y(out.data() + off, n, stride);
                if constexpr (kind == SoftmaxKind::softmax) {
                    if (all_minus_inf) y.setZero();
                    else y = e / total;
                } else {
                    if (all_minus_inf) y.setConstant(T(-std::numeric_limits<Real>::infinity()));
                    else y = (row - m) - log(total);
                }
            }
        });
    });
    return x.tape().record(name, std::move(out), {x}, [s, n, reduced](Tape<T>& tape, const Node<T>& node) {
        static_cast<void>(reduced);  // only the logsumexp branch reads it (clang warns on an unused capture)
        const std::size_t in = node.inputs[0];
        if (!tape.wants_grad(in)) return;
        T* gx = tape.adjoint(in).data();
        const T* xv = tape.value(in).data();
        Eigen::Array<T, Eigen::Dynamic, 1> e_slice(n);  // exp of one slice
        with_stride(s, [&](auto stride) {
            using S = decltype(stride);
            for_each_slice(s, [&](std::size_t off) {
                Row<T, S> dx(gx + off, n, stride);
                if constexpr (kind == SoftmaxKind::softmax) {
                    ConstRow<T, S> y(node.value.data() + off, n, stride), g(node.adjoint.data() + off, n, stride);
                    const T dot = (g * y).sum();
                    dx += y * (g - dot);
                } else if constexpr (kind == SoftmaxKind::log_softmax) {
                    ConstRow<T, S> y(node.value.data() + off, n, stride), g(node.adjoint.data() + off, n, stride);
                    e_slice = y.exp();
                    flush_exp_underflow(e_slice);
                    dx += g - e_slice * g.sum();
                } else {  // logsumexp
                    ConstRow<T, S> row(xv + off, n, stride);
                    const T lse = node.value.data()[reduced(off)];
                    const T g = node.adjoint.data()[reduced(off)];
                    if (!is_finite(lse)) return;  // all -inf (no gradient), or inf/NaN inputs
                    // softmax = exp(x - m) / s as in the forward, not exp(x - lse) (see the top).
                    const T total = shifted_exp(row, slice_shift<T>(row), e_slice);
                    dx += e_slice * (g / total);
                }
            });
        });
    }, where);
}

}  // namespace detail

/// softmax along `axis` (default last).
template <class T>
Var<T> softmax(const Var<T>& x, long axis = -1, Where where = Where::current()) {
    return detail::softmax_family<detail::SoftmaxKind::softmax>(x, axis, "softmax", where);
}
/// log(softmax(x)) along `axis`, computed as (x - max) - log(sum(exp(x - max))).
template <class T>
Var<T> log_softmax(const Var<T>& x, long axis = -1, Where where = Where::current()) {
    return detail::softmax_family<detail::SoftmaxKind::log_softmax>(x, axis, "log_softmax", where);
}
/// log(sum(exp(x))) along `axis`; the reduced axis is kept with size 1.
template <class T>
Var<T> logsumexp(const Var<T>& x, long axis = -1, Where where = Where::current()) {
    return detail::softmax_family<detail::SoftmaxKind::logsumexp>(x, axis, "logsumexp", where);
}

}  // namespace cringe
