// Reductions and the softmax family (layer_norm: test_layer_norm.cpp).
#include "../support/testing.hpp"

#include <xtensor/xmath.hpp>

using namespace cringe;
using namespace cringe::testing;

TEST_CASE("reductions: values and keepdims shapes", "[ops][reduce]") {
    Tape<double> tape;
    auto x = tape.constant(from_values<double>({2, 3}, {1, 5, 3, 4, 2, 6}));
    require_close(sum(x).value(), scalar_tensor(21.0));
    require_close(sum(x, {0}).value(), from_values<double>({3}, {5, 7, 9}));
    require_close(sum(x, {1}, true).value(), from_values<double>({2, 1}, {9, 12}));
    require_close(mean(x, {-1}).value(), from_values<double>({2}, {3, 4}));
    require_close(mean(x, {0, 1}, true).value(), from_values<double>({1, 1}, {3.5}));
    require_close(max(x, 1).value(), from_values<double>({2}, {5, 6}));
    require_close(max(x, 0, true).value(), from_values<double>({1, 3}, {4, 5, 6}));
}

TEST_CASE("reductions: gradient checks", "[ops][reduce][gradcheck]") {
    const auto x = random_tensor({2, 3, 4}, 31);
    require_gradcheck([](auto&, const auto& v) { return sum(v[0]); }, {x});
    require_gradcheck([](auto&, const auto& v) { return sum(v[0], {1}); }, {x});
    require_gradcheck([](auto&, const auto& v) { return sum(v[0], {0, 2}, true); }, {x});
    require_gradcheck([](auto&, const auto& v) { return mean(v[0], {-1}); }, {x});
    require_gradcheck([](auto&, const auto& v) { return mean(v[0]); }, {random_tensor({1}, 3)});
    // max has kinks at ties; random normal inputs have none
    require_gradcheck([](auto&, const auto& v) { return max(v[0], 1); }, {x});
    require_gradcheck([](auto&, const auto& v) { return max(v[0], -1, true); }, {x});
}

TEST_CASE("reductions: bad axes", "[ops][reduce][errors]") {
    Tape<double> tape;
    auto x = tape.constant(zeros<double>({2, 3}));
    REQUIRE_THROWS_WITH(sum(x, {2}), Catch::Contains("sum") && Catch::Contains("axis 2"));
    REQUIRE_THROWS_WITH(sum(x, {1, -1}), Catch::Contains("twice"));
    REQUIRE_THROWS_WITH(max(x, -3), Catch::Contains("max"));
}

TEST_CASE("softmax family: values, stability at +-1e4, all -inf rows", "[ops][softmax]") {
    Tape<double> tape;
    auto x = tape.constant(from_values<double>({2, 3}, {1, 2, 3, 1e4, -1e4, 1e4}));
    const double e = 1.0 / (1 + std::exp(1.0) + std::exp(2.0));
    require_close(softmax(x).value(), from_values<double>({2, 3}, {e, e * std::exp(1.0), e * std::exp(2.0), 0.5, 0.0, 0.5}));
    require_close(log_softmax(x).value(),
                  from_values<double>({2, 3}, {std::log(e), std::log(e) + 1, std::log(e) + 2, -std::log(2.0), -2e4 - std::log(2.0), -std::log(2.0)}), 1e-9);
    require_close(logsumexp(x).value(), from_values<double>({2, 1}, {3 - std::log(e * std::exp(2.0)), 1e4 + std::log(2.0)}), 1e-9);
    const double inf = std::numeric_limits<double>::infinity();
    auto masked = tape.constant(from_values<double>({1, 3}, {-inf, 0.0, -inf}));
    require_close(softmax(masked).value(), from_values<double>({1, 3}, {0, 1, 0}));
    auto all_masked = tape.constant(from_values<double>({1, 2}, {-inf, -inf}));
    REQUIRE(logsumexp(all_masked).value()(0, 0) == -inf);
    REQUIRE(softmax(all_masked).value()(0, 1) == 0.0);
}

TEST_CASE("softmax family: gradient checks along every axis", "[ops][softmax][gradcheck]") {
    const auto x = random_tensor({2, 3, 4}, 41, 2.0);
    for (long axis : {0L, 1L, -1L}) {
        INFO("axis " << axis);
        require_gradcheck([axis](auto&, const auto& v) { return softmax(v[0], axis); }, {x});
        require_gradcheck([axis](auto&, const auto& v) { return log_softmax(v[0], axis); }, {x});
        require_gradcheck([axis](auto&, const auto& v) { return logsumexp(v[0], axis); }, {x});
    }
    require_gradcheck([](auto&, const auto& v) { return softmax(v[0]); }, {random_tensor({1, 1}, 42)});
    // Logits around 1e4: the fused kernel stays exact. Finite differences cannot check this: their
    // step scales with |x| (~0.06 here), far too coarse for softmax. The exact check needs no step.
    GradcheckOptions exact_only;
    exact_only.finite_differences = false;
    require_gradcheck([](auto&, const auto& v) { return log_softmax(v[0]); }, {random_tensor({3, 5}, 43, 1.0, 1e4)}, exact_only);
}

// docs/pitfalls.md: xtensor 0.24.3 computes wrong values (and reads out of bounds) for a LAZY keep_dims
// reduction used inside an expression. cringe never writes that pattern; this test pins the safe form
// (evaluate first) against our softmax, so a refactor towards the lazy form is caught.
TEST_CASE("regression: softmax is not the lazy xtensor keep_dims pattern", "[ops][regression][xtensor]") {
    const auto x = random_tensor({3, 5}, 61);
    const Tensor<double> ex = xt::exp(x);
    const Tensor<double> sums = xt::sum(ex, {1}, xt::keep_dims);  // evaluated into a container first
    const Tensor<double> safe = ex / sums;                         // then broadcast: correct
    // (The lazy form `ex / xt::sum(ex, {1}, xt::keep_dims)` returns wrong rows and overflows the
    // heap under ASan, so it is deliberately not executed here.)
    Tape<double> tape;
    require_close(softmax(tape.constant(x)).value(), safe, 1e-14);
}
