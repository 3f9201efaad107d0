// cringe/ops/shape.hpp - ops that move values without arithmetic: reshape, permute, transpose,
// slice, concat. Their backward moves the gradient back the same way.
#pragma once

#include <numeric>

#include "../tape.hpp"

namespace cringe {

namespace detail {
/// out = x with its axes reordered (output axis i is input axis axes[i]), copied in output order.
/// The innermost output axis is a tight loop; when it is also the input's innermost axis (the
/// attention head split/merge, {0,2,1,3}) each run is one contiguous copy.
template <class T>
Tensor<T> permute_copy(const Tensor<T>& x, const Shape& axes) {
    const std::size_t rank = axes.size();
    const auto& in_shape = x.shape();
    std::vector<std::size_t> in_strides(rank, 1);
    for (std::size_t i = rank; i-- > 1;) in_strides[i - 1] = in_strides[i] * in_shape[i];
    Shape out_shape(rank);
    std::vector<std::size_t> strides(rank);  // input stride of each output axis
    for (std::size_t i = 0; i < rank; ++i) {
        out_shape[i] = in_shape[axes[i]];
        strides[i] = in_strides[axes[i]];
    }
    Tensor<T> out = Tensor<T>::from_shape(out_shape);
    if (out.size() == 0) return out;
    if (rank == 0) {
        out.data()[0] = x.data()[0];
        return out;
    }
    const std::size_t inner = out_shape[rank - 1], inner_stride = strides[rank - 1];
    std::vector<std::size_t> index(rank, 0);
    std::size_t src = 0;
    const T* px = x.data();
    T* po = out.data();
    for (std::size_t flat_out = 0; flat_out < out.size(); flat_out += inner) {
        if (inner_stride == 1) std::copy_n(px + src, inner, po + flat_out);
        else
            for (std::size_t j = 0; j < inner; ++j) po[flat_out + j] = px[src + j * inner_stride];
        for (std::size_t axis = rank - 1; axis-- > 0;) {  // odometer over the outer output axes
            ++index[axis];
            src += strides[axis];
            if (index[axis] < out_shape[axis]) break;
            src -= strides[axis] * out_shape[axis];
            index[axis] = 0;
        }
    }
    return out;
}
}  // namespace detail

/// x [..] -> same values in `shape` (equal element counts). Backward: reshape g back.
template <class T>
Var<T> reshape(const Var<T>& x, const Shape& shape, Where where = Where::current()) {
    if (numel(shape) != x.size())
        throw ShapeError(cat("reshape: cannot reshape ", shape_str(x.value().shape()), " (", x.size(),
                             " elements) to ", shape_str(shape), " (", numel(shape), " elements)"));
    Tensor<T> out = x.value();
    out.reshape(shape);
    return x.tape().record("reshape", std::move(out), {x}, [](Tape<T>& tape, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        if (tape.wants_grad(in)) flat(tape.adjoint(in)) += flat(node.adjoint);  // same row-major order
    }, where);
}

/// Output axis i is input axis axes[i]. Backward: permute g by the inverse permutation.
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
        const std::size_t in = node.inputs[0];
        if (!tape.wants_grad(in)) return;
        const Tensor<T> back = detail::permute_copy(node.adjoint, inverse);
        flat(tape.adjoint(in)) += flat(back);
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

/// x[..., start:stop, ...] along `axis`. Backward: g is added into that window of dx.
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
        const std::size_t in = node.inputs[0];
        if (!tape.wants_grad(in)) return;
        T* gx = tape.adjoint(in).data();
        const T* g = node.adjoint.data();
        for (std::size_t o = 0; o < s.outer; ++o)
            for (std::size_t j = 0; j < width * s.inner; ++j) gx[(o * s.n + start) * s.inner + j] += g[o * width * s.inner + j];
    }, where);
}

/// Joins tensors along `axis`; all other dimensions must agree. Backward: each input gets its window.
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
        std::size_t start = 0;  // of input k along the axis
        for (std::size_t k = 0; k < widths.size(); ++k) {
            const std::size_t in = node.inputs[k], w = widths[k];
            if (tape.wants_grad(in)) {
                T* gx = tape.adjoint(in).data();
                for (std::size_t o = 0; o < s.outer; ++o)
                    for (std::size_t j = 0; j < w * s.inner; ++j)
                        gx[o * w * s.inner + j] += node.adjoint.data()[(o * s.n + start) * s.inner + j];
            }
            start += w;
        }
    }, where);
}

}  // namespace cringe
