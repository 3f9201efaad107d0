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
// Backward (per slice; result the output, grad the incoming gradient, grad_x x's gradient):
//   softmax:      grad_x_i += result_i (grad_i - sum_j grad_j result_j)
//   log_softmax:  grad_x_i += grad_i - softmax_i * sum_j grad_j      (softmax = e^result)
//   logsumexp:    grad_x_i += grad * softmax_i                        (grad: one number per slice)
// These are fused on purpose: composed from exp, sum and div, softmax overflows (exp(1e4) = inf) and
// keeps three intermediate tensors on the tape (docs/autodiff.md, "Fused ops: layer_norm"). The
// reductions loop over the buffer, never through a lazy xtensor keep_dims reduction, which gives wrong
// values in xtensor 0.24.3 (docs/pitfalls.md, "The xtensor 0.24.3 keep_dims reduction bug").
#pragma once

#include <cmath>
#include <limits>

#include "../detail/strided.hpp"
#include "../tape.hpp"
#include "portable_exp.hpp"

namespace cringe {

namespace detail {

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
        const T* x_value = tape.value(in).data();
        Eigen::Array<T, Eigen::Dynamic, 1> e_slice(n);  // exp of one slice
        tape.accumulate(in, [&](Tensor<T>& grad_x_tensor, auto store) {  // store: grad_x = or += (tape.hpp)
            T* grad_x_data = grad_x_tensor.data();
            with_stride(s, [&](auto stride) {
                using S = decltype(stride);
                for_each_slice(s, [&](std::size_t off) {
                    Row<T, S> grad_x(grad_x_data + off, n, stride);
                    if constexpr (kind == SoftmaxKind::softmax) {
                        ConstRow<T, S> result(node.value.data() + off, n, stride), grad(node.adjoint.data() + off, n, stride);
                        const T dot = (grad * result).sum();
                        store(grad_x, result * (grad - dot));  // grad_x += result * (grad - dot)
                    } else if constexpr (kind == SoftmaxKind::log_softmax) {
                        ConstRow<T, S> result(node.value.data() + off, n, stride), grad(node.adjoint.data() + off, n, stride);
                        e_slice = result.exp();
                        flush_exp_underflow(e_slice);
                        store(grad_x, grad - e_slice * grad.sum());  // grad_x += grad - e * sum(grad)
                    } else {  // logsumexp
                        ConstRow<T, S> x_row(x_value + off, n, stride);
                        const T result = node.value.data()[reduced(off)];
                        const T grad = node.adjoint.data()[reduced(off)];
                        if (!is_finite(result)) {  // all -inf (no gradient), or inf/NaN inputs
                            store.untouched(grad_x);
                            return;
                        }
                        // softmax = exp(x - m) / s as in the forward, not exp(x - result) (see the top).
                        const T total = shifted_exp(x_row, slice_shift<T>(x_row), e_slice);
                        store(grad_x, e_slice * (grad / total));  // grad_x += e * (grad / total)
                    }
                });
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
