// matmul (2-D, shared weight, batched, transposed) and the shape ops.
#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::testing;

TEST_CASE("matmul: hand-computed 2-D product", "[ops][matmul]") {
    Tape<double> tape;
    auto a = tape.constant(from_values<double>({2, 3}, {1, 2, 3, 4, 5, 6}));
    auto b = tape.constant(from_values<double>({3, 2}, {7, 8, 9, 10, 11, 12}));
    require_close(matmul(a, b).value(), from_values<double>({2, 2}, {58, 64, 139, 154}));
    auto bt = tape.constant(from_values<double>({2, 3}, {7, 9, 11, 8, 10, 12}));
    require_close(matmul(a, bt, true).value(), from_values<double>({2, 2}, {58, 64, 139, 154}));
}

TEST_CASE("matmul: gradient checks for every layout", "[ops][matmul][gradcheck]") {
    auto mm = [](auto&, const auto& v) { return matmul(v[0], v[1]); };
    auto mmt = [](auto&, const auto& v) { return matmul(v[0], v[1], true); };
    require_gradcheck(mm, {random_tensor({1, 1}, 1), random_tensor({1, 1}, 2)});
    require_gradcheck(mm, {random_tensor({3, 4}, 3), random_tensor({4, 2}, 4)});
    require_gradcheck(mm, {random_tensor({2, 3, 4}, 5), random_tensor({4, 5}, 6)});       // shared weight
    require_gradcheck(mm, {random_tensor({2, 2, 3, 4}, 7), random_tensor({2, 2, 4, 3}, 8)});  // batched
    require_gradcheck(mmt, {random_tensor({3, 4}, 9), random_tensor({5, 4}, 10)});
    require_gradcheck(mmt, {random_tensor({2, 3, 4}, 11), random_tensor({2, 5, 4}, 12)});
    require_gradcheck([](auto&, const auto& v) { return matmul(v[0], v[0], true); }, {random_tensor({3, 4}, 13)});
}

TEST_CASE("matmul: bad shapes throw ShapeError naming both shapes", "[ops][matmul][errors]") {
    Tape<double> tape;
    auto a = tape.constant(zeros<double>({2, 3}));
    REQUIRE_THROWS_WITH(matmul(a, tape.constant(zeros<double>({4, 5}))),
                        Catch::Contains("matmul") && Catch::Contains("[2,3]") && Catch::Contains("[4,5]"));
    REQUIRE_THROWS_AS(matmul(a, tape.constant(zeros<double>({3}))), ShapeError);
    REQUIRE_THROWS_AS(matmul(tape.constant(zeros<double>({2, 2, 3})), tape.constant(zeros<double>({3, 3, 2}))), ShapeError);
}

TEST_CASE("shape ops: values", "[ops][shape]") {
    Tape<double> tape;
    auto x = tape.constant(from_values<double>({2, 3}, {1, 2, 3, 4, 5, 6}));
    require_close(reshape(x, {3, 2}).value(), from_values<double>({3, 2}, {1, 2, 3, 4, 5, 6}));
    require_close(transpose(x).value(), from_values<double>({3, 2}, {1, 4, 2, 5, 3, 6}));
    require_close(slice(x, 1, 1, 3).value(), from_values<double>({2, 2}, {2, 3, 5, 6}));
    require_close(slice(x, 0, 1, 2).value(), from_values<double>({1, 3}, {4, 5, 6}));
    require_close(concat<double>({x, x}, 0).value(), from_values<double>({4, 3}, {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6}));
    require_close(concat<double>({x, slice(x, 1, 0, 1)}, -1).value(), from_values<double>({2, 4}, {1, 2, 3, 1, 4, 5, 6, 4}));
    auto y = tape.constant(from_values<double>({1, 2, 3}, {1, 2, 3, 4, 5, 6}));
    require_close(permute(y, {2, 0, 1}).value(), from_values<double>({3, 1, 2}, {1, 4, 2, 5, 3, 6}));
}

TEST_CASE("shape ops: gradient checks", "[ops][shape][gradcheck]") {
    const auto x = random_tensor({2, 3, 4}, 21);
    require_gradcheck([](auto&, const auto& v) { return reshape(v[0], {4, 6}); }, {x});
    require_gradcheck([](auto&, const auto& v) { return permute(v[0], {1, 2, 0}); }, {x});
    require_gradcheck([](auto&, const auto& v) { return transpose(v[0], 0, 2); }, {x});
    require_gradcheck([](auto&, const auto& v) { return slice(v[0], 1, 1, 3); }, {x});
    require_gradcheck([](auto&, const auto& v) { return slice(v[0], -1, 0, 1); }, {x});
    require_gradcheck([](auto&, const auto& v) { return concat<typename std::decay_t<decltype(v[0])>::value_type>({v[0], v[1], v[0]}, 1); },
                      {x, random_tensor({2, 1, 4}, 22)});
}

TEST_CASE("shape ops: bad input throws naming the op", "[ops][shape][errors]") {
    Tape<double> tape;
    auto x = tape.constant(zeros<double>({2, 3}));
    REQUIRE_THROWS_WITH(reshape(x, {4, 2}), Catch::Contains("reshape") && Catch::Contains("[2,3]") && Catch::Contains("[4,2]"));
    REQUIRE_THROWS_WITH(permute(x, {0, 0}), Catch::Contains("permute"));
    REQUIRE_THROWS_WITH(slice(x, 1, 2, 5), Catch::Contains("slice") && Catch::Contains("[2,5)"));
    REQUIRE_THROWS_WITH(slice(x, 2, 0, 1), Catch::Contains("slice") && Catch::Contains("axis 2"));
    REQUIRE_THROWS_WITH(concat<double>({x, tape.constant(zeros<double>({3, 3}))}, 1), Catch::Contains("concat") && Catch::Contains("[3,3]"));
    REQUIRE_THROWS_AS(concat<double>({}, 0), ShapeError);
}

// Regression: plan_matmul divided the element count by K (and by M * K for batched operands), so a
// zero inner or row dimension was an integer division by zero (SIGFPE).
TEST_CASE("matmul: zero-size dimensions give zeros or empty results, forward and backward", "[ops][matmul][zero]") {
    struct ZeroCase {
        Shape a, b;
        bool b_transposed;
        Shape out;
    };
    const std::vector<ZeroCase> cases = {
        {{2, 0}, {0, 3}, false, {2, 3}},           // K = 0: zeros [2,3]
        {{2, 0}, {3, 0}, true, {2, 3}},            // K = 0, b transposed
        {{4, 2, 0}, {0, 3}, false, {4, 2, 3}},     // K = 0, shared b
        {{2, 2, 0}, {2, 0, 3}, false, {2, 2, 3}},  // K = 0, batched
        {{0, 3}, {3, 2}, false, {0, 2}},           // M = 0
        {{2, 0, 3}, {2, 3, 4}, false, {2, 0, 4}},  // M = 0, batched (divided by M * K)
        {{2, 0, 3}, {2, 4, 3}, true, {2, 0, 4}},   // M = 0, batched, b transposed
        {{0, 2, 3}, {0, 3, 4}, false, {0, 2, 4}},  // no batches
        {{2, 3}, {3, 0}, false, {2, 0}},           // N = 0
        {{0, 0}, {0, 0}, false, {0, 0}},           // everything 0
    };
    for (const ZeroCase& c : cases) {
        INFO("a " << shape_str(c.a) << " b " << shape_str(c.b) << (c.b_transposed ? " (b transposed)" : ""));
        Tape<double> tape;
        auto a = tape.variable(random_tensor(c.a, 1));
        auto b = tape.variable(random_tensor(c.b, 2));
        auto y = matmul(a, b, c.b_transposed);
        REQUIRE(y.shape() == c.out);
        require_close(y.value(), zeros<double>(c.out), 0.0);  // K = 0: an empty sum is exactly 0
        tape.backward(y, random_tensor(c.out, 3));
        require_close(a.grad(), zeros<double>(c.a), 0.0);  // empty, or a sum over zero rows / columns
        require_close(b.grad(), zeros<double>(c.b), 0.0);
    }
}

TEST_CASE("matmul: a zero-row block inside a product with K > 0 leaves the other gradients exact",
          "[ops][matmul][zero]") {
    // [1,2] x [2,2] then concatenated with a [0,2] result: the zero-row product must not disturb anything.
    Tape<double> tape;
    auto a = tape.variable(from_values<double>({1, 2}, {1, 2}));
    auto w = tape.variable(from_values<double>({2, 2}, {3, 4, 5, 6}));
    auto empty_rows = tape.variable(zeros<double>({0, 2}));
    auto y = concat<double>({matmul(a, w), matmul(empty_rows, w)}, 0);
    REQUIRE(y.shape() == Shape{1, 2});
    require_close(y.value(), from_values<double>({1, 2}, {13, 16}));
    tape.backward(y, from_values<double>({1, 2}, {1, 1}));
    require_close(w.grad(), from_values<double>({2, 2}, {1, 1, 2, 2}));  // a^T g
    require_close(a.grad(), from_values<double>({1, 2}, {7, 11}));      // g w^T
}
