// Numerics that must not depend on the SIMD width, and edge values where cringe now agrees with
// PyTorch: exp(-inf) = 0 on every lane, masked softmax entries exactly 0, logsumexp of an all -inf
// row = -inf, softmax/log_softmax accurate at |logits| ~ 1e4, d(x^0)/dx = 0 at x = 0, max with NaN.
//
// Eigen computes the middle of an array with SIMD packets and the elements before/after them with
// scalar code, so every test below puts the special value at EVERY position of rows of lengths 1..9:
// whatever the packet width of the build (SSE2: 2 doubles, AVX: 4), some of those positions take
// the packet path. These tests failed in a build without -march=native before the fix.
#include <cmath>
#include <limits>

#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::testing;

namespace {
namespace portable_numerics {

template <class T>
constexpr T inf_v = std::numeric_limits<T>::infinity();

/// A [1, n] row of `fill` with `special` at position k (and at k + 3 when that exists).
template <class T>
Tensor<T> row_with(std::size_t n, std::size_t k, T fill, T special) {
    Tensor<T> t = full<T>({1, n}, fill);
    t.data()[k] = special;
    if (k + 3 < n) t.data()[k + 3] = special;
    for (std::size_t j = 0; j < n; ++j)
        if (t.data()[j] == fill) t.data()[j] = fill + T(0.25) * static_cast<T>(j);  // distinct values
    return t;
}

template <class T>
void check_masked_rows() {
    for (std::size_t n = 1; n <= 9; ++n)
        for (std::size_t k = 0; k < n; ++k) {
            INFO("row length " << n << ", -inf at " << k);
            Tape<T> tape;
            auto x = tape.variable(row_with<T>(n, k, T(0.5), -inf_v<T>));
            const auto e = exp(x).value();
            const auto p = softmax(x).value();
            const auto lp = log_softmax(x).value();
            for (std::size_t j = 0; j < n; ++j) {
                if (x.value().data()[j] == -inf_v<T>) {
                    REQUIRE(e.data()[j] == T(0));   // was 5.6e-309 (float 2.9e-39) on packet lanes
                    REQUIRE(p.data()[j] == T(0));
                    REQUIRE(lp.data()[j] == -inf_v<T>);
                } else {
                    REQUIRE(p.data()[j] > T(0));
                }
            }
            // The gradient of a masked entry is exactly 0 too (the softmax backward multiplies by y).
            Tensor<T> u = full<T>({1, n}, T(1));
            for (std::size_t j = 0; j < n; ++j) u.data()[j] = T(0.5) + T(0.125) * static_cast<T>(j);
            auto y = softmax(x);
            tape.backward(y, u);
            for (std::size_t j = 0; j < n; ++j)
                if (x.value().data()[j] == -inf_v<T>) REQUIRE(x.grad().data()[j] == T(0));
            // All -inf: logsumexp -inf (was about -709, float -88), softmax 0, log_softmax -inf.
            Tape<T> t2;
            auto all = t2.constant(full<T>({1, n}, -inf_v<T>));
            REQUIRE(logsumexp(all).value()(0, 0) == -inf_v<T>);
            for (T v : softmax(all).value()) REQUIRE(v == T(0));
            for (T v : log_softmax(all).value()) REQUIRE(v == -inf_v<T>);
        }
}

/// max |softmax(x) - reference| and the same for log_softmax, the reference in long double from
/// the same (exactly representable) inputs.
template <class T>
std::pair<double, double> softmax_errors_at(double center) {
    const std::size_t n = 7;
    Tensor<T> x = Tensor<T>::from_shape({1, n});
    Rng rng(99);
    for (auto& v : x) v = static_cast<T>(center + 3.0 * rng.normal());
    long double m = -1e300L;
    for (T v : x) m = std::max(m, static_cast<long double>(v));
    long double total = 0;
    for (T v : x) total += std::exp(static_cast<long double>(v) - m);
    Tape<T> tape;
    auto xv = tape.constant(x);
    const auto p = softmax(xv).value();
    const auto lp = log_softmax(xv).value();
    double err_p = 0, err_lp = 0;
    for (std::size_t j = 0; j < n; ++j) {
        const long double z = static_cast<long double>(x.data()[j]) - m;
        err_p = std::max(err_p, static_cast<double>(std::fabs(p.data()[j] - std::exp(z) / total)));
        err_lp = std::max(err_lp, static_cast<double>(std::fabs(lp.data()[j] - (z - std::log(total)))));
    }
    return {err_p, err_lp};
}

}  // namespace portable_numerics
}  // namespace

TEST_CASE("exp, softmax, log_softmax, logsumexp: -inf gives exact 0 / -inf on every SIMD lane (double)",
          "[ops][softmax][numerics][regression]") {
    portable_numerics::check_masked_rows<double>();
}

TEST_CASE("exp, softmax, log_softmax, logsumexp: -inf gives exact 0 / -inf on every SIMD lane (float)",
          "[ops][softmax][numerics][regression][float]") {
    portable_numerics::check_masked_rows<float>();
}

TEST_CASE("exp: results below the smallest normal number are exactly 0 whatever the lane", "[ops][unary][numerics][regression]") {
    // -708.5 < log(DBL_MIN) = -708.396: std::exp gives a subnormal, Eigen's packet exp 5.6e-309.
    for (double arg : {-708.5, -720.0, -745.0, -800.0}) {
        Tape<double> tape;
        auto x = tape.constant(full<double>({1, 9}, arg));
        for (double v : exp(x).value()) REQUIRE(v == 0.0);
    }
    Tape<double> tape;
    auto x = tape.constant(full<double>({1, 9}, -708.0));  // normal: kept on every lane
    for (double v : exp(x).value()) REQUIRE(v == Approx(std::exp(-708.0)).epsilon(1e-13));
}

TEST_CASE("softmax and log_softmax subtract the max, not the log-sum-exp: exact at |logits| ~ 1e4",
          "[ops][softmax][numerics][regression]") {
    for (double center : {0.0, 1e4, -1e4, 1e6}) {
        INFO("logits around " << center);
        const auto [pd, lpd] = portable_numerics::softmax_errors_at<double>(center);
        CHECK(pd < 1e-15);   // was 2.9e-12 at 1e4 (PyTorch 3.6e-16)
        CHECK(lpd < 1e-14);  // log_softmax values are O(10): a few ulps
        const auto [pf, lpf] = portable_numerics::softmax_errors_at<float>(center);
        CHECK(pf < 3e-7);    // was 2e-4 at 1e4 (PyTorch 7e-8)
        CHECK(lpf < 5e-6);
    }
}

TEST_CASE("pow(x, 0) has gradient 0 at x = 0 (was NaN: 0 * 0^-1)", "[ops][unary][numerics][regression]") {
    Tape<double> tape;
    auto x = tape.variable(from_values<double>({3}, {0.0, 2.0, -1.5}));
    auto y = pow(x, 0.0);
    tape.backward(y, from_values<double>({3}, {0.3, -1.0, 2.0}));
    for (double v : y.value()) REQUIRE(v == 1.0);
    for (double g : x.grad()) REQUIRE(g == 0.0);
    // The dual-number reference agrees: d(0^0)/dx = 0, not NaN.
    const Dual<double> d = pow(Dual<double>(0.0, 1.0), 0.0);
    REQUIRE(d.val == 1.0);
    REQUIRE(d.der == 0.0);
    REQUIRE(pow(Dual<double>(0.0, 1.0), Dual<double>(0.0)).der == 0.0);
}

TEST_CASE("max over a slice with a NaN is NaN wherever the NaN sits, and the NaN gets the gradient",
          "[ops][reduce][numerics][regression]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t n = 1; n <= 6; ++n)
        for (std::size_t k = 0; k < n; ++k) {
            INFO("length " << n << ", NaN at " << k);
            Tensor<double> v = Tensor<double>::from_shape({n});
            for (std::size_t j = 0; j < n; ++j) v.data()[j] = static_cast<double>(j);
            v.data()[k] = nan;
            Tape<double> tape;
            auto x = tape.variable(v);
            auto y = max(x, 0);
            REQUIRE(std::isnan(y.value()()));
            tape.backward(y);
            for (std::size_t j = 0; j < n; ++j) REQUIRE(x.grad().data()[j] == (j == k ? 1.0 : 0.0));
        }
    // Along a non-last axis too: column 1 holds a NaN in its last row.
    Tape<double> tape;
    auto x = tape.constant(from_values<double>({3, 2}, {1, 5, 7, 2, 3, nan}));
    const auto y = max(x, 0).value();
    REQUIRE(y(0) == 7.0);
    REQUIRE(std::isnan(y(1)));
}
