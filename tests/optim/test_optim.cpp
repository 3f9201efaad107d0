// Optimisers, clipping and the schedule against hand-computed steps.
#include "../support/testing.hpp"

#include <cringe/optim/adamw.hpp>
#include <cringe/optim/clip.hpp>
#include <cringe/optim/schedule.hpp>
#include <cringe/optim/sgd.hpp>

using namespace cringe;
using namespace cringe::optim;

TEST_CASE("SGD with momentum: two hand-computed steps", "[optim][sgd]") {
    Parameter<double> w("w", from_values<double>({2}, {1.0, -2.0}));
    Sgd<double> sgd({&w}, {.lr = 0.1, .momentum = 0.9});
    w.grad = from_values<double>({2}, {0.5, 1.0});
    sgd.step();  // v = g = [0.5, 1];  w = [1 - 0.05, -2 - 0.1]
    CHECK(w.value(0) == Approx(0.95).epsilon(1e-15));
    CHECK(w.value(1) == Approx(-2.1).epsilon(1e-15));
    w.grad = from_values<double>({2}, {0.5, 1.0});
    sgd.step();  // v = 0.9 v + g = [0.95, 1.9];  w -= 0.1 v
    CHECK(w.value(0) == Approx(0.95 - 0.095).epsilon(1e-15));
    CHECK(w.value(1) == Approx(-2.1 - 0.19).epsilon(1e-15));
    REQUIRE_THROWS_WITH(Sgd<double>({&w}, {.lr = 0.1, .momentum = 1.0}), Catch::Contains("momentum"));
}

TEST_CASE("AdamW: hand-computed steps, decoupled decay only on matrices", "[optim][adamw]") {
    Parameter<double> matrix("m", from_values<double>({1, 2}, {1.0, -1.0}));
    Parameter<double> bias("b", from_values<double>({1}, {0.5}));
    AdamW<double> adam({&matrix, &bias}, {.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.5});
    CHECK(adam.decay_split() == "weight decay on 1 tensors (2 scalars), none on 1 tensors (1 scalars)");
    matrix.grad = from_values<double>({1, 2}, {0.2, -0.4});
    bias.grad = from_values<double>({1}, {0.3});
    adam.step();
    // step 1: m_hat = g, v_hat = g^2, update = lr * g / (|g| + eps) = lr * sign(g) (up to eps)
    // matrix: decay first: w *= 1 - lr*wd = 0.95 -> [0.95, -0.95]; then -= 0.1 * sign(g)
    CHECK(matrix.value(0, 0) == Approx(0.95 - 0.1 * 0.2 / (0.2 + 1e-8)).epsilon(1e-14));
    CHECK(matrix.value(0, 1) == Approx(-0.95 + 0.1 * 0.4 / (0.4 + 1e-8)).epsilon(1e-14));
    CHECK(bias.value(0) == Approx(0.5 - 0.1 * 0.3 / (0.3 + 1e-8)).epsilon(1e-14));  // no decay
    // step 2 with g = 0.1 for the bias: m = 0.9*0.3*0.1 + 0.1*0.1... written out:
    bias.grad = from_values<double>({1}, {0.1});
    matrix.grad = zeros<double>({1, 2});
    const double b0 = bias.value(0);
    adam.step();
    const double m = 0.9 * (0.1 * 0.3) + 0.1 * 0.1;            // 0.037
    const double v = 0.999 * (0.001 * 0.09) + 0.001 * 0.01;    // 0.00009991
    const double update = 0.1 * (m / (1 - 0.81)) / (std::sqrt(v / (1 - 0.998001)) + 1e-8);
    CHECK(bias.value(0) == Approx(b0 - update).epsilon(1e-13));
}

TEST_CASE("global-norm clipping", "[optim][clip]") {
    Parameter<double> a("a", zeros<double>({2})), b("b", zeros<double>({1}));
    a.grad = from_values<double>({2}, {3.0, 0.0});
    b.grad = from_values<double>({1}, {4.0});
    const double norm = clip_grad_norm<double>({&a, &b}, 1.0);
    CHECK(norm == 5.0);
    CHECK(a.grad(0) == Approx(3.0 / (5.0 + 1e-6)).epsilon(1e-15));
    CHECK(b.grad(0) == Approx(4.0 / (5.0 + 1e-6)).epsilon(1e-15));
    CHECK(clip_grad_norm<double>({&a, &b}, 10.0) == Approx(1.0).epsilon(1e-5));  // below: unchanged
    CHECK(b.grad(0) == Approx(4.0 / (5.0 + 1e-6)).epsilon(1e-15));
}

TEST_CASE("warm-up + cosine schedule", "[optim][schedule]") {
    const WarmupCosine s{.peak_lr = 1.0, .min_lr = 0.1, .warmup_steps = 4, .total_steps = 14};
    CHECK(s(0) == 0.25);
    CHECK(s(3) == 1.0);
    CHECK(s(4) == 1.0);
    CHECK(s(9) == Approx(0.55).epsilon(1e-15));  // halfway: floor + (peak - floor)/2
    CHECK(s(14) == 0.1);
    CHECK(s(100) == 0.1);
    REQUIRE_THROWS_AS((WarmupCosine{.warmup_steps = 5, .total_steps = 2}.validate()), ValueError);
}
