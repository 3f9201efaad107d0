// cringe/tensor.hpp - the tensor type and the small helpers every op uses.
//
// A cringe tensor is an evaluated, row-major xtensor container: xt::xarray<T>. xtensor gives us
// shapes, reshaping and views; the hot loops (matrix products, transcendental math, reductions)
// run through Eigen::Map over the same buffer (docs/design.md, "Decisions": xtensor's scalar tanh is ~60x slower than
// Eigen's vectorised one, and its lazy keep_dims reductions are buggy in 0.24.3). Nothing in cringe
// stores a lazy expression: every tensor here owns its values.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <numeric>
#include <vector>

#include <Eigen/Core>
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xio.hpp>  // std::cout << tensor

#include "detail/buffer_cache.hpp"  // AlignedAllocator: where tensor buffers come from (speed machinery)
#include "error.hpp"

namespace cringe {

/// N-d tensor of T, row-major, evaluated, 64-byte aligned.
template <class T>
using Tensor = xt::xarray<T, xt::layout_type::row_major, AlignedAllocator<T>>;

/// Tensor of token ids (embedding lookups, targets, sampled ids).
using IdTensor = xt::xarray<std::int64_t, xt::layout_type::row_major>;

/// One token id: an index into a vocabulary (int64, the element type of IdTensor and of PyTorch's ids).
using TokenId = std::int64_t;

/// A sequence of token ids (a prompt, a context, a reply): what the tokenizer encodes to, generation
/// takes and returns, and a training example holds. The one spelling of it in the library.
using Tokens = std::vector<TokenId>;

/// A shape as the public API takes it.
using Shape = std::vector<std::size_t>;

/// Number of elements of a shape (1 for a scalar shape []).
template <class S>
std::size_t numel(const S& shape) {
    return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
}

/// A Shape from any sequence of sizes.
template <class S>
Shape to_shape(const S& s) {
    return Shape(s.begin(), s.end());
}

/// A tensor of the given shape filled with `fill`.
template <class T>
Tensor<T> full(const Shape& shape, T fill) {
    Tensor<T> t = Tensor<T>::from_shape(shape);
    std::fill(t.begin(), t.end(), fill);
    return t;
}

/// A tensor of zeros.
template <class T>
Tensor<T> zeros(const Shape& shape) {
    return full<T>(shape, T(0));
}

/// A tensor from a flat list of values and a shape; throws if the sizes differ.
template <class T>
Tensor<T> from_values(const Shape& shape, const std::vector<T>& values) {
    if (values.size() != numel(shape))
        throw ShapeError(cat("from_values: ", values.size(), " values do not fill shape ",
                             shape_str(shape), " (", numel(shape), " elements)"));
    Tensor<T> t = Tensor<T>::from_shape(shape);
    std::copy(values.begin(), values.end(), t.begin());
    return t;
}

/// A scalar (rank-0) tensor.
template <class T>
Tensor<T> scalar_tensor(T value) {
    Tensor<T> t(typename Tensor<T>::shape_type{});
    t() = value;
    return t;
}

/// Converts a tensor to another scalar type (double -> Dual<double>, double -> float, ...).
template <class To, class From>
Tensor<To> tensor_cast(const Tensor<From>& x) {
    Tensor<To> out(x.shape());
    std::transform(x.begin(), x.end(), out.begin(), [](const From& v) { return To(v); });
    return out;
}

/// Shape of the result of broadcasting a and b (numpy rules), or throws naming `op`.
template <class SA, class SB>
Shape broadcast_shapes(const SA& a, const SB& b, const char* op) {
    const std::size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        const std::size_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const std::size_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da != db && da != 1 && db != 1)
            throw ShapeError(cat(op, ": shapes ", shape_str(a), " and ", shape_str(b),
                                 " do not broadcast (dimension ", i, ": ", da, " vs ", db,
                                 "); expected equal sizes or 1"));
        out[i] = da == 1 ? db : da;
    }
    return out;
}

/// Row-major strides of `shape` aligned to a broadcast result of rank `rank`: a broadcast
/// (size-1 or missing) dimension gets stride 0, so indexing with the result's multi-index reads
/// the right element of the smaller tensor.
template <class S>
std::vector<std::size_t> broadcast_strides(const S& shape, std::size_t rank) {
    std::vector<std::size_t> strides(rank, 0);
    std::size_t stride = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        const std::size_t out_axis = i + (rank - shape.size());
        strides[out_axis] = shape[i] == 1 ? 0 : stride;
        stride *= shape[i];
    }
    return strides;
}

/// Calls visit(out_index, a_index, b_index) for every element of the broadcast of shapes a and b
/// (flat offsets). Used by binary ops (forward) and by their backward (reduce to input shape).
template <class SA, class SB, class Visit>
void for_each_broadcast(const SA& a, const SB& b, const Shape& out, Visit&& visit) {
    const std::size_t rank = out.size();
    const auto sa = broadcast_strides(a, rank);
    const auto sb = broadcast_strides(b, rank);
    const std::size_t total = numel(out);
    if (rank == 0) {
        visit(std::size_t{0}, std::size_t{0}, std::size_t{0});
        return;
    }
    // Odometer over the output's multi-index; the innermost axis is a tight loop.
    std::vector<std::size_t> index(rank, 0);
    std::size_t ia = 0, ib = 0;
    const std::size_t inner = out[rank - 1];
    for (std::size_t flat = 0; flat < total; flat += inner) {
        for (std::size_t j = 0; j < inner; ++j) visit(flat + j, ia + j * sa[rank - 1], ib + j * sb[rank - 1]);
        for (std::size_t axis = rank - 1; axis-- > 0;) {
            ++index[axis];
            ia += sa[axis];
            ib += sb[axis];
            if (index[axis] < out[axis]) break;
            ia -= sa[axis] * out[axis];
            ib -= sb[axis] * out[axis];
            index[axis] = 0;
        }
    }
}

/// Sums a tensor of the broadcast shape `from` back to `to` (the backward of broadcasting).
template <class T>
Tensor<T> sum_to_shape(const Tensor<T>& grad, const Shape& to) {
    const Shape from = to_shape(grad.shape());
    if (from == to) return grad;
    Tensor<T> out = zeros<T>(to);
    T* o = out.data();
    const T* g = grad.data();
    for_each_broadcast(from, to, from, [&](std::size_t i, std::size_t, std::size_t j) { o[j] += g[i]; });
    return out;
}

/// Eigen views of a tensor's buffer: flat arrays for elementwise math, row-major matrices for GEMM.
template <class T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
/// ArrayMap over const data.
template <class T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
/// A dynamic row-major Eigen matrix.
template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/// A row-major matrix view of a buffer.
template <class T>
using MatrixMap = Eigen::Map<RowMatrix<T>>;
/// A read-only row-major matrix view.
template <class T>
using ConstMatrixMap = Eigen::Map<const RowMatrix<T>>;

/// A tensor's elements as one Eigen array (a view, no copy).
template <class T>
ArrayMap<T> flat(Tensor<T>& t) {
    return ArrayMap<T>(t.data(), static_cast<Eigen::Index>(t.size()));
}
/// The same, read-only.
template <class T>
ConstArrayMap<T> flat(const Tensor<T>& t) {
    return ConstArrayMap<T>(t.data(), static_cast<Eigen::Index>(t.size()));
}

/// Normalises a possibly negative axis (-1 = last) against `rank`, or throws naming `op`.
inline std::size_t normalize_axis(long axis, std::size_t rank, const char* op) {
    const long r = static_cast<long>(rank);
    if (axis < -r || axis >= r)
        throw ShapeError(cat(op, ": axis ", axis, " is out of range for a tensor of rank ", rank,
                             "; expected -", rank, " <= axis < ", rank));
    return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

/// Splits a shape around `axis` into (outer, n, inner) so that element (o, i, j) sits at
/// o * n * inner + i * inner + j: every axis-wise op (sum, max, softmax, ...) loops like this.
struct AxisSplit {
    std::size_t outer;  ///< product of the sizes before the axis
    std::size_t n;      ///< the axis's size
    std::size_t inner;  ///< product of the sizes after the axis
};
/// The (outer, n, inner) split of `shape` at `axis`.
template <class S>
AxisSplit split_at_axis(const S& shape, std::size_t axis) {
    AxisSplit s{1, shape[axis], 1};
    for (std::size_t i = 0; i < axis; ++i) s.outer *= shape[i];
    for (std::size_t i = axis + 1; i < shape.size(); ++i) s.inner *= shape[i];
    return s;
}

}  // namespace cringe
