// detail/broadcast.hpp: numpy broadcasting's shape rule, THE broadcast loop, and THE backward,
// sum_to_shape. Hand-computed values, the loop's visiting order for each of its three paths, and the
// promise the one kernel makes: every backward that sums over a broadcast (add, sub, mul, div,
// sum_to_shape itself) sums in the same order, so their gradients agree bitwise.
#include <cstddef>
#include <string>
#include <tuple>
#include <vector>

#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::testing;

namespace {

/// The (i, ia, ib) triples for_each_broadcast visits, in order.
std::vector<std::tuple<std::size_t, std::size_t, std::size_t>> visits_of(const Shape& a, const Shape& b) {
    const Shape out = broadcast_shapes(a, b, "test");
    std::vector<std::tuple<std::size_t, std::size_t, std::size_t>> seen;
    detail::for_each_broadcast(a, b, out, [&](std::size_t i, std::size_t ia, std::size_t ib) { seen.emplace_back(i, ia, ib); });
    return seen;
}

/// Equal shapes and every element equal (for these finite values: the same bits).
template <class T>
bool same_bits(const Tensor<T>& x, const Tensor<T>& y) {
    return to_shape(x.shape()) == to_shape(y.shape()) && x == y;
}

/// A tensor of `shape` holding `values` in row-major order.
Tensor<double> broadcast_test_tensor(const Shape& shape, std::vector<double> values) {
    Tensor<double> out = Tensor<double>::from_shape(shape);
    REQUIRE(values.size() == out.size());
    for (std::size_t i = 0; i < values.size(); ++i) out.data()[i] = values[i];
    return out;
}

template <class T>
Tensor<T> cast_tensor(const Tensor<double>& x) {
    Tensor<T> out = Tensor<T>::from_shape(x.shape());
    for (std::size_t i = 0; i < x.size(); ++i) out.data()[i] = static_cast<T>(x.data()[i]);
    return out;
}

/// The gradient of b in op(a, b) under the random cotangent `grad`.
template <class T, class Op>
Tensor<T> grad_of_b(const Tensor<T>& a, const Tensor<T>& b, const Tensor<T>& grad, Op op) {
    Tape<T> tape;
    Var<T> va = tape.constant(a);
    Var<T> vb = tape.variable(b);
    tape.backward(op(va, vb), grad);
    return vb.grad();
}

}  // namespace

TEST_CASE("broadcast_shapes follows numpy's rule and names both shapes when it fails", "[broadcast]") {
    CHECK(broadcast_shapes(Shape{3, 4}, Shape{4}, "add") == Shape{3, 4});
    CHECK(broadcast_shapes(Shape{3, 1}, Shape{1, 4}, "add") == Shape{3, 4});
    CHECK(broadcast_shapes(Shape{2, 1, 5}, Shape{3, 1}, "add") == Shape{2, 3, 5});
    CHECK(broadcast_shapes(Shape{}, Shape{2, 2}, "add") == Shape{2, 2});
    CHECK_THROWS_WITH(broadcast_shapes(Shape{3, 4}, Shape{3}, "mul"),
                      Catch::Matchers::Contains("mul: shapes [3,4] and [3] do not broadcast (dimension 1: 4 vs 3)") &&
                          Catch::Matchers::Contains("expected equal sizes or 1"));
}

TEST_CASE("for_each_broadcast visits the result in order on each of its three paths", "[broadcast]") {
    using V = std::vector<std::tuple<std::size_t, std::size_t, std::size_t>>;
    // same shapes: one flat loop
    CHECK(visits_of({2, 2}, {2, 2}) == V{{0, 0, 0}, {1, 1, 1}, {2, 2, 2}, {3, 3, 3}});
    // b a suffix of a (a bias): b's block repeats
    CHECK(visits_of({3, 2}, {2}) == V{{0, 0, 0}, {1, 1, 1}, {2, 2, 0}, {3, 3, 1}, {4, 4, 0}, {5, 5, 1}});
    // general: a column [2,1] against a row [1,3]
    CHECK(visits_of({2, 1}, {1, 3}) == V{{0, 0, 0}, {1, 0, 1}, {2, 0, 2}, {3, 1, 0}, {4, 1, 1}, {5, 1, 2}});
    // a scalar (rank 0) against a rank-0: one visit
    CHECK(visits_of({}, {}) == V{{0, 0, 0}});
}

TEST_CASE("sum_to_shape sums each element's repeats (hand-computed)", "[broadcast]") {
    const Tensor<double> grad = broadcast_test_tensor({2, 3}, {1, 2, 3, 4, 5, 6});
    CHECK(same_bits(sum_to_shape(grad, {3}), broadcast_test_tensor({3}, {5, 7, 9})));
    CHECK(same_bits(sum_to_shape(grad, {1, 3}), broadcast_test_tensor({1, 3}, {5, 7, 9})));
    CHECK(same_bits(sum_to_shape(grad, {2, 1}), broadcast_test_tensor({2, 1}, {6, 15})));
    CHECK(same_bits(sum_to_shape(grad, {1, 1}), broadcast_test_tensor({1, 1}, {21})));
    CHECK(same_bits(sum_to_shape(grad, {2, 3}), grad));
}

TEMPLATE_TEST_CASE("every broadcast backward sums in ONE order: add, sub, mul and sum_to_shape agree bitwise",
                   "[broadcast]", float, double) {
    using T = TestType;
    // Many rows of random values: any two summation orders would differ in the last bits somewhere
    // (an Eigen column sum pairs the rows differently from one running sum).
    const Shape a_shape{37, 5, 24};
    for (const Shape& b_shape : {Shape{24}, Shape{5, 24}, Shape{37, 1, 24}, Shape{1, 5, 1}, Shape{37, 5, 24}}) {
        INFO("b shape " << shape_str(b_shape));
        const Tensor<T> a = cast_tensor<T>(random_tensor(a_shape, 1));
        const Tensor<T> b = cast_tensor<T>(random_tensor(b_shape, 2));
        const Tensor<T> grad = cast_tensor<T>(random_tensor(a_shape, 3));
        const Tensor<T> expected = sum_to_shape(grad, b_shape);
        Tensor<T> ones = Tensor<T>::from_shape(a_shape);
        flat(ones).setOnes();
        CHECK(same_bits(grad_of_b(a, b, grad, [](const Var<T>& x, const Var<T>& y) { return add(x, y); }), expected));
        CHECK(same_bits(grad_of_b(ones, b, grad, [](const Var<T>& x, const Var<T>& y) { return mul(x, y); }), expected));
        Tensor<T> negated = Tensor<T>::from_shape(expected.shape());
        flat(negated) = -flat(expected);
        CHECK(same_bits(grad_of_b(a, b, grad, [](const Var<T>& x, const Var<T>& y) { return sub(x, y); }), negated));
    }
}
