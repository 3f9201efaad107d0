// cringe/check/dual.hpp - forward-mode dual numbers: the exact-derivative scalar of the checker.
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
#pragma once

#include <cmath>
#include <limits>
#include <ostream>
#include <type_traits>

#include <Eigen/Core>

namespace cringe {

/// A dual number val + der * eps (eps^2 = 0): arithmetic on it carries an exact directional derivative.
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

    /// Adds value and derivative.
    Dual& operator+=(const Dual& o) { val += o.val; der += o.der; return *this; }
    /// Subtracts value and derivative.
    Dual& operator-=(const Dual& o) { val -= o.val; der -= o.der; return *this; }
    Dual& operator*=(const Dual& o) { der = der * o.val + val * o.der; val *= o.val; return *this; }
    Dual& operator/=(const Dual& o) {
        der = (der * o.val - val * o.der) / (o.val * o.val);
        val /= o.val;
        return *this;
    }
    /// The value, dropping the derivative.
    explicit operator R() const { return val; }
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

// The chain rule, one line per function: f(v + d eps) = f(v) + f'(v) d eps.
template <class R> Dual<R> exp(const Dual<R>& a) { const R e = std::exp(a.val); return {e, e * a.der}; }
template <class R> Dual<R> log(const Dual<R>& a) { return {std::log(a.val), a.der / a.val}; }
template <class R> Dual<R> log1p(const Dual<R>& a) { return {std::log1p(a.val), a.der / (R(1) + a.val)}; }
template <class R> Dual<R> expm1(const Dual<R>& a) { return {std::expm1(a.val), std::exp(a.val) * a.der}; }
template <class R> Dual<R> sqrt(const Dual<R>& a) { const R s = std::sqrt(a.val); return {s, a.der / (R(2) * s)}; }
template <class R> Dual<R> tanh(const Dual<R>& a) { const R t = std::tanh(a.val); return {t, (R(1) - t * t) * a.der}; }
template <class R> Dual<R> abs(const Dual<R>& a) { return a.val < R(0) ? -a : a; }
template <class R> Dual<R> pow(const Dual<R>& a, R p) {
    return {std::pow(a.val, p), p * std::pow(a.val, p - R(1)) * a.der};
}
template <class R> Dual<R> pow(const Dual<R>& a, const Dual<R>& b) {
    // d(a^b) = b a^(b-1) da + a^b log(a) db; the second term only when b varies (avoids log(0)).
    const R v = std::pow(a.val, b.val);
    R d = b.val * std::pow(a.val, b.val - R(1)) * a.der;
    if (b.der != R(0)) d += v * std::log(a.val) * b.der;
    return {v, d};
}
template <class R> Dual<R> max(const Dual<R>& a, const Dual<R>& b) { return a.val >= b.val ? a : b; }
template <class R> Dual<R> min(const Dual<R>& a, const Dual<R>& b) { return a.val <= b.val ? a : b; }
template <class R> bool isfinite(const Dual<R>& a) { return std::isfinite(a.val) && std::isfinite(a.der); }
template <class R> bool isnan(const Dual<R>& a) { return std::isnan(a.val) || std::isnan(a.der); }
template <class R> bool isinf(const Dual<R>& a) { return std::isinf(a.val) || std::isinf(a.der); }

/// Prints "value+derivative e".
template <class R>
std::ostream& operator<<(std::ostream& os, const Dual<R>& a) { return os << a.val << "+" << a.der << "e"; }

/// The real value of any scalar cringe handles (double, float, Dual).
template <class T> T value_of(const T& x) requires std::is_arithmetic_v<T> { return x; }
template <class R> R value_of(const Dual<R>& x) { return x.val; }

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

/// Finite check usable on every scalar type of the library.
template <class T> bool is_finite(const T& x) {
    if constexpr (is_dual_v<T>) return isfinite(x);
    else return std::isfinite(x);
}

}  // namespace cringe

// Eigen needs to know a few facts about the scalar (see guides/stack.md: without this, products
// compile but precision-based functions silently misbehave).
namespace Eigen {
template <class R>
struct NumTraits<cringe::Dual<R>> : NumTraits<R> {
    using Real = cringe::Dual<R>;
    using NonInteger = cringe::Dual<R>;
    using Literal = cringe::Dual<R>;
    using Nested = cringe::Dual<R>;
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
