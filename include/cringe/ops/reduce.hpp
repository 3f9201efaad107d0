// cringe/ops/reduce.hpp - sum, mean and max over axes.
//
// Shapes: x [..] reduced over `axes` -> the same shape with those axes set to 1 (keepdims) or removed.
// Backward (grad: the incoming gradient, shaped like the result; grad_x: x's gradient):
//   sum:  every element of x contributed once, so grad_x += grad broadcast back to x's shape (the
//         forward of sum with keepdims is sum_to_shape(x, kept shape), and this is its transpose).
//   mean: the same divided by the number of reduced elements (a sum, then an affine).
//   max:  only the (first) arg-max reached the result, so only it gets grad. Kink at ties.
// (torch.amax splits grad evenly among tied maxima instead; torch.max(x, dim) gives it to one index.)
// A slice holding a NaN has max NaN wherever the NaN sits, and the first NaN gets g (as PyTorch).
#pragma once

#include <algorithm>

#include "../detail/broadcast.hpp"
#include "../tape.hpp"

namespace cringe {

namespace detail {

/// The keepdims shape of reducing `shape` over `axes` (all axes when empty), validated.
template <class S>
Shape reduced_shape(const S& shape, const std::vector<long>& axes, const char* op) {
    Shape keep = to_shape(shape);
    if (axes.empty()) {
        std::fill(keep.begin(), keep.end(), std::size_t{1});
        return keep;
    }
    std::vector<bool> seen(shape.size(), false);
    for (long a : axes) {
        const std::size_t ax = normalize_axis(a, shape.size(), op);
        if (seen[ax]) throw ShapeError(cat(op, ": axis ", a, " is listed twice for shape ", shape_str(shape)));
        seen[ax] = true;
        keep[ax] = 1;
    }
    return keep;
}

}  // namespace detail

/// Sum over `axes` (every axis when empty).
template <class T>
Var<T> sum(const Var<T>& x, const std::vector<long>& axes = {}, bool keepdims = false, Where where = Where::current()) {
    const auto& shape = x.value().shape();
    const Shape keep = detail::reduced_shape(shape, axes, "sum");
    Shape out_shape;  // keepdims: keep; else drop exactly the reduced axes
    std::vector<bool> reduced(shape.size(), axes.empty());
    for (long a : axes) reduced[normalize_axis(a, shape.size(), "sum")] = true;
    for (std::size_t i = 0; i < shape.size(); ++i)
        if (keepdims || !reduced[i]) out_shape.push_back(keep[i]);
    const Shape xs = to_shape(shape);
    // One number: Eigen's vectorised sum; otherwise the backward of broadcasting, run forward.
    Tensor<T> out = numel(keep) == 1 ? scalar_tensor<T>(flat(x.value()).sum()) : sum_to_shape(x.value(), keep);
    out.reshape(out_shape);
    return x.tape().record("sum", std::move(out), {x}, [xs, keep](Tape<T>& tape, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        if (!tape.wants_grad(in)) return;
        const T* grad = node.adjoint.data();
        T* grad_x = tape.adjoint(in).data();
        // grad_x += grad broadcast to x's shape (the result's shape with keepdims is `keep`)
        detail::for_each_broadcast(xs, keep, xs, [&](std::size_t i, std::size_t, std::size_t j) { grad_x[i] += grad[j]; });
    }, where);
}

/// Mean over `axes` (every axis when empty).
template <class T>
Var<T> mean(const Var<T>& x, const std::vector<long>& axes = {}, bool keepdims = false, Where where = Where::current()) {
    const Shape keep = detail::reduced_shape(x.value().shape(), axes, "mean");
    const std::size_t count = x.size() / std::max<std::size_t>(numel(keep), 1);
    if (count == 0) throw ShapeError(cat("mean: reducing an empty tensor of shape ", shape_str(x.value().shape())));
    return sum(x, axes, keepdims, where) * (1.0 / static_cast<double>(count));
}

/// Maximum along one axis (NaN if the slice holds one). Backward routes grad to the first arg-max of
/// each slice (or its first NaN).
template <class T>
Var<T> max(const Var<T>& x, long axis = -1, bool keepdims = false, Where where = Where::current()) {
    const auto& shape = x.value().shape();
    const std::size_t ax = normalize_axis(axis, shape.size(), "max");
    const AxisSplit s = split_at_axis(shape, ax);
    if (s.n == 0) throw ShapeError(cat("max: axis ", ax, " of shape ", shape_str(shape), " is empty"));
    Shape out_shape = to_shape(shape);
    if (keepdims) out_shape[ax] = 1;
    else out_shape.erase(out_shape.begin() + static_cast<long>(ax));
    Tensor<T> out = Tensor<T>::from_shape(out_shape);
    std::vector<std::size_t> argmax(s.outer * s.inner);
    const T* px = x.value().data();
    for (std::size_t o = 0; o < s.outer; ++o)
        for (std::size_t j = 0; j < s.inner; ++j) {
            std::size_t best = 0;
            for (std::size_t i = 0; i < s.n; ++i) {
                const T& v = px[(o * s.n + i) * s.inner + j];
                if (value_of(v) != value_of(v)) {  // NaN: it is the max (a plain > would skip it)
                    best = i;
                    break;
                }
                if (v > px[(o * s.n + best) * s.inner + j]) best = i;
            }
            argmax[o * s.inner + j] = (o * s.n + best) * s.inner + j;
            out.data()[o * s.inner + j] = px[argmax[o * s.inner + j]];
        }
    return x.tape().record("max", std::move(out), {x}, [argmax](Tape<T>& tape, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        if (!tape.wants_grad(in)) return;
        const T* grad = node.adjoint.data();
        T* grad_x = tape.adjoint(in).data();
        for (std::size_t k = 0; k < argmax.size(); ++k) grad_x[argmax[k]] += grad[k];  // grad_x[argmax] += grad
    }, where);
}

}  // namespace cringe
