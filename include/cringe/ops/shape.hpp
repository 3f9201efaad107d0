// cringe/ops/shape.hpp - ops that move values without arithmetic: reshape, permute, transpose,
// slice, concat. Their backward moves the incoming gradient `grad` back into grad_x the same way.
#pragma once

#include <numeric>

#include "../detail/strided.hpp"
#include "../tape.hpp"

namespace cringe {

/// x [..] -> same values in `shape` (equal element counts). Backward: grad_x += reshape(grad, x.shape).
template <class T>
Var<T> reshape(const Var<T>& x, const Shape& shape, Where where = Where::current()) {
    if (numel(shape) != x.size())
        throw ShapeError(cat("reshape: cannot reshape ", shape_str(x.value().shape()), " (", x.size(),
                             " elements) to ", shape_str(shape), " (", numel(shape), " elements)"));
    Tensor<T> out = x.value();
    out.reshape(shape);
    return x.tape().record("reshape", std::move(out), {x}, [](Tape<T>& tape, const Node<T>& node) {
        tape.accumulate(node.inputs[0], flat(node.adjoint));  // grad_x += grad, in the same row-major order
    }, where);
}

/// Output axis i is input axis axes[i]. Backward: grad_x += permute(grad, inverse of axes).
template <class T>
Var<T> permute(const Var<T>& x, const Shape& axes, Where where = Where::current()) {
    const std::size_t rank = x.rank();
    Shape sorted = axes;
    std::sort(sorted.begin(), sorted.end());
    Shape identity(rank);
    std::iota(identity.begin(), identity.end(), std::size_t{0});
    if (sorted != identity)
        throw ShapeError(cat("permute: axes ", shape_str(axes), " are not a permutation of 0..", rank - 1,
                             " for a tensor of shape ", shape_str(x.value().shape())));
    Tensor<T> out = detail::permute_copy(x.value(), axes);
    Shape inverse(rank);
    for (std::size_t i = 0; i < rank; ++i) inverse[axes[i]] = i;
    return x.tape().record("permute", std::move(out), {x}, [inverse](Tape<T>& tape, const Node<T>& node) {
        // grad_x += permute(grad, inverse), moved straight into grad_x (no temporary)
        tape.accumulate(node.inputs[0], [&](Tensor<T>& grad_x, auto store) {
            detail::permute_store(node.adjoint, inverse, grad_x.data(), store);
        });
    }, where);
}

/// Swaps two axes (negative axes count from the end).
template <class T>
Var<T> transpose(const Var<T>& x, long axis0 = -2, long axis1 = -1, Where where = Where::current()) {
    const std::size_t rank = x.rank();
    Shape axes(rank);
    std::iota(axes.begin(), axes.end(), std::size_t{0});
    std::swap(axes[normalize_axis(axis0, rank, "transpose")], axes[normalize_axis(axis1, rank, "transpose")]);
    return permute(x, axes, where);
}

/// x[..., start:stop, ...] along `axis`. Backward: grad_x[..., start:stop, ...] += grad.
template <class T>
Var<T> slice(const Var<T>& x, long axis, std::size_t start, std::size_t stop, Where where = Where::current()) {
    const std::size_t ax = normalize_axis(axis, x.rank(), "slice");
    const auto& shape = x.value().shape();
    if (start > stop || stop > shape[ax])
        throw ShapeError(cat("slice: range [", start, ",", stop, ") is not inside axis ", ax, " of size ",
                             shape[ax], " (shape ", shape_str(shape), "); expected start <= stop <= size"));
    const AxisSplit s = split_at_axis(shape, ax);
    const std::size_t width = stop - start;
    Shape out_shape = to_shape(shape);
    out_shape[ax] = width;
    Tensor<T> out = Tensor<T>::from_shape(out_shape);
    for (std::size_t o = 0; o < s.outer; ++o)
        std::copy_n(x.value().data() + (o * s.n + start) * s.inner, width * s.inner, out.data() + o * width * s.inner);
    return x.tape().record("slice", std::move(out), {x}, [s, start, width](Tape<T>& tape, const Node<T>& node) {
        // Outer row o of grad_x: [0, start) and [start + width, n) get nothing (zeroed if this is the
        // first contribution), the window [start, start + width) gets row o of grad.
        tape.accumulate(node.inputs[0], [&](Tensor<T>& grad_x, auto store) {
            auto run = [&](std::size_t o, std::size_t from, std::size_t to) {  // axis positions [from, to) of row o
                return ArrayMap<T>(grad_x.data() + (o * s.n + from) * s.inner, static_cast<Eigen::Index>((to - from) * s.inner));
            };
            const auto window = static_cast<Eigen::Index>(width * s.inner);
            for (std::size_t o = 0; o < s.outer; ++o) {
                store.untouched(run(o, 0, start));
                store(run(o, start, start + width), ConstArrayMap<T>(node.adjoint.data() + o * width * s.inner, window));
                store.untouched(run(o, start + width, s.n));
            }
        });
    }, where);
}

/// Joins tensors along `axis`; all other dimensions must agree. Backward: grad_xs[k] += the window of
/// grad that xs[k] filled.
template <class T>
Var<T> concat(const std::vector<Var<T>>& xs, long axis, Where where = Where::current()) {
    if (xs.empty()) throw ShapeError("concat: no inputs; expected at least one tensor");
    const auto& first = xs[0].value().shape();
    const std::size_t ax = normalize_axis(axis, first.size(), "concat");
    std::vector<std::size_t> widths;
    Shape out_shape = to_shape(first);
    out_shape[ax] = 0;
    for (std::size_t k = 0; k < xs.size(); ++k) {
        const auto& sh = xs[k].value().shape();
        bool ok = sh.size() == first.size();
        for (std::size_t i = 0; ok && i < sh.size(); ++i) ok = i == ax || sh[i] == first[i];
        if (!ok)
            throw ShapeError(cat("concat: input ", k, " has shape ", shape_str(sh), " but input 0 has ",
                                 shape_str(first), "; expected equal shapes except along axis ", ax));
        widths.push_back(sh[ax]);
        out_shape[ax] += sh[ax];
    }
    Tensor<T> out = Tensor<T>::from_shape(out_shape);
    const AxisSplit s = split_at_axis(out_shape, ax);
    std::size_t offset = 0;
    for (std::size_t k = 0; k < xs.size(); ++k) {
        const std::size_t w = widths[k];
        for (std::size_t o = 0; o < s.outer; ++o)
            std::copy_n(xs[k].value().data() + o * w * s.inner, w * s.inner, out.data() + (o * s.n + offset) * s.inner);
        offset += w;
    }
    return xs[0].tape().record("concat", std::move(out), xs, [s, widths](Tape<T>& tape, const Node<T>& node) {
        const T* grad = node.adjoint.data();
        std::size_t start = 0;  // of input k along the axis
        for (std::size_t k = 0; k < widths.size(); ++k) {
            const std::size_t w = widths[k];
            const auto run = static_cast<Eigen::Index>(w * s.inner);
            tape.accumulate(node.inputs[k], [&](Tensor<T>& grad_x, auto store) {  // the gradient of xs[k]: every element
                for (std::size_t o = 0; o < s.outer; ++o)
                    store(ArrayMap<T>(grad_x.data() + o * w * s.inner, run), ConstArrayMap<T>(grad + (o * s.n + start) * s.inner, run));
            });
            start += w;
        }
    }, where);
}

}  // namespace cringe
