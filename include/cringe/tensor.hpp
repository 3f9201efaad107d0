// cringe/tensor.hpp - the tensor type and the small helpers every op uses.
//
// A cringe tensor is an evaluated, row-major xtensor container: xt::xarray<T>. xtensor gives us
// shapes, reshaping and views; the hot loops (matrix products, transcendental math, reductions)
// run through Eigen::Map over the same buffer (docs/design.md, "Decisions": xtensor's scalar tanh is ~60x slower than
// Eigen's vectorised one, and its lazy keep_dims reductions are buggy in 0.24.3). Nothing in cringe
// stores a lazy expression: every tensor here owns its values. Broadcasting (broadcast_shapes,
// sum_to_shape) lives with the ops that use it, in detail/broadcast.hpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <numeric>
#include <vector>

#include "detail/eigen.hpp"  // Eigen/Core (one false GCC 12 AVX-512 warning silenced)
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
