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
// The finite difference is taken per output element before the cotangent contracts it:
// sum_k u_k (y+_k - y-_k) / 2h, not (<u, y+> - <u, y->) / 2h. Outputs that do not move (a
// masked_fill with -1e9) then contribute exactly 0, instead of cancelling catastrophically inside
// two large dot products (which made a correct masked_fill fail with an error of 0.26).
//
// Also checked (docs/gradcheck.md lists what each property catches, with a failing example):
//  - gradient shapes equal input shapes;
//  - backward twice gives bitwise-equal gradients;
//  - a zero cotangent gives exactly zero gradients;
//  - gradients ACCUMULATE into the leaves: every leaf adjoint is pre-loaded with H = 2^1000 and one
//    more backward runs. += leaves H unchanged (every contribution is far below H's rounding step),
//    while a backward that assigns (=) instead of adding replaces H. A plain comparison with the
//    references cannot see this bug when that op is the first writer of the buffer.
// And the report says when a pass proved nothing (all gradients exactly 0, every element at a kink)
// and when a reference, not the gradient, is to blame (it is not finite at that element).
//
// `f` must be generic in the scalar type: it is called as f(Tape<S>&, std::vector<Var<S>>&)
// with S = double (reverse mode and differences) and S = Dual<double> (the exact check), e.g.
//   auto f = [](auto& tape, const auto& x) { return cringe::softmax(x[0] * x[1]); };
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "../rng.hpp"
#include "../tape.hpp"
#include "../dual.hpp"

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
/// @var GradcheckOptions::check_accumulation
/// Run the accumulation test: leaf adjoints pre-loaded with H = 2^1000 must keep H after one more
/// backward (a backward that assigns instead of adding replaces it).
/// @var GradcheckOptions::max_reported_failures
/// How many of the worst failing elements GradcheckReport::worst_failures keeps.

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
    bool check_accumulation = true;   // the H = 2^1000 pre-loaded leaf test (see the top of the file)
    std::size_t max_reported_failures = 5;  // how many of the worst failing elements the report lists
};

/// @var GradcheckFailure::input
/// Which input (position in the inputs vector).
/// @var GradcheckFailure::element
/// The element's flat (row-major) offset in that input.
/// @var GradcheckFailure::index
/// The same element as a multi-index.
/// @var GradcheckFailure::reference
/// Which reference disagreed: "finite differences", "exact (dual numbers)", or "no finite reference"
/// (the gradient itself is not finite where no reference could be computed).
/// @var GradcheckFailure::analytic
/// The reverse-mode gradient (J^T u)_j at the element (u: the random cotangent).
/// @var GradcheckFailure::reference_value
/// The reference's value for it (NaN when there was no finite reference).
/// @var GradcheckFailure::abs_error
/// |analytic - reference_value|.
/// @var GradcheckFailure::ratio
/// abs_error / (atol + rtol |reference_value|): above 1 fails; inf for a non-finite gradient.

/// One element whose analytic gradient disagreed with a reference (fields documented above).
struct GradcheckFailure {
    std::size_t input = 0;            // which input
    std::size_t element = 0;          // flat (row-major) offset in it
    std::vector<std::size_t> index;   // the same as a multi-index
    std::string reference;            // "finite differences" or "exact (dual numbers)"
    double analytic = 0.0, reference_value = 0.0;
    double abs_error = 0.0;
    double ratio = 0.0;               // abs_error / tolerance (> 1 fails; inf for a non-finite gradient)
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
/// @var GradcheckReport::gradients_accumulate
/// Every backward added (+=) into the leaf adjoints; false when one assigned instead.
/// @var GradcheckReport::elements_failed
/// How many elements some reference disagreed with (or whose gradient was not finite).
/// @var GradcheckReport::worst_failures
/// The worst failing elements, worst ratio first, at most GradcheckOptions::max_reported_failures.
/// @var GradcheckReport::reference_not_finite
/// Comparisons skipped because the reference (not the gradient) was inf or NaN there.
/// @var GradcheckReport::vacuous
/// Passed, but proved nothing: no reference ran, no element was compared, or every gradient and
/// reference was exactly 0.
/// @var GradcheckReport::warnings
/// What the check could not see (moved kinks, non-finite references, vacuous passes); never makes it fail.
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
    bool gradients_accumulate = true;     // every backward adds (+=) into leaf adjoints, none assigns
    double max_abs_error = 0.0;           // over every checked element and reference
    double max_rel_error = 0.0;
    // The worst element (largest error relative to its tolerance):
    std::string worst_reference;          // "finite differences" or "exact (dual numbers)"
    std::size_t worst_input = 0, worst_element = 0;
    double worst_analytic = 0.0, worst_reference_value = 0.0;
    std::size_t elements_checked = 0;
    std::size_t elements_failed = 0;      // elements where some reference disagreed
    std::vector<GradcheckFailure> worst_failures;  // the worst few, worst first
    std::size_t reference_not_finite = 0; // comparisons skipped because the reference was inf/NaN
    bool vacuous = false;                 // passed, but the comparisons could not have failed
    std::vector<std::string> problems;    // human-readable list of what failed
    std::vector<std::string> warnings;    // what the check could not see (never makes it fail)

    explicit operator bool() const { return passed; }

    /// One fact per line (test runners wrap long lines, even inside numbers).
    std::string message() const {
        std::ostringstream os;
        os.precision(17);
        os << (passed ? (vacuous ? "gradcheck passed VACUOUSLY (see the warnings)" : "gradcheck passed")
                      : "gradcheck FAILED")
           << "\n  elements checked: " << elements_checked << "\n  elements failed: " << elements_failed
           << "\n  max abs error: " << max_abs_error << "\n  max rel error: " << max_rel_error;
        if (!worst_reference.empty())
            os << "\n  worst: input " << worst_input << " element " << worst_element << "\n    analytic: "
               << worst_analytic << "\n    " << worst_reference << ": " << worst_reference_value;
        for (const auto& f : worst_failures) {
            os << "\n  failed: input " << f.input << " index [";
            for (std::size_t k = 0; k < f.index.size(); ++k) os << (k ? "," : "") << f.index[k];
            os << "] (element " << f.element << ")\n    analytic: " << f.analytic << "\n    " << f.reference
               << ": " << f.reference_value << "\n    error: " << f.abs_error;
        }
        for (const auto& p : problems) os << "\n  - " << p;
        for (const auto& w : warnings) os << "\n  warning: " << w;
        return os.str();
    }
};

/// A function under check in one scalar type S: the tape and the input Vars in, one Var out. The
/// checks take any generic callable and pass it on as one of these per scalar type, so that their
/// bodies are compiled once per program instead of once per call site (tests call them hundreds of
/// times with distinct lambdas).
template <class S>
using CheckedFunction = std::function<Var<S>(Tape<S>&, std::vector<Var<S>>&)>;

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

/// sum_k u_k (up_k - down_k): the difference is taken per element, and outputs that did not move
/// (equal, including the same infinity) contribute exactly 0.
inline double contracted_difference(const Tensor<double>& u, const Tensor<double>& up, const Tensor<double>& down) {
    double s = 0.0;
    for (std::size_t k = 0; k < u.size(); ++k) {
        const double a = up.data()[k], b = down.data()[k];
        if (a != b) s += u.data()[k] * (a - b);
    }
    return s;
}

/// The multi-index of flat offset j in a row-major tensor of this shape.
template <class S>
std::vector<std::size_t> unravel(std::size_t j, const S& shape) {
    std::vector<std::size_t> index(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
        index[d] = shape[d] ? j % shape[d] : 0;
        j = shape[d] ? j / shape[d] : 0;
    }
    return index;
}

template <class S>
std::string index_str(std::size_t j, const S& shape) {
    std::string out = "[";
    const auto index = unravel(j, shape);
    for (std::size_t k = 0; k < index.size(); ++k) out += (k ? "," : "") + std::to_string(index[k]);
    return out + "]";
}

/// Why a dual-number forward gave a non-finite reference: its first output element that is not
/// finite in value or derivative, e.g. "output [0,0] is -inf + nan eps".
inline std::string first_non_finite_output(const Tensor<Dual<double>>& y) {
    for (std::size_t k = 0; k < y.size(); ++k)
        if (!is_finite(y.data()[k]))
            return cat("output ", index_str(k, y.shape()), " is ", y.data()[k].val, " + ", y.data()[k].der, " eps");
    return "outputs finite, their sum with the cotangent is not";
}

/// The elements of an input of n elements to check: all of them, or `max` drawn without replacement
/// (a partial Fisher-Yates shuffle) when max > 0 and n > max.
inline std::vector<std::size_t> elements_to_check(std::size_t n, std::size_t max, Rng& rng) {
    std::vector<std::size_t> elements(n);
    std::iota(elements.begin(), elements.end(), std::size_t{0});
    if (max && n > max) {
        for (std::size_t k = 0; k < max; ++k) std::swap(elements[k], elements[k + rng.below(n - k)]);
        elements.resize(max);
    }
    return elements;
}

/// The comparisons of one check (gradcheck, gradgradcheck) tallied into its report: the largest
/// errors, the failed elements, the worst comparison, and whether anything was not exactly 0.
struct ComparisonTally {
    GradcheckReport& report;
    std::vector<GradcheckFailure> failures;
    double worst_ratio = -1.0;
    bool any_nonzero = false;  // some analytic value or reference is not exactly 0

    /// Compares analytic value `a` of input i, element j (of `shape`) with the reference value `r`:
    /// it passes when |a - r| <= atol + rtol |r|. Returns false, and counts it, when r is not finite:
    /// the reference is to blame, not the gradient, so that is not a failure.
    template <class S>
    bool compare(const char* reference, std::size_t i, std::size_t j, const S& shape, double a, double r,
                 double atol, double rtol, bool& element_failed) {
        if (!std::isfinite(r)) {
            ++report.reference_not_finite;
            return false;
        }
        any_nonzero = any_nonzero || a != 0.0 || r != 0.0;
        const double abs_err = std::abs(a - r);
        const double rel_err = abs_err / std::max(std::abs(r), std::numeric_limits<double>::min());
        double ratio = abs_err / (atol + rtol * std::abs(r));
        if (std::isnan(ratio)) ratio = std::numeric_limits<double>::infinity();  // a NaN gradient
        if (std::isfinite(abs_err)) report.max_abs_error = std::max(report.max_abs_error, abs_err);
        else report.max_abs_error = std::numeric_limits<double>::infinity();
        if (std::abs(r) > atol) report.max_rel_error = std::max(report.max_rel_error, rel_err);
        if (ratio > 1.0) {
            report.passed = false;
            if (!element_failed) ++report.elements_failed;
            element_failed = true;
            failures.push_back({i, j, unravel(j, shape), reference, a, r, abs_err, ratio});
        }
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            report.worst_reference = reference;
            report.worst_input = i;
            report.worst_element = j;
            report.worst_analytic = a;
            report.worst_reference_value = r;
        }
        return true;
    }

    /// A non-finite analytic value that no reference could test: a failure of its own.
    template <class S>
    void fail_not_finite(const char* why, std::size_t i, std::size_t j, const S& shape, double a) {
        report.passed = false;
        ++report.elements_failed;
        failures.push_back({i, j, unravel(j, shape), why, a, std::numeric_limits<double>::quiet_NaN(),
                            std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()});
    }

    /// Moves the worst `max_reported` failures, worst first, into the report.
    void report_failures(std::size_t max_reported) {
        std::stable_sort(failures.begin(), failures.end(), [](const auto& p, const auto& q) { return p.ratio > q.ratio; });
        if (failures.size() > max_reported) failures.resize(max_reported);
        report.worst_failures = std::move(failures);
    }
};

/// gradcheck with `f` in double (reverse mode, finite differences) and in Dual<double> (the exact
/// reference).
inline GradcheckReport check_gradients(const CheckedFunction<double>& f, const CheckedFunction<Dual<double>>& f_dual,
                                       std::vector<Tensor<double>> inputs, const GradcheckOptions& options) {
    GradcheckReport report;
    Rng rng(options.seed);

    // Keep inputs away from declared kinks, where neither reference is meaningful.
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        std::size_t moved = 0;
        for (auto& v : inputs[i]) {
            bool near = false;
            for (double k : options.kinks)
                if (std::abs(v - k) < options.kink_margin) {
                    v = k + (v < k ? -2 : 2) * options.kink_margin;
                    near = true;
                }
            moved += near;
        }
        if (moved > 0 && moved == inputs[i].size()) {
            report.warnings.push_back(cat("every element of input ", i, " was within kink_margin of a kink"));
            report.warnings.push_back("and was moved 2 * kink_margin away: the given values were not checked");
        }
    }

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
    // Accumulation: pre-load every leaf adjoint with H; a backward that adds leaves it at H.
    if (options.check_accumulation && report.shapes_match) {
        const double H = std::ldexp(1.0, 1000);
        for (const auto& x : xs) tape.adjoint(x.index()).fill(H);
        tape.backward(y, u, {.retain_graph = true});
        for (std::size_t i = 0; i < xs.size(); ++i) {
            const Tensor<double>& g = xs[i].grad();
            for (std::size_t j = 0; j < g.size(); ++j)
                if (!(std::abs(g.data()[j] - H) <= H / 2)) {  // NaN-safe: a NaN also counts
                    report.gradients_accumulate = false;
                    report.problems.push_back(cat("input ", i, " ", detail::index_str(j, g.shape()),
                                                  ": adjoint pre-set to 2^1000 held ", g.data()[j], " after backward"));
                    report.problems.push_back("so a backward assigns (=) into an adjoint instead of adding (+=)");
                    break;
                }
        }
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

    detail::ComparisonTally tally{report, {}};
    std::size_t exact_not_finite = 0, fd_not_finite = 0, unchecked = 0;
    std::string first_exact_reason, first_fd_reason;

    std::vector<Tensor<Dual<double>>> dual_inputs;
    for (const auto& x : inputs) dual_inputs.push_back(tensor_cast<Dual<double>>(x));

    for (std::size_t i = 0; i < inputs.size(); ++i) {
        for (std::size_t j : detail::elements_to_check(inputs[i].size(), options.max_elements_per_input, rng)) {
            ++report.elements_checked;
            const double a = analytic[i].data()[j];
            bool element_failed = false, compared = false;
            if (options.finite_differences) {
                std::vector<Tensor<double>> probe = inputs;
                const double x0 = inputs[i].data()[j];
                const double h = std::cbrt(std::numeric_limits<double>::epsilon()) * std::max(1.0, std::abs(x0));
                probe[i].data()[j] = x0 + h;
                const Tensor<double> up = detail::run_forward<double>(f, probe);
                probe[i].data()[j] = x0 - h;
                const Tensor<double> down = detail::run_forward<double>(f, probe);
                const double r = detail::contracted_difference(u, up, down) / (2 * h);
                if (tally.compare("finite differences", i, j, inputs[i].shape(), a, r, options.fd_atol, options.fd_rtol, element_failed))
                    compared = true;
                else if (fd_not_finite++ == 0)
                    first_fd_reason = cat("at input ", i, " ", detail::index_str(j, inputs[i].shape()),
                                          ": f(x +- h) gives ", r);
            }
            if (options.exact) {
                dual_inputs[i].data()[j].der = 1.0;
                const Tensor<Dual<double>> yd = detail::run_forward<Dual<double>>(f_dual, dual_inputs);
                dual_inputs[i].data()[j].der = 0.0;
                double r = 0.0;
                for (std::size_t k = 0; k < u.size(); ++k) r += u.data()[k] * yd.data()[k].der;
                if (tally.compare("exact (dual numbers)", i, j, inputs[i].shape(), a, r, options.exact_atol, options.exact_rtol, element_failed))
                    compared = true;
                else if (exact_not_finite++ == 0)
                    first_exact_reason = cat("at input ", i, " ", detail::index_str(j, inputs[i].shape()),
                                             ": dual forward ", detail::first_non_finite_output(yd));
            }
            if (!compared) ++unchecked;
            if (!std::isfinite(a) && !element_failed)  // a non-finite gradient no reference could test
                tally.fail_not_finite("no finite reference", i, j, inputs[i].shape(), a);
        }
    }
    tally.report_failures(options.max_reported_failures);
    if (report.elements_failed > 0)
        report.problems.push_back(cat(report.elements_failed, " of ", report.elements_checked,
                                      " elements: analytic gradient disagrees with a reference"));
    if (exact_not_finite > 0) {
        report.warnings.push_back(cat("the exact reference is not finite at ", exact_not_finite, " element(s)"));
        report.warnings.push_back("those are not compared with it: the gradient is not blamed");
        report.warnings.push_back(first_exact_reason);
    }
    if (fd_not_finite > 0) {
        report.warnings.push_back(cat("finite differences are not finite at ", fd_not_finite, " element(s)"));
        report.warnings.push_back("those are not compared with them: the gradient is not blamed");
        report.warnings.push_back(first_fd_reason);
    }
    if (unchecked > 0)
        report.warnings.push_back(cat(unchecked, " element(s) had no finite reference at all and are unchecked"));
    // Vacuous passes: nothing was compared, or only zeros with zeros.
    if (!options.finite_differences && !options.exact) {
        report.vacuous = true;
        report.warnings.push_back("both references are off: only structural properties were checked");
    } else if (report.elements_checked == 0 || unchecked == report.elements_checked) {
        report.vacuous = true;
        report.warnings.push_back("no element was compared with a reference");
    } else if (!tally.any_nonzero) {
        report.vacuous = true;
        report.warnings.push_back("every gradient and every reference is exactly 0: zeros agreed with zeros");
        report.warnings.push_back("so the check says nothing about the backward (pick inputs where f is not flat)");
    }
    report.passed = report.passed && report.backward_deterministic && report.zero_cotangent_gives_zero &&
                    report.gradients_accumulate;
    return report;
}

}  // namespace detail

/// Checks the gradients of `f` (Vars in, scalar Var out) at `inputs` against finite differences and dual numbers.
template <class F>
GradcheckReport gradcheck(F&& f, std::vector<Tensor<double>> inputs, const GradcheckOptions& options = {}) {
    return detail::check_gradients(CheckedFunction<double>(std::ref(f)), CheckedFunction<Dual<double>>(std::ref(f)),
                                   std::move(inputs), options);
}

}  // namespace cringe
