// Dual numbers on their own: every function's derivative against a high-precision central
// difference, the zero-tangent rule, kinks, and nested duals (exact second derivatives).
// Only dual.hpp is included: the file documents what a custom op may use inside a forward.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <cringe/dual.hpp>

using cringe::Dual;
using D = Dual<double>;
using DD = Dual<Dual<double>>;

namespace {
namespace dual_tests {

struct UnaryCase {
    std::string name;
    std::function<D(D)> dual;
    std::function<long double(long double)> real;
    double x;  // the point
};

/// Central difference in long double with a step of 1e-6: error ~h^2 f''' + eps_ld / h ~ 1e-12.
long double central(const std::function<long double(long double)>& f, long double x) {
    const long double h = 1e-6L;
    return (f(x + h) - f(x - h)) / (2 * h);
}

}  // namespace dual_tests
}  // namespace

TEST_CASE("dual: every function's derivative matches a central difference", "[dual]") {
    using dual_tests::UnaryCase;
    const std::vector<UnaryCase> cases = {
        {"exp", [](D a) { return exp(a); }, [](long double v) { return std::exp(v); }, 0.7},
        {"log", [](D a) { return log(a); }, [](long double v) { return std::log(v); }, 0.7},
        {"log1p", [](D a) { return log1p(a); }, [](long double v) { return std::log1p(v); }, 0.3},
        {"expm1", [](D a) { return expm1(a); }, [](long double v) { return std::expm1(v); }, -0.4},
        {"sqrt", [](D a) { return sqrt(a); }, [](long double v) { return std::sqrt(v); }, 1.7},
        {"cbrt", [](D a) { return cbrt(a); }, [](long double v) { return std::cbrt(v); }, 1.7},
        {"tanh", [](D a) { return tanh(a); }, [](long double v) { return std::tanh(v); }, 0.4},
        {"sin", [](D a) { return sin(a); }, [](long double v) { return std::sin(v); }, 0.9},
        {"cos", [](D a) { return cos(a); }, [](long double v) { return std::cos(v); }, 0.9},
        {"tan", [](D a) { return tan(a); }, [](long double v) { return std::tan(v); }, 0.9},
        {"asin", [](D a) { return asin(a); }, [](long double v) { return std::asin(v); }, 0.3},
        {"acos", [](D a) { return acos(a); }, [](long double v) { return std::acos(v); }, 0.3},
        {"atan", [](D a) { return atan(a); }, [](long double v) { return std::atan(v); }, -1.3},
        {"sinh", [](D a) { return sinh(a); }, [](long double v) { return std::sinh(v); }, 0.8},
        {"cosh", [](D a) { return cosh(a); }, [](long double v) { return std::cosh(v); }, 0.8},
        {"asinh", [](D a) { return asinh(a); }, [](long double v) { return std::asinh(v); }, 0.8},
        {"erf", [](D a) { return erf(a); }, [](long double v) { return std::erf(v); }, 0.6},
        {"erfc", [](D a) { return erfc(a); }, [](long double v) { return std::erfc(v); }, 0.6},
        {"exp2", [](D a) { return exp2(a); }, [](long double v) { return std::exp2(v); }, 0.6},
        {"log2", [](D a) { return log2(a); }, [](long double v) { return std::log2(v); }, 0.6},
        {"log10", [](D a) { return log10(a); }, [](long double v) { return std::log10(v); }, 0.6},
        {"abs (negative)", [](D a) { return abs(a); }, [](long double v) { return std::fabs(v); }, -0.6},
        {"pow(a, 2.5)", [](D a) { return pow(a, 2.5); }, [](long double v) { return std::pow(v, 2.5L); }, 1.3},
        {"pow(2, a)", [](D a) { return pow(2.0, a); }, [](long double v) { return std::pow(2.0L, v); }, 1.3},
        {"pow(a, a)", [](D a) { return pow(a, a); }, [](long double v) { return std::pow(v, v); }, 1.3},
        {"hypot(a, 3a+1)", [](D a) { return hypot(a, 3.0 * a + 1.0); },
         [](long double v) { return std::hypot(v, 3 * v + 1); }, 0.4},
        {"atan2(a, 2-a)", [](D a) { return atan2(a, 2.0 - a); }, [](long double v) { return std::atan2(v, 2 - v); }, 0.4},
        {"max(a, 0.5)", [](D a) { return max(a, 0.5); }, [](long double v) { return std::max(v, 0.5L); }, 0.8},
        {"min(a, 0.5)", [](D a) { return min(a, 0.5); }, [](long double v) { return std::min(v, 0.5L); }, 0.8},
        {"x / (1 + x^2)", [](D a) { return a / (1.0 + a * a); }, [](long double v) { return v / (1 + v * v); }, 0.8},
    };
    for (const auto& c : cases) {
        INFO(c.name << " at " << c.x);
        const D y = c.dual(D(c.x, 1.0));
        REQUIRE(y.val == Approx(static_cast<double>(c.real(c.x))).epsilon(1e-14));
        REQUIRE(y.der == Approx(static_cast<double>(dual_tests::central(c.real, c.x))).epsilon(1e-9));
    }
}

TEST_CASE("dual: floor, ceil, round, trunc have derivative 0", "[dual]") {
    const D x(2.3, 1.0);
    for (const D y : {floor(x), ceil(x), round(x), trunc(x)}) REQUIRE(y.der == 0.0);
    REQUIRE(floor(x).val == 2.0);
    REQUIRE(ceil(x).val == 3.0);
    REQUIRE(round(D(2.5, 1.0)).val == 3.0);
}

TEST_CASE("dual: a zero tangent stays exactly 0 where the function overflows", "[dual]") {
    // exp(800) = inf: with tangent 0 the derivative is 0, not inf * 0 = NaN (gradcheck's exact reference
    // for an output that does not depend on the perturbed input).
    const D big(800.0, 0.0);
    REQUIRE(exp(big).der == 0.0);
    REQUIRE((1.0 / (1.0 + exp(big))).der == 0.0);
    REQUIRE((big * D(std::numeric_limits<double>::infinity(), 0.0)).der == 0.0);
    // With a nonzero tangent the overflow is visible (and gradcheck reports it as the reference's).
    REQUIRE_FALSE(std::isfinite((1.0 / (1.0 + exp(D(800.0, 1.0)))).der));
    // pow(a, 0) is the constant 1, also at a = 0 (the formula 0 * 0^-1 would be NaN).
    REQUIRE(pow(D(0.0, 1.0), 0.0).der == 0.0);
    REQUIRE(pow(D(0.0, 1.0), 0.0).val == 1.0);
    // hypot at the origin: a kink, derivative taken as 0, not 0/0.
    REQUIRE(hypot(D(0.0, 1.0), D(0.0, 1.0)).der == 0.0);
}

TEST_CASE("dual: kinks take one side (abs, max, min at ties)", "[dual]") {
    REQUIRE(abs(D(0.0, 1.0)).der == 1.0);
    REQUIRE(abs(D(-0.0, 1.0)).der == 1.0);
    REQUIRE(max(D(1.0, 5.0), D(1.0, 7.0)).der == 5.0);  // tie: the first
    REQUIRE(min(D(1.0, 5.0), D(1.0, 7.0)).der == 5.0);
    REQUIRE(max(D(1.0, 5.0), D(2.0, 7.0)).der == 7.0);
}

TEST_CASE("nested duals give exact second derivatives (forward over forward)", "[dual][second-order]") {
    // x = x0 + e1 + e2 (both tangents 1): f(x).der.der = f''(x0).
    const double x0 = 0.7;
    const DD x(D(x0, 1.0), D(1.0, 0.0));
    const DD y = sin(x) * exp(x);  // f = sin e^x, f' = (sin + cos) e^x, f'' = 2 cos e^x
    REQUIRE(y.val.val == Approx(std::sin(x0) * std::exp(x0)).epsilon(1e-15));
    REQUIRE(y.val.der == Approx((std::sin(x0) + std::cos(x0)) * std::exp(x0)).epsilon(1e-15));
    REQUIRE(y.der.val == Approx((std::sin(x0) + std::cos(x0)) * std::exp(x0)).epsilon(1e-15));
    REQUIRE(y.der.der == Approx(2 * std::cos(x0) * std::exp(x0)).epsilon(1e-14));
    // Mixed partial of g(a, b) = a^2 b + atan(a b): d2g/da db = 2a + (1 - (ab)^2) / (1 + (ab)^2)^2.
    const double a0 = 0.6, b0 = -1.1;
    const DD a(D(a0, 0.0), D(1.0, 0.0));  // outer tangent along a
    const DD b(D(b0, 1.0), D(0.0, 0.0));  // inner tangent along b
    const DD g = a * a * b + atan(a * b);
    const double ab = a0 * b0;
    REQUIRE(g.der.der == Approx(2 * a0 + (1 - ab * ab) / ((1 + ab * ab) * (1 + ab * ab))).epsilon(1e-14));
    // The zero-tangent rule looks at every component of a nested tangent.
    REQUIRE(cringe::is_exact_zero(D(0.0, 0.0)));
    REQUIRE_FALSE(cringe::is_exact_zero(D(0.0, 1.0)));
    REQUIRE(pow(DD(D(2.0, 1.0), D(1.0, 0.0)), 3.0).der.der == Approx(12.0).epsilon(1e-15));  // (x^3)'' = 6x
    REQUIRE(cringe::value_of(g) == Approx(a0 * a0 * b0 + std::atan(ab)).epsilon(1e-15));
    REQUIRE(cringe::is_finite(g));
}
