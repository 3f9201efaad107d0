// The tape's semantics: accumulation, resets, retain_graph, no-grad, clearing, errors, inspection.
#include <new>
#include <optional>

#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::testing;

TEST_CASE("micrograd-style scalar example: values and gradients by hand", "[tape]") {
    Tape<double> tape;
    auto a = tape.variable(scalar_tensor(2.0));
    auto b = tape.variable(scalar_tensor(-3.0));
    auto c = a * b + a;      // c = ab + a = -4
    auto d = c * c;          // d = c^2 = 16
    tape.backward(d);
    REQUIRE(d.value()() == 16.0);
    REQUIRE(a.grad()() == 2 * -4.0 * (-3.0 + 1));  // dd/da = 2c (b + 1) = 16
    REQUIRE(b.grad()() == 2 * -4.0 * 2.0);         // dd/db = 2c a = -16
}

TEST_CASE("leaf gradients accumulate across backward calls until zero_grad", "[tape]") {
    Tape<double> tape;
    auto x = tape.variable(from_values<double>({2}, {1.0, 2.0}));
    auto y = sum(x * x);
    tape.backward(y, BackwardOptions{.retain_graph = true});
    require_close(x.grad(), from_values<double>({2}, {2, 4}));
    tape.backward(y, BackwardOptions{.retain_graph = true});
    require_close(x.grad(), from_values<double>({2}, {4, 8}));
    tape.zero_grad();
    tape.backward(y);
    require_close(x.grad(), from_values<double>({2}, {2, 4}));
}

TEST_CASE("intermediate adjoints are reset on each backward: bitwise-identical results", "[tape]") {
    Tape<double> tape;
    auto x = tape.variable(random_tensor({3, 4}, 1));
    auto h = tanh(matmul(x, transpose(x)));
    auto y = sum(softmax(h) * h);
    tape.backward(y, BackwardOptions{.retain_graph = true});
    const Tensor<double> first = x.grad();
    const Tensor<double> h_grad = h.grad();
    tape.zero_grad();
    tape.backward(y, BackwardOptions{.retain_graph = true});
    REQUIRE(std::memcmp(first.data(), x.grad().data(), first.size() * sizeof(double)) == 0);
    REQUIRE(std::memcmp(h_grad.data(), h.grad().data(), h_grad.size() * sizeof(double)) == 0);
}

TEST_CASE("backward twice without retain_graph is an error", "[tape][errors]") {
    Tape<double> tape;
    auto x = tape.variable(scalar_tensor(1.0));
    auto y = exp(x);
    tape.backward(y);
    REQUIRE_THROWS_WITH(tape.backward(y), Catch::Contains("retain_graph"));
    // ops recorded afterwards start a new graph, which may be differentiated
    auto z = exp(x) * 2.0;
    tape.backward(z);
    REQUIRE(x.grad()() == Approx(3 * std::exp(1.0)).epsilon(1e-15));  // 1 e + 2 e accumulated
}

TEST_CASE("release_intermediates frees the graph as backward passes it: the same gradients, released nodes throw", "[tape]") {
    // The same graph differentiated with and without release gives the same bits; afterwards the leaves,
    // the output and the gradients of the leaves are readable, an intermediate is not.
    auto run = [](bool release, Tensor<double>& x_grad, Tensor<double>& w_grad) {
        Tape<double> tape;
        auto x = tape.variable(random_tensor({3, 4}, 1));
        auto w = tape.variable(random_tensor({4, 5}, 2));
        auto h = tanh(matmul(x, w));
        auto y = sum(softmax(h) * h);
        tape.backward(y, BackwardOptions{.release_intermediates = release});
        x_grad = x.grad();
        w_grad = w.grad();
        REQUIRE(y.value().size() == 1);  // the output stays
        REQUIRE(x.value().size() == 12);  // leaves stay
        if (release) {
            REQUIRE_THROWS_WITH(h.value(), Catch::Contains("value: node") && Catch::Contains("'tanh'") &&
                                               Catch::Contains("released by a backward with release_intermediates"));
            REQUIRE_THROWS_WITH(h.grad(), Catch::Contains("grad: node") && Catch::Contains("released"));
            // a new graph on the same tape that reads a released node fails loudly, not with stale values
            REQUIRE_THROWS_AS(sum(h), TapeError);
        } else {
            REQUIRE(h.value().size() == 15);
        }
    };
    Tensor<double> x_kept, w_kept, x_released, w_released;
    run(false, x_kept, w_kept);
    run(true, x_released, w_released);
    REQUIRE(bool(x_kept == x_released));
    REQUIRE(bool(w_kept == w_released));

    // With retain_graph nothing is released: the graph may be used again.
    Tape<double> tape;
    auto x = tape.variable(random_tensor({2, 3}, 3));
    auto h = exp(x);
    auto y = sum(h * h);
    tape.backward(y, BackwardOptions{.retain_graph = true, .release_intermediates = true});
    REQUIRE(h.value().size() == 6);
    tape.backward(y);
}

TEST_CASE("backward on a non-scalar needs a cotangent of the right shape", "[tape][errors]") {
    Tape<double> tape;
    auto x = tape.variable(zeros<double>({2, 3}));
    auto y = exp(x);
    REQUIRE_THROWS_WITH(tape.backward(y), Catch::Contains("backward") && Catch::Contains("[2,3]") && Catch::Contains("cotangent"));
    REQUIRE_THROWS_WITH(tape.backward(y, zeros<double>({3, 2})), Catch::Contains("[3,2]") && Catch::Contains("[2,3]"));
    tape.backward(y, full<double>({2, 3}, 2.0));
    require_close(x.grad(), full<double>({2, 3}, 2.0));
}

TEST_CASE("constants get no gradient; no-grad guard records no backward", "[tape]") {
    Tape<double> tape;
    auto c = tape.constant(from_values<double>({2}, {1, 2}));
    auto x = tape.variable(from_values<double>({2}, {3, 4}));
    {
        auto guard = tape.no_grad();
        auto z = x * c;
        REQUIRE_FALSE(z.requires_grad());
    }
    auto y = sum(x * c);
    REQUIRE(y.requires_grad());
    tape.backward(y);
    require_close(x.grad(), from_values<double>({2}, {1, 2}));
    require_close(c.grad(), zeros<double>({2}));
}

TEST_CASE("Vars from a cleared tape or another tape are rejected", "[tape][errors]") {
    Tape<double> tape, other;
    auto x = tape.variable(scalar_tensor(1.0));
    auto o = other.variable(scalar_tensor(1.0));
    REQUIRE_THROWS_WITH(x + o, Catch::Contains("add") && Catch::Contains("another tape"));
    tape.clear();
    REQUIRE_THROWS_WITH(exp(x), Catch::Contains("cleared"));
    REQUIRE_THROWS_AS(x.value(), TapeError);
    Var<double> empty;
    REQUIRE_THROWS_AS(empty.value(), TapeError);
}

// Regression: a Var held only its tape's address and a per-tape epoch starting at 1, so a Var kept
// past its tape read freed memory, and a new tape built at the same address silently served it that
// tape's values. Generations now come from one process-wide counter and are checked before any access.
TEST_CASE("a Var kept past its tape throws, even when a new tape reuses the address", "[tape][errors][generation]") {
    alignas(Tape<double>) unsigned char storage[sizeof(Tape<double>)];
    auto* first = new (storage) Tape<double>;
    const Var<double> stale = first->variable(scalar_tensor(1.0));
    first->~Tape();
    auto* second = new (storage) Tape<double>;  // same address, a fresh tape
    const Var<double> fresh = second->variable(scalar_tensor(2.0));
    REQUIRE(stale.belongs_to(*second));  // the address alone cannot tell them apart
    REQUIRE_THROWS_AS(stale.value(), TapeError);
    REQUIRE_THROWS_WITH(stale.value(), Catch::Contains("Var::value") && Catch::Contains("destroyed"));
    REQUIRE_THROWS_WITH(stale.grad(), Catch::Contains("Var::grad"));
    REQUIRE_THROWS_WITH(stale.requires_grad(), Catch::Contains("Var::requires_grad"));
    REQUIRE_THROWS_AS(exp(stale), TapeError);                          // an op reading the value
    REQUIRE_THROWS_WITH(second->backward(stale), Catch::Contains("backward") && Catch::Contains("generation"));
    REQUIRE_THROWS_AS(stale + fresh, TapeError);                       // mixed with a live Var
    REQUIRE(fresh.value()() == 2.0);
    second->~Tape();

    // Destroyed and not replaced: still a TapeError, and the freed tape is never read (ASan-clean).
    std::optional<Tape<double>> gone(std::in_place);
    const Var<double> orphan = gone->variable(scalar_tensor(3.0));
    gone.reset();
    REQUIRE_THROWS_WITH(orphan.value(), Catch::Contains("has ended"));
}

TEST_CASE("generations differ between tapes and across clear()", "[tape][generation]") {
    Tape<double> a, b;
    const auto va = a.variable(scalar_tensor(1.0));
    const auto vb = b.variable(scalar_tensor(1.0));
    REQUIRE(va.epoch() != vb.epoch());
    a.clear();
    const auto va2 = a.variable(scalar_tensor(1.0));
    REQUIRE(va2.epoch() != va.epoch());
    REQUIRE(va2.epoch() != vb.epoch());
    REQUIRE_THROWS_WITH(va.value(), Catch::Contains("cleared"));
    REQUIRE(vb.value()() == 1.0);
}

TEST_CASE("a cleared tape is reused without growth; parameters accumulate across steps", "[tape]") {
    Tape<double> tape;
    Parameter<double> w("w", from_values<double>({2}, {0.5, -1.0}));
    std::size_t capacity = 0;
    for (int step = 0; step < 1000; ++step) {
        tape.clear();
        auto y = sum(tanh(tape.parameter(w) * 2.0));
        tape.backward(y);
        if (step == 0) capacity = tape.capacity();
        REQUIRE(tape.capacity() == capacity);
        REQUIRE(tape.size() == 4);
    }
    // 1000 identical backward passes accumulated into w.grad: 1000 * 2 (1 - tanh^2(2w))
    const double expect0 = 1000 * 2 * (1 - std::pow(std::tanh(1.0), 2));
    REQUIRE(w.grad(0) == Approx(expect0).epsilon(1e-12));
    w.zero_grad();
    REQUIRE(w.grad(0) == 0.0);
}

TEST_CASE("DOT export and trace name every node", "[tape][inspect]") {
    Tape<double> tape;
    auto a = tape.variable(scalar_tensor(2.0));
    auto b = tape.constant(scalar_tensor(3.0));
    auto y = exp(a * b);
    tape.backward(y);
    const std::string dot = to_dot(tape);
    REQUIRE_THAT(dot, Catch::StartsWith("digraph tape {") && Catch::Contains("mul") && Catch::Contains("exp") &&
                          Catch::Contains("n0 -> n2") && Catch::Contains("n2 -> n3"));
    const std::string text = trace(tape);
    REQUIRE_THAT(text, Catch::Contains("#2 mul [] <- #0 #1") && Catch::Contains("#3 exp [] <- #2"));
}

TEST_CASE("anomaly mode names the forward op that produced a NaN", "[tape][anomaly]") {
    Tape<double> tape;
    auto guard = tape.detect_anomaly();
    auto x = tape.variable(from_values<double>({2}, {1.0, 0.0}));
    auto ok = exp(x);
    (void)ok;
    REQUIRE_THROWS_WITH(log(x), Catch::Contains("anomaly") && Catch::Contains("log") && Catch::Contains("test_tape.cpp"));
    auto big = tape.variable(from_values<double>({1}, {1000.0}));
    REQUIRE_THROWS_WITH(exp(big), Catch::Contains("exp") && Catch::Contains("not finite"));
    // backward: sqrt'(0) = inf
    auto z = tape.variable(from_values<double>({1}, {0.0}));
    auto s = sum(sqrt(z));
    REQUIRE_THROWS_WITH(tape.backward(s), Catch::Contains("backward of sqrt") && Catch::Contains("non-finite gradient"));
}
