// layer_norm (include/cringe/ops/layer_norm.hpp): hand-computed values and gradients, gradient checks
// with random cotangents in double, float against double, and the shape errors.
#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::testing;

TEST_CASE("layer_norm: hand-computed values, eps and a constant row", "[ops][layer_norm]") {
    Tape<double> tape;
    // x = 1..4: mu = 2.5, biased variance 1.25, xhat = (x - mu) rstd
    auto x = tape.constant(from_values<double>({1, 4}, {1, 2, 3, 4}));
    auto w = tape.constant(from_values<double>({4}, {1, 1, 2, 2}));
    auto b = tape.constant(from_values<double>({4}, {0, 0, 0, 1}));
    const double r = 1.0 / std::sqrt(1.25 + 1e-5);
    require_close(layer_norm(x, w, b).value(), from_values<double>({1, 4}, {-1.5 * r, -0.5 * r, 2 * 0.5 * r, 2 * 1.5 * r + 1}), 1e-12);

    // eps enters under the square root: x = [0, 2] has mu 1 and variance 1; with eps = 3, rstd = 1/2
    // and xhat = [-1/2, 1/2], every number exact in binary
    auto x2 = tape.constant(from_values<double>({2, 2}, {0, 2, 5, 5}));
    auto w2 = tape.constant(from_values<double>({2}, {2, 4}));
    auto b2 = tape.constant(from_values<double>({2}, {0.25, -1}));
    const Tensor<double> y2 = layer_norm(x2, w2, b2, 3.0).value();
    CHECK(y2(0, 0) == -0.5 * 2 + 0.25);
    CHECK(y2(0, 1) == 0.5 * 4 - 1);
    // a constant row has variance 0: xhat = 0 (rstd = 1/sqrt(eps) is finite), so the output is the bias
    CHECK(y2(1, 0) == 0.25);
    CHECK(y2(1, 1) == -1.0);
}

TEST_CASE("layer_norm: hand-computed backward of one row", "[ops][layer_norm]") {
    // x = [0, 2], eps = 3: rstd = 1/2, xhat = [-1/2, 1/2]; weight = [1, 1], cotangent grad = [1, 0].
    //   grad_bias   = grad                                           = [1, 0]
    //   grad_weight = grad * xhat                                    = [-1/2, 0]
    //   gxhat = grad * weight = [1, 0]; mean(gxhat) = 1/2; mean(gxhat * xhat) = -1/4
    //   grad_x = rstd (gxhat - 1/2 - xhat * (-1/4)) = 1/2 [1 - 1/2 - 1/8, 0 - 1/2 + 1/8] = [3/16, -3/16]
    Tape<double> tape;
    auto x = tape.variable(from_values<double>({1, 2}, {0, 2}));
    auto w = tape.variable(from_values<double>({2}, {1, 1}));
    auto b = tape.variable(from_values<double>({2}, {0, 0}));
    auto y = layer_norm(x, w, b, 3.0);
    tape.backward(y, from_values<double>({1, 2}, {1, 0}));
    require_close(x.grad(), from_values<double>({1, 2}, {0.1875, -0.1875}), 0.0);
    require_close(w.grad(), from_values<double>({2}, {-0.5, 0}), 0.0);
    require_close(b.grad(), from_values<double>({2}, {1, 0}), 0.0);
}

TEST_CASE("layer_norm: gradient checks with random cotangents in double", "[ops][layer_norm][gradcheck]") {
    auto ln = [](auto&, const auto& v) { return layer_norm(v[0], v[1], v[2]); };
    require_gradcheck(ln, {random_tensor({3, 5}, 51), random_tensor({5}, 52), random_tensor({5}, 53)});
    require_gradcheck(ln, {random_tensor({2, 2, 4}, 54, 3.0), random_tensor({4}, 55), random_tensor({4}, 56)});
    // a large eps (the variance is no longer dominant) and two elements per row, the smallest normalised row
    auto ln_eps = [](auto&, const auto& v) { return layer_norm(v[0], v[1], v[2], 0.5); };
    require_gradcheck(ln_eps, {random_tensor({4, 2}, 57), random_tensor({2}, 58), random_tensor({2}, 59)});
}

TEST_CASE("layer_norm: float agrees with double to float precision", "[ops][layer_norm]") {
    const Tensor<double> xd = random_tensor({4, 16}, 60, 2.0, 0.5), wd = random_tensor({16}, 61), bd = random_tensor({16}, 62);
    const Tensor<double> gd = random_tensor({4, 16}, 63);  // the cotangent
    auto run = [&](auto zero) {
        using T = decltype(zero);
        auto cast = [](const Tensor<double>& t) {
            Tensor<T> out(t.shape());
            for (std::size_t i = 0; i < t.size(); ++i) out.data()[i] = static_cast<T>(t.data()[i]);
            return out;
        };
        Tape<T> tape;
        auto x = tape.variable(cast(xd));
        auto w = tape.variable(cast(wd));
        auto b = tape.variable(cast(bd));
        auto y = layer_norm(x, w, b);
        tape.backward(y, cast(gd));
        return std::vector<Tensor<T>>{y.value(), x.grad(), w.grad(), b.grad()};
    };
    const auto in_float = run(0.0f);
    const auto in_double = run(0.0);
    for (std::size_t k = 0; k < in_double.size(); ++k) {
        INFO("result " << k << " (value, grad_x, grad_weight, grad_bias)");
        for (std::size_t i = 0; i < in_double[k].size(); ++i)
            CHECK(static_cast<double>(in_float[k].data()[i]) == Approx(in_double[k].data()[i]).margin(2e-5).epsilon(2e-5));
    }
}

TEST_CASE("layer_norm: shape errors name the op and the shapes", "[ops][layer_norm][errors]") {
    Tape<double> tape;
    auto x = tape.constant(from_values<double>({1, 4}, {1, 2, 3, 4}));
    auto c4 = tape.constant(zeros<double>({4}));
    auto c3 = tape.constant(zeros<double>({3}));
    REQUIRE_THROWS_WITH(layer_norm(x, c4, c3), Catch::Contains("layer_norm: input [1,4] needs weight and bias of shape [4], got [4] and [3]"));
    REQUIRE_THROWS_WITH(layer_norm(tape.constant(scalar_tensor(1.0)), c4, c4), Catch::Contains("layer_norm: input is a scalar"));
    auto empty = tape.constant(zeros<double>({2, 0}));
    auto c0 = tape.constant(zeros<double>({0}));
    REQUIRE_THROWS_WITH(layer_norm(empty, c0, c0), Catch::Contains("empty last axis"));
}
