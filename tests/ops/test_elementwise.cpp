// Binary ops with broadcasting and the unary table: forward values and gradient checks.
#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::testing;

TEST_CASE("binary ops broadcast like numpy and have hand-checked values", "[ops][binary]") {
    Tape<double> tape;
    auto a = tape.constant(from_values<double>({2, 3}, {1, 2, 3, 4, 5, 6}));
    auto b = tape.constant(from_values<double>({3}, {10, 20, 30}));
    auto c = tape.constant(from_values<double>({2, 1}, {2, 4}));
    require_close((a + b).value(), from_values<double>({2, 3}, {11, 22, 33, 14, 25, 36}));
    require_close((a - c).value(), from_values<double>({2, 3}, {-1, 0, 1, 0, 1, 2}));
    require_close((b * c).value(), from_values<double>({2, 3}, {20, 40, 60, 40, 80, 120}));
    require_close((a / c).value(), from_values<double>({2, 3}, {0.5, 1, 1.5, 1, 1.25, 1.5}));
    require_close((-a).value(), from_values<double>({2, 3}, {-1, -2, -3, -4, -5, -6}));
    require_close((2.0 * a + 1.0).value(), from_values<double>({2, 3}, {3, 5, 7, 9, 11, 13}));
    require_close((6.0 / c).value(), from_values<double>({2, 1}, {3, 1.5}));
    require_close((1.0 - c).value(), from_values<double>({2, 1}, {-1, -3}));
}

TEST_CASE("binary ops reject shapes that do not broadcast, naming op and shapes", "[ops][binary][errors]") {
    Tape<double> tape;
    auto a = tape.constant(zeros<double>({2, 3}));
    auto b = tape.constant(zeros<double>({4}));
    REQUIRE_THROWS_AS(a + b, ShapeError);
    REQUIRE_THROWS_WITH(a * b, Catch::Contains("mul") && Catch::Contains("[2,3]") && Catch::Contains("[4]"));
}

TEST_CASE("binary ops: gradients summed back over broadcast dimensions (both references)", "[ops][binary][gradcheck]") {
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {{3}, {3}}, {{2, 3}, {3}}, {{2, 1}, {1, 4}}, {{1}, {2, 3}}, {{2, 3, 4}, {3, 1}}, {{}, {2, 2}}};
    std::uint64_t seed = 1;
    for (const auto& [sa, sb] : shapes) {
        INFO("shapes " << shape_str(sa) << " and " << shape_str(sb));
        const auto x = random_tensor(sa, seed++), y = positive_tensor(sb, seed++);
        require_gradcheck([](auto&, const auto& v) { return v[0] + v[1]; }, {x, y});
        require_gradcheck([](auto&, const auto& v) { return v[0] - v[1]; }, {x, y});
        require_gradcheck([](auto&, const auto& v) { return v[0] * v[1]; }, {x, y});
        require_gradcheck([](auto&, const auto& v) { return v[0] / v[1]; }, {x, y});
        require_gradcheck([](auto&, const auto& v) { return 3.0 / v[1] - v[0] * 0.5 + 2.0; }, {x, y});
        require_gradcheck([](auto&, const auto& v) { return -(v[0] * v[0]); }, {x, y});  // reused input
    }
}

TEST_CASE("unary functions: hand-computed values", "[ops][unary]") {
    Tape<double> tape;
    auto x = tape.constant(from_values<double>({4}, {-2.0, -0.5, 0.5, 2.0}));
    auto p = tape.constant(from_values<double>({3}, {0.25, 1.0, 4.0}));
    require_close(exp(p).value(), from_values<double>({3}, {1.2840254166877414, 2.718281828459045, 54.598150033144236}));
    require_close(log(p).value(), from_values<double>({3}, {-1.3862943611198906, 0.0, 1.3862943611198906}));
    require_close(sqrt(p).value(), from_values<double>({3}, {0.5, 1.0, 2.0}));
    require_close(pow(p, 1.5).value(), from_values<double>({3}, {0.125, 1.0, 8.0}));
    require_close(tanh(x).value(), from_values<double>({4}, {-0.9640275800758169, -0.46211715726000974, 0.46211715726000974, 0.9640275800758169}));
    require_close(sigmoid(x).value(), from_values<double>({4}, {0.11920292202211755, 0.3775406687981454, 0.6224593312018546, 0.8807970779778823}));
    require_close(relu(x).value(), from_values<double>({4}, {0, 0, 0.5, 2.0}));
    // GPT-2's gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), values from the formula
    require_close(gelu(x).value(), from_values<double>({4}, {-0.04540230591222642, -0.15428599017516964, 0.34571400982483036, 1.9545976940877736}), 1e-12);
}

TEST_CASE("unary functions: gradient checks on several shapes", "[ops][unary][gradcheck]") {
    for (const Shape& shape : std::vector<Shape>{{1}, {5}, {2, 3}, {2, 1, 3}}) {
        INFO("shape " << shape_str(shape));
        const auto x = random_tensor(shape, 7, 1.5);
        const auto p = positive_tensor(shape, 8);
        require_gradcheck([](auto&, const auto& v) { return exp(v[0]); }, {x});
        require_gradcheck([](auto&, const auto& v) { return tanh(v[0]); }, {x});
        require_gradcheck([](auto&, const auto& v) { return sigmoid(v[0]); }, {x});
        require_gradcheck([](auto&, const auto& v) { return gelu(v[0]); }, {x});
        require_gradcheck([](auto&, const auto& v) { return log(v[0]); }, {p});
        require_gradcheck([](auto&, const auto& v) { return sqrt(v[0]); }, {p});
        require_gradcheck([](auto&, const auto& v) { return pow(v[0], 2.5); }, {p});
        require_gradcheck([](auto&, const auto& v) { return pow(v[0], -1.0); }, {p});
        GradcheckOptions kinked;
        kinked.kinks = {0.0};  // relu is not differentiable at 0: the checker keeps inputs away
        require_gradcheck([](auto&, const auto& v) { return relu(v[0]); }, {x}, kinked);
    }
}

TEST_CASE("ops compile and run in float", "[ops][float]") {
    Tape<float> tape;
    auto x = tape.variable(from_values<float>({2, 2}, {1.f, -2.f, 3.f, 0.5f}));
    auto y = sum(gelu(x) * tanh(x) + exp(x) / 2.0f);
    tape.backward(y);
    REQUIRE(x.grad().shape() == x.value().shape());
    REQUIRE(std::isfinite(y.value()()));
}

TEST_CASE("gelu in float (Eigen's tanh path) matches the double path (exp identity), value and gradient", "[ops][float]") {
    // Float GELU takes s = (1 + tanh u)/2 from Eigen's float tanh; double (and Dual) from 1/(1 + e^(-2u)),
    // which the gradchecks above cover. Same function: the float path must agree to float precision.
    const std::vector<double> xs = {-6.0, -3.0, -1.5, -0.7, -0.1, 0.0, 0.05, 0.4, 1.0, 2.5, 5.0, 9.0};
    const std::vector<double> cot = {0.3, -1.2, 0.8, 2.0, -0.4, 1.1, -0.9, 0.6, -1.7, 0.25, 1.4, -0.5};  // a fixed, non-uniform cotangent
    Tape<double> td;
    Tape<float> tf;
    const std::size_t n = xs.size();
    auto xd = td.variable(from_values<double>({n}, xs));
    std::vector<float> xs_f(xs.begin(), xs.end()), cot_f(cot.begin(), cot.end());
    auto xf = tf.variable(from_values<float>({n}, xs_f));
    auto yd = gelu(xd);
    auto yf = gelu(xf);
    td.backward(sum(yd * td.constant(from_values<double>({n}, cot))));
    tf.backward(sum(yf * tf.constant(from_values<float>({n}, cot_f))));
    for (std::size_t i = 0; i < n; ++i) {
        INFO("x = " << xs[i]);
        CHECK(static_cast<double>(yf.value()(i)) == Approx(yd.value()(i)).margin(2e-6).epsilon(2e-6));
        CHECK(static_cast<double>(xf.grad()(i)) == Approx(xd.grad()(i)).margin(4e-6).epsilon(4e-6));
    }
}
