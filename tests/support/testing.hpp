// Shared helpers for the test suite.
#pragma once

#include <catch2/catch.hpp>
#include <cringe/cringe.hpp>

namespace cringe::testing {

/// A tensor of N(mean, std) values from a fixed seed.
inline Tensor<double> random_tensor(const Shape& shape, std::uint64_t seed, double std = 1.0, double mean = 0.0) {
    Rng rng(seed);
    Tensor<double> t = zeros<double>(shape);
    for (auto& v : t) v = rng.normal(mean, std);
    return t;
}

/// Positive values in [lo, hi) (for log, sqrt, division).
inline Tensor<double> positive_tensor(const Shape& shape, std::uint64_t seed, double lo = 0.5, double hi = 2.0) {
    Rng rng(seed);
    Tensor<double> t = zeros<double>(shape);
    for (auto& v : t) v = lo + (hi - lo) * rng.uniform();
    return t;
}

/// Runs gradcheck with both references and fails the test with the report's message.
template <class F>
void require_gradcheck(F&& f, std::vector<Tensor<double>> inputs, GradcheckOptions options = {}) {
    const GradcheckReport report = gradcheck(std::forward<F>(f), std::move(inputs), options);
    INFO(report.message());
    REQUIRE(report.passed);
    REQUIRE(report.elements_checked > 0);
}

/// A [rows][cols] id tensor from nested braces (IdTensor{{1}} alone is ambiguous with a shape).
inline IdTensor ids(std::initializer_list<std::initializer_list<std::int64_t>> rows) {
    const std::size_t cols = rows.size() ? rows.begin()->size() : 0;
    IdTensor out = IdTensor::from_shape({rows.size(), cols});
    std::size_t i = 0;
    for (const auto& row : rows) {
        REQUIRE(row.size() == cols);
        for (auto v : row) out.data()[i++] = v;
    }
    return out;
}

/// Element-wise closeness of two tensors.
template <class A, class B>
void require_close(const A& actual, const B& expected, double tol = 1e-12) {
    REQUIRE(to_shape(actual.shape()) == to_shape(expected.shape()));
    for (std::size_t i = 0; i < actual.size(); ++i) {
        INFO("element " << i);
        REQUIRE(value_of(actual.data()[i]) == Approx(value_of(expected.data()[i])).margin(tol).epsilon(tol));
    }
}

}  // namespace cringe::testing
