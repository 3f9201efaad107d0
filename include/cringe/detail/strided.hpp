// cringe/detail/strided.hpp - loops over strided memory that op files call: one slice along any axis
// as an Eigen map (softmax), and a copy with the axes permuted (permute). Speed machinery: the op
// files state what is computed, these say how to walk the buffer fast.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "eigen.hpp"

#include "../tensor.hpp"

namespace cringe::detail {

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

/// Writes x with its axes reordered (output axis i is input axis axes[i]) into `out` (the permuted
/// shape's element count), in output order, through `store(dst, src)`: called on one element, or on
/// Eigen arrays of one contiguous run, so a backward can pass its Tape store (assign or add) and a
/// forward a plain copy. The innermost output axis is a tight loop; when it is also the input's
/// innermost axis (the attention head split/merge, {0,2,1,3}) each run is one contiguous block.
template <class T, class Store>
void permute_store(const Tensor<T>& x, const Shape& axes, T* out, Store store) {
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
    const std::size_t size = numel(out_shape);
    if (size == 0) return;
    if (rank == 0) {
        store(out[0], x.data()[0]);
        return;
    }
    const std::size_t inner = out_shape[rank - 1], inner_stride = strides[rank - 1];
    const auto run = static_cast<Eigen::Index>(inner);
    std::vector<std::size_t> index(rank, 0);
    std::size_t src = 0;
    const T* px = x.data();
    for (std::size_t flat_out = 0; flat_out < size; flat_out += inner) {
        if (inner_stride == 1) store(ArrayMap<T>(out + flat_out, run), ConstArrayMap<T>(px + src, run));
        else
            for (std::size_t j = 0; j < inner; ++j) store(out[flat_out + j], px[src + j * inner_stride]);
        for (std::size_t axis = rank - 1; axis-- > 0;) {  // odometer over the outer output axes
            ++index[axis];
            src += strides[axis];
            if (index[axis] < out_shape[axis]) break;
            src -= strides[axis] * out_shape[axis];
            index[axis] = 0;
        }
    }
}

/// out = x with its axes reordered (output axis i is input axis axes[i]); see permute_store.
template <class T>
Tensor<T> permute_copy(const Tensor<T>& x, const Shape& axes) {
    Shape out_shape(axes.size());
    for (std::size_t i = 0; i < axes.size(); ++i) out_shape[i] = x.shape()[axes[i]];
    Tensor<T> out = Tensor<T>::from_shape(out_shape);
    permute_store(x, axes, out.data(), [](auto&& dst, const auto& src) { dst = src; });
    return out;
}

}  // namespace cringe::detail
