// Second order: hvp / jacobian / hessian against closed forms, gradgradcheck on every op whose
// backward is differentiable, and a backward that is right to first order but wrong to second.
#include <cmath>

#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::testing;

namespace {
namespace second_order_tests {

/// Runs gradgradcheck and fails the test with its message.
template <class F>
GradcheckReport require_gradgradcheck(F&& f, std::vector<Tensor<double>> inputs, GradcheckOptions options = {}) {
    GradcheckReport report = gradgradcheck(std::forward<F>(f), std::move(inputs), options);
    INFO(report.message());
    REQUIRE(report.passed);
    REQUIRE(report.elements_checked > 0);
    return report;
}

/// y = x^3 elementwise with a backward 3 x^2 g that is right in value; with `detached` it computes
/// x^2 from plain doubles (value_of), which the outer dual of forward-over-reverse cannot see.
template <class T>
Var<T> cube(const Var<T>& x, bool detached) {
    Tensor<T> y = x.value();
    for (auto& v : y) v = v * v * v;
    return x.tape().record("cube", std::move(y), {x}, [detached](Tape<T>& t, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        if (!t.wants_grad(in)) return;
        T* gx = t.adjoint(in).data();
        const T* xv = t.value(in).data();
        for (std::size_t i = 0; i < node.adjoint.size(); ++i) {
            const T x2 = detached ? T(value_of(xv[i]) * value_of(xv[i])) : xv[i] * xv[i];
            gx[i] += T(3) * x2 * node.adjoint.data()[i];
        }
    }, Where::current());
}

}  // namespace second_order_tests
}  // namespace

TEST_CASE("hvp, jacobian and hessian agree with closed forms", "[second-order]") {
    // f(x) = sum(x^3): gradient 3x^2, Hessian diag(6x).
    const auto x = from_values<double>({3}, {0.5, -1.25, 2.0});
    const auto v = from_values<double>({3}, {1.0, 0.5, -2.0});
    auto f = [](auto&, const auto& in) { return sum(pow(in[0], 3.0)); };
    const auto hv = hvp(f, {x}, {v});
    REQUIRE(hv.size() == 1);
    for (std::size_t i = 0; i < 3; ++i) REQUIRE(hv[0].data()[i] == Approx(6 * x.data()[i] * v.data()[i]).epsilon(1e-15));
    const auto hess = hessian(f, {x});
    REQUIRE(to_shape(hess.shape()) == Shape{3, 3});
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 3; ++j) REQUIRE(hess(i, j) == Approx(i == j ? 6 * x.data()[i] : 0.0).margin(1e-15));
    // Hessian of logsumexp: diag(p) - p p^T.
    const auto z = from_values<double>({1, 4}, {0.3, -1.0, 2.0, 0.5});
    const auto h2 = hessian([](auto&, const auto& in) { return sum(logsumexp(in[0])); }, {z});
    double total = 0;
    for (double e : z) total += std::exp(e);
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 4; ++j) {
            const double pi = std::exp(z.data()[i]) / total, pj = std::exp(z.data()[j]) / total;
            REQUIRE(h2(i, j) == Approx((i == j ? pi : 0.0) - pi * pj).margin(1e-15));
        }
    // Jacobian of softmax: diag(y) - y y^T; two inputs are concatenated along the columns.
    const auto jac = jacobian([](auto&, const auto& in) { return softmax(in[0] + in[1]); },
                              {from_values<double>({3}, {0.1, 0.2, -0.3}), zeros<double>({3})});
    REQUIRE(to_shape(jac.shape()) == Shape{3, 6});
    Tape<double> tape;
    const auto y = softmax(tape.constant(from_values<double>({3}, {0.1, 0.2, -0.3}))).value();
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 3; ++j) {
            const double expected = (i == j ? y(i) : 0.0) - y(i) * y(j);
            REQUIRE(jac(i, j) == Approx(expected).margin(1e-15));
            REQUIRE(jac(i, j + 3) == Approx(expected).margin(1e-15));
        }
    // A non-scalar f is refused by hvp, naming the shape.
    REQUIRE_THROWS_WITH(hvp([](auto&, const auto& in) { return exp(in[0]); }, {x}, {v}),
                        Catch::Contains("hvp") && Catch::Contains("[3]") && Catch::Contains("one element"));
    REQUIRE_THROWS_AS(hvp(f, {x}, {zeros<double>({2})}), ShapeError);
}

TEST_CASE("gradgradcheck: smooth unary ops", "[second-order][gradcheck]") {
    using second_order_tests::require_gradgradcheck;
    const auto x = random_tensor({2, 3}, 201);
    const auto pos = positive_tensor({2, 3}, 202);
    require_gradgradcheck([](auto&, const auto& v) { return exp(v[0]); }, {x});
    require_gradgradcheck([](auto&, const auto& v) { return log(v[0]); }, {pos});
    require_gradgradcheck([](auto&, const auto& v) { return sqrt(v[0]); }, {pos});
    require_gradgradcheck([](auto&, const auto& v) { return tanh(v[0]); }, {x});
    require_gradgradcheck([](auto&, const auto& v) { return sigmoid(v[0]); }, {x});
    require_gradgradcheck([](auto&, const auto& v) { return gelu(v[0]); }, {x});
    require_gradgradcheck([](auto&, const auto& v) { return pow(v[0], 3.0); }, {x});
    require_gradgradcheck([](auto&, const auto& v) { return pow(v[0], -1.5); }, {pos});
}

TEST_CASE("gradgradcheck: binary ops with broadcasting, reductions, matmul", "[second-order][gradcheck]") {
    using second_order_tests::require_gradgradcheck;
    const auto a = random_tensor({2, 3}, 203), b = random_tensor({3}, 204), c = positive_tensor({2, 3}, 205);
    require_gradgradcheck([](auto&, const auto& v) { return v[0] * v[1]; }, {a, b});
    require_gradgradcheck([](auto&, const auto& v) { return v[0] / v[1]; }, {a, c});
    require_gradgradcheck([](auto&, const auto& v) { return (v[0] + v[1]) * (v[0] - v[1]); }, {a, b});
    require_gradgradcheck([](auto&, const auto& v) { return 2.0 / v[0]; }, {c});
    require_gradgradcheck([](auto&, const auto& v) { return matmul(v[0], v[1]); }, {a, random_tensor({3, 4}, 206)});
    require_gradgradcheck([](auto&, const auto& v) { return matmul(v[0], v[0], true); }, {a});
    require_gradgradcheck([](auto&, const auto& v) { return sum(v[0] * v[0], {1}); }, {a});
    require_gradgradcheck([](auto&, const auto& v) { return mean(exp(v[0]), {0}, true); }, {a});
}

TEST_CASE("gradgradcheck: softmax family along every axis, layer_norm", "[second-order][gradcheck]") {
    using second_order_tests::require_gradgradcheck;
    const auto x = random_tensor({2, 3, 4}, 207, 2.0);
    for (long axis : {0L, 1L, -1L}) {
        INFO("axis " << axis);
        require_gradgradcheck([axis](auto&, const auto& v) { return softmax(v[0], axis); }, {x});
        require_gradgradcheck([axis](auto&, const auto& v) { return log_softmax(v[0], axis); }, {x});
        require_gradgradcheck([axis](auto&, const auto& v) { return logsumexp(v[0], axis); }, {x});
    }
    require_gradgradcheck([](auto&, const auto& v) { return layer_norm(v[0], v[1], v[2]); },
                          {random_tensor({2, 4}, 208), random_tensor({4}, 209), random_tensor({4}, 210)});
}

// Linear ops (reshape, permute, slice, concat, embedding, gather) have no second derivative of their
// own; between smooth ops they must still carry the outer dual's tangents through their backward.
TEST_CASE("gradgradcheck: shape ops, concat, embedding and gather between smooth ops", "[second-order][gradcheck]") {
    using second_order_tests::require_gradgradcheck;
    const auto x = random_tensor({2, 3, 4}, 211), y = random_tensor({2, 2, 4}, 212);
    require_gradgradcheck([](auto&, const auto& v) { return tanh(reshape(v[0] * v[0], {6, 4})); }, {x});
    require_gradgradcheck([](auto&, const auto& v) { return tanh(permute(v[0] * v[0], {2, 0, 1})); }, {x});
    require_gradgradcheck([](auto&, const auto& v) { return exp(slice(tanh(v[0]), 1, 1, 3)); }, {x});
    require_gradgradcheck([](auto&, const auto& v) { return tanh(concat(std::vector{v[0] * v[0], tanh(v[1])}, 1)); }, {x, y});
    const IdTensor ids_bt = ids({{0, 2, 2}, {1, 0, 3}});
    require_gradgradcheck([&](auto&, const auto& v) { return tanh(embedding(v[0], ids_bt) * 2.0); }, {random_tensor({4, 3}, 213)});
    const IdTensor picks = ids({{3, 0, 1}, {2, 2, 0}});
    require_gradgradcheck([&](auto&, const auto& v) { return exp(gather_last(tanh(v[0]), picks)); }, {x});
}

TEST_CASE("gradgradcheck: piecewise-linear ops have zero second derivative (and say so)", "[second-order][gradcheck]") {
    using second_order_tests::require_gradgradcheck;
    GradcheckOptions kinked;
    kinked.kinks = {0.0};
    const auto x = random_tensor({2, 3}, 211);
    // Alone, relu, max and the shape ops are linear pieces: H = 0, and the report calls that vacuous.
    const auto lin = require_gradgradcheck([](auto&, const auto& v) { return relu(v[0]); }, {x}, kinked);
    REQUIRE(lin.vacuous);
    REQUIRE(require_gradgradcheck([](auto&, const auto& v) { return transpose(v[0], 0, 1); }, {x}).vacuous);
    // Composed with a smooth op they are checked for real: relu(x) * x, max(x^2), masked softmax.
    REQUIRE_FALSE(require_gradgradcheck([](auto&, const auto& v) { return relu(v[0]) * v[0]; }, {x}, kinked).vacuous);
    require_gradgradcheck([](auto&, const auto& v) { return max(v[0] * v[0], 1); }, {x});
    Mask mask = Mask::from_shape({2, 3});
    for (std::size_t i = 0; i < mask.size(); ++i) mask.data()[i] = i == 1 || i == 5;
    require_gradgradcheck([&mask](auto&, const auto& v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        return softmax(masked_fill(v[0], mask, S(-1e9)));
    }, {x});
    require_gradgradcheck([](auto&, const auto& v) { return sum(reshape(v[0], {3, 2}) * reshape(transpose(v[0], 0, 1), {3, 2})); }, {x});
}

TEST_CASE("gradgradcheck catches a backward that is right to first order and wrong to second", "[second-order][gradcheck]") {
    const auto x = random_tensor({4}, 212);
    auto good = [](auto&, const auto& v) { return second_order_tests::cube(v[0], false); };
    auto bad = [](auto&, const auto& v) { return second_order_tests::cube(v[0], true); };
    // First order cannot tell them apart.
    REQUIRE(gradcheck(good, {x}).passed);
    REQUIRE(gradcheck(bad, {x}).passed);
    // Second order can: the detached x^2 is a constant to the outer dual, so H v misses 6 x v.
    REQUIRE(gradgradcheck(good, {x}).passed);
    const auto report = gradgradcheck(bad, {x});
    INFO(report.message());
    REQUIRE_FALSE(report.passed);
    REQUIRE(report.elements_failed == 4);
    REQUIRE(report.worst_failures.size() == 5);  // capped at max_reported_failures (both references fail)
    REQUIRE_THAT(report.message(), Catch::Contains("exact (nested dual numbers)") &&
                                       Catch::Contains("finite differences of the gradient"));
}
