// nn/linear.hpp: y = x W + b by hand, its gradients by hand and by gradcheck, shape errors.
#include "../support/error_matchers.hpp"
#include "../support/testing.hpp"

using namespace cringe;

TEST_CASE("Linear: hand-computed output and gradients", "[nn][linear]") {
    nn::Linear<double> layer(3, 2);
    CHECK(layer.in() == 3);
    CHECK(layer.out() == 2);
    REQUIRE(layer.parameters().size() == 2);
    CHECK(layer.parameters()[0].name == "weight");
    CHECK(layer.parameters()[1].name == "bias");
    layer.parameters()[0].value = from_values<double>({3, 2}, {1, 2, 3, 4, 5, 6});
    layer.parameters()[1].value = from_values<double>({2}, {0.5, -1});
    Tape<double> tape;
    // x = [[1, 0, -1], [2, 1, 0]]:  y = [[1-5+0.5, 2-6-1], [2+3+0.5, 4+4-1]] = [[-3.5, -5], [5.5, 7]]
    const auto y = layer.forward(tape, from_values<double>({2, 3}, {1, 0, -1, 2, 1, 0}));
    testing::require_close(y.value(), from_values<double>({2, 2}, {-3.5, -5, 5.5, 7}));
    // L = sum(y * c) with c = [[1, 2], [3, 4]]: dW = x^T c, db = column sums of c.
    tape.backward(sum(y * tape.constant(from_values<double>({2, 2}, {1, 2, 3, 4}))));
    testing::require_close(layer.parameters()[0].grad, from_values<double>({3, 2}, {1 + 6, 2 + 8, 3, 4, -1, -2}));
    testing::require_close(layer.parameters()[1].grad, from_values<double>({2}, {4, 6}));
}

TEST_CASE("Linear: leading axes pass through; a seeded layer draws Xavier weights and zero biases", "[nn][linear]") {
    Rng rng(4), same(4);
    nn::Linear<double> layer(3, 5, rng);
    CHECK((layer.parameters()[0].value == nn::xavier_uniform<double>({3, 5}, same)));
    CHECK((layer.parameters()[1].value == zeros<double>({5})));
    Tape<double> tape;
    CHECK(layer.forward(tape, testing::random_tensor({2, 4, 3}, 1)).shape() == Shape{2, 4, 5});
}

TEST_CASE("Linear: gradcheck of input, weight and bias with random cotangents", "[nn][linear][gradcheck]") {
    testing::require_gradcheck([](auto&, const auto& in) { return nn::linear(in[0], in[1], in[2]); },
                               {testing::random_tensor({2, 3, 4}, 1), testing::random_tensor({4, 5}, 2), testing::random_tensor({5}, 3)});
}

TEST_CASE("Linear: wrong shapes name the layer, the shapes and what was expected", "[nn][linear][errors]") {
    nn::Linear<double> layer(3, 2);
    Tape<double> tape;
    REQUIRE_THROWS_MATCHES(layer.forward(tape, zeros<double>({4, 2})), ShapeError,
                           testing::Says("nn::Linear::forward: input has shape [4,2]; expected [..., 3] (the last axis is the layer's in)"));
    const auto x = tape.constant(zeros<double>({1, 3}));
    REQUIRE_THROWS_MATCHES(nn::linear(x, tape.constant(zeros<double>({3, 2})), tape.constant(zeros<double>({3}))), ShapeError,
                           testing::Says("nn::linear: weight [3,2] and bias [3]; expected [in, out] and [out]"));
    REQUIRE_THROWS_MATCHES(nn::Linear<double>(0, 2), ValueError, testing::Says("nn::Linear: in 0, out 2; expected both >= 1"));
}
