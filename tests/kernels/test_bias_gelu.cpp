// kernels::bias_gelu against the reference composition it replaces, gelu(add(product, bias)): exact
// equality of values and gradients (float and double, leaves and intermediate nodes, several shapes),
// gradient checks, a hand-computed value and its errors.
#include "../support/testing.hpp"

#include <cstring>

#include <cringe/kernels/bias_gelu.hpp>

using namespace cringe;
using namespace cringe::testing;

namespace {

/// How many entries of a and b differ in their bits (+0 and -0 count as different).
template <class T>
std::size_t bias_gelu_bit_differences(const Tensor<T>& a, const Tensor<T>& b) {
    REQUIRE(to_shape(a.shape()) == to_shape(b.shape()));
    std::size_t bits = 0;
    for (std::size_t i = 0; i < a.size(); ++i) bits += std::memcmp(a.data() + i, b.data() + i, sizeof(T)) == 0 ? 0 : 1;
    return bits;
}

/// Fused vs reference on one product shape: the forward values and the gradients of product and bias
/// under a random cotangent, bit for bit. With `intermediate`, product and bias are op outputs (affine
/// of leaves: their adjoints take the write-first path) and the leaves' gradients are compared; the
/// backward then runs twice, so the leaves accumulate over two calls.
template <class T>
void require_bias_gelu_equals_reference(const Shape& shape, bool intermediate, std::uint64_t seed) {
    const std::size_t N = shape.back();
    const Tensor<T> product_value = tensor_cast<T>(random_tensor(shape, seed, 2.0));  // wide: tanh saturates at both ends
    const Tensor<T> bias_value = tensor_cast<T>(random_tensor({N}, seed + 1, 0.5));
    const Tensor<T> cotangent = tensor_cast<T>(random_tensor(shape, seed + 2));
    Tape<T> fused_tape, reference_tape;
    Var<T> fused_p = fused_tape.variable(product_value), fused_b = fused_tape.variable(bias_value);
    Var<T> reference_p = reference_tape.variable(product_value), reference_b = reference_tape.variable(bias_value);
    auto inputs = [&](const Var<T>& p, const Var<T>& b) {
        return intermediate ? std::pair{affine(p, T(1.5), T(0.25)), affine(b, T(0.5), T(0))} : std::pair{p, b};
    };
    const auto [fp, fb] = inputs(fused_p, fused_b);
    const auto [rp, rb] = inputs(reference_p, reference_b);
    Var<T> fused = kernels::bias_gelu(fp, fb);
    Var<T> reference = gelu(add(rp, rb));
    const std::size_t backward_calls = intermediate ? 2 : 1;
    for (std::size_t call = 0; call < backward_calls; ++call) {
        fused_tape.backward(fused, cotangent, {.retain_graph = true});
        reference_tape.backward(reference, cotangent, {.retain_graph = true});
    }
    INFO("shape " << shape_str(shape) << (intermediate ? ", intermediate inputs" : ", leaves"));
    CHECK(bias_gelu_bit_differences(fused.value(), reference.value()) == 0);
    CHECK(bias_gelu_bit_differences(fused_p.grad(), reference_p.grad()) == 0);
    CHECK(bias_gelu_bit_differences(fused_b.grad(), reference_b.grad()) == 0);
}

const Shape kBiasGeluShapes[] = {
    {1},          // one element
    {7},          // rank 1: product and bias of one shape
    {1, 5},       // a single row
    {3, 1},       // N = 1: every element is its own row
    {2, 3, 7},    // odd N
    {4, 9, 33},   // more than one block (1188 elements), rows crossing block boundaries
    {2, 7, 128},  // the MLP of a model with C = 32 (4C = 128)
    {3, 50, 23},  // 3450 elements: several blocks and an odd tail
};

}  // namespace

TEST_CASE("bias_gelu equals gelu(add(product, bias)) exactly: values and gradients", "[kernels][bias_gelu]") {
    std::uint64_t seed = 700;
    for (const Shape& shape : kBiasGeluShapes)
        for (bool intermediate : {false, true}) {
            require_bias_gelu_equals_reference<float>(shape, intermediate, seed);
            require_bias_gelu_equals_reference<double>(shape, intermediate, seed);
            seed += 10;
        }
}

TEST_CASE("bias_gelu: a hand-computed value and its derivative", "[kernels][bias_gelu]") {
    // z = 1 + 0.5 = 1.5: gelu(z) = z (1 + tanh(u)) / 2, u = c (z + 0.044715 z^3), c = sqrt(2/pi).
    Tape<double> tape;
    auto p = tape.variable(from_values<double>({1, 1}, {1.0}));
    auto b = tape.variable(from_values<double>({1}, {0.5}));
    auto y = kernels::bias_gelu(p, b);
    const double c = std::sqrt(2.0 / std::acos(-1.0)), z = 1.5, u = c * (z + 0.044715 * z * z * z), t = std::tanh(u);
    CHECK(y.value()(0, 0) == Approx(z * (1 + t) / 2).epsilon(1e-14));
    tape.backward(y);
    const double derivative = (1 + t) / 2 + z / 2 * (1 - t * t) * c * (1 + 3 * 0.044715 * z * z);
    CHECK(p.grad()(0, 0) == Approx(derivative).epsilon(1e-14));
    CHECK(b.grad()(0) == Approx(derivative).epsilon(1e-14));
}

TEST_CASE("bias_gelu: gradient checks", "[kernels][bias_gelu][gradcheck]") {
    for (const Shape& shape : {Shape{2, 3, 5}, Shape{1, 4}, Shape{6}}) {
        const Tensor<double> product = random_tensor(shape, 810 + shape.size(), 1.5);
        const Tensor<double> bias = random_tensor({shape.back()}, 820 + shape.size());
        require_gradcheck([](auto&, const auto& v) { return kernels::bias_gelu(v[0], v[1]); }, {product, bias});
    }
}

TEST_CASE("bias_gelu: bad shapes name the op and what was expected", "[kernels][bias_gelu][errors]") {
    Tape<double> tape;
    auto product = tape.variable(zeros<double>({2, 3}));
    REQUIRE_THROWS_WITH(kernels::bias_gelu(product, tape.variable(zeros<double>({4}))),
                        Catch::Contains("bias_gelu: product [2,3] needs a bias of shape [3], got [4]"));
    REQUIRE_THROWS_AS(kernels::bias_gelu(product, tape.variable(zeros<double>({1, 3}))), ShapeError);
    REQUIRE_THROWS_WITH(kernels::bias_gelu(tape.variable(zeros<double>(Shape{})), tape.variable(zeros<double>({1}))),
                        Catch::Contains("bias_gelu: product is a scalar"));
    auto no_rows = tape.variable(zeros<double>({0, 3}));
    auto bias = tape.variable(from_values<double>({3}, {1, 2, 3}));
    auto y = kernels::bias_gelu(no_rows, bias);
    CHECK(y.shape() == Shape{0, 3});
    tape.backward(y, zeros<double>({0, 3}));
    CHECK(bias.grad()(0) == 0.0);
}
