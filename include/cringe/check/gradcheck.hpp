// cringe/check/gradcheck.hpp - checks reverse-mode gradients against two independent references.
//
//   1. Central finite differences in double: (f(x + h e_j) - f(x - h e_j)) / 2h. Needs a step h;
//      truncation error ~h^2, rounding error ~eps/h, so agreement is ~1e-8 at best.
//   2. The exact check: the SAME templated forward code run with forward-mode dual numbers
//      (Dual<double>) with tangent e_j gives J e_j to machine precision. No step size, so reverse
//      mode must agree to ~1e-12.
// Both compare <u, J e_j> with (J^T u)_j from reverse mode, where u is a RANDOM cotangent. (Checking
// the gradient of sum(outputs), i.e. u = ones, hides every error that vanishes when g is constant:
// e.g. a softmax backward computing y (g - sum(y)) instead of y (g - sum(g y)) is exact for g = 1,
// because softmax rows sum to 1, and wrong for every other g.)
// Also checked: gradient shapes equal input shapes, backward twice gives bitwise-equal gradients,
// and a zero cotangent gives exactly zero gradients.
//
// `f` must be generic in the scalar type: it is called as f(Tape<S>&, const std::vector<Var<S>>&)
// with S = double (reverse mode and differences) and S = Dual<double> (the exact check), e.g.
//   auto f = [](auto& tape, const auto& x) { return cringe::softmax(x[0] * x[1]); };
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "../rng.hpp"
#include "../tape.hpp"
#include "dual.hpp"

namespace cringe {

/// @var GradcheckOptions::finite_differences
/// Run reference 1: central finite differences.
/// @var GradcheckOptions::exact
/// Run reference 2: exact directional derivatives with dual numbers.
/// @var GradcheckOptions::fd_rtol
/// Relative tolerance against finite differences: the error must be <= fd_atol + fd_rtol |reference|.
/// @var GradcheckOptions::fd_atol
/// Absolute tolerance against finite differences.
/// @var GradcheckOptions::exact_rtol
/// Relative tolerance against the exact (dual-number) reference.
/// @var GradcheckOptions::exact_atol
/// Absolute tolerance against the exact reference.
/// @var GradcheckOptions::seed
/// Seed of the random cotangent and of the element sampling.
/// @var GradcheckOptions::max_elements_per_input
/// 0: check every element; else a random sample of this many per input.
/// @var GradcheckOptions::kinks
/// Points where the function is not differentiable (relu: {0}).
/// @var GradcheckOptions::kink_margin
/// Inputs closer than this to a kink are moved away first.

/// What gradcheck compares and how strictly (fields documented above, so that they read as code).
struct GradcheckOptions {
    bool finite_differences = true;   // run reference 1
    bool exact = true;                // run reference 2 (dual numbers)
    double fd_rtol = 1e-6, fd_atol = 1e-8;        // |analytic - reference| <= atol + rtol |reference|
    double exact_rtol = 1e-10, exact_atol = 1e-12;
    std::uint64_t seed = 12345;       // random cotangent and element sampling
    std::size_t max_elements_per_input = 0;  // 0: every element; else a random sample of this many
    std::vector<double> kinks;        // points where the function is not differentiable (relu: {0})
    double kink_margin = 1e-3;        // inputs closer than this to a kink are moved away first
};

/// @var GradcheckReport::passed
/// Every check passed.
/// @var GradcheckReport::shapes_match
/// The backward produced a gradient of each input's shape.
/// @var GradcheckReport::backward_deterministic
/// Two backward passes gave bitwise-equal gradients.
/// @var GradcheckReport::zero_cotangent_gives_zero
/// A zero cotangent gave zero gradients.
/// @var GradcheckReport::max_abs_error
/// Largest absolute error over every checked element and reference.
/// @var GradcheckReport::max_rel_error
/// Largest relative error.
/// @var GradcheckReport::worst_reference
/// The reference of the worst element: "finite differences" or "exact (dual numbers)".
/// @var GradcheckReport::worst_input
/// The input holding the worst element.
/// @var GradcheckReport::worst_element
/// Its flat offset in that input.
/// @var GradcheckReport::worst_analytic
/// The analytic gradient there.
/// @var GradcheckReport::worst_reference_value
/// The reference gradient there.
/// @var GradcheckReport::elements_checked
/// How many gradient elements were compared.
/// @var GradcheckReport::problems
/// Human-readable list of what failed.
/// @fn GradcheckReport::operator bool() const
/// True when every check passed.
/// @fn GradcheckReport::message() const
/// A summary for test output.

/// What gradcheck found (fields documented above); converts to true when every check passed.
struct GradcheckReport {
    bool passed = true;
    bool shapes_match = true;
    bool backward_deterministic = true;   // two backward passes gave bitwise-equal gradients
    bool zero_cotangent_gives_zero = true;
    double max_abs_error = 0.0;           // over every checked element and reference
    double max_rel_error = 0.0;
    // The worst element (largest error relative to its tolerance):
    std::string worst_reference;          // "finite differences" or "exact (dual numbers)"
    std::size_t worst_input = 0, worst_element = 0;
    double worst_analytic = 0.0, worst_reference_value = 0.0;
    std::size_t elements_checked = 0;
    std::vector<std::string> problems;    // human-readable list of what failed

    explicit operator bool() const { return passed; }

    std::string message() const {
        std::ostringstream os;
        os.precision(17);
        os << (passed ? "gradcheck passed" : "gradcheck FAILED") << ": " << elements_checked
           << " elements, max abs error " << max_abs_error << ", max rel error " << max_rel_error;
        if (!worst_reference.empty())
            os << "; worst: input " << worst_input << " element " << worst_element << " analytic "
               << worst_analytic << " vs " << worst_reference << " " << worst_reference_value;
        for (const auto& p : problems) os << "\n  - " << p;
        return os.str();
    }
};

namespace detail {

template <class S, class F>
Tensor<S> run_forward(F& f, const std::vector<Tensor<S>>& inputs) {
    Tape<S> tape;
    auto guard = tape.no_grad();
    std::vector<Var<S>> xs;
    for (const auto& x : inputs) xs.push_back(tape.constant(x));
    return f(tape, xs).value();
}

template <class T>
double dot(const Tensor<double>& u, const Tensor<T>& y) {
    double s = 0.0;
    for (std::size_t k = 0; k < u.size(); ++k) s += u.data()[k] * value_of(y.data()[k]);
    return s;
}

}  // namespace detail

/// Checks the gradients of `f` (Vars in, scalar Var out) at `inputs` against finite differences and dual numbers.
template <class F>
GradcheckReport gradcheck(F&& f, std::vector<Tensor<double>> inputs, const GradcheckOptions& options = {}) {
    GradcheckReport report;
    Rng rng(options.seed);

    // Keep inputs away from declared kinks, where neither reference is meaningful.
    for (auto& x : inputs)
        for (auto& v : x)
            for (double k : options.kinks)
                if (std::abs(v - k) < options.kink_margin) v = k + (v < k ? -2 : 2) * options.kink_margin;

    // Reverse mode with a random cotangent u.
    Tape<double> tape;
    std::vector<Var<double>> xs;
    for (const auto& x : inputs) xs.push_back(tape.variable(x));
    Var<double> y = f(tape, xs);
    Tensor<double> u(y.value().shape());
    for (auto& v : u) v = rng.normal();
    tape.backward(y, u, {.retain_graph = true});
    std::vector<Tensor<double>> analytic;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        analytic.push_back(xs[i].grad());
        if (analytic[i].shape() != inputs[i].shape()) {
            report.shapes_match = false;
            report.problems.push_back(cat("gradient of input ", i, " has shape ", shape_str(analytic[i].shape()),
                                          " but the input has shape ", shape_str(inputs[i].shape())));
        }
    }
    // Backward again after zero_grad: must be bitwise identical.
    tape.zero_grad();
    tape.backward(y, u, {.retain_graph = true});
    for (std::size_t i = 0; i < xs.size(); ++i)
        if (!std::equal(analytic[i].begin(), analytic[i].end(), xs[i].grad().begin(),
                        [](double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; })) {
            report.backward_deterministic = false;
            report.problems.push_back(cat("a second backward gave different bits for input ", i));
        }
    // A zero cotangent must give exactly zero.
    tape.zero_grad();
    tape.backward(y, zeros<double>(to_shape(u.shape())));
    for (std::size_t i = 0; i < xs.size(); ++i)
        if (std::any_of(xs[i].grad().begin(), xs[i].grad().end(), [](double g) { return g != 0.0; })) {
            report.zero_cotangent_gives_zero = false;
            report.problems.push_back(cat("a zero cotangent gave a nonzero gradient for input ", i));
        }
    if (!report.shapes_match) {
        report.passed = false;
        return report;
    }

    double worst_ratio = -1.0;
    auto compare = [&](const char* reference, std::size_t i, std::size_t j, double a, double r, double atol, double rtol) {
        const double abs_err = std::abs(a - r);
        const double rel_err = abs_err / std::max(std::abs(r), std::numeric_limits<double>::min());
        const double ratio = abs_err / (atol + rtol * std::abs(r));
        report.max_abs_error = std::max(report.max_abs_error, abs_err);
        if (std::abs(r) > atol) report.max_rel_error = std::max(report.max_rel_error, rel_err);
        if (!(ratio <= 1.0)) report.passed = false;  // also catches NaN
        if (!(ratio <= worst_ratio)) {
            worst_ratio = std::isnan(ratio) ? std::numeric_limits<double>::infinity() : ratio;
            report.worst_reference = reference;
            report.worst_input = i;
            report.worst_element = j;
            report.worst_analytic = a;
            report.worst_reference_value = r;
        }
    };

    std::vector<Tensor<Dual<double>>> dual_inputs;
    for (const auto& x : inputs) dual_inputs.push_back(tensor_cast<Dual<double>>(x));

    for (std::size_t i = 0; i < inputs.size(); ++i) {
        std::vector<std::size_t> elements(inputs[i].size());
        std::iota(elements.begin(), elements.end(), std::size_t{0});
        if (options.max_elements_per_input && elements.size() > options.max_elements_per_input) {
            for (std::size_t k = 0; k < options.max_elements_per_input; ++k)  // partial Fisher-Yates
                std::swap(elements[k], elements[k + rng.below(elements.size() - k)]);
            elements.resize(options.max_elements_per_input);
        }
        for (std::size_t j : elements) {
            ++report.elements_checked;
            const double a = analytic[i].data()[j];
            if (options.finite_differences) {
                std::vector<Tensor<double>> probe = inputs;
                const double x0 = inputs[i].data()[j];
                const double h = std::cbrt(std::numeric_limits<double>::epsilon()) * std::max(1.0, std::abs(x0));
                probe[i].data()[j] = x0 + h;
                const double up = detail::dot(u, detail::run_forward<double>(f, probe));
                probe[i].data()[j] = x0 - h;
                const double down = detail::dot(u, detail::run_forward<double>(f, probe));
                compare("finite differences", i, j, a, (up - down) / (2 * h), options.fd_atol, options.fd_rtol);
            }
            if (options.exact) {
                dual_inputs[i].data()[j].der = 1.0;
                const Tensor<Dual<double>> yd = detail::run_forward<Dual<double>>(f, dual_inputs);
                dual_inputs[i].data()[j].der = 0.0;
                double r = 0.0;
                for (std::size_t k = 0; k < u.size(); ++k) r += u.data()[k] * yd.data()[k].der;
                compare("exact (dual numbers)", i, j, a, r, options.exact_atol, options.exact_rtol);
            }
        }
    }
    if (!report.passed) report.problems.push_back("an analytic gradient disagrees with a reference (see worst)");
    report.passed = report.passed && report.backward_deterministic && report.zero_cotangent_gives_zero;
    return report;
}

}  // namespace cringe
