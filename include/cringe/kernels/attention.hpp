// cringe/kernels/attention.hpp - causal self-attention of all heads as ONE tape op (a fused kernel).
//
// The reference ops are the semantics; a kernel is a faster route to the same numbers (docs/kernels.md).
// nn/gpt.hpp's reference attention path records seventeen nodes per layer: slice, reshape and
// permute of qkv into q, k, v (a sliced and a permuted copy of each), matmul(q, k^T), affine (the 1/sqrt(D) scale),
// masked_fill (the causal mask), softmax, dropout, matmul(att, v), permute and reshape back. This op
// computes the same values, in the same order of floating-point operations, without those copies and
// nodes: q, k and v are read in place out of qkv through strided Eigen maps (row stride 3C), and y is
// written in place into its [B,T,C] rows (row stride C).
//
// Shapes (B batch, T sequence, C = n_embd, H = n_head, D = C/H; head h owns columns h*D..h*D+D-1):
//   qkv [B,T,3C]: q = qkv[.., 0:C], k = qkv[.., C:2C], v = qkv[.., 2C:3C]; for each (b, h):
//     Q, K, V [T,D]       the head's columns of q, k, v (strided views, no copy)
//     S = Q K^T * s + 0   [T,T]   s = 1/sqrt(D) (affine's arithmetic: x * s + 0)
//     S[i][j] = -1e9 for j > i    (causal: position i attends to positions <= i)
//     P = softmax(S) by rows      [T,T]   kept in the node: the backward needs it
//     A = P * keep                [T,T]   keep = 0 or 1/(1-p) per entry (dropout; A = P without it)
//     Y = A V             [T,D]   -> result[b, :, h*D..h*D+D-1]            result y [B,T,C]
//
// Backward (grad: result's gradient [B,T,C], read per (b,h) as G [T,D] in place; grad_qkv: qkv's
// gradient, whose q, k, v columns receive dQ, dK, dV in place). Per (b, h):
//   grad_V += A^T G                                   (matmul: grad_b += a^T grad)
//   dA      = G V^T                                   (matmul: grad_a += grad b^T)
//   dP      = dA * keep                               (dropout)
//   dS_i    = P_i (dP_i - sum_j dP_ij P_ij) per row i (softmax)
//   dS_ij   = 0 for j > i                             (masked_fill: masked entries are constants)
//   dS      = dS * s                                  (affine)
//   grad_Q += dS K,   grad_K += dS^T Q                (matmul with b transposed)
//
// Equal to the reference, bit for bit: each product is the reference's product of the same shape and
// transposition on the same values (only the row stride of the maps differs), the scale, the mask
// value, the softmax (slice_shift, shifted_exp with its flushed exp) and the dropout draws (one
// uniform per entry of [B,H,T,T] in row-major order, before anything else reads the Rng) are the
// reference ops' arithmetic; at the sizes where Eigen multiplies coefficient by coefficient, the
// results go through [B,H,T,D] buffers as in the reference (AttentionPlan::head_major says why).
// tests/kernels/test_attention.cpp asserts bitwise equality of values and of qkv's gradient in float
// and double. (The reference adds each intermediate gradient into zeroed adjoints, which turns a -0
// into +0; this op computes most of them directly, so an entry that is exactly zero could differ in
// its sign, never in value; the tests have found no such entry.)
//
// Threads: with threads > 1 the heads are split over std::threads (detail::split_heads); each head
// writes only its own slices, so every thread count gives the same bits. Meanwhile a multi-threaded
// OpenBLAS is held to one thread per call (detail/blas_threads.hpp): its threads and ours would
// otherwise compete for the cores.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <exception>
#include <thread>
#include <utility>
#include <vector>

#include "../detail/blas_threads.hpp"
#include "../ops/softmax.hpp"
#include "../rng.hpp"
#include "../tape.hpp"

namespace cringe::kernels {

namespace detail {

/// A row-major [rows, cols] view whose rows are `stride` elements apart (a head's columns of q, k, v
/// inside qkv, or of y inside [B,T,C]).
template <class T>
using StridedMatrix = Eigen::Map<RowMatrix<T>, 0, Eigen::OuterStride<>>;
/// The same, read-only.
template <class T>
using ConstStridedMatrix = Eigen::Map<const RowMatrix<T>, 0, Eigen::OuterStride<>>;

/// The sizes of one attention call and where head h of batch b sits in qkv and in y.
struct AttentionPlan {
    std::size_t B, T, C, H, D;
    /// Eigen evaluates a product this small coefficient by coefficient (rhs rows + result rows + result
    /// cols = 2T + D below EIGEN_GEMM_TO_COEFFBASED_THRESHOLD, or a vector result when T = 1), and
    /// then which entries take its SIMD path (fused multiply-adds) and which its scalar path follows the
    /// result's ADDRESS. So at these sizes the products that the reference writes into a [B,H,T,D] tensor
    /// are written into one here too (the same addresses modulo 64 bytes, hence the same entries on each
    /// path), and copied to their strided places after; above them (GEMM, any stride) they go in place.
    bool head_major() const { return 2 * T + D < EIGEN_GEMM_TO_COEFFBASED_THRESHOLD || T == 1; }
    /// Offset of slice (b, h) in a [B,H,T,D] tensor.
    std::size_t head_major_offset(std::size_t b, std::size_t h) const { return (b * H + h) * T * D; }
    /// Offset in qkv of the first element of part (0 q, 1 k, 2 v) of head h in batch b.
    std::size_t qkv_offset(std::size_t b, std::size_t h, std::size_t part) const { return b * T * 3 * C + part * C + h * D; }
    /// Offset in y of the first element of head h in batch b.
    std::size_t y_offset(std::size_t b, std::size_t h) const { return b * T * C + h * D; }
    /// Offset of slice (b, h) in a [B,H,T,T] tensor.
    std::size_t att_offset(std::size_t b, std::size_t h) const { return (b * H + h) * T * T; }
};

template <class T>
ConstStridedMatrix<T> strided(const T* data, std::size_t rows, std::size_t cols, std::size_t stride) {
    return ConstStridedMatrix<T>(data, static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols),
                                 Eigen::OuterStride<>(static_cast<Eigen::Index>(stride)));
}
template <class T>
StridedMatrix<T> strided(T* data, std::size_t rows, std::size_t cols, std::size_t stride) {
    return StridedMatrix<T>(data, static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols),
                            Eigen::OuterStride<>(static_cast<Eigen::Index>(stride)));
}

/// Forward of head h of batch b: P = softmax(causal(Q K^T * scale)) into `att` (its [T,T] slice), and
/// Y = A V (A = P * keep with dropout, else P). `e` and `dropped` are scratch: [T] and [T,T].
template <class T>
void attention_forward_head(const AttentionPlan& plan, std::size_t b, std::size_t h, T scale, const T* qkv_value,
                            const T* keep, T* att, StridedMatrix<T> Y, Eigen::Array<T, Eigen::Dynamic, 1>& e, RowMatrix<T>& dropped) {
    using UnitRow = cringe::detail::Row<T, Eigen::InnerStride<1>>;
    using ConstUnitRow = cringe::detail::ConstRow<T, Eigen::InnerStride<1>>;
    const std::size_t Tn = plan.T, C = plan.C, D = plan.D;
    const Eigen::Index t = static_cast<Eigen::Index>(Tn);
    const auto Q = strided(qkv_value + plan.qkv_offset(b, h, 0), Tn, D, 3 * C);
    const auto K = strided(qkv_value + plan.qkv_offset(b, h, 1), Tn, D, 3 * C);
    const auto V = strided(qkv_value + plan.qkv_offset(b, h, 2), Tn, D, 3 * C);
    T* scores = att + plan.att_offset(b, h);
    MatrixMap<T> S(scores, t, t);
    cringe::detail::gemm(S, Q, K.transpose(), false);  // S = Q K^T: matmul(q, k, b_transposed)
    ArrayMap<T> S_flat(scores, t * t);
    S_flat = S_flat * scale + T(0);             // affine(scores, scale, 0)
    for (Eigen::Index i = 0; i < t; ++i) {
        for (Eigen::Index j = i + 1; j < t; ++j) S(i, j) = T(-1e9);  // masked_fill(scores, causal, -1e9)
        ConstUnitRow row(scores + i * t, t);   // softmax of row i, as ops/softmax.hpp computes it
        const T m = cringe::detail::slice_shift<T>(row);
        const T total = cringe::detail::shifted_exp(row, m, e);
        UnitRow p(scores + i * t, t);           // total >= 1: the diagonal is never masked
        p = e / total;
    }
    if (keep) {                                 // dropout: A = P * keep, Y = A V
        ArrayMap<T>(dropped.data(), t * t) = ConstArrayMap<T>(scores, t * t) * ConstArrayMap<T>(keep + plan.att_offset(b, h), t * t);
        cringe::detail::gemm(Y, dropped, V, false);
    } else {                                    // Y = P V
        cringe::detail::gemm(Y, ConstMatrixMap<T>(scores, t, t), V, false);
    }
}

/// Backward of head h of batch b (the file comment's math): adds dQ, dK, dV into grad_Q, grad_K, grad_V
/// from `grad` (result's gradient [B,T,C]), the kept probabilities `att` and dropout's `keep` (or null).
/// `dropped` and `dA` are [T,T] scratch.
template <class T>
void attention_backward_head(const AttentionPlan& plan, std::size_t b, std::size_t h, T scale, const T* qkv_value,
                             const T* keep, const T* att, const T* grad, StridedMatrix<T> grad_Q, StridedMatrix<T> grad_K,
                             StridedMatrix<T> grad_V, RowMatrix<T>& dropped, RowMatrix<T>& dA) {
    using UnitRow = cringe::detail::Row<T, Eigen::InnerStride<1>>;
    using ConstUnitRow = cringe::detail::ConstRow<T, Eigen::InnerStride<1>>;
    const std::size_t Tn = plan.T, C = plan.C, D = plan.D;
    const Eigen::Index t = static_cast<Eigen::Index>(Tn);
    const T* P = att + plan.att_offset(b, h);
    const T* keep_bh = keep ? keep + plan.att_offset(b, h) : nullptr;
    const auto G = strided(grad + plan.y_offset(b, h), Tn, D, C);
    const auto Q = strided(qkv_value + plan.qkv_offset(b, h, 0), Tn, D, 3 * C);
    const auto K = strided(qkv_value + plan.qkv_offset(b, h, 1), Tn, D, 3 * C);
    const auto V = strided(qkv_value + plan.qkv_offset(b, h, 2), Tn, D, 3 * C);
    if (keep_bh) ArrayMap<T>(dropped.data(), t * t) = ConstArrayMap<T>(P, t * t) * ConstArrayMap<T>(keep_bh, t * t);
    const ConstMatrixMap<T> A(keep_bh ? dropped.data() : P, t, t);
    cringe::detail::gemm(grad_V, A.transpose(), G, true);  // grad_V += A^T G
    cringe::detail::gemm(dA, G, V.transpose(), false);  // dA = G V^T, assigned as the reference's matmul does
    if (keep_bh) ArrayMap<T>(dA.data(), t * t) = ArrayMap<T>(dA.data(), t * t) * ConstArrayMap<T>(keep_bh, t * t);  // dP = dA * keep
    for (Eigen::Index i = 0; i < t; ++i) {      // row i of dP becomes row i of dS, in place
        ConstUnitRow result(P + i * t, t), grad_in(dA.data() + i * t, t);
        const T dot = (grad_in * result).sum();  // as ops/softmax.hpp: the same expression on the same types
        UnitRow grad_row(dA.data() + i * t, t);
        grad_row = result * (grad_row - dot);   // softmax
        for (Eigen::Index j = i + 1; j < t; ++j) grad_row[j] = T(0);  // masked_fill
        grad_row = grad_row * scale;            // affine
    }
    cringe::detail::gemm(grad_Q, dA, K, true);              // grad_Q += dS K
    cringe::detail::gemm(grad_K, dA.transpose(), Q, true);  // grad_K += dS^T Q
}

/// Calls work(first, last) on `threads` contiguous chunks of the heads 0..heads-1, each chunk on its own
/// std::thread (the first on the caller's). Every head writes only its own slices of the outputs, so the
/// results are the same, bit for bit, for every thread count. Meanwhile OpenBLAS runs each product on
/// the thread that calls it (detail/blas_threads.hpp). An exception in a chunk is rethrown here after
/// every thread has finished.
template <class Work>
void split_heads(std::size_t heads, std::size_t threads, const Work& work) {
    const std::size_t n = std::min(threads, heads);
    if (n <= 1) {
        work(std::size_t{0}, heads);
        return;
    }
    const cringe::detail::SingleThreadedBlas one_blas_thread;  // our threads, not OpenBLAS's, use the cores
    std::vector<std::exception_ptr> errors(n);
    auto run = [&](std::size_t k) {
        try {
            work(heads * k / n, heads * (k + 1) / n);
        } catch (...) {
            errors[k] = std::current_exception();
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(n - 1);
    try {
        for (std::size_t k = 1; k < n; ++k) pool.emplace_back(run, k);
    } catch (...) {  // a thread could not start: finish the started ones, then report
        for (auto& worker : pool) worker.join();
        throw;
    }
    run(0);
    for (auto& worker : pool) worker.join();
    for (const auto& error : errors)
        if (error) std::rethrow_exception(error);
}

}  // namespace detail

/// Causal multi-head self-attention as one tape op: qkv [B,T,3C] (q, k, v side by side, as GPT-2's
/// c_attn produces them) -> y [B,T,C], the heads' outputs merged. Dropout with probability `p_drop`
/// applies to the attention probabilities when `training` (then `rng` is drawn from, one uniform per
/// entry of [B,H,T,T]). Values and gradients equal the reference composition of nn/gpt.hpp's
/// reference attention path; see the file comment for the math and docs/kernels.md. `threads` > 1
/// splits the B*H heads of the forward and of the backward over that many threads (the same results
/// for every thread count; the dropout draws stay on the caller's thread, in order).
template <class T>
Var<T> causal_self_attention(const Var<T>& qkv, std::size_t n_head, double p_drop, Rng& rng, bool training = true,
                             std::size_t threads = 1, Where where = Where::current()) {
    const auto& shape = qkv.value().shape();
    if (shape.size() != 3 || shape[1] == 0 || shape[2] % 3 != 0)
        throw ShapeError(cat("causal_self_attention: qkv has shape ", shape_str(shape),
                             "; expected [B,T,3C] with T >= 1 and a last dimension divisible by 3"));
    if (n_head == 0 || (shape[2] / 3) % n_head != 0)
        throw ShapeError(cat("causal_self_attention: C = ", shape[2] / 3, " (qkv's last dimension / 3) is not divisible by n_head = ",
                             n_head, "; expected n_head >= 1 dividing C"));
    if (!(p_drop >= 0.0 && p_drop < 1.0)) throw ValueError(cat("causal_self_attention: p_drop is ", p_drop, "; expected 0 <= p < 1"));
    if (threads == 0) throw ValueError("causal_self_attention: threads is 0; expected at least 1");
    const std::size_t C = shape[2] / 3;
    const detail::AttentionPlan plan{shape[0], shape[1], C, n_head, C / n_head};
    const std::size_t B = plan.B, Tn = plan.T, H = plan.H;
    const Eigen::Index t = static_cast<Eigen::Index>(Tn);
    const T scale = T(1.0 / std::sqrt(static_cast<double>(plan.D)));  // the reference's affine(scores, scale, 0)

    // Dropout's draws first, as the reference draws them: one uniform per entry of [B,H,T,T], row-major.
    const bool dropping = training && p_drop > 0.0;
    Tensor<T> keep;  // 0 or 1/(1-p) per entry (dropout's `scale`); unused without dropout
    if (dropping) {
        keep = Tensor<T>::from_shape({B, H, Tn, Tn});
        const T kept = static_cast<T>(1.0 / (1.0 - p_drop));
        for (std::size_t i = 0; i < keep.size(); ++i) keep.data()[i] = rng.uniform() < p_drop ? T(0) : kept;
    }
    Tensor<T> att = Tensor<T>::from_shape({B, H, Tn, Tn});  // the probabilities P, kept for the backward
    Tensor<T> out = Tensor<T>::from_shape({B, Tn, C});
    const bool via_heads = plan.head_major();
    Tensor<T> y_heads = Tensor<T>::from_shape({via_heads ? B : 0, H, Tn, plan.D});  // see AttentionPlan::head_major
    const T* qkv_value = qkv.value().data();
    detail::split_heads(B * H, threads, [&](std::size_t first, std::size_t last) {
        Eigen::Array<T, Eigen::Dynamic, 1> e(t);                   // scratch: exp(row - max) of one softmax row
        RowMatrix<T> dropped(dropping ? t : 0, dropping ? t : 0);  // scratch: A = P * keep of one head
        for (std::size_t head = first; head < last; ++head) {
            const std::size_t b = head / H, h = head % H;
            auto Y = via_heads ? detail::strided(y_heads.data() + plan.head_major_offset(b, h), Tn, plan.D, plan.D)
                               : detail::strided(out.data() + plan.y_offset(b, h), Tn, plan.D, C);
            detail::attention_forward_head(plan, b, h, scale, qkv_value, dropping ? keep.data() : nullptr, att.data(), Y, e, dropped);
            if (via_heads) detail::strided(out.data() + plan.y_offset(b, h), Tn, plan.D, C) = Y;
        }
    });

    return qkv.tape().record("causal_self_attention", std::move(out), {qkv},
                             [plan, scale, dropping, threads, att = std::move(att), keep = std::move(keep)](Tape<T>& tape, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        if (!tape.wants_grad(in)) return;
        const Eigen::Index tt = static_cast<Eigen::Index>(plan.T);
        T* grad_qkv = tape.adjoint(in).data();
        const T* x_value = tape.value(in).data();
        const std::size_t Tn_ = plan.T, C_ = plan.C, D_ = plan.D;
        const bool grads_via_heads = plan.head_major();  // then grad_q, grad_k, grad_v [B,H,T,D] first, as the reference
        const Shape heads_shape{grads_via_heads ? plan.B : 0, plan.H, Tn_, D_};
        Tensor<T> grad_heads[3] = {zeros<T>(heads_shape), zeros<T>(heads_shape), zeros<T>(heads_shape)};
        detail::split_heads(plan.B * plan.H, threads, [&](std::size_t first, std::size_t last) {
            RowMatrix<T> dropped_bh(dropping ? tt : 0, dropping ? tt : 0), dA(tt, tt);  // scratch of one head
            for (std::size_t head = first; head < last; ++head) {
                const std::size_t b = head / plan.H, h = head % plan.H;
                auto grad_part = [&](std::size_t part) {  // where dQ (0), dK (1) or dV (2) of this head goes
                    return grads_via_heads ? detail::strided(grad_heads[part].data() + plan.head_major_offset(b, h), Tn_, D_, D_)
                                           : detail::strided(grad_qkv + plan.qkv_offset(b, h, part), Tn_, D_, 3 * C_);
                };
                detail::attention_backward_head(plan, b, h, scale, x_value, dropping ? keep.data() : nullptr, att.data(),
                                                node.adjoint.data(), grad_part(0), grad_part(1), grad_part(2), dropped_bh, dA);
                if (grads_via_heads)
                    for (std::size_t part = 0; part < 3; ++part)
                        detail::strided(grad_qkv + plan.qkv_offset(b, h, part), Tn_, D_, 3 * C_) += grad_part(part);
            }
        });
    }, where);
}

}  // namespace cringe::kernels
