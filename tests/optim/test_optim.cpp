// Optimisers, clipping and the schedule against hand-computed steps.
#include "../support/testing.hpp"

#include <cstring>

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

namespace {

/// One AdamW step as four whole-tensor passes per parameter (the formulas of optim/adamw.hpp, one line
/// each, as AdamW computed them before its moments moved into one flat buffer): the reference that
/// the blocked, one-pass step must equal bit for bit.
template <class T>
void four_pass_adamw_step(std::vector<Parameter<T>>& params, std::vector<Tensor<T>>& m, std::vector<Tensor<T>>& v,
                          const AdamW<T>& adam, std::size_t t) {
    const auto& o = adam.options();
    const T lr = static_cast<T>(o.lr), b1 = static_cast<T>(o.beta1), b2 = static_cast<T>(o.beta2), eps = static_cast<T>(o.eps);
    const T bias1 = T(1) - T(std::pow(o.beta1, static_cast<double>(t)));
    const T bias2 = T(1) - T(std::pow(o.beta2, static_cast<double>(t)));
    for (std::size_t i = 0; i < params.size(); ++i) {
        auto w = flat(params[i].value);
        const auto g = flat(std::as_const(params[i].grad));
        auto mi = flat(m[i]);
        auto vi = flat(v[i]);
        if (params[i].value.dimension() >= 2 && o.weight_decay > 0.0) w *= T(1) - lr * T(o.weight_decay);
        mi = b1 * mi + (T(1) - b1) * g;
        vi = b2 * vi + (T(1) - b2) * g.square();
        w -= lr * (mi / bias1) / ((vi / bias2).sqrt() + eps);
    }
}

template <class T>
bool same_bits(const Tensor<T>& a, const Tensor<T>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

}  // namespace

TEMPLATE_TEST_CASE("AdamW: the one-pass step over flat moments equals four whole-tensor passes, bit for bit", "[optim][adamw]", float,
                   double) {
    using T = TestType;
    // Sizes around the 1024-element blocks and the 64-byte lines: 15 (a SIMD tail only), 1031 (one
    // block and a tail), 2048 (two whole blocks), 17 (a vector), 2800 (a matrix with a partial block).
    const std::vector<Shape> shapes = {{3, 5}, {1031}, {2, 1024}, {17}, {40, 70}};
    const double weight_decay = GENERATE(0.0, 0.1);
    Rng rng(11);
    auto random = [&](const Shape& shape, double scale) {
        Tensor<T> t = Tensor<T>::from_shape(shape);
        for (auto& x : t) x = static_cast<T>(rng.normal(0.0, scale));
        return t;
    };
    std::vector<Parameter<T>> fast, slow;
    std::vector<Tensor<T>> m, v;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        fast.emplace_back(cat("p", i), random(shapes[i], 1.0));
        slow.push_back(fast.back());
        m.push_back(zeros<T>(shapes[i]));
        v.push_back(zeros<T>(shapes[i]));
    }
    std::vector<Parameter<T>*> pointers;
    for (auto& p : fast) pointers.push_back(&p);
    AdamW<T> adam(pointers, {.lr = 3e-3, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = weight_decay});
    for (std::size_t t = 1; t <= 4; ++t) {
        for (std::size_t i = 0; i < shapes.size(); ++i) {
            fast[i].grad = random(shapes[i], t == 3 ? 1e-6 : 0.5);  // one step of tiny gradients (eps matters)
            slow[i].grad = fast[i].grad;
        }
        adam.step();
        four_pass_adamw_step(slow, m, v, adam, t);
        for (std::size_t i = 0; i < shapes.size(); ++i) {
            INFO("step " << t << ", parameter " << i << " " << shape_str(shapes[i]));
            REQUIRE(same_bits(fast[i].value, slow[i].value));
            REQUIRE(same_bits(adam.first_moment(i), m[i]));
            REQUIRE(same_bits(adam.second_moment(i), v[i]));
        }
    }
    // A parameter whose value no longer fits its moments, or whose gradient has another shape, is
    // refused before anything changes (parameter 0, checked first, is valid and stays as it was).
    const Tensor<T> before = fast[0].value;
    fast[1].grad = zeros<T>({5});
    REQUIRE_THROWS_MATCHES(adam.step(), ShapeError, Catch::Matchers::Message("AdamW::step: the gradient of p1 has shape [5]; expected [1031], its value's"));
    fast[1].value = zeros<T>({4});
    REQUIRE_THROWS_MATCHES(adam.step(), ShapeError,
                           Catch::Matchers::Message("AdamW::step: p1 has shape [4] (4 elements); expected 1031 elements, as when the optimiser was built"));
    REQUIRE(same_bits(fast[0].value, before));
    REQUIRE(adam.steps_taken() == 4);
    REQUIRE_THROWS_MATCHES(adam.second_moment(1), ShapeError,
                           Catch::Matchers::Message("AdamW::second_moment: p1 has shape [4] (4 elements); expected 1031 elements, as when the optimiser was built"));
    std::vector<Tensor<T>> resized_moments = m;
    resized_moments[1] = zeros<T>({4});
    REQUIRE_THROWS_MATCHES(adam.load_state(resized_moments, resized_moments, 4), ShapeError,
                           Catch::Matchers::Message("AdamW::load_state: p1 has shape [4] (4 elements); expected 1031 elements, as when the optimiser was built"));
    REQUIRE_THROWS_MATCHES(adam.first_moment(5), ValueError, Catch::Matchers::Message("AdamW::first_moment: parameter 5 of 5; expected < 5"));
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
