// cringe/check/second_order.hpp - exact second derivatives: hvp, jacobian, hessian, gradgradcheck.
//
// The tape is templated on the scalar, and every backward closure is written in that scalar. So a
// Tape<Dual<double>> whose leaves carry a direction v in their derivative parts (x + v eps) runs the
// backward pass ON dual numbers: the value parts of the leaf gradients are the gradient g(x), and the
// derivative parts are d g(x + t v)/dt at t = 0 = H v, the Hessian-vector product, exact to machine
// precision ("forward over reverse"). No finite difference, no step.
//
//   hvp(f, x, v)        H v for a scalar f (one output element), x and v lists of tensors
//   jacobian(f, x)      [outputs, inputs] matrix, one reverse pass per output element
//   hessian(f, x)       [n, n] for a scalar f, one hvp per input element (small functions only)
//   gradgradcheck(f, x) checks the forward-over-reverse H_u v of phi(x) = <u, f(x)> (u a random
//                       cotangent, v a random direction) against two independent references:
//     1. exact: forward over forward with NESTED duals, Dual<Dual<double>>: x + v e1 + e_j e2 through
//        the same templated forward gives u^T (d^2 f)[v, e_j] = (H_u v)_j in its e1 e2 part;
//     2. central finite differences of the reverse-mode gradient along v: (g(x + h v) - g(x - h v)) / 2h.
// A backward is "differentiable" when it is written in T with smooth operations; what it computes with
// plain doubles (value_of, index choices such as the arg-max of max) is a constant to the outer dual,
// which is exactly right for piecewise-linear ops (relu, max, masked_fill) and wrong anywhere else.
//
// `f` is the same generic callable as for gradcheck, now also called with Dual<Dual<double>>.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "../error.hpp"
#include "../rng.hpp"
#include "../tape.hpp"
#include "../dual.hpp"
#include "gradcheck.hpp"

namespace cringe {

namespace detail {

inline std::size_t total_size(const std::vector<Tensor<double>>& xs) {
    std::size_t n = 0;
    for (const auto& x : xs) n += x.size();
    return n;
}

/// Forward over reverse: leaf gradients of <cotangent, f> (or of f itself when it has one element and
/// no cotangent is given), in Dual<double>, with the leaves moved along `directions`.
inline std::vector<Tensor<Dual<double>>> dual_gradient(const CheckedFunction<Dual<double>>& f,
                                                       const std::vector<Tensor<double>>& inputs,
                                                       const std::vector<Tensor<double>>& directions,
                                                       const Tensor<double>* cotangent, const char* op) {
    if (directions.size() != inputs.size())
        throw ShapeError(cat(op, ": ", directions.size(), " directions for ", inputs.size(), " inputs; expected one each"));
    Tape<Dual<double>> tape;
    std::vector<Var<Dual<double>>> xs;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (to_shape(directions[i].shape()) != to_shape(inputs[i].shape()))
            throw ShapeError(cat(op, ": direction ", i, " has shape ", shape_str(directions[i].shape()), " but input ", i,
                                 " has shape ", shape_str(inputs[i].shape()), "; expected equal shapes"));
        Tensor<Dual<double>> t = tensor_cast<Dual<double>>(inputs[i]);
        for (std::size_t k = 0; k < t.size(); ++k) t.data()[k].der = directions[i].data()[k];
        xs.push_back(tape.variable(std::move(t)));
    }
    Var<Dual<double>> y = f(tape, xs);
    if (cotangent) {
        tape.backward(y, tensor_cast<Dual<double>>(*cotangent));
    } else {
        if (y.size() != 1)
            throw ShapeError(cat(op, ": f returned shape ", shape_str(y.value().shape()),
                                 "; expected one element (a scalar function)"));
        tape.backward(y);
    }
    std::vector<Tensor<Dual<double>>> grads;
    for (const auto& x : xs) grads.push_back(x.grad());
    return grads;
}

/// Reverse-mode gradient of <u, f(x)> in double.
inline std::vector<Tensor<double>> plain_gradient(const CheckedFunction<double>& f, const std::vector<Tensor<double>>& inputs,
                                                  const Tensor<double>& u) {
    Tape<double> tape;
    std::vector<Var<double>> xs;
    for (const auto& x : inputs) xs.push_back(tape.variable(x));
    tape.backward(f(tape, xs), u);
    std::vector<Tensor<double>> grads;
    for (const auto& x : xs) grads.push_back(x.grad());
    return grads;
}

/// hvp with `f` in Dual<double>.
inline std::vector<Tensor<double>> hessian_vector_product(const CheckedFunction<Dual<double>>& f, const std::vector<Tensor<double>>& x,
                                                          const std::vector<Tensor<double>>& v) {
    const auto grads = dual_gradient(f, x, v, nullptr, "hvp");
    std::vector<Tensor<double>> out;
    for (const auto& g : grads) {
        Tensor<double> hv(g.shape());
        for (std::size_t k = 0; k < g.size(); ++k) hv.data()[k] = g.data()[k].der;
        out.push_back(std::move(hv));
    }
    return out;
}

/// jacobian with `f` in double.
inline Tensor<double> jacobian_matrix(const CheckedFunction<double>& f, const std::vector<Tensor<double>>& x) {
    Tape<double> tape;
    std::vector<Var<double>> xs;
    for (const auto& t : x) xs.push_back(tape.variable(t));
    Var<double> y = f(tape, xs);
    const std::size_t m = y.size(), n = total_size(x);
    Tensor<double> jac = zeros<double>({m, n});
    Tensor<double> e = zeros<double>(y.shape());
    for (std::size_t k = 0; k < m; ++k) {
        e.data()[k] = 1.0;
        tape.zero_grad();
        tape.backward(y, e, {.retain_graph = true});
        e.data()[k] = 0.0;
        std::size_t col = 0;
        for (const auto& v : xs)
            for (double g : v.grad()) jac(k, col++) = g;
    }
    return jac;
}

/// hessian with `f` in Dual<double>.
inline Tensor<double> hessian_matrix(const CheckedFunction<Dual<double>>& f, const std::vector<Tensor<double>>& x) {
    const std::size_t n = total_size(x);
    Tensor<double> hess = zeros<double>({n, n});
    std::vector<Tensor<double>> direction;
    for (const auto& t : x) direction.push_back(zeros<double>(to_shape(t.shape())));
    std::size_t col = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        for (std::size_t j = 0; j < x[i].size(); ++j, ++col) {
            direction[i].data()[j] = 1.0;
            const auto hv = hessian_vector_product(f, x, direction);
            direction[i].data()[j] = 0.0;
            std::size_t row = 0;
            for (const auto& t : hv)
                for (double h : t) hess(row++, col) = h;
        }
    return hess;
}

/// gradgradcheck with `f` in double (finite differences of the gradient), Dual<double> (forward over
/// reverse, under test) and Dual<Dual<double>> (the exact reference).
inline GradcheckReport check_second_derivatives(const CheckedFunction<double>& f, const CheckedFunction<Dual<double>>& f_dual,
                                                const CheckedFunction<Dual<Dual<double>>>& f_nested,
                                                std::vector<Tensor<double>> inputs, const GradcheckOptions& options) {
    GradcheckReport report;
    Rng rng(options.seed);
    for (auto& x : inputs)  // away from declared kinks, as in gradcheck
        for (auto& v : x)
            for (double k : options.kinks)
                if (std::abs(v - k) < options.kink_margin) v = k + (v < k ? -2 : 2) * options.kink_margin;

    // The cotangent u (shape of f's output) and a random direction v.
    Tensor<double> u;
    {
        Tape<double> tape;
        auto guard = tape.no_grad();
        std::vector<Var<double>> xs;
        for (const auto& x : inputs) xs.push_back(tape.constant(x));
        u = Tensor<double>(f(tape, xs).value().shape());
    }
    for (auto& e : u) e = rng.normal();
    std::vector<Tensor<double>> direction;
    for (const auto& x : inputs) {
        Tensor<double> v(x.shape());
        for (auto& e : v) e = rng.normal();
        direction.push_back(std::move(v));
    }

    // Under test: forward over reverse.
    const auto dual_grads = dual_gradient(f_dual, inputs, direction, &u, "gradgradcheck");

    // Reference 2 needs g(x +- h v), with one step for all elements (the direction moves them all).
    double scale = 1.0;
    for (const auto& x : inputs)
        for (double e : x) scale = std::max(scale, std::abs(e));
    const double h = std::cbrt(std::numeric_limits<double>::epsilon()) * scale;
    std::vector<Tensor<double>> up_in = inputs, down_in = inputs;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        for (std::size_t k = 0; k < inputs[i].size(); ++k) {
            up_in[i].data()[k] += h * direction[i].data()[k];
            down_in[i].data()[k] -= h * direction[i].data()[k];
        }
    std::vector<Tensor<double>> g_up, g_down;
    if (options.finite_differences) {
        g_up = plain_gradient(f, up_in, u);
        g_down = plain_gradient(f, down_in, u);
    }

    // Reference 1: nested duals, x + v e1 (inner) + e_j e2 (outer).
    using DD = Dual<Dual<double>>;
    std::vector<Tensor<DD>> nested;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        Tensor<DD> t(inputs[i].shape());
        for (std::size_t k = 0; k < t.size(); ++k) t.data()[k] = DD(Dual<double>(inputs[i].data()[k], direction[i].data()[k]), Dual<double>(0.0));
        nested.push_back(std::move(t));
    }

    ComparisonTally tally{report, {}};

    for (std::size_t i = 0; i < inputs.size(); ++i) {
        for (std::size_t j : elements_to_check(inputs[i].size(), options.max_elements_per_input, rng)) {
            ++report.elements_checked;
            const double a = dual_grads[i].data()[j].der;  // (H_u v)_j
            bool element_failed = false;
            if (!std::isfinite(a)) {
                tally.fail_not_finite("(none: H v is not finite)", i, j, inputs[i].shape(), a);
                element_failed = true;
            }
            if (options.finite_differences)
                tally.compare("finite differences of the gradient", i, j, inputs[i].shape(), a,
                        (g_up[i].data()[j] - g_down[i].data()[j]) / (2 * h), options.fd_atol, options.fd_rtol, element_failed);
            if (options.exact) {
                nested[i].data()[j].der = Dual<double>(1.0);
                const Tensor<DD> y = run_forward<DD>(f_nested, nested);
                nested[i].data()[j].der = Dual<double>(0.0);
                double r = 0.0;
                for (std::size_t k = 0; k < u.size(); ++k) r += u.data()[k] * y.data()[k].der.der;
                tally.compare("exact (nested dual numbers)", i, j, inputs[i].shape(), a, r, options.exact_atol, options.exact_rtol, element_failed);
            }
        }
    }
    tally.report_failures(options.max_reported_failures);
    if (report.elements_failed > 0)
        report.problems.push_back(cat(report.elements_failed, " of ", report.elements_checked,
                                      " elements: H v disagrees with a reference"));
    if (report.reference_not_finite > 0)
        report.warnings.push_back(cat("a reference is not finite at ", report.reference_not_finite, " comparison(s)"));
    if (report.elements_checked > 0 && !tally.any_nonzero) {
        report.vacuous = true;
        report.warnings.push_back("every second derivative is exactly 0: f is linear here (or piecewise so)");
        report.warnings.push_back("so the check says nothing about how the backward depends on x");
    }
    return report;
}

}  // namespace detail

/// H v for a scalar function f (exact, forward over reverse). One tensor per input, shaped like it.
template <class F>
std::vector<Tensor<double>> hvp(F&& f, const std::vector<Tensor<double>>& x, const std::vector<Tensor<double>>& v) {
    return detail::hessian_vector_product(CheckedFunction<Dual<double>>(std::ref(f)), x, v);
}

/// The Jacobian of f as a [outputs, n] matrix, n = the total number of input elements (inputs
/// flattened and concatenated in order). One reverse pass per output element.
template <class F>
Tensor<double> jacobian(F&& f, const std::vector<Tensor<double>>& x) {
    return detail::jacobian_matrix(CheckedFunction<double>(std::ref(f)), x);
}

/// The Hessian of a scalar f as an [n, n] matrix (inputs flattened and concatenated), one exact
/// Hessian-vector product per column. n forward-over-reverse passes: for small functions.
template <class F>
Tensor<double> hessian(F&& f, const std::vector<Tensor<double>>& x) {
    return detail::hessian_matrix(CheckedFunction<Dual<double>>(std::ref(f)), x);
}

/// Checks second derivatives: the forward-over-reverse H_u v of phi = <u, f> against nested duals
/// (exact) and against finite differences of the gradient. Options and report as for gradcheck
/// (fd_* tolerances apply to the finite differences of the gradient, exact_* to the nested duals).
template <class F>
GradcheckReport gradgradcheck(F&& f, std::vector<Tensor<double>> inputs, const GradcheckOptions& options = {}) {
    return detail::check_second_derivatives(CheckedFunction<double>(std::ref(f)), CheckedFunction<Dual<double>>(std::ref(f)),
                                            CheckedFunction<Dual<Dual<double>>>(std::ref(f)), std::move(inputs), options);
}

}  // namespace cringe
