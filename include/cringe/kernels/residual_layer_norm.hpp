// cringe/kernels/residual_layer_norm.hpp - a residual addition and the layer norm that reads its sum,
// in one pass over each row (a fused kernel).
//
// The reference ops are the semantics; a kernel is a faster route to the same numbers (docs/kernels.md).
// In nn/gpt.hpp every sub-layer's output is added to the residual stream, x = add(x, delta), and the
// next thing that reads x is a layer norm (the next block's ln_1 or ln_2, or ln_f). This op computes
// both in one call: the sum in one flat loop (as add does; a per-row Eigen assignment cost more than
// the pass it saved, measured), then the layer norm of each row, and its backward makes one pass over
// the rows where the reference's makes two (it sums grad_weight and grad_bias in a loop of their own).
//
// Shapes: x [..., C], delta [..., C] (equal shapes), weight [C], bias [C] ->
//   sum    = x + delta                                     [..., C]   (the new residual stream)
//   normed = layer_norm(sum) * weight + bias, per row:     [..., C]
//            mu = mean(sum), rstd = 1/sqrt(var(sum) + eps), xhat = (sum - mu) rstd  (biased variance)
// Backward, as the two ops it replaces (grad_sum is sum's gradient from its other readers plus the
// layer norm's contribution; grad = normed's gradient):
//   layer norm, per row:  grad_bias += grad,  grad_weight += grad * xhat,  grad_xhat = grad * weight,
//                         grad_sum  += rstd * (grad_xhat - mean(grad_xhat) - xhat * mean(grad_xhat * xhat))
//   residual add:         grad_x += grad_sum,  grad_delta += grad_sum
//
// Why two nodes. Both results are read by other ops: normed by the sub-layer, sum by the NEXT residual
// addition. A tape node has one value, so the op records two nodes, "residual_add" (value sum, inputs
// x and delta) and "layer_norm" (value normed, inputs sum, weight and bias), computed together. The tape
// then needs nothing new: sum's adjoint collects its readers' contributions like any node's, and each
// backward is the reference op's. (One node writing grad_x and grad_delta directly from the layer norm
// would save one more pass in the backward, but sum's own adjoint would then never hold its gradient:
// Var::grad of sum and a backward started from sum would be wrong. Not worth it for one copy.)
//
// Equal to the reference, bit for bit: sum is the same IEEE sum, and the layer norm runs ops/layer_norm.hpp's
// Eigen expressions on rows at the same offsets of 64-byte aligned tensors (Eigen's reductions, mean(),
// split a row into SIMD packets and a scalar remainder by address, so the offsets matter); the backward
// adds the same terms in the same order. tests/kernels/test_residual_layer_norm.cpp asserts it in float
// and double.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "../tape.hpp"

namespace cringe::kernels {

/// What residual_layer_norm returns: the new residual stream and its layer norm.
template <class T>
struct ResidualNorm {
    /// x + delta [..., C]: what the next residual addition reads.
    Var<T> sum;
    /// layer_norm(sum) * weight + bias [..., C]: what the next sub-layer reads.
    Var<T> normed;
};

/// sum = x + delta and normed = layer_norm(sum, weight, bias, eps) in one pass over the rows, recorded as
/// two nodes ("residual_add", "layer_norm"). Values and gradients equal layer_norm(add(x, delta), weight,
/// bias, eps) of the reference ops bit for bit (see the file comment and docs/kernels.md). ShapeError when
/// x and delta differ in shape, x is a scalar or has an empty last axis, or weight or bias is not [C].
template <class T>
ResidualNorm<T> residual_layer_norm(const Var<T>& x, const Var<T>& delta, const Var<T>& weight, const Var<T>& bias, double eps = 1e-5,
                                    Where where = Where::current()) {
    const Shape shape = x.shape();
    if (shape.empty()) throw ShapeError("residual_layer_norm: x is a scalar; expected shape [..., C]");
    if (delta.shape() != shape)
        throw ShapeError(cat("residual_layer_norm: x has shape ", shape_str(shape), " and delta ", shape_str(delta.shape()),
                             "; expected equal shapes"));
    const std::size_t C = shape.back();
    if (weight.shape() != Shape{C} || bias.shape() != Shape{C})
        throw ShapeError(cat("residual_layer_norm: x ", shape_str(shape), " needs weight and bias of shape [", C, "], got ",
                             shape_str(weight.shape()), " and ", shape_str(bias.shape())));
    if (C == 0) throw ShapeError(cat("residual_layer_norm: x ", shape_str(shape), " has an empty last axis; expected C >= 1"));
    const std::size_t rows = x.size() / C;
    const Eigen::Index c = static_cast<Eigen::Index>(C);
    Tensor<T> sum = Tensor<T>::from_shape(shape);
    Tensor<T> out = Tensor<T>::from_shape(shape);
    Tensor<T> xhat = Tensor<T>::from_shape(shape);  // saved for the backward
    std::vector<T> rstd(rows);
    ConstArrayMap<T> w(weight.value().data(), c), b(bias.value().data(), c);
    // The residual addition as one flat loop (as add's forward): per row, an Eigen assignment's setup
    // costs more than the pass it would save at the model's widths (measured: bench_ops kernel/*).
    flat(sum) = flat(x.value()) + flat(delta.value());
    for (std::size_t r = 0; r < rows; ++r) {  // row r: ops/layer_norm.hpp's forward on the sum
        using std::sqrt;
        ConstArrayMap<T> row(sum.data() + r * C, c);
        const T mu = row.mean();
        const T var = (row - mu).square().mean();
        rstd[r] = T(1) / sqrt(var + T(eps));
        ArrayMap<T> xh(xhat.data() + r * C, c);
        xh = (row - mu) * rstd[r];
        ArrayMap<T>(out.data() + r * C, c) = xh * w + b;
    }

    Var<T> sum_var = x.tape().record("residual_add", std::move(sum), {x, delta}, [](Tape<T>& tape, const Node<T>& node) {
        tape.accumulate(node.inputs[0], flat(node.adjoint));  // grad_x += grad_sum
        tape.accumulate(node.inputs[1], flat(node.adjoint));  // grad_delta += grad_sum
    }, where);
    Var<T> normed = x.tape().record("layer_norm", std::move(out), {sum_var, weight, bias},
        [xhat = std::move(xhat), rstd = std::move(rstd), rows, C, c](Tape<T>& tape, const Node<T>& node) {
            const std::size_t is = node.inputs[0], iw = node.inputs[1], ib = node.inputs[2];
            ConstArrayMap<T> weight_value(tape.value(iw).data(), c);
            // grad_weight and grad_bias sum over the rows (adjoint(): zeroed on first use); grad_sum is
            // written row by row, write-first, in the same pass.
            T* grad_weight = tape.wants_grad(iw) ? tape.adjoint(iw).data() : nullptr;
            T* grad_bias = tape.wants_grad(ib) ? tape.adjoint(ib).data() : nullptr;
            auto weight_and_bias = [&](std::size_t r) {  // row r's terms of grad_weight and grad_bias
                ConstArrayMap<T> grad(node.adjoint.data() + r * C, c), xhat_r(xhat.data() + r * C, c);
                if (grad_bias) ArrayMap<T>(grad_bias, c) += grad;
                if (grad_weight) ArrayMap<T>(grad_weight, c) += grad * xhat_r;
            };
            if (!tape.wants_grad(is)) {  // sum needs no gradient (x and delta are constants)
                for (std::size_t r = 0; r < rows; ++r) weight_and_bias(r);
                return;
            }
            tape.accumulate(is, [&](Tensor<T>& grad_sum, auto store) {
                Eigen::Array<T, Eigen::Dynamic, 1> grad_xhat(c);
                for (std::size_t r = 0; r < rows; ++r) {  // row r of grad, xhat and grad_sum
                    weight_and_bias(r);
                    ConstArrayMap<T> grad(node.adjoint.data() + r * C, c), xhat_r(xhat.data() + r * C, c);
                    grad_xhat = grad * weight_value;
                    const T mean_grad_xhat = grad_xhat.mean();
                    const T mean_grad_xhat_xhat = (grad_xhat * xhat_r).mean();
                    store(ArrayMap<T>(grad_sum.data() + r * C, c), rstd[r] * (grad_xhat - mean_grad_xhat - xhat_r * mean_grad_xhat_xhat));
                }
            });
        }, where);
    return {sum_var, normed};
}

}  // namespace cringe::kernels
