// cringe/dual.hpp - forward-mode dual numbers: the second scalar type of the core.
//
// A Dual<R> carries a value and one directional derivative: x = v + d*eps with eps^2 = 0. Running the
// SAME templated forward code with Dual<double> instead of double gives d(output)/d(direction) to
// machine precision, with no step size to choose. gradcheck uses it as the exact reference for
// reverse mode.
//
// To work inside xtensor and Eigen a scalar needs: implicit conversion from the real type, the math
// functions as free functions in its own namespace (found by argument-dependent lookup), and an
// Eigen::NumTraits specialisation (at the end of this file). Comparisons look at the value only,
// which is what ordering ops (max, relu) need.
//
// The type and its math functions live in namespace cringe::dual, apart from the tape ops of the
// same names (cringe::exp takes a Var, cringe::dual::exp a Dual). The scalar helpers every op is
// written with (value_of, is_finite, detach, is_exact_zero, is_dual_v) have an overload for plain
// numbers too; they and the type are brought into namespace cringe at the end of this file.
#pragma once

#include <cmath>
#include <limits>
#include <ostream>
#include <type_traits>

#include "detail/eigen.hpp"  // Eigen/Core (one false GCC 12 AVX-512 warning silenced)

namespace cringe::dual {

/// A dual number val + der * eps (eps^2 = 0): arithmetic on it carries an exact directional derivative.
template <class R>
struct Dual;

/// True when every component is exactly 0 (a nested dual may have a zero value but not a zero
/// derivative, and must not be treated as a zero tangent then).
template <class T> requires std::is_arithmetic_v<T>
constexpr bool is_exact_zero(const T& x) { return x == T(0); }
/// A dual is an exact zero only when its value and its derivative both are.
template <class R> constexpr bool is_exact_zero(const Dual<R>& x) { return is_exact_zero(x.val) && is_exact_zero(x.der); }

template <class R>
struct Dual {
    /// The value.
    R val{};  // the value
    /// Its derivative along the chosen direction.
    R der{};  // its derivative along the chosen direction

    constexpr Dual() = default;
    /// A constant (derivative 0), implicit like a real number.
    template <class A>
        requires std::is_arithmetic_v<A>
    constexpr Dual(A v) : val(static_cast<R>(v)) {}  // NOLINT: implicit, like a real number
    /// The value v with derivative d.
    constexpr Dual(R v, R d) : val(v), der(d) {}
    /// Nesting (Dual<Dual<double>>, second derivatives): the inner dual is a constant here.
    template <class Inner>
        requires std::is_same_v<Inner, R> && (!std::is_arithmetic_v<R>)
    constexpr Dual(const Inner& v) : val(v) {}  // NOLINT: implicit

    /// Adds value and derivative.
    Dual& operator+=(const Dual& o) { val += o.val; der += o.der; return *this; }
    /// Subtracts value and derivative.
    Dual& operator-=(const Dual& o) { val -= o.val; der -= o.der; return *this; }
    Dual& operator*=(const Dual& o) { der = chain(o.val, der) + chain(val, o.der); val *= o.val; return *this; }
    Dual& operator/=(const Dual& o) {
        der = (chain(o.val, der) - chain(val, o.der)) / (o.val * o.val);
        val /= o.val;
        return *this;
    }
    /// The value, dropping the derivative.
    explicit operator R() const { return val; }

    /// f'(v) * d, but exactly 0 when the tangent d is 0: a quantity that does not depend on the
    /// direction has derivative 0 even where f' is infinite (exp(800) = inf must not turn an
    /// unrelated output's derivative into inf * 0 = NaN).
    static R chain(const R& fprime, const R& d) { return is_exact_zero(d) ? R(0) : fprime * d; }
};

/// Sum: values and derivatives add.
template <class R> Dual<R> operator+(Dual<R> a, const Dual<R>& b) { return a += b; }
/// Difference.
template <class R> Dual<R> operator-(Dual<R> a, const Dual<R>& b) { return a -= b; }
/// Product rule.
template <class R> Dual<R> operator*(Dual<R> a, const Dual<R>& b) { return a *= b; }
/// Quotient rule.
template <class R> Dual<R> operator/(Dual<R> a, const Dual<R>& b) { return a /= b; }
/// Negation.
template <class R> Dual<R> operator-(const Dual<R>& a) { return {-a.val, -a.der}; }
/// Unary plus.
template <class R> Dual<R> operator+(const Dual<R>& a) { return a; }

// Mixed arithmetic with plain numbers (2.0 * x).
#define CRINGE_DUAL_MIXED(OP)                                                                   \
    template <class R, class A> requires std::is_arithmetic_v<A>                                \
    Dual<R> operator OP(const Dual<R>& a, A b) { return a OP Dual<R>(b); }                      \
    template <class R, class A> requires std::is_arithmetic_v<A>                                \
    Dual<R> operator OP(A a, const Dual<R>& b) { return Dual<R>(a) OP b; }
CRINGE_DUAL_MIXED(+)
CRINGE_DUAL_MIXED(-)
CRINGE_DUAL_MIXED(*)
CRINGE_DUAL_MIXED(/)
#undef CRINGE_DUAL_MIXED

// Comparisons use the value only.
/// Equality of the values (the derivatives are ignored).
template <class R> bool operator==(const Dual<R>& a, const Dual<R>& b) { return a.val == b.val; }
/// Ordering by value.
template <class R> auto operator<=>(const Dual<R>& a, const Dual<R>& b) { return a.val <=> b.val; }
/// Equality of the value with a plain number.
template <class R, class A> requires std::is_arithmetic_v<A>
bool operator==(const Dual<R>& a, A b) { return a.val == b; }
/// Ordering of the value against a plain number.
template <class R, class A> requires std::is_arithmetic_v<A>
auto operator<=>(const Dual<R>& a, A b) { return a.val <=> static_cast<R>(b); }

/// The real value of any scalar cringe handles (double, float, Dual, Dual<Dual<double>>).
template <class T> T value_of(const T& x) requires std::is_arithmetic_v<T> { return x; }
/// The innermost real value of a (possibly nested) dual.
template <class R> auto value_of(const Dual<R>& x) { return value_of(x.val); }

/// Finite check usable on every scalar type of the library (every component of a Dual).
template <class T> bool is_finite(const T& x) requires std::is_arithmetic_v<T> { return std::isfinite(x); }
/// True when the value and the derivative are both finite.
template <class R> bool is_finite(const Dual<R>& x) { return is_finite(x.val) && is_finite(x.der); }

// The chain rule, one line per function: f(v + d eps) = f(v) + f'(v) d eps. Every call inside is
// unqualified after `using std::f`, so that R may itself be a Dual (nested duals, second order).
// To add a function g with derivative g':  template <class R> Dual<R> g(const Dual<R>& a) {
//     using std::g; return {g(a.val), Dual<R>::chain(g'(a.val), a.der)}; }
// and a line in tests/core/test_dual.cpp that compares it with a finite difference.
#define CRINGE_DUAL_UNARY(NAME, DERIVATIVE)                                                     \
    template <class R> Dual<R> NAME(const Dual<R>& a) {                                         \
        using std::exp, std::log, std::log1p, std::expm1, std::sqrt, std::tanh, std::sin,       \
            std::cos, std::tan, std::asin, std::acos, std::atan, std::sinh, std::cosh,          \
            std::asinh, std::erf, std::erfc, std::exp2, std::log2, std::log10, std::cbrt;       \
        const R& x = a.val;                                                                     \
        return {NAME(x), Dual<R>::chain(DERIVATIVE, a.der)};                                     \
    }
/// e^a; derivative e^a.
CRINGE_DUAL_UNARY(exp, exp(x))
/// Natural log; derivative 1/a.
CRINGE_DUAL_UNARY(log, R(1) / x)
/// log(1 + a); derivative 1/(1 + a).
CRINGE_DUAL_UNARY(log1p, R(1) / (R(1) + x))
/// e^a - 1; derivative e^a.
CRINGE_DUAL_UNARY(expm1, exp(x))
/// Square root; derivative 1/(2 sqrt(a)).
CRINGE_DUAL_UNARY(sqrt, R(1) / (R(2) * sqrt(x)))
/// tanh; derivative 1 - tanh^2(a).
CRINGE_DUAL_UNARY(tanh, R(1) - tanh(x) * tanh(x))
/// Sine; derivative cos(a).
CRINGE_DUAL_UNARY(sin, cos(x))
/// Cosine; derivative -sin(a).
CRINGE_DUAL_UNARY(cos, -sin(x))
/// Tangent; derivative 1 + tan^2(a).
CRINGE_DUAL_UNARY(tan, R(1) + tan(x) * tan(x))
/// Arcsine; derivative 1/sqrt(1 - a^2).
CRINGE_DUAL_UNARY(asin, R(1) / sqrt(R(1) - x * x))
/// Arccosine; derivative -1/sqrt(1 - a^2).
CRINGE_DUAL_UNARY(acos, R(-1) / sqrt(R(1) - x * x))
/// Arctangent; derivative 1/(1 + a^2).
CRINGE_DUAL_UNARY(atan, R(1) / (R(1) + x * x))
/// Hyperbolic sine; derivative cosh(a).
CRINGE_DUAL_UNARY(sinh, cosh(x))
/// Hyperbolic cosine; derivative sinh(a).
CRINGE_DUAL_UNARY(cosh, sinh(x))
/// Inverse hyperbolic sine; derivative 1/sqrt(a^2 + 1).
CRINGE_DUAL_UNARY(asinh, R(1) / sqrt(x * x + R(1)))
/// Error function; derivative (2/sqrt(pi)) e^(-a^2).
CRINGE_DUAL_UNARY(erf, R(1.1283791670955126) * exp(-x * x))    // 2/sqrt(pi) e^(-x^2)
/// Complementary error function 1 - erf(a); derivative -(2/sqrt(pi)) e^(-a^2).
CRINGE_DUAL_UNARY(erfc, R(-1.1283791670955126) * exp(-x * x))
/// 2^a; derivative ln(2) 2^a.
CRINGE_DUAL_UNARY(exp2, R(0.69314718055994531) * exp2(x))
/// Base-2 log; derivative 1/(ln(2) a).
CRINGE_DUAL_UNARY(log2, R(1) / (R(0.69314718055994531) * x))
/// Base-10 log; derivative 1/(ln(10) a).
CRINGE_DUAL_UNARY(log10, R(1) / (R(2.3025850929940457) * x))
/// Cube root; derivative 1/(3 cbrt(a)^2).
CRINGE_DUAL_UNARY(cbrt, R(1) / (R(3) * cbrt(x) * cbrt(x)))
#undef CRINGE_DUAL_UNARY

// Piecewise constant: derivative 0 (a kink at every jump, where no derivative exists).
/// Rounds the value down; derivative 0.
template <class R> Dual<R> floor(const Dual<R>& a) { using std::floor; return Dual<R>(floor(a.val)); }
/// Rounds the value up; derivative 0.
template <class R> Dual<R> ceil(const Dual<R>& a) { using std::ceil; return Dual<R>(ceil(a.val)); }
/// Rounds the value to nearest (halves away from 0); derivative 0.
template <class R> Dual<R> round(const Dual<R>& a) { using std::round; return Dual<R>(round(a.val)); }
/// Rounds the value toward 0; derivative 0.
template <class R> Dual<R> trunc(const Dual<R>& a) { using std::trunc; return Dual<R>(trunc(a.val)); }

/// |a|: derivative sign(a); at a = 0 the derivative of +a is taken (kink: 0 is in the subgradient
/// [-1, 1], PyTorch uses 0 there; a gradcheck with kinks = {0} avoids the point).
template <class R> Dual<R> abs(const Dual<R>& a) { return a.val < R(0) ? -a : a; }
/// Same as abs.
template <class R> Dual<R> fabs(const Dual<R>& a) { return abs(a); }

/// a^b with both arguments dual: derivative b a^(b-1) da + a^b log(a) db, each term only when its
/// tangent is nonzero.
template <class R> Dual<R> pow(const Dual<R>& a, const Dual<R>& b) {
    // d(a^b) = b a^(b-1) da + a^b log(a) db; each term only when its tangent is nonzero (no log(0),
    // and a^0 = 1 is constant: no 0 * 0^-1 = 0 * inf at a = 0).
    using std::log;
    using std::pow;
    const R v = pow(a.val, b.val);
    R d = is_exact_zero(b.val) ? R(0) : Dual<R>::chain(b.val * pow(a.val, b.val - R(1)), a.der);
    if (!is_exact_zero(b.der)) d += v * log(a.val) * b.der;
    return {v, d};
}
/// a^p for a constant exponent of the dual's real type.
template <class R> Dual<R> pow(const Dual<R>& a, const R& p) { return pow(a, Dual<R>(p)); }
/// a^p for a constant exponent of another arithmetic type (an int, a float).
template <class R, class A> requires std::is_arithmetic_v<A> && (!std::is_same_v<A, R>)
Dual<R> pow(const Dual<R>& a, A p) { return pow(a, Dual<R>(p)); }
/// a^b for a constant base a.
template <class R, class A> requires std::is_arithmetic_v<A>
Dual<R> pow(A a, const Dual<R>& b) { return pow(Dual<R>(a), b); }

/// sqrt(a^2 + b^2) without overflow; derivative (a da + b db) / hypot (0 at the origin, a kink).
template <class R> Dual<R> hypot(const Dual<R>& a, const Dual<R>& b) {
    using std::hypot;
    const R h = hypot(a.val, b.val);
    if (h == R(0)) return Dual<R>(h);
    return {h, Dual<R>::chain(a.val / h, a.der) + Dual<R>::chain(b.val / h, b.der)};
}
/// atan2(a, b): the angle of (b, a); derivative (b da - a db) / (a^2 + b^2).
template <class R> Dual<R> atan2(const Dual<R>& a, const Dual<R>& b) {
    using std::atan2;
    const R r2 = a.val * a.val + b.val * b.val;
    return {atan2(a.val, b.val), Dual<R>::chain(b.val / r2, a.der) - Dual<R>::chain(a.val / r2, b.der)};
}

// max/min pick one argument, derivative included (kink where they are equal: the first wins).
/// The argument with the larger value, derivative included (a when they are equal).
template <class R> Dual<R> max(const Dual<R>& a, const Dual<R>& b) { return a.val >= b.val ? a : b; }
/// The argument with the smaller value, derivative included (a when they are equal).
template <class R> Dual<R> min(const Dual<R>& a, const Dual<R>& b) { return a.val <= b.val ? a : b; }
/// Same as max (no NaN handling: a NaN value compares false, so b is returned).
template <class R> Dual<R> fmax(const Dual<R>& a, const Dual<R>& b) { return max(a, b); }
/// Same as min (no NaN handling: a NaN value compares false, so b is returned).
template <class R> Dual<R> fmin(const Dual<R>& a, const Dual<R>& b) { return min(a, b); }
/// max with a plain number (derivative 0 when b wins).
template <class R, class A> requires std::is_arithmetic_v<A>
Dual<R> max(const Dual<R>& a, A b) { return max(a, Dual<R>(b)); }
/// max with a plain number (derivative 0 when a wins).
template <class R, class A> requires std::is_arithmetic_v<A>
Dual<R> max(A a, const Dual<R>& b) { return max(Dual<R>(a), b); }
/// min with a plain number (derivative 0 when b wins).
template <class R, class A> requires std::is_arithmetic_v<A>
Dual<R> min(const Dual<R>& a, A b) { return min(a, Dual<R>(b)); }
/// min with a plain number (derivative 0 when a wins).
template <class R, class A> requires std::is_arithmetic_v<A>
Dual<R> min(A a, const Dual<R>& b) { return min(Dual<R>(a), b); }

/// Same as is_finite: value and derivative both finite.
template <class R> bool isfinite(const Dual<R>& a) { return is_finite(a); }
/// True when the value or the derivative is NaN.
template <class R> bool isnan(const Dual<R>& a) { using std::isnan; return isnan(a.val) || isnan(a.der); }
/// True when the value or the derivative is infinite.
template <class R> bool isinf(const Dual<R>& a) { using std::isinf; return isinf(a.val) || isinf(a.der); }

/// Prints "value+derivative e".
template <class R>
std::ostream& operator<<(std::ostream& os, const Dual<R>& a) { return os << a.val << "+" << a.der << "e"; }

/// A stop-gradient on a scalar: the value, with no derivative. For plain numbers the identity.
/// Fused kernels use it where an option detaches a quantity (CRINGE's detach_positive, pairwise
/// CRINGE's detach_gate), so that the dual-number reference differentiates the same function that
/// the hand-written backward does.
template <class T> T detach(const T& x) requires std::is_arithmetic_v<T> { return x; }
/// A Dual's value, with derivative 0.
template <class R> Dual<R> detach(const Dual<R>& x) { return Dual<R>(x.val); }

/// True for Dual<R>.
template <class T> inline constexpr bool is_dual_v = false;
/// True for Dual.
template <class R> inline constexpr bool is_dual_v<Dual<R>> = true;

}  // namespace cringe::dual

namespace cringe {
using dual::Dual;
using dual::detach;
using dual::is_dual_v;
using dual::is_exact_zero;
using dual::is_finite;
using dual::value_of;
}  // namespace cringe

// Eigen needs to know a few facts about the scalar (without this, products
// compile but precision-based functions silently misbehave).
namespace Eigen {
template <class R>
struct NumTraits<cringe::dual::Dual<R>> : NumTraits<R> {
    using Real = cringe::dual::Dual<R>;
    using NonInteger = cringe::dual::Dual<R>;
    using Literal = cringe::dual::Dual<R>;
    using Nested = cringe::dual::Dual<R>;
    enum {
        IsComplex = 0,
        IsInteger = 0,
        IsSigned = 1,
        RequireInitialization = 1,
        ReadCost = 2 * NumTraits<R>::ReadCost,
        AddCost = 2 * NumTraits<R>::AddCost,
        MulCost = 3 * NumTraits<R>::MulCost + NumTraits<R>::AddCost
    };
    static inline Real epsilon() { return Real(NumTraits<R>::epsilon()); }
    static inline Real dummy_precision() { return Real(NumTraits<R>::dummy_precision()); }
    static inline Real highest() { return Real(NumTraits<R>::highest()); }
    static inline Real lowest() { return Real(NumTraits<R>::lowest()); }
    static inline int digits10() { return NumTraits<R>::digits10(); }
};
}  // namespace Eigen
