// cringe/ops/embedding.hpp - integer indexing: embedding rows and gathering along the last axis.
#pragma once

#include "../tape.hpp"

namespace cringe {

namespace detail {
inline void check_ids(const IdTensor& ids, std::size_t limit, const char* op, const char* what) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto id = ids.data()[i];
        if (id < 0 || static_cast<std::size_t>(id) >= limit)
            throw ValueError(cat(op, ": id ", id, " at flat position ", i, " of ids ", shape_str(ids.shape()),
                                 " is out of range; expected 0 <= id < ", limit, " (", what, ")"));
    }
}
}  // namespace detail

/// Rows of `weight` [V,C] picked by `ids` [...] -> result [..., C].
/// Backward: grad_weight[ids[i]] += grad[i] (a row used twice receives both contributions).
template <class T>
Var<T> embedding(const Var<T>& weight, const IdTensor& ids, Where where = Where::current()) {
    const auto& ws = weight.value().shape();
    if (ws.size() != 2) throw ShapeError(cat("embedding: weight has shape ", shape_str(ws), "; expected [V,C]"));
    const std::size_t V = ws[0], C = ws[1];
    detail::check_ids(ids, V, "embedding", "the vocabulary size");
    Shape out_shape = to_shape(ids.shape());
    out_shape.push_back(C);
    Tensor<T> out = Tensor<T>::from_shape(out_shape);
    for (std::size_t i = 0; i < ids.size(); ++i)
        std::copy_n(weight.value().data() + static_cast<std::size_t>(ids.data()[i]) * C, C, out.data() + i * C);
    return weight.tape().record("embedding", std::move(out), {weight}, [ids, C](Tape<T>& tape, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        if (!tape.wants_grad(in)) return;
        const T* grad = node.adjoint.data();
        T* grad_weight = tape.adjoint(in).data();
        const Eigen::Index c = static_cast<Eigen::Index>(C);
        for (std::size_t i = 0; i < ids.size(); ++i)
            ArrayMap<T>(grad_weight + static_cast<std::size_t>(ids.data()[i]) * C, c) += ConstArrayMap<T>(grad + i * C, c);
    }, where);
}

/// result[...] = x[..., ids[...]] for x [..., V] and ids [...]. Backward: grad_x[..., ids] += grad.
template <class T>
Var<T> gather_last(const Var<T>& x, const IdTensor& ids, Where where = Where::current()) {
    const auto& xs = x.value().shape();
    if (xs.empty() || ids.dimension() + 1 != xs.size() || !std::equal(ids.shape().begin(), ids.shape().end(), xs.begin()))
        throw ShapeError(cat("gather_last: x has shape ", shape_str(xs), " and ids ", shape_str(ids.shape()),
                             "; expected ids to have x's shape without its last axis"));
    const std::size_t V = xs.back();
    detail::check_ids(ids, V, "gather_last", "the size of x's last axis");
    Tensor<T> out(ids.shape());
    for (std::size_t i = 0; i < ids.size(); ++i) out.data()[i] = x.value().data()[i * V + static_cast<std::size_t>(ids.data()[i])];
    return x.tape().record("gather_last", std::move(out), {x}, [ids, V](Tape<T>& tape, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        if (!tape.wants_grad(in)) return;
        const T* grad = node.adjoint.data();
        T* grad_x = tape.adjoint(in).data();
        for (std::size_t i = 0; i < ids.size(); ++i) grad_x[i * V + static_cast<std::size_t>(ids.data()[i])] += grad[i];
    }, where);
}

}  // namespace cringe
