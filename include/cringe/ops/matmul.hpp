// cringe/ops/matmul.hpp - matrix products through detail/gemm.hpp (Eigen's GEMM or OpenBLAS, never a
// hand-written triple loop).
//
// Shapes (b_transposed = false):
//   a [M,K]       x b [K,N]       -> [M,N]
//   a [...,M,K]   x b [K,N]       -> [...,M,N]   (a's leading dims flattened into M: one GEMM)
//   a [...,M,K]   x b [...,K,N]   -> [...,M,N]   (same leading dims: one GEMM per batch)
// With b_transposed = true, b is given as [...,N,K] and the product is a @ b^T (attention's q k^T)
// without copying a transpose.
// Backward (grad: the incoming gradient, shaped like the result; matrix products per batch):
//   result = a b:    grad_a += grad b^T,   grad_b += a^T grad   (summed over batches when b is shared)
//   result = a b^T:  grad_a += grad b,     grad_b += grad^T a
//
// Zero sizes are ordinary cases, not errors: with K = 0 the product is an empty sum, so C is all
// zeros and a [M,0], b [0,N] get (empty) zero gradients; with M, N or a batch dimension 0, C is
// empty and every gradient is zero. The plan therefore takes M and the batch count from the
// dimensions themselves, never by dividing an element count by a dimension that may be 0.
#pragma once

#include "../tape.hpp"

namespace cringe {

namespace detail {

struct MatmulPlan {
    std::size_t batches;    // number of independent products
    std::size_t M, K, N;
    bool b_shared;          // b is one [K,N] matrix used by every batch
    Shape out_shape;
};

template <class SA, class SB>
MatmulPlan plan_matmul(const SA& a, const SB& b, bool b_transposed) {
    auto fail = [&](const std::string& why) {
        return ShapeError(cat("matmul: ", why, ": a is ", shape_str(a), ", b is ", shape_str(b),
                              b_transposed ? " (b transposed)" : ""));
    };
    if (a.size() < 2 || b.size() < 2) throw fail("both operands need rank >= 2");
    const std::size_t K = a[a.size() - 1];
    const std::size_t bK = b_transposed ? b[b.size() - 1] : b[b.size() - 2];
    const std::size_t N = b_transposed ? b[b.size() - 2] : b[b.size() - 1];
    if (K != bK)
        throw fail(cat("inner dimensions differ (", K, " vs ", bK, "); expected a.shape[-1] == ",
                       b_transposed ? "b.shape[-1]" : "b.shape[-2]"));
    MatmulPlan plan{};
    plan.K = K;
    plan.N = N;
    plan.b_shared = b.size() == 2;
    // Product of a's dimensions [first, last): no division, so 0-sized dimensions are fine.
    const auto product = [&](std::size_t first, std::size_t last) {
        std::size_t p = 1;
        for (std::size_t i = first; i < last; ++i) p *= a[i];
        return p;
    };
    if (plan.b_shared) {
        plan.batches = 1;
        plan.M = product(0, a.size() - 1);  // leading dims of a flattened into rows
    } else {
        if (a.size() != b.size() || !std::equal(a.begin(), a.end() - 2, b.begin()))
            throw fail("batch dimensions differ; expected equal leading dimensions, or b of rank 2");
        plan.M = a[a.size() - 2];
        plan.batches = product(0, a.size() - 2);
    }
    plan.out_shape = to_shape(a);
    plan.out_shape.back() = N;
    return plan;
}

}  // namespace detail

/// The matrix product over the last two axes, batched over the leading ones; b may be transposed.
template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b, bool b_transposed = false, Where where = Where::current()) {
    const auto plan = detail::plan_matmul(a.value().shape(), b.value().shape(), b_transposed);
    const auto [batches, M, K, N, b_shared, out_shape] = plan;
    const Eigen::Index m = static_cast<Eigen::Index>(M), k = static_cast<Eigen::Index>(K),
                       n = static_cast<Eigen::Index>(N);
    Tensor<T> out = Tensor<T>::from_shape(out_shape);
    // K = 0: an empty sum is 0 (and skip Eigen, so no pointer arithmetic on empty buffers).
    const bool empty_product = batches == 0 || M == 0 || K == 0 || N == 0;
    if (empty_product) out.fill(T(0));
    for (std::size_t p = 0; p < (empty_product ? 0 : batches); ++p) {
        ConstMatrixMap<T> A(a.value().data() + p * M * K, m, k);
        const T* bp = b.value().data() + (b_shared ? 0 : p * K * N);
        MatrixMap<T> C(out.data() + p * M * N, m, n);
        if (b_transposed) detail::gemm(C, A, ConstMatrixMap<T>(bp, n, k).transpose(), false);  // C = A B^T
        else detail::gemm(C, A, ConstMatrixMap<T>(bp, k, n), false);                            // C = A B
    }
    return a.tape().record("matmul", std::move(out), {a, b}, [plan, b_transposed, m, k, n](Tape<T>& tape, const Node<T>& node) {
        // Any zero size: every gradient entry is an empty sum, i.e. 0, which is what an adjoint that
        // receives no contribution reads as.
        if (plan.batches == 0 || plan.M == 0 || plan.K == 0 || plan.N == 0) return;
        const std::size_t ia = node.inputs[0], ib = node.inputs[1];
        const T* a_value = tape.value(ia).data();
        const T* b_value = tape.value(ib).data();
        // The products go straight into the adjoints: store.product(dst, x, y) is dst = x y (the first
        // contribution) or dst += x y (later ones). Batch p writes its own block of
        // grad_a, and of grad_b unless b is shared (then there is one batch).
        auto grad_p = [&](std::size_t p) { return ConstMatrixMap<T>(node.adjoint.data() + p * plan.M * plan.N, m, n); };
        auto b_p = [&](std::size_t p, Eigen::Index rows, Eigen::Index cols) {
            return ConstMatrixMap<T>(b_value + (plan.b_shared ? 0 : p * plan.K * plan.N), rows, cols);
        };
        tape.accumulate(ia, [&](Tensor<T>& grad_a, auto store) {
            for (std::size_t p = 0; p < plan.batches; ++p) {
                MatrixMap<T> grad_a_p(grad_a.data() + p * plan.M * plan.K, m, k);
                if (b_transposed) store.product(grad_a_p, grad_p(p), b_p(p, n, k));        // b [N,K]
                else store.product(grad_a_p, grad_p(p), b_p(p, k, n).transpose());        // b [K,N]
            }
        });
        tape.accumulate(ib, [&](Tensor<T>& grad_b, auto store) {
            for (std::size_t p = 0; p < plan.batches; ++p) {
                ConstMatrixMap<T> a_p(a_value + p * plan.M * plan.K, m, k);
                const std::size_t b_off = plan.b_shared ? 0 : p * plan.K * plan.N;
                if (b_transposed) store.product(MatrixMap<T>(grad_b.data() + b_off, n, k), grad_p(p).transpose(), a_p);
                else store.product(MatrixMap<T>(grad_b.data() + b_off, k, n), a_p.transpose(), grad_p(p));
            }
        });
    }, where);
}

}  // namespace cringe
