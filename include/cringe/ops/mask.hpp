// cringe/ops/mask.hpp - masked_fill (causal attention masks) and dropout.
#pragma once

#include "../detail/broadcast.hpp"
#include "../rng.hpp"
#include "../tape.hpp"

namespace cringe {

/// A boolean tensor: true where an element is masked.
using Mask = xt::xarray<bool, xt::layout_type::row_major>;

/// result = mask ? value : x, with `mask` broadcastable to x's shape (e.g. a [T,T] causal mask over
/// [B,H,T,T] scores). Backward: the filled positions are constants, so grad_x += grad where !mask.
/// The node keeps the mask itself (a copy, [T,T] for attention) and walks it again in the backward,
/// rather than a mask broadcast to x's shape: that was B*H*T*T bytes per call, allocated fresh every
/// step (at the medium benchmark, 1 MiB per layer and about 1000 page faults per training step).
template <class T>
Var<T> masked_fill(const Var<T>& x, const Mask& mask, T value, Where where = Where::current()) {
    const Shape xs = x.shape();
    const Shape out_shape = broadcast_shapes(xs, mask.shape(), "masked_fill");
    if (out_shape != xs)
        throw ShapeError(cat("masked_fill: mask ", shape_str(mask.shape()), " does not broadcast to x ",
                             shape_str(xs), " without growing it; expected a mask broadcastable to x"));
    Tensor<T> out = x.value();
    detail::for_each_broadcast(xs, mask.shape(), xs, [&](std::size_t i, std::size_t, std::size_t m) {
        if (mask.data()[m]) out.data()[i] = value;
    });
    return x.tape().record("masked_fill", std::move(out), {x}, [xs, mask](Tape<T>& tape, const Node<T>& node) {
        const T* grad = node.adjoint.data();
        tape.accumulate(node.inputs[0], [&](Tensor<T>& grad_x, auto store) {
            detail::for_each_broadcast(xs, mask.shape(), xs, [&](std::size_t i, std::size_t, std::size_t m) {
                if (mask.data()[m]) store.untouched(grad_x.data()[i]);  // a filled element gets no gradient
                else store(grad_x.data()[i], grad[i]);                   // grad_x += grad where kept
            });
        });
    }, where);
}

/// Inverted dropout: each element is zeroed with probability p and the rest scaled by 1/(1-p), so
/// the expectation is unchanged. Identity (no node) when !training or p == 0.
/// Backward: grad_x += grad * keep / (1-p) with the same mask (`scale` = keep / (1-p)).
template <class T>
Var<T> dropout(const Var<T>& x, double p, Rng& rng, bool training = true, Where where = Where::current()) {
    if (!(p >= 0.0 && p < 1.0)) throw ValueError(cat("dropout: p is ", p, "; expected 0 <= p < 1"));
    if (!training || p == 0.0) return x;
    Tensor<T> scale(x.value().shape());
    const T kept = static_cast<T>(1.0 / (1.0 - p));
    for (std::size_t i = 0; i < scale.size(); ++i) scale.data()[i] = rng.uniform() < p ? T(0) : kept;
    Tensor<T> out(x.value().shape());
    flat(out) = flat(x.value()) * flat(scale);
    return x.tape().record("dropout", std::move(out), {x}, [scale = std::move(scale)](Tape<T>& tape, const Node<T>& node) {
        tape.accumulate(node.inputs[0], flat(node.adjoint) * flat(scale));  // grad_x += grad * scale
    }, where);
}

}  // namespace cringe
