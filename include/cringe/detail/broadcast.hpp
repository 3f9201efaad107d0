// cringe/detail/broadcast.hpp - numpy broadcasting: the result shape, ONE loop over the elements of a
// broadcast (the forward of every broadcasting op) and ONE backward, sum_to_shape.
//
// Broadcasting lines two shapes up from the right; a dimension of size 1 (or a missing one) is
// repeated to fill the other's: [3,4] with [4] gives [3,4], [3,1] with [1,4] gives [3,4]. Its backward
// follows from that: an input element repeated over k result elements receives the SUM of their
// gradients, so an op's backward reads  grad_in += sum_to_shape(grad_term, in.shape).
//
// The rest of this file is speed machinery an op file does not need to read: most broadcasts in a
// model are one of two cheap kinds (equal shapes; a bias [C] over [B,T,C]) and get tight loops, and
// everything else takes a general strided loop. Every path visits the result's elements in the same
// order (0, 1, 2, ...), so which one runs never changes a value.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "../tape.hpp"
#include "../tensor.hpp"

namespace cringe {

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

namespace detail {

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

/// The general path of for_each_broadcast: an odometer over the result's multi-index with stride-0
/// axes for the broadcast dimensions; the innermost axis is a tight loop.
template <class SA, class SB, class Visit>
void for_each_broadcast_strided(const SA& a, const SB& b, const Shape& out, Visit&& visit) {
    const std::size_t rank = out.size();
    const auto sa = broadcast_strides(a, rank);
    const auto sb = broadcast_strides(b, rank);
    const std::size_t total = numel(out);
    if (rank == 0) {
        visit(std::size_t{0}, std::size_t{0}, std::size_t{0});
        return;
    }
    std::vector<std::size_t> index(rank, 0);
    std::size_t ia = 0, ib = 0;
    const std::size_t inner = out[rank - 1];
    for (std::size_t flat_index = 0; flat_index < total; flat_index += inner) {
        for (std::size_t j = 0; j < inner; ++j) visit(flat_index + j, ia + j * sa[rank - 1], ib + j * sb[rank - 1]);
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

/// How b lines up with a in a broadcast: the two cheap kinds get tight loops.
enum class BroadcastKind {
    same,     ///< equal shapes: one flat loop
    suffix,   ///< b's shape is a proper suffix of a's (a bias [C] on [B,T,C], positions [T,C] on [B,T,C]):
              ///< a is a whole number of repeats of a block of b's size
    general   ///< anything else (for_each_broadcast_strided)
};

/// The kind of broadcasting b against a.
template <class SA, class SB>
BroadcastKind broadcast_kind(const SA& a, const SB& b) {
    if (a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin())) return BroadcastKind::same;
    if (b.size() < a.size() && std::equal(b.begin(), b.end(), a.end() - static_cast<long>(b.size())) && numel(b) > 0)
        return BroadcastKind::suffix;
    return BroadcastKind::general;
}

/// THE broadcast loop: calls visit(i, ia, ib) for every element i of `out` (the broadcast of shapes
/// a and b, from broadcast_shapes), in order, with ia and ib the flat offsets of the elements of a
/// and b that line up with it. Both the forward of every broadcasting op and THE backward,
/// sum_to_shape, run through it. `flatten` inlines `visit` into each of the three paths: these are
/// the hot loops of every binary op, and without it GCC 12 calls the visitor per element in some of
/// them (measured: mul 1.5-1.9x slower).
template <class SA, class SB, class Visit>
[[gnu::flatten]] void for_each_broadcast(const SA& a, const SB& b, const Shape& out, Visit&& visit) {
    switch (broadcast_kind(a, b)) {
        case BroadcastKind::same:
            for (std::size_t i = 0, n = numel(out); i < n; ++i) visit(i, i, i);
            return;
        case BroadcastKind::suffix: {
            const std::size_t block = numel(b);
            for (std::size_t r = 0, rows = numel(out) / block; r < rows; ++r)
                for (std::size_t j = 0; j < block; ++j) visit(r * block + j, r * block + j, j);
            return;
        }
        case BroadcastKind::general:
            for_each_broadcast_strided(a, b, out, visit);
    }
}

/// The forward of a broadcasting binary op: result[i] = f(a[ia], b[ib]) over the broadcast shape
/// (ShapeError naming `op` when the shapes do not broadcast).
template <class T, class F>
Tensor<T> broadcast_apply(const Tensor<T>& a, const Tensor<T>& b, const char* op, F f) {
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
    Tensor<T> out = Tensor<T>::from_shape(shape);
    const T* pa = a.data();
    const T* pb = b.data();
    T* po = out.data();
    for_each_broadcast(a.shape(), b.shape(), shape, [&](std::size_t i, std::size_t ia, std::size_t ib) { po[i] = f(pa[ia], pb[ib]); });
    return out;
}

/// Which input of a binary node a gradient belongs to.
enum class Operand { a, b };

/// THE backward of broadcasting, the loop behind sum_to_shape: for every element i of the broadcast
/// `out` of shapes a and b, in order, store(dst[k], term(i, ia, ib)) with k = ia (Operand::a) or ib.
/// An element of the operand repeated over several results receives their terms one after another,
/// in the order of i, so the sum is the same for every path and every caller.
template <Operand operand, class SA, class SB, class T, class Store, class Term>
void sum_to_shape_into(const SA& a, const SB& b, const Shape& out, T* dst, Store store, Term term) {
    for_each_broadcast(a, b, out, [&](std::size_t i, std::size_t ia, std::size_t ib) {
        if constexpr (operand == Operand::a) store(dst[ia], term(i, ia, ib));
        else store(dst[ib], term(i, ia, ib));
    });
}

}  // namespace detail

/// Sums `grad`, of a broadcast shape, back to the shape `to` that was broadcast to it: THE backward
/// of broadcasting (each element of `to` gets the sum over the result elements it was repeated to).
template <class T>
Tensor<T> sum_to_shape(const Tensor<T>& grad, const Shape& to) {
    const Shape from = to_shape(grad.shape());
    Tensor<T> out = zeros<T>(to);
    const T* pg = grad.data();
    detail::sum_to_shape_into<detail::Operand::b>(from, to, from, out.data(), StoreAdd<T>{},
                                                  [pg](std::size_t i, std::size_t, std::size_t) { return pg[i]; });
    return out;
}

namespace detail {

/// The backward of a broadcasting binary node for one operand, through Tape::accumulate:
///   grad_a += sum_to_shape(term, a.shape)   (Operand::a; likewise b)
/// where the term of result element i is term(i) when it needs nothing else (add: grad[i]), or
/// term(i, ia, ib) when it reads the operands (mul's grad_a: grad[i] * b[ib]). A term of i alone is
/// summed over the pair (result, operand): for an operand shaped like the result that is one flat
/// loop. The first contribution of a backward assigns (write-first); an operand that was broadcast
/// sums several terms per element, so it starts from zero instead.
template <Operand operand, class T, class Term>
void accumulate_sum_to_shape(Tape<T>& tape, const Node<T>& node, Term term) {
    const std::size_t input = node.inputs[operand == Operand::a ? 0 : 1];
    const Shape out = to_shape(node.adjoint.shape());
    auto sum_into = [&](T* dst, auto store) {
        if constexpr (std::is_invocable_v<Term&, std::size_t>) {
            const Shape to = to_shape(tape.value(input).shape());
            sum_to_shape_into<Operand::b>(out, to, out, dst, store, [&](std::size_t i, std::size_t, std::size_t) { return term(i); });
        } else {
            const Shape a = to_shape(tape.value(node.inputs[0]).shape());
            const Shape b = to_shape(tape.value(node.inputs[1]).shape());
            sum_to_shape_into<operand>(a, b, out, dst, store, term);
        }
    };
    tape.accumulate(input, [&](Tensor<T>& grad_in, auto store) {
        if constexpr (decltype(store)::assigns) {
            if (grad_in.size() != numel(out)) {  // broadcast: terms are summed, from zero
                flat(grad_in).setZero();
                sum_into(grad_in.data(), StoreAdd<T>{});
                return;
            }
        }
        sum_into(grad_in.data(), store);
    });
}

}  // namespace detail

}  // namespace cringe
