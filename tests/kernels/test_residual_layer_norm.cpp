// kernels::residual_layer_norm against the reference composition it replaces, layer_norm(add(x, delta)):
// exact equality of both results and of every gradient (float and double, with and without dropout
// on delta, several shapes), gradient checks, hand-computed values and its errors.
#include "../support/testing.hpp"

#include <cstring>

#include <cringe/kernels/residual_layer_norm.hpp>

using namespace cringe;
using namespace cringe::testing;

namespace {

/// How many entries of a and b differ in their bits (+0 and -0 count as different).
template <class T>
std::size_t residual_norm_bit_differences(const Tensor<T>& a, const Tensor<T>& b) {
    REQUIRE(to_shape(a.shape()) == to_shape(b.shape()));
    std::size_t bits = 0;
    for (std::size_t i = 0; i < a.size(); ++i) bits += std::memcmp(a.data() + i, b.data() + i, sizeof(T)) == 0 ? 0 : 1;
    return bits;
}

/// The inputs of one comparison, as leaves of one tape.
template <class T>
struct ResidualNormLeaves {
    Var<T> x, delta_in, weight, bias;
};

/// Fused vs reference on one shape, as the GPT uses them: delta is dropout(delta_in) (p_drop 0: none),
/// and both results are read afterwards (sum by the next residual addition, normed by a sub-layer), here
/// by  out = sum * 0.75 + normed * s  with s a random constant, under a random cotangent.
template <class T>
void require_residual_norm_equals_reference(const Shape& shape, double p_drop, std::uint64_t seed) {
    const std::size_t C = shape.back();
    const Tensor<T> x_value = tensor_cast<T>(random_tensor(shape, seed, 1.0, 0.3));
    const Tensor<T> delta_value = tensor_cast<T>(random_tensor(shape, seed + 1, 0.5));
    const Tensor<T> weight_value = tensor_cast<T>(random_tensor({C}, seed + 2, 0.2, 1.0));
    const Tensor<T> bias_value = tensor_cast<T>(random_tensor({C}, seed + 3, 0.1));
    const Tensor<T> reader = tensor_cast<T>(random_tensor(shape, seed + 4));
    const Tensor<T> cotangent = tensor_cast<T>(random_tensor(shape, seed + 5));
    auto run = [&](Tape<T>& tape, ResidualNormLeaves<T>& leaves, bool fused) {
        leaves = {tape.variable(x_value), tape.variable(delta_value), tape.variable(weight_value), tape.variable(bias_value)};
        Rng rng(seed + 6);
        Var<T> delta = dropout(leaves.delta_in, p_drop, rng, p_drop > 0.0);
        kernels::ResidualNorm<T> r;
        if (fused) {
            r = kernels::residual_layer_norm(leaves.x, delta, leaves.weight, leaves.bias, 1e-5);
        } else {
            r.sum = add(leaves.x, delta);
            r.normed = layer_norm(r.sum, leaves.weight, leaves.bias, 1e-5);
        }
        Var<T> out = add(affine(r.sum, T(0.75), T(0)), mul(r.normed, tape.constant(reader)));
        tape.backward(out, cotangent);
        return r;
    };
    Tape<T> fused_tape, reference_tape;
    ResidualNormLeaves<T> fused_leaves, reference_leaves;
    const kernels::ResidualNorm<T> fused = run(fused_tape, fused_leaves, true);
    const kernels::ResidualNorm<T> reference = run(reference_tape, reference_leaves, false);
    INFO("shape " << shape_str(shape) << ", p " << p_drop);
    CHECK(residual_norm_bit_differences(fused.sum.value(), reference.sum.value()) == 0);
    CHECK(residual_norm_bit_differences(fused.normed.value(), reference.normed.value()) == 0);
    CHECK(residual_norm_bit_differences(fused.sum.grad(), reference.sum.grad()) == 0);
    CHECK(residual_norm_bit_differences(fused_leaves.x.grad(), reference_leaves.x.grad()) == 0);
    CHECK(residual_norm_bit_differences(fused_leaves.delta_in.grad(), reference_leaves.delta_in.grad()) == 0);
    CHECK(residual_norm_bit_differences(fused_leaves.weight.grad(), reference_leaves.weight.grad()) == 0);
    CHECK(residual_norm_bit_differences(fused_leaves.bias.grad(), reference_leaves.bias.grad()) == 0);
}

const Shape kResidualNormShapes[] = {
    {1, 1},       // C = 1: every row is its mean (xhat = 0)
    {13},         // rank 1: a single row
    {1, 1, 7},    // a single row, odd C
    {2, 3, 5},    // odd C
    {4, 9, 33},   // C one above a multiple of every SIMD width
    {2, 7, 32},   // the residual stream of a model with C = 32
    {3, 5, 100},  // rows at offsets that are not multiples of 64 bytes
};

}  // namespace

TEST_CASE("residual_layer_norm equals layer_norm(add(x, delta)) exactly: values and gradients", "[kernels][residual_layer_norm]") {
    std::uint64_t seed = 900;
    for (const Shape& shape : kResidualNormShapes)
        for (double p_drop : {0.0, 0.25}) {
            require_residual_norm_equals_reference<float>(shape, p_drop, seed);
            require_residual_norm_equals_reference<double>(shape, p_drop, seed);
            seed += 10;
        }
}

TEST_CASE("residual_layer_norm: hand-computed values", "[kernels][residual_layer_norm]") {
    // x + delta = (1, 3): mean 2, biased variance 1, xhat = (-1, 1) (eps 0); normed = xhat * (2, 3) + (0.5, 0).
    Tape<double> tape;
    auto x = tape.variable(from_values<double>({1, 2}, {0, 4}));
    auto delta = tape.variable(from_values<double>({1, 2}, {1, -1}));
    auto r = kernels::residual_layer_norm(x, delta, tape.variable(from_values<double>({2}, {2, 3})),
                                          tape.variable(from_values<double>({2}, {0.5, 0})), 0.0);
    CHECK(r.sum.value()(0, 0) == 1.0);
    CHECK(r.sum.value()(0, 1) == 3.0);
    CHECK(r.normed.value()(0, 0) == -1.5);
    CHECK(r.normed.value()(0, 1) == 3.0);
    // Backward from sum alone: the layer norm contributes nothing, x and delta get the cotangent.
    tape.backward(r.sum, from_values<double>({1, 2}, {5, 7}));
    CHECK(x.grad()(0, 1) == 7.0);
    CHECK(delta.grad()(0, 0) == 5.0);
}

TEST_CASE("residual_layer_norm: gradient checks with and without dropout", "[kernels][residual_layer_norm][gradcheck]") {
    for (const Shape& shape : {Shape{2, 3, 5}, Shape{1, 4}, Shape{6}}) {
        const std::size_t C = shape.back();
        const std::vector<Tensor<double>> inputs{random_tensor(shape, 950, 1.0, 0.2), random_tensor(shape, 951),
                                                 random_tensor({C}, 952, 0.3, 1.0), random_tensor({C}, 953, 0.1)};
        for (double p_drop : {0.0, 0.3})
            require_gradcheck([p_drop](auto&, const auto& v) {
                Rng rng(5);  // the same dropout mask on every call
                auto r = kernels::residual_layer_norm(v[0], dropout(v[1], p_drop, rng, p_drop > 0.0), v[2], v[3]);
                return add(mul(r.sum, r.sum), r.normed);  // both results feed the output
            }, inputs);
    }
}

TEST_CASE("residual_layer_norm: bad shapes name the op and what was expected", "[kernels][residual_layer_norm][errors]") {
    Tape<double> tape;
    auto x = tape.variable(zeros<double>({2, 3}));
    auto w = tape.variable(zeros<double>({3})), b = tape.variable(zeros<double>({3}));
    REQUIRE_THROWS_WITH(kernels::residual_layer_norm(x, tape.variable(zeros<double>({2, 4})), w, b),
                        Catch::Contains("residual_layer_norm: x has shape [2,3] and delta [2,4]; expected equal shapes"));
    REQUIRE_THROWS_WITH(kernels::residual_layer_norm(x, x, tape.variable(zeros<double>({4})), b),
                        Catch::Contains("residual_layer_norm: x [2,3] needs weight and bias of shape [3], got [4] and [3]"));
    REQUIRE_THROWS_WITH(kernels::residual_layer_norm(tape.variable(zeros<double>(Shape{})), tape.variable(zeros<double>(Shape{})), w, b),
                        Catch::Contains("residual_layer_norm: x is a scalar"));
    auto empty = tape.variable(zeros<double>({2, 0}));
    auto w0 = tape.variable(zeros<double>({0}));
    REQUIRE_THROWS_WITH(kernels::residual_layer_norm(empty, empty, w0, w0), Catch::Contains("empty last axis; expected C >= 1"));
}
