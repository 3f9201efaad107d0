// nn/mlp.hpp: parameters, a forward by hand, the whole network gradchecked, seeded initialisation.
#include "../support/error_matchers.hpp"
#include "../support/testing.hpp"

using namespace cringe;

TEST_CASE("Mlp: parameter names and shapes, layer by layer", "[nn][mlp]") {
    nn::Mlp<double> mlp({3, 5, 2});
    REQUIRE(mlp.layers() == 2);
    const auto& p = mlp.parameters();
    REQUIRE(p.size() == 4);
    CHECK(p[0].name == "layers.0.weight");
    CHECK(to_shape(p[0].value.shape()) == Shape{3, 5});
    CHECK(p[1].name == "layers.0.bias");
    CHECK(to_shape(p[1].value.shape()) == Shape{5});
    CHECK(p[2].name == "layers.1.weight");
    CHECK(to_shape(p[2].value.shape()) == Shape{5, 2});
    CHECK(p[3].name == "layers.1.bias");
}

TEST_CASE("Mlp: forward by hand (ReLU between the layers, none after the last)", "[nn][mlp]") {
    nn::Mlp<double> mlp({2, 2, 1}, nn::Activation::relu);
    auto& p = mlp.parameters();
    p[0].value = from_values<double>({2, 2}, {1, -1, 2, 1});
    p[1].value = from_values<double>({2}, {0, 0.5});
    p[2].value = from_values<double>({2, 1}, {3, -2});
    p[3].value = from_values<double>({1}, {-10});
    Tape<double> tape;
    // x = [1, 1]: h = relu([3, 0.5]) = [3, 0.5]; y = 9 - 1 - 10 = -2.
    // x = [1, -2]: pre = [1-4, -1-2+0.5] = [-3, -2.5] -> h = [0, 0]; y = -10 (the last layer keeps negatives).
    const auto y = mlp.forward(tape, from_values<double>({2, 2}, {1, 1, 1, -2}));
    testing::require_close(y.value(), from_values<double>({2, 1}, {-2, -10}));
    // dy0/dW1 = h; the second row contributes nothing through the dead ReLUs.
    tape.backward(sum(y));
    testing::require_close(p[2].grad, from_values<double>({2, 1}, {3, 0.5}));
    testing::require_close(p[3].grad, from_values<double>({1}, {2}));
}

TEST_CASE("Mlp: gradcheck of the input and every parameter with random cotangents", "[nn][mlp][gradcheck]") {
    for (const auto activation : {nn::Activation::tanh, nn::Activation::gelu, nn::Activation::sigmoid}) {
        std::vector<Tensor<double>> inputs = {testing::random_tensor({2, 3}, 1)};
        std::uint64_t seed = 2;
        const nn::Mlp<double> shapes({3, 4, 4, 2});
        for (const auto& p : shapes.parameters()) inputs.push_back(testing::random_tensor(to_shape(p.value.shape()), seed++));
        testing::require_gradcheck([activation](auto&, const auto& in) {
            using S = typename std::decay_t<decltype(in[0])>::value_type;
            const nn::Mlp<S> mlp({3, 4, 4, 2}, activation);
            return mlp.forward_with(in[0], std::vector<Var<S>>(in.begin() + 1, in.end()));
        }, inputs);
    }
}

TEST_CASE("Mlp: seeded weights (Kaiming for ReLU, Xavier otherwise), zero biases", "[nn][mlp]") {
    Rng a(8), b(8);
    nn::Mlp<double> relu_net({4, 6, 3}, a, nn::Activation::relu);
    CHECK((relu_net.parameters()[0].value == nn::kaiming_uniform<double>({4, 6}, b)));
    CHECK((relu_net.parameters()[2].value == nn::kaiming_uniform<double>({6, 3}, b)));
    CHECK((relu_net.parameters()[1].value == zeros<double>({6})));
    nn::Mlp<double> tanh_net({4, 6, 3}, a);
    CHECK((tanh_net.parameters()[0].value == nn::xavier_uniform<double>({4, 6}, b)));
}

TEST_CASE("Mlp: bad sizes and inputs are refused with the expected message", "[nn][mlp][errors]") {
    REQUIRE_THROWS_MATCHES(nn::Mlp<double>({3}), ValueError, testing::Says("nn::Mlp: 1 sizes; expected at least 2 (inputs and outputs)"));
    REQUIRE_THROWS_MATCHES(nn::Mlp<double>({3, 0, 1}), ValueError, testing::Says("nn::Mlp: size 1 is 0; expected every layer width >= 1"));
    nn::Mlp<double> mlp({3, 2});
    Tape<double> tape;
    REQUIRE_THROWS_MATCHES(mlp.forward(tape, zeros<double>({1, 4})), ShapeError,
                           testing::Says("nn::Mlp::forward: input has shape [1,4]; expected [..., 3] (the last axis is the layer's in)"));
    REQUIRE_THROWS_MATCHES(mlp.forward_with(tape.constant(zeros<double>({1, 3})), {}), ValueError,
                           testing::Says("nn::Mlp::forward_with: 0 weights given; expected 2"));
}
