// cringe/kernels/bias_gelu.hpp - GELU of a product plus its bias as ONE tape op (a fused kernel).
//
// The reference ops are the semantics; a kernel is a faster route to the same numbers (docs/kernels.md).
// The MLP of nn/gpt.hpp computes h = gelu(add(matmul(m, W_fc), b_fc)) with the reference ops: add
// writes the biased product z = p + b into a tensor of its own [B,T,4C] (a node, a buffer, a pass),
// gelu reads it back, and the backward passes the gradient through z's adjoint (another [B,T,4C]
// tensor) before add copies it to p and sums it over the rows for b. This op adds the bias on the fly,
// one block of elements at a time in a small scratch buffer that stays in the cache, and records one
// node instead of two.
//
// Shapes: product p [..., N] (any rank >= 1), bias b [N] -> result [..., N] (a row is the last axis).
// Forward:   z = p + b (b added to every row),  result = gelu(z)   (GPT-2's tanh GELU, ops/unary.hpp)
// Backward (grad: result's gradient, shaped like it):
//   grad_p += grad * gelu'(z)                      (gelu: grad_x += grad * f'(x); add: grad_a += grad)
//   grad_b += sum over the rows of grad * gelu'(z) (add: grad_b += sum_to_shape(grad, b.shape)),
//             one sequential sum per column: row 0's term first, then row 1's, ... (as
//             detail/broadcast.hpp sums a bias's gradient; a first contribution starts from zero).
// z is not kept: the backward recomputes it (one addition per element, cheaper than a [..., N] buffer).
//
// Equal to the reference, bit for bit: z is the same IEEE sum; gelu and gelu' are unary::Gelu's Eigen
// expressions on the same values. Which elements Eigen evaluates with SIMD packets and which with its
// scalar path (they round differently: tanh and exp are polynomial approximations) follows the
// destination's address: every tensor is 64-byte aligned and the blocks here start at multiples of
// kBiasGeluBlock elements (a multiple of 64 bytes), so each element takes the path it takes in the reference's
// one pass over the whole tensor. tests/kernels/test_bias_gelu.cpp asserts it in float and double.
#pragma once

#include <algorithm>
#include <cstddef>

#include "../ops/unary.hpp"
#include "../tape.hpp"

namespace cringe::kernels {

namespace detail {

/// Elements per block of the biased product z: a multiple of 64 bytes for every scalar (so blocks start
/// where the reference's vectorised pass would be on a packet boundary), small enough for the L1 cache.
inline constexpr std::size_t kBiasGeluBlock = 1024;

/// Splits elements first .. first + len - 1 of a tensor with rows of N into runs that stay in one row:
/// calls segment(k, j, count) for each, k its offset from first, j the column it starts at.
template <class Segment>
void for_each_row_segment(std::size_t first, std::size_t len, std::size_t N, Segment&& segment) {
    for (std::size_t k = 0; k < len;) {
        const std::size_t j = (first + k) % N, count = std::min(N - j, len - k);
        segment(k, j, static_cast<Eigen::Index>(count));
        k += count;
    }
}

/// Calls visit(first, z) for the blocks of z = p + b (b repeated over rows of N) in order: z is a map
/// of the scratch `z_block` holding elements first .. first + z.size() - 1.
template <class T, class Visit>
void for_each_biased_block(const T* p, const T* b, std::size_t n, std::size_t N, Eigen::Array<T, Eigen::Dynamic, 1>& z_block,
                           Visit&& visit) {
    for (std::size_t first = 0; first < n; first += kBiasGeluBlock) {
        const std::size_t len = std::min(kBiasGeluBlock, n - first);
        for_each_row_segment(first, len, N, [&](std::size_t k, std::size_t j, Eigen::Index count) {
            ArrayMap<T>(z_block.data() + k, count) = ConstArrayMap<T>(p + first + k, count) + ConstArrayMap<T>(b + j, count);
        });
        visit(first, ConstArrayMap<T>(z_block.data(), static_cast<Eigen::Index>(len)));
    }
}

/// The backward's one pass (the file comment's math): term = grad * gelu'(p + b) block by block, stored
/// into grad_p with store_p and summed over the rows into grad_b (either may be null: that input wants
/// no gradient; StoreB says whether grad_b receives its first contribution). n elements, rows of N.
template <class T, class StoreP, class StoreB>
void bias_gelu_backward(const T* p, const T* b, const T* grad, std::size_t n, std::size_t N, T* grad_p, StoreP store_p, T* grad_b,
                        StoreB /*store_b: its type says whether this is a first contribution*/) {
    // A first contribution assigns where b was not broadcast (one row); a sum over rows starts from zero,
    // as detail/broadcast.hpp's accumulate_sum_to_shape does (so an exact -0 term sums to +0 alike).
    const bool assign_b = StoreB::assigns && n == N;
    if (grad_b && StoreB::assigns && !assign_b) ArrayMap<T>(grad_b, static_cast<Eigen::Index>(N)).setZero();
    const std::size_t block = std::min(kBiasGeluBlock, n);
    Eigen::Array<T, Eigen::Dynamic, 1> z_block(static_cast<Eigen::Index>(block)), s_block(static_cast<Eigen::Index>(block)),
        term_block(static_cast<Eigen::Index>(block));
    for_each_biased_block(p, b, n, N, z_block, [&](std::size_t first, const ConstArrayMap<T>& z) {
        const Eigen::Index len = z.size();
        // s = (1 + tanh u)/2 once per element (gelu' uses it twice; the reference evaluates it twice
        // rather than keep a full-size temporary); the same operations, so the same bits.
        ArrayMap<T> s(s_block.data(), len);
        s = unary::Gelu::half_one_plus_tanh(z);
        ArrayMap<T> term(term_block.data(), len);
        term = ConstArrayMap<T>(grad + first, len) * unary::Gelu::df_given_s(z, s);  // grad * gelu'(z), as gelu's backward
        if (grad_p) store_p(ArrayMap<T>(grad_p + first, len), term);       // grad_p += term
        if (!grad_b) return;
        for_each_row_segment(first, static_cast<std::size_t>(len), N, [&](std::size_t k, std::size_t j, Eigen::Index count) {
            ArrayMap<T> grad_b_part(grad_b + j, count);
            const ConstArrayMap<T> term_part(term_block.data() + k, count);
            if (assign_b) grad_b_part = term_part;  // the only row, a first contribution
            else grad_b_part += term_part;          // grad_b += term, row after row
        });
    });
}

}  // namespace detail

/// gelu(product + bias) as one tape op: product [..., N], bias [N] -> result [..., N]. Values and
/// gradients equal gelu(add(product, bias)) of the reference ops bit for bit (see the file comment for
/// the math and docs/kernels.md). ShapeError when bias is not [N] for the product's last axis N.
template <class T>
Var<T> bias_gelu(const Var<T>& product, const Var<T>& bias, Where where = Where::current()) {
    const auto& shape = product.value().shape();
    if (shape.empty()) throw ShapeError("bias_gelu: product is a scalar; expected shape [..., N]");
    const std::size_t N = shape.back();
    if (bias.shape() != Shape{N})
        throw ShapeError(cat("bias_gelu: product ", shape_str(shape), " needs a bias of shape [", N, "], got ", shape_str(bias.shape())));
    const std::size_t n = product.size();
    Tensor<T> out = Tensor<T>::from_shape(to_shape(shape));
    Eigen::Array<T, Eigen::Dynamic, 1> z_block(static_cast<Eigen::Index>(std::min(detail::kBiasGeluBlock, n)));
    detail::for_each_biased_block(product.value().data(), bias.value().data(), n, N, z_block, [&](std::size_t first, const ConstArrayMap<T>& z) {
        ArrayMap<T>(out.data() + first, z.size()) = unary::Gelu::f(z);  // result = gelu(z)
    });

    return product.tape().record("bias_gelu", std::move(out), {product, bias}, [N](Tape<T>& tape, const Node<T>& node) {
        const std::size_t ip = node.inputs[0], ib = node.inputs[1];
        const T* p = tape.value(ip).data();
        const T* b = tape.value(ib).data();
        const T* grad = node.adjoint.data();
        const std::size_t elements = node.adjoint.size();
        const bool want_p = tape.wants_grad(ip), want_b = tape.wants_grad(ib);
        if (want_p && want_b && ip != ib) {  // both in one pass
            tape.accumulate(ip, [&](Tensor<T>& grad_p, auto store_p) {
                tape.accumulate(ib, [&](Tensor<T>& grad_b, auto store_b) {
                    detail::bias_gelu_backward(p, b, grad, elements, N, grad_p.data(), store_p, grad_b.data(), store_b);
                });
            });
            return;
        }
        // One input only, or the same node as product and bias (rank 1): one contribution after the other.
        tape.accumulate(ip, [&](Tensor<T>& grad_p, auto store_p) {
            detail::bias_gelu_backward(p, b, grad, elements, N, grad_p.data(), store_p, static_cast<T*>(nullptr), StoreAdd<T>{});
        });
        tape.accumulate(ib, [&](Tensor<T>& grad_b, auto store_b) {
            detail::bias_gelu_backward(p, b, grad, elements, N, static_cast<T*>(nullptr), StoreAdd<T>{}, grad_b.data(), store_b);
        });
    }, where);
}

}  // namespace cringe::kernels
