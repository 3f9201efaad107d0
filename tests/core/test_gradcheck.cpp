// gradcheck itself: it must PASS correct gradients and FAIL wrong ones, with a useful report.
#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::testing;

namespace {
// A deliberately wrong softmax backward: y (g - sum(y)) instead of y (g - sum(g y)). With a cotangent
// of ones (the gradient of a plain sum of outputs) both give exactly 0, because softmax rows sum to
// 1: a sum-of-outputs check cannot see this bug. A random cotangent exposes it.
template <class T>
Var<T> broken_softmax(const Var<T>& x) {
    Tape<T>& tape = x.tape();
    Tensor<T> y = softmax(tape.constant(x.value())).value();
    return tape.record("broken_softmax", std::move(y), {x}, [](Tape<T>& t, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        if (!t.wants_grad(in)) return;
        const std::size_t V = node.value.shape().back();
        for (std::size_t r = 0; r < node.value.size() / V; ++r) {
            T total(0);
            for (std::size_t j = 0; j < V; ++j) total += node.value.data()[r * V + j];  // wrong: sum(y)
            for (std::size_t j = 0; j < V; ++j)
                t.adjoint(in).data()[r * V + j] += node.value.data()[r * V + j] * (node.adjoint.data()[r * V + j] - total);
        }
    }, Where::current());
}
}  // namespace

TEST_CASE("gradcheck passes a correct op and reports what it checked", "[gradcheck]") {
    const auto report = gradcheck([](auto&, const auto& x) { return softmax(x[0]); }, {random_tensor({2, 4}, 1)});
    INFO(report.message());
    REQUIRE(report.passed);
    REQUIRE(report.elements_checked == 8);
    REQUIRE(report.backward_deterministic);
    REQUIRE(report.zero_cotangent_gives_zero);
    REQUIRE(report.max_rel_error < 1e-6);
    REQUIRE_THAT(report.message(), Catch::StartsWith("gradcheck passed"));
}

TEST_CASE("the exact check agrees with reverse mode to ~1e-12 on smooth ops", "[gradcheck]") {
    GradcheckOptions exact_only;
    exact_only.finite_differences = false;
    exact_only.exact_rtol = 1e-12;
    exact_only.exact_atol = 1e-14;
    const auto report = gradcheck([](auto&, const auto& x) { return log_softmax(tanh(matmul(x[0], x[1]))); },
                                  {random_tensor({3, 4}, 2), random_tensor({4, 5}, 3)}, exact_only);
    INFO(report.message());
    REQUIRE(report.passed);
    REQUIRE(report.max_rel_error < 1e-12);
}

TEST_CASE("gradcheck catches a wrong backward that a sum-of-outputs check would miss", "[gradcheck]") {
    const auto x = random_tensor({2, 3}, 4);
    // The sum-of-outputs check (cotangent of ones) sees nothing wrong:
    Tape<double> tape;
    auto v = tape.variable(x);
    tape.backward(broken_softmax(v), full<double>({2, 3}, 1.0));
    for (double g : v.grad()) CHECK(std::abs(g) < 1e-15);  // the true gradient of sum(softmax) is 0 too
    // gradcheck's random cotangent catches it and names the worst element:
    const auto report = gradcheck([](auto&, const auto& in) { return broken_softmax(in[0]); }, {x});
    INFO(report.message());
    REQUIRE_FALSE(report.passed);
    REQUIRE(report.worst_input == 0);
    REQUIRE(report.worst_element < 6);
    REQUIRE(report.worst_analytic != Approx(report.worst_reference_value));
    REQUIRE_THAT(report.message(), Catch::Contains("FAILED") && Catch::Contains("worst: input 0 element"));
}

TEST_CASE("gradcheck samples elements of large inputs when asked", "[gradcheck]") {
    GradcheckOptions sampled;
    sampled.max_elements_per_input = 5;
    const auto report = gradcheck([](auto&, const auto& x) { return tanh(x[0]); }, {random_tensor({10, 10}, 5)}, sampled);
    REQUIRE(report.passed);
    REQUIRE(report.elements_checked == 5);
}

TEST_CASE("Dual numbers: arithmetic and functions carry exact derivatives", "[dual]") {
    using Dd = Dual<double>;  // not D: tests/core/test_dual.cpp declares D at file scope (one unity TU)
    const Dd x(0.7, 1.0);
    REQUIRE((x * x).der == Approx(1.4).epsilon(1e-15));
    REQUIRE(exp(x).der == Approx(std::exp(0.7)).epsilon(1e-15));
    REQUIRE(log(x).der == Approx(1 / 0.7).epsilon(1e-15));
    REQUIRE(tanh(x).der == Approx(1 - std::pow(std::tanh(0.7), 2)).epsilon(1e-15));
    REQUIRE((1.0 / x).der == Approx(-1 / 0.49).epsilon(1e-15));
    REQUIRE(sqrt(x).der == Approx(0.5 / std::sqrt(0.7)).epsilon(1e-15));
    REQUIRE(pow(x, 3.0).der == Approx(3 * 0.49).epsilon(1e-15));
    REQUIRE(Dd(2.0) > Dd(1.0));
    REQUIRE(value_of(max(Dd(1.0, 5.0), Dd(2.0, 7.0))) == 2.0);
}

// ---- gradcheck v2: each property catches a deliberately wrong backward (docs/gradcheck.md) ----------

namespace {
namespace gradcheck_v2 {

enum class Bug { none, assigns, wrong_sign, missing_factor, nonzero_for_zero_cotangent };

/// y = 3 x^2 elementwise, with a backward that can carry one deliberate bug.
template <class T>
Var<T> cube_ish(const Var<T>& x, Bug bug) {
    Tensor<T> y = x.value();
    for (auto& v : y) v = T(3) * v * v;
    return x.tape().record("three_x_squared", std::move(y), {x}, [bug](Tape<T>& t, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        if (!t.wants_grad(in)) return;
        T* gx = t.adjoint(in).data();
        const T* xv = t.value(in).data();
        const T* g = node.adjoint.data();
        for (std::size_t i = 0; i < node.adjoint.size(); ++i) {
            const T d = T(6) * xv[i] * g[i];  // d(3x^2)/dx = 6x
            switch (bug) {
                case Bug::none: gx[i] += d; break;
                case Bug::assigns: gx[i] = d; break;                    // = instead of +=
                case Bug::wrong_sign: gx[i] -= d; break;
                case Bug::missing_factor: gx[i] += xv[i] * g[i]; break;  // forgot the 6
                case Bug::nonzero_for_zero_cotangent: gx[i] += d + T(1e-3); break;
            }
        }
    }, Where::current());
}

inline GradcheckReport check_bug(Bug bug, GradcheckOptions options = {}) {
    return gradcheck([bug](auto&, const auto& x) { return gradcheck_v2::cube_ish(x[0], bug); },
                     {random_tensor({2, 3}, 77)}, options);
}

}  // namespace gradcheck_v2
}  // namespace

TEST_CASE("gradcheck v2: a backward that assigns instead of adding fails the accumulation property", "[gradcheck][v2]") {
    using gradcheck_v2::Bug;
    // As the first (only) writer of each leaf adjoint, `=` gives the right numbers: both references agree.
    GradcheckOptions references_only;
    references_only.check_accumulation = false;
    const auto blind = gradcheck_v2::check_bug(Bug::assigns, references_only);
    INFO(blind.message());
    REQUIRE(blind.passed);
    // The accumulation property sees it.
    const auto report = gradcheck_v2::check_bug(Bug::assigns);
    INFO(report.message());
    REQUIRE_FALSE(report.passed);
    REQUIRE_FALSE(report.gradients_accumulate);
    REQUIRE(report.elements_failed == 0);
    REQUIRE_THAT(report.message(), Catch::Contains("assigns (=) into an adjoint instead of adding (+=)"));
    // The correct op passes everything.
    const auto good = gradcheck_v2::check_bug(Bug::none);
    INFO(good.message());
    REQUIRE(good.passed);
    REQUIRE(good.gradients_accumulate);
    REQUIRE_FALSE(good.vacuous);
    REQUIRE(good.warnings.empty());
}

TEST_CASE("gradcheck v2: a wrong sign and a missing factor fail both references, each element reported",
          "[gradcheck][v2]") {
    using gradcheck_v2::Bug;
    for (Bug bug : {Bug::wrong_sign, Bug::missing_factor}) {
        const auto report = gradcheck_v2::check_bug(bug);
        INFO(report.message());
        REQUIRE_FALSE(report.passed);
        REQUIRE(report.gradients_accumulate);  // the bug is in the values, not in the accumulation
        REQUIRE(report.elements_failed == 6);  // every element of the [2,3] input
        REQUIRE(report.worst_failures.size() == 5);  // the worst few (max_reported_failures)
        for (const auto& f : report.worst_failures) {
            REQUIRE(f.index.size() == 2);
            REQUIRE(f.index[0] * 3 + f.index[1] == f.element);
            REQUIRE(f.ratio > 1.0);
        }
        REQUIRE(report.worst_failures.front().ratio >= report.worst_failures.back().ratio);
        REQUIRE_THAT(report.message(), Catch::Contains("\n  elements failed: 6\n") && Catch::Contains("failed: input 0 index ["));
        for (std::size_t start = 0, end; start < report.message().size(); start = end + 1) {
            end = report.message().find('\n', start);
            if (end == std::string::npos) end = report.message().size();
            CHECK(end - start <= 78);  // one fact per line: Catch wraps at 80 columns
        }
    }
    const auto zero = gradcheck_v2::check_bug(Bug::nonzero_for_zero_cotangent);
    INFO(zero.message());
    REQUIRE_FALSE(zero.passed);
    REQUIRE_FALSE(zero.zero_cotangent_gives_zero);
}

TEST_CASE("gradcheck v2: no false alarm for outputs holding large constants (masked_fill -1e9)", "[gradcheck][v2]") {
    // Differencing <u, f(x +- h)> cancelled catastrophically in the -1e9 entries (error 0.26 before);
    // the difference is now taken per output element, and unmoved elements contribute exactly 0.
    Mask mask = Mask::from_shape({3, 4});
    for (std::size_t i = 0; i < mask.size(); ++i) mask.data()[i] = (i % 3) == 1;
    for (double fill : {-1e9, -1e4, 1e12}) {
        INFO("fill " << fill);
        const auto report = gradcheck([&mask, fill](auto&, const auto& x) {
            using S = typename std::decay_t<decltype(x[0])>::value_type;
            return masked_fill(x[0], mask, S(fill));
        }, {random_tensor({3, 4}, 78)});
        INFO(report.message());
        REQUIRE(report.passed);
        REQUIRE(report.max_abs_error < 1e-8);
    }
}

TEST_CASE("gradcheck v2: an overflowing reference is blamed, not the gradient", "[gradcheck][v2]") {
    // sigmoid at -800: exp(800) = inf in the dual forward, so its derivative is inf/inf = NaN.
    const auto sig = gradcheck([](auto&, const auto& x) { return sigmoid(x[0]); },
                               {from_values<double>({3}, {-800.0, 0.5, -1.0})});
    INFO(sig.message());
    REQUIRE(sig.passed);
    REQUIRE(sig.reference_not_finite == 1);
    REQUIRE(sig.worst_failures.empty());
    REQUIRE_THAT(sig.message(), Catch::Contains("exact reference is not finite at 1 element") &&
                                    Catch::Contains("at input 0 [0]: dual forward output [0] is"));
    // gelu at -1000 likewise.
    const auto g = gradcheck([](auto&, const auto& x) { return gelu(x[0]); }, {from_values<double>({2}, {-1000.0, 0.3})});
    INFO(g.message());
    REQUIRE(g.passed);
    REQUIRE(g.reference_not_finite >= 1);
    // An all -inf row: finite differences are undefined there (-inf - -inf); the exact reference
    // still checks it (the zero-tangent rule keeps its derivative finite).
    const double inf = std::numeric_limits<double>::infinity();
    const auto lse = gradcheck([](auto&, const auto& x) { return logsumexp(x[0]); },
                               {from_values<double>({2, 2}, {-inf, -inf, 0.5, -0.25})});
    INFO(lse.message());
    REQUIRE(lse.passed);
    REQUIRE_FALSE(lse.vacuous);
    REQUIRE(lse.reference_not_finite == 2);
    REQUIRE_THAT(lse.message(), Catch::Contains("finite differences are not finite at 2 element(s)"));
    // A wrong gradient is still caught next to an overflowing reference.
    const auto wrong = gradcheck([](auto&, const auto& x) { return gradcheck_v2::cube_ish(sigmoid(x[0]), gradcheck_v2::Bug::wrong_sign); },
                                 {from_values<double>({2}, {-800.0, 0.5})});
    INFO(wrong.message());
    REQUIRE_FALSE(wrong.passed);
    REQUIRE(wrong.elements_failed == 1);
    REQUIRE(wrong.worst_failures.at(0).element == 1);
}

TEST_CASE("gradcheck v2: vacuous passes are flagged (all-zero gradients, every element at a kink)", "[gradcheck][v2]") {
    // relu on negative inputs: every gradient and every reference is exactly 0.
    const auto flat = gradcheck([](auto&, const auto& x) { return relu(x[0]); }, {full<double>({2, 2}, -1.0)});
    INFO(flat.message());
    REQUIRE(flat.passed);
    REQUIRE(flat.vacuous);
    REQUIRE_THAT(flat.message(), Catch::StartsWith("gradcheck passed VACUOUSLY") && Catch::Contains("zeros agreed with zeros"));
    // Every element at the declared kink: the check ran elsewhere, and says so.
    GradcheckOptions kinked;
    kinked.kinks = {0.0};
    const auto at_kink = gradcheck([](auto&, const auto& x) { return relu(x[0]); }, {zeros<double>({3})}, kinked);
    INFO(at_kink.message());
    REQUIRE(at_kink.passed);
    REQUIRE_THAT(at_kink.message(), Catch::Contains("every element of input 0 was within kink_margin"));
    // A healthy check carries no warning.
    const auto ok = gradcheck([](auto&, const auto& x) { return tanh(x[0]); }, {random_tensor({4}, 79)});
    REQUIRE(ok.warnings.empty());
    REQUIRE_FALSE(ok.vacuous);
}
