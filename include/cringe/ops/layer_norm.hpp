// cringe/ops/layer_norm.hpp - layer normalisation over the last axis with an affine map, fused.
//
// Shapes: x [..., C], weight [C], bias [C] -> result [..., C].
// Forward per row:  mu = mean(x),  rstd = 1/sqrt(var(x) + eps),  xhat = (x - mu) rstd,
//                   result = xhat * weight + bias     (biased variance, as PyTorch/GPT-2)
// Backward per row (grad = d loss / d result; grad_weight and grad_bias sum over the rows):
//   grad_bias   += grad                grad_weight += grad * xhat
//   grad_xhat    = grad * weight
//   grad_x      += rstd * (grad_xhat - mean(grad_xhat) - xhat * mean(grad_xhat * xhat))
// (The last line is the derivative of xhat through mu and rstd, collected into two row means.)
#pragma once

#include <cmath>

#include "../tape.hpp"

namespace cringe {

/// Layer normalisation over the last axis, then weight * xhat + bias; see the file comment for the backward.
template <class T>
Var<T> layer_norm(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, double eps = 1e-5,
                  Where where = Where::current()) {
    const auto& shape = x.value().shape();
    if (shape.empty()) throw ShapeError("layer_norm: input is a scalar; expected shape [..., C]");
    const std::size_t C = shape.back();
    if (weight.shape() != Shape{C} || bias.shape() != Shape{C})
        throw ShapeError(cat("layer_norm: input ", shape_str(shape), " needs weight and bias of shape [", C,
                             "], got ", shape_str(weight.shape()), " and ", shape_str(bias.shape())));
    if (C == 0) throw ShapeError(cat("layer_norm: input ", shape_str(shape), " has an empty last axis; expected C >= 1"));
    const std::size_t rows = x.size() / C;
    const Eigen::Index c = static_cast<Eigen::Index>(C);
    Tensor<T> out(shape);
    Tensor<T> xhat(shape);                  // saved for backward
    std::vector<T> rstd(rows);
    ConstArrayMap<T> w(weight.value().data(), c), b(bias.value().data(), c);
    for (std::size_t r = 0; r < rows; ++r) {
        using std::sqrt;
        ConstArrayMap<T> row(x.value().data() + r * C, c);
        const T mu = row.mean();
        const T var = (row - mu).square().mean();
        rstd[r] = T(1) / sqrt(var + T(eps));
        ArrayMap<T> xh(xhat.data() + r * C, c);
        xh = (row - mu) * rstd[r];
        ArrayMap<T>(out.data() + r * C, c) = xh * w + b;
    }
    return x.tape().record("layer_norm", std::move(out), {x, weight, bias},
        [xhat = std::move(xhat), rstd = std::move(rstd), rows, C, c](Tape<T>& tape, const Node<T>& node) {
            const std::size_t ix = node.inputs[0], iw = node.inputs[1], ib = node.inputs[2];
            ConstArrayMap<T> weight_value(tape.value(iw).data(), c);
            // grad_weight and grad_bias sum over the rows (so they start from zeros: adjoint()); grad_x
            // is written row by row, write-first (accumulate).
            T* grad_weight = tape.wants_grad(iw) ? tape.adjoint(iw).data() : nullptr;
            T* grad_bias = tape.wants_grad(ib) ? tape.adjoint(ib).data() : nullptr;
            for (std::size_t r = 0; r < rows; ++r) {  // row r of grad and xhat
                ConstArrayMap<T> grad(node.adjoint.data() + r * C, c), xhat_r(xhat.data() + r * C, c);
                if (grad_bias) ArrayMap<T>(grad_bias, c) += grad;
                if (grad_weight) ArrayMap<T>(grad_weight, c) += grad * xhat_r;
            }
            tape.accumulate(ix, [&](Tensor<T>& grad_x, auto store) {
                Eigen::Array<T, Eigen::Dynamic, 1> grad_xhat(c);
                for (std::size_t r = 0; r < rows; ++r) {  // row r of grad, xhat and grad_x
                    ConstArrayMap<T> grad(node.adjoint.data() + r * C, c), xhat_r(xhat.data() + r * C, c);
                    grad_xhat = grad * weight_value;
                    const T mean_grad_xhat = grad_xhat.mean();
                    const T mean_grad_xhat_xhat = (grad_xhat * xhat_r).mean();
                    store(ArrayMap<T>(grad_x.data() + r * C, c), rstd[r] * (grad_xhat - mean_grad_xhat - xhat_r * mean_grad_xhat_xhat));
                }
            });
        }, where);
}

}  // namespace cringe
