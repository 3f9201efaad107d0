// gradcheck itself: it must PASS correct gradients and FAIL wrong ones, with a useful report.
#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::testing;

namespace {
// A deliberately wrong softmax backward: y (g - sum(y)) instead of y (g - sum(g y)). With a cotangent
// of ones (the gradient of a plain sum of outputs) both give exactly 0, because softmax rows sum to
// 1: a sum-of-outputs check cannot see this bug. A random cotangent exposes it.
template <class T>
Var<T> broken_softmax(const Var<T>& x) {
    Tape<T>& tape = x.tape();
    Tensor<T> y = softmax(tape.constant(x.value())).value();
    return tape.record("broken_softmax", std::move(y), {x}, [](Tape<T>& t, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        if (!t.wants_grad(in)) return;
        const std::size_t V = node.value.shape().back();
        for (std::size_t r = 0; r < node.value.size() / V; ++r) {
            T total(0);
            for (std::size_t j = 0; j < V; ++j) total += node.value.data()[r * V + j];  // wrong: sum(y)
            for (std::size_t j = 0; j < V; ++j)
                t.adjoint(in).data()[r * V + j] += node.value.data()[r * V + j] * (node.adjoint.data()[r * V + j] - total);
        }
    }, Where::current());
}
}  // namespace

TEST_CASE("gradcheck passes a correct op and reports what it checked", "[gradcheck]") {
    const auto report = gradcheck([](auto&, const auto& x) { return softmax(x[0]); }, {random_tensor({2, 4}, 1)});
    INFO(report.message());
    REQUIRE(report.passed);
    REQUIRE(report.elements_checked == 8);
    REQUIRE(report.backward_deterministic);
    REQUIRE(report.zero_cotangent_gives_zero);
    REQUIRE(report.max_rel_error < 1e-6);
    REQUIRE_THAT(report.message(), Catch::StartsWith("gradcheck passed"));
}

TEST_CASE("the exact check agrees with reverse mode to ~1e-12 on smooth ops", "[gradcheck]") {
    GradcheckOptions exact_only;
    exact_only.finite_differences = false;
    exact_only.exact_rtol = 1e-12;
    exact_only.exact_atol = 1e-14;
    const auto report = gradcheck([](auto&, const auto& x) { return log_softmax(tanh(matmul(x[0], x[1]))); },
                                  {random_tensor({3, 4}, 2), random_tensor({4, 5}, 3)}, exact_only);
    INFO(report.message());
    REQUIRE(report.passed);
    REQUIRE(report.max_rel_error < 1e-12);
}

TEST_CASE("gradcheck catches a wrong backward that a sum-of-outputs check would miss", "[gradcheck]") {
    const auto x = random_tensor({2, 3}, 4);
    // The sum-of-outputs check (cotangent of ones) sees nothing wrong:
    Tape<double> tape;
    auto v = tape.variable(x);
    tape.backward(broken_softmax(v), full<double>({2, 3}, 1.0));
    for (double g : v.grad()) CHECK(std::abs(g) < 1e-15);  // the true gradient of sum(softmax) is 0 too
    // gradcheck's random cotangent catches it and names the worst element:
    const auto report = gradcheck([](auto&, const auto& in) { return broken_softmax(in[0]); }, {x});
    INFO(report.message());
    REQUIRE_FALSE(report.passed);
    REQUIRE(report.worst_input == 0);
    REQUIRE(report.worst_element < 6);
    REQUIRE(report.worst_analytic != Approx(report.worst_reference_value));
    REQUIRE_THAT(report.message(), Catch::Contains("FAILED") && Catch::Contains("worst: input 0 element"));
}

TEST_CASE("gradcheck samples elements of large inputs when asked", "[gradcheck]") {
    GradcheckOptions sampled;
    sampled.max_elements_per_input = 5;
    const auto report = gradcheck([](auto&, const auto& x) { return tanh(x[0]); }, {random_tensor({10, 10}, 5)}, sampled);
    REQUIRE(report.passed);
    REQUIRE(report.elements_checked == 5);
}

TEST_CASE("Dual numbers: arithmetic and functions carry exact derivatives", "[dual]") {
    using D = Dual<double>;
    const D x(0.7, 1.0);
    REQUIRE((x * x).der == Approx(1.4).epsilon(1e-15));
    REQUIRE(exp(x).der == Approx(std::exp(0.7)).epsilon(1e-15));
    REQUIRE(log(x).der == Approx(1 / 0.7).epsilon(1e-15));
    REQUIRE(tanh(x).der == Approx(1 - std::pow(std::tanh(0.7), 2)).epsilon(1e-15));
    REQUIRE((1.0 / x).der == Approx(-1 / 0.49).epsilon(1e-15));
    REQUIRE(sqrt(x).der == Approx(0.5 / std::sqrt(0.7)).epsilon(1e-15));
    REQUIRE(pow(x, 3.0).der == Approx(3 * 0.49).epsilon(1e-15));
    REQUIRE(D(2.0) > D(1.0));
    REQUIRE(value_of(max(D(1.0, 5.0), D(2.0, 7.0))) == 2.0);
}

TEST_CASE("Rng: fixed streams for fixed seeds (portable, no <random> distributions)", "[rng]") {
    Rng a(42), b(42), c(43);
    for (int i = 0; i < 100; ++i) REQUIRE(a.next_u64() == b.next_u64());
    Rng d(42);
    REQUIRE(d.next_u64() != c.next_u64());
    Rng e(7);
    double total = 0, total_sq = 0;
    for (int i = 0; i < 20000; ++i) {
        const double z = e.normal();
        total += z;
        total_sq += z * z;
    }
    REQUIRE(std::abs(total / 20000) < 0.03);
    REQUIRE(std::abs(total_sq / 20000 - 1.0) < 0.04);
    Rng f(1);
    for (int i = 0; i < 1000; ++i) REQUIRE(f.below(7) < 7);
}
