// embedding, gather_last, masked_fill, dropout.
#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::testing;

TEST_CASE("embedding and gather_last: values", "[ops][index]") {
    Tape<double> tape;
    auto w = tape.constant(from_values<double>({3, 2}, {1, 2, 3, 4, 5, 6}));
    IdTensor ids = {{2, 0}, {1, 2}};
    require_close(embedding(w, ids).value(), from_values<double>({2, 2, 2}, {5, 6, 1, 2, 3, 4, 5, 6}));
    auto x = tape.constant(from_values<double>({2, 3}, {1, 2, 3, 4, 5, 6}));
    require_close(gather_last(x, IdTensor{2, 0}).value(), from_values<double>({2}, {3, 4}));
}

TEST_CASE("embedding and gather_last: gradient checks with repeated ids", "[ops][index][gradcheck]") {
    const IdTensor ids = {{1, 1, 0}, {3, 1, 3}};
    require_gradcheck([ids](auto&, const auto& v) { return embedding(v[0], ids); }, {random_tensor({4, 3}, 71)});
    const IdTensor picks = {{0, 2, 2}, {1, 1, 0}};
    require_gradcheck([picks](auto&, const auto& v) { return gather_last(v[0], picks); }, {random_tensor({2, 3, 3}, 72)});
}

TEST_CASE("embedding and gather_last: ids out of range", "[ops][index][errors]") {
    Tape<double> tape;
    auto w = tape.constant(zeros<double>({3, 2}));
    REQUIRE_THROWS_WITH(embedding(w, IdTensor{0, 3}), Catch::Contains("embedding") && Catch::Contains("id 3") && Catch::Contains("< 3"));
    REQUIRE_THROWS_AS(embedding(w, IdTensor{-1}), ValueError);
    REQUIRE_THROWS_AS(embedding(tape.constant(zeros<double>({3})), IdTensor{0}), ShapeError);
    auto x = tape.constant(zeros<double>({2, 3}));
    REQUIRE_THROWS_WITH(gather_last(x, IdTensor{0, 1, 2}), Catch::Contains("gather_last") && Catch::Contains("[2,3]"));
    REQUIRE_THROWS_WITH(gather_last(x, IdTensor{0, 5}), Catch::Contains("id 5"));
}

TEST_CASE("masked_fill: causal mask values and gradient", "[ops][mask][gradcheck]") {
    Tape<double> tape;
    auto x = tape.constant(from_values<double>({2, 2}, {1, 2, 3, 4}));
    Mask upper = {{false, true}, {false, false}};
    require_close(masked_fill(x, upper, -9.0).value(), from_values<double>({2, 2}, {1, -9, 3, 4}));
    const Mask causal = {{false, true, true}, {false, false, true}, {false, false, false}};
    require_gradcheck([causal](auto&, const auto& v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        return softmax(masked_fill(v[0], causal, S(-1e9)));
    }, {random_tensor({2, 3, 3}, 81)});
    REQUIRE_THROWS_WITH(masked_fill(x, Mask{true, false, true}, 0.0), Catch::Contains("masked_fill"));
}

TEST_CASE("dropout: seeded, scaled, identity when disabled, gradient uses the same mask", "[ops][dropout][gradcheck]") {
    Tape<double> tape;
    Rng rng(5);
    auto x = tape.variable(full<double>({1000}, 1.0));
    auto y = dropout(x, 0.25, rng);
    std::size_t zeros_seen = 0;
    for (double v : y.value()) {
        REQUIRE((v == 0.0 || v == Approx(1.0 / 0.75)));
        zeros_seen += v == 0.0;
    }
    REQUIRE(zeros_seen > 200);
    REQUIRE(zeros_seen < 300);
    REQUIRE(dropout(x, 0.5, rng, false).index() == x.index());
    REQUIRE_THROWS_WITH(dropout(x, 1.0, rng), Catch::Contains("dropout") && Catch::Contains("p is 1"));
    // with a fixed seed the mask is the same in every forward pass, so the gradient checks
    require_gradcheck([](auto&, const auto& v) { Rng r(9); return dropout(v[0], 0.3, r); }, {random_tensor({4, 5}, 82)});
}
