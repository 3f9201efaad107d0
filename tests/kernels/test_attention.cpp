// kernels::causal_self_attention against the reference composition it replaces (exact equality of
// values, gradients and Rng draws, float and double), gradient checks, and its errors.
#include "../support/testing.hpp"

#include <cstring>

#include <cringe/kernels/attention.hpp>

using namespace cringe;
using namespace cringe::testing;

namespace {

/// nn/gpt.hpp's reference attention path, op by op: qkv [B,T,3C] -> y [B,T,C].
template <class T>
Var<T> attention_by_reference_ops(const Var<T>& qkv, std::size_t n_head, double p_drop, Rng& rng, bool training) {
    const std::size_t B = qkv.shape()[0], Tn = qkv.shape()[1], C = qkv.shape()[2] / 3, D = C / n_head;
    auto heads = [&](std::size_t which) {
        return permute(reshape(slice(qkv, -1, which * C, (which + 1) * C), {B, Tn, n_head, D}), {0, 2, 1, 3});
    };
    Var<T> q = heads(0), k = heads(1), v = heads(2);
    Var<T> scores = affine(matmul(q, k, true), T(1.0 / std::sqrt(static_cast<double>(D))), T(0));
    Var<T> att = dropout(softmax(masked_fill(scores, nn::Gpt<T>::causal_mask(Tn), T(-1e9))), p_drop, rng, training);
    return reshape(permute(matmul(att, v), {0, 2, 1, 3}), {B, Tn, C});
}

/// One shape of the equality test: batch, sequence, width C and heads (D = C / heads).
/// OpenBLAS's thread count, 0 when the test is not linked with OpenBLAS (detail/blas_threads.hpp's
/// weak declarations), and setting it (nothing without OpenBLAS).
int test_blas_threads() {
#ifdef CRINGE_HAS_WEAK_OPENBLAS
    if (openblas_get_num_threads != nullptr) return openblas_get_num_threads();
#endif
    return 0;
}
void set_test_blas_threads(int n) {
#ifdef CRINGE_HAS_WEAK_OPENBLAS
    if (openblas_set_num_threads != nullptr && n > 0) openblas_set_num_threads(n);
#endif
    (void)n;
}

struct AttentionShape {
    std::size_t batch, seq, width, heads;
};

/// How many entries of a and b differ in value (==, so +0 equals -0) and in their bits.
template <class T>
std::pair<std::size_t, std::size_t> count_differences(const Tensor<T>& a, const Tensor<T>& b) {
    REQUIRE(to_shape(a.shape()) == to_shape(b.shape()));
    std::size_t values = 0, bits = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        values += a.data()[i] == b.data()[i] ? 0 : 1;
        bits += std::memcmp(a.data() + i, b.data() + i, sizeof(T)) == 0 ? 0 : 1;
    }
    return {values, bits};
}

/// Fused vs reference on one shape: forward values, qkv's gradient under a random cotangent, and the
/// Rng's state afterwards, all exactly equal.
template <class T>
void require_fused_equals_reference(const AttentionShape& s, double p_drop, std::uint64_t seed) {
    const Shape qkv_shape{s.batch, s.seq, 3 * s.width};
    const Tensor<T> qkv_value = tensor_cast<T>(random_tensor(qkv_shape, seed, 1.5));
    const Tensor<T> cotangent = tensor_cast<T>(random_tensor({s.batch, s.seq, s.width}, seed + 1));
    const bool training = p_drop > 0.0;
    Tape<T> fused_tape, reference_tape;
    Rng fused_rng(seed + 2), reference_rng(seed + 2);
    Var<T> fused_qkv = fused_tape.variable(qkv_value), reference_qkv = reference_tape.variable(qkv_value);
    Var<T> fused = kernels::causal_self_attention(fused_qkv, s.heads, p_drop, fused_rng, training);
    Var<T> reference = attention_by_reference_ops(reference_qkv, s.heads, p_drop, reference_rng, training);
    fused_tape.backward(fused, cotangent);
    reference_tape.backward(reference, cotangent);
    INFO("B " << s.batch << ", T " << s.seq << ", C " << s.width << ", H " << s.heads << ", p " << p_drop);
    const auto [value_diffs, value_bit_diffs] = count_differences(fused.value(), reference.value());
    CHECK(value_diffs == 0);
    CHECK(value_bit_diffs == 0);
    const auto [grad_diffs, grad_bit_diffs] = count_differences(fused_qkv.grad(), reference_qkv.grad());
    CHECK(grad_diffs == 0);
    CHECK(grad_bit_diffs == 0);
    CHECK(fused_rng.next_u64() == reference_rng.next_u64());  // the same number of draws
}

const AttentionShape kAttentionShapes[] = {
    {1, 1, 4, 1},    // T = 1: one position attends to itself
    {2, 1, 40, 2},   // T = 1 with D = 20: vector products
    {2, 2, 64, 4},   // T = 2, D = 16: just above Eigen's coefficient-based products
    {2, 5, 6, 2},    // odd T, D = 3
    {1, 3, 8, 1},    // H = 1
    {2, 7, 12, 3},   // D = 4
    {2, 4, 10, 2},   // D = 5: heads start at every alignment
    {1, 6, 12, 2},   // D = 6
    {2, 3, 21, 3},   // D = 7
    {2, 9, 30, 3},   // D = 10, not a multiple of 8
    {3, 17, 40, 4},  // odd T above the size where Eigen switches to its GEMM
    {2, 32, 64, 4},  // the tiny model's attention (D = 16)
    {1, 40, 96, 2},  // D = 48
};

}  // namespace

TEST_CASE("causal_self_attention equals the reference ops exactly: values, gradients, Rng draws", "[kernels][attention]") {
    std::uint64_t seed = 100;
    for (const AttentionShape& s : kAttentionShapes)
        for (double p_drop : {0.0, 0.25}) {
            require_fused_equals_reference<float>(s, p_drop, seed);
            require_fused_equals_reference<double>(s, p_drop, seed);
            seed += 10;
        }
}

TEST_CASE("causal_self_attention: the same bits for every thread count", "[kernels][attention][threads]") {
    // One shape where Eigen multiplies coefficient by coefficient (the head-major scratch), one GEMM
    // shape, and one whose products OpenBLAS threads when allowed (T*T*D = 128*128*32 is above its
    // threshold): below, OpenBLAS may use 2 threads, which the one-thread call does for these products
    // and the split calls do not (detail::SingleThreadedBlas), and the bits must not move.
    const int blas_threads_before = test_blas_threads();
    set_test_blas_threads(2);
    for (const AttentionShape& s : {AttentionShape{2, 4, 10, 2}, AttentionShape{3, 17, 40, 4}, AttentionShape{1, 128, 64, 2}}) {
        const Tensor<double> qkv_value = random_tensor({s.batch, s.seq, 3 * s.width}, 500 + s.seq);
        const Tensor<double> cotangent = random_tensor({s.batch, s.seq, s.width}, 600 + s.seq);
        Tensor<double> one_thread_value, one_thread_grad;
        for (std::size_t threads : {1u, 2u, 3u, 5u, 64u}) {  // 64: more threads than heads
            Tape<double> tape;
            Rng rng(7);
            Var<double> qkv = tape.variable(qkv_value);
            Var<double> y = kernels::causal_self_attention(qkv, s.heads, 0.25, rng, true, threads);
            tape.backward(y, cotangent);
            INFO("threads " << threads << ", T " << s.seq);
            CHECK(test_blas_threads() == (blas_threads_before > 0 ? 2 : 0));  // the split restored OpenBLAS's count
            if (threads == 1) {
                one_thread_value = y.value();
                one_thread_grad = qkv.grad();
                continue;
            }
            CHECK(count_differences(y.value(), one_thread_value).second == 0);
            CHECK(count_differences(qkv.grad(), one_thread_grad).second == 0);
        }
    }
    set_test_blas_threads(blas_threads_before);
}

TEST_CASE("SingleThreadedBlas: one OpenBLAS thread while it lives, the count it found after", "[kernels][attention][threads]") {
    const int before = test_blas_threads();
    if (before == 0) {
        SUCCEED("not linked with OpenBLAS: the guard has nothing to hold");
        const cringe::detail::SingleThreadedBlas guard;
        CHECK(guard.saved_threads() == 0);
        return;
    }
    set_test_blas_threads(3);
    {
        const cringe::detail::SingleThreadedBlas guard;
        CHECK(guard.saved_threads() == 3);
        CHECK(test_blas_threads() == 1);
    }
    CHECK(test_blas_threads() == 3);
    set_test_blas_threads(1);
    {
        const cringe::detail::SingleThreadedBlas guard;  // already one thread: nothing to change
        CHECK(test_blas_threads() == 1);
    }
    CHECK(test_blas_threads() == 1);
    set_test_blas_threads(before);
}

TEST_CASE("causal_self_attention: hand-computed values for one head", "[kernels][attention]") {
    // T = 2, C = D = 1: q = (1, 2), k = (0, 1), v = (3, 5). Row 0 sees only itself: y0 = 3.
    // Row 1: scores (q1 k0, q1 k1) = (0, 2) -> softmax (1, e^2) / (1 + e^2) -> y1 = (3 + 5 e^2) / (1 + e^2).
    Tape<double> tape;
    Rng rng(1);
    auto qkv = tape.variable(from_values<double>({1, 2, 3}, {1, 0, 3, 2, 1, 5}));
    auto y = kernels::causal_self_attention(qkv, 1, 0.0, rng, false);
    const double e2 = std::exp(2.0);
    CHECK(y.value()(0, 0, 0) == Approx(3.0).epsilon(1e-15));
    CHECK(y.value()(0, 1, 0) == Approx((3 + 5 * e2) / (1 + e2)).epsilon(1e-15));
}

TEST_CASE("causal_self_attention: gradient checks with and without dropout", "[kernels][attention][gradcheck]") {
    for (const AttentionShape& s : {AttentionShape{2, 4, 6, 2}, AttentionShape{1, 5, 4, 1}, AttentionShape{2, 3, 9, 3}}) {
        const Tensor<double> qkv = random_tensor({s.batch, s.seq, 3 * s.width}, 300 + s.seq);
        require_gradcheck([heads = s.heads](auto&, const auto& v) {
            Rng rng(5);
            return kernels::causal_self_attention(v[0], heads, 0.0, rng, false);
        }, {qkv});
        require_gradcheck([heads = s.heads](auto&, const auto& v) {
            Rng rng(5);  // the same dropout mask on every call
            return kernels::causal_self_attention(v[0], heads, 0.3, rng, true);
        }, {qkv});
    }
}

TEST_CASE("causal_self_attention: bad shapes and probabilities name the op and what was expected", "[kernels][attention][errors]") {
    Tape<double> tape;
    Rng rng(1);
    auto flat_qkv = tape.variable(zeros<double>({4, 6}));
    REQUIRE_THROWS_WITH(kernels::causal_self_attention(flat_qkv, 1, 0.0, rng), Catch::Contains("causal_self_attention: qkv has shape [4,6]") && Catch::Contains("expected [B,T,3C]"));
    auto not_three = tape.variable(zeros<double>({1, 2, 7}));
    REQUIRE_THROWS_AS(kernels::causal_self_attention(not_three, 1, 0.0, rng), ShapeError);
    auto empty_sequence = tape.variable(zeros<double>({1, 0, 6}));
    REQUIRE_THROWS_WITH(kernels::causal_self_attention(empty_sequence, 1, 0.0, rng), Catch::Contains("T >= 1"));
    auto qkv = tape.variable(zeros<double>({1, 2, 6}));
    REQUIRE_THROWS_WITH(kernels::causal_self_attention(qkv, 4, 0.0, rng), Catch::Contains("C = 2") && Catch::Contains("n_head = 4"));
    REQUIRE_THROWS_WITH(kernels::causal_self_attention(qkv, 0, 0.0, rng), Catch::Contains("n_head = 0"));
    REQUIRE_THROWS_WITH(kernels::causal_self_attention(qkv, 1, 1.0, rng), Catch::Contains("p_drop is 1") && Catch::Contains("0 <= p < 1"));
    REQUIRE_THROWS_WITH(kernels::causal_self_attention(qkv, 1, 0.0, rng, false, 0), Catch::Contains("causal_self_attention: threads is 0"));
    auto empty_batch = tape.variable(zeros<double>({0, 3, 6}));
    CHECK(kernels::causal_self_attention(empty_batch, 2, 0.0, rng).shape() == Shape{0, 3, 2});
}
