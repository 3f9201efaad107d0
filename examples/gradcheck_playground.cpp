// gradcheck_playground - check a gradient yourself, then watch the checker catch a wrong one.
//
// Part 1 checks `my_function` (change it! any composition of cringe ops works) against the two
// references of cringe::gradcheck: central finite differences and the exact forward-mode derivative
// (dual numbers). Part 2 shows the options for a function with a kink (relu). Part 3 builds a
// softmax whose backward has a realistic one-word bug, shows that checking the gradient of
// sum(outputs) cannot see it, and that gradcheck's random cotangent does. Part 4 builds a scale op
// whose backward ASSIGNS into its input's adjoint instead of adding: both references agree with it,
// and only the accumulation property catches it.
// Background: docs/gradcheck.md.
//
// Build and run (from the repository root):
//   g++ -std=c++20 -Iinclude -isystem /usr/include/eigen3 examples/gradcheck_playground.cpp -o /tmp/gradcheck_playground
//   /tmp/gradcheck_playground
// or through CMake: the target `gradcheck_playground`. Exit status 0 when every check came out as
// expected (part 1 and 2 pass, the broken ops of parts 3 and 4 fail).
#include <cringe/check/gradcheck.hpp>  // cringe::gradcheck, GradcheckOptions, GradcheckReport
#include <cringe/ops/ops.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <vector>

using namespace cringe;

namespace {

// ---- Part 1: the function under test ------------------------------------------------------------
// gradcheck calls it twice over: with S = double (reverse mode and finite differences) and with
// S = Dual<double> (the exact reference). So it must be generic: take `auto`, use only cringe ops,
// and write constants as plain numbers (2.0) or as S(...), never as double tensors.
// It receives a tape and one Var per input tensor, and returns the output Var (any shape).
const auto my_function = [](auto& /*tape*/, const auto& x) {
    // x[0] is [3,4], x[1] is [4,5]: a small layer followed by a log-softmax over the last axis.
    return log_softmax(tanh(matmul(x[0], x[1])) * 2.0 + 0.5);
};

/// A [rows, cols] tensor of N(0, 1) numbers from a fixed seed (cringe::Rng is portable).
Tensor<double> random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed) {
    Rng rng(seed);
    Tensor<double> t = zeros<double>({rows, cols});
    for (double& v : t) v = rng.normal();
    return t;
}

// ---- Part 4: y = 2x with a backward that assigns (=) where it must add (+=) --------------------------
// Leaf gradients accumulate across backward calls, and an input used twice receives two
// contributions: `=` throws away whatever the adjoint held. As the only writer after zero_grad it
// gives the right numbers, so both references agree with it.
template <class T>
Var<T> double_it_with_a_bug(const Var<T>& x) {
    Tensor<T> y = x.value();
    for (auto& v : y) v = T(2) * v;
    return x.tape().record("double_it_with_a_bug", std::move(y), {x}, [](Tape<T>& tape, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        if (!tape.wants_grad(in)) return;
        T* dx = tape.adjoint(in).data();
        for (std::size_t i = 0; i < node.adjoint.size(); ++i) dx[i] = T(2) * node.adjoint.data()[i];  // bug: =
    }, Where::current());
}

// ---- Part 3: a softmax over the last axis with a bug in its backward --------------------------
// Correct backward (ops/softmax.hpp):   dx_i += y_i (g_i - sum_j g_j y_j)
// Buggy backward below:                  dx_i += y_i (g_i - sum_j y_j)        <- forgot the g_j
// Written generically (T = double or Dual<double>) so gradcheck can run it through both references.
template <class T>
Var<T> softmax_with_a_bug(const Var<T>& x) {
    using std::exp;  // exp(double) from <cmath>, exp(Dual) found by argument-dependent lookup
    const std::size_t n = x.shape().back(), rows = x.size() / n;

    // Forward: a correct, max-subtracted softmax of every row. The value must be computed from x's
    // values (not copied from elsewhere), so that with Dual<double> it carries the exact derivative.
    Tensor<T> y(x.value().shape());
    for (std::size_t r = 0; r < rows; ++r) {
        const T* in = x.value().data() + r * n;
        T* out = y.data() + r * n;
        T m = in[0];
        for (std::size_t j = 1; j < n; ++j) m = in[j] > m ? in[j] : m;
        T total(0);
        for (std::size_t j = 0; j < n; ++j) total += out[j] = exp(in[j] - m);
        for (std::size_t j = 0; j < n; ++j) out[j] /= total;
    }

    // record(name, value, inputs, backward closure, source location): one new node on the tape.
    // The closure gets the tape and its own node: node.value is y, node.adjoint is g = dL/dy.
    return x.tape().record("softmax_with_a_bug", std::move(y), {x}, [n, rows](Tape<T>& tape, const Node<T>& node) {
        const std::size_t in = node.inputs[0];
        if (!tape.wants_grad(in)) return;
        T* dx = tape.adjoint(in).data();
        for (std::size_t r = 0; r < rows; ++r) {
            const T* y_row = node.value.data() + r * n;
            const T* g = node.adjoint.data() + r * n;
            T dot(0);
            for (std::size_t j = 0; j < n; ++j) dot += y_row[j];  // BUG: should be g[j] * y_row[j]
            for (std::size_t j = 0; j < n; ++j) dx[r * n + j] += y_row[j] * (g[j] - dot);
        }
    }, Where::current());
}

}  // namespace

int main() {
    bool as_expected = true;

    // ---- Part 1 ----------------------------------------------------------------------------------
    std::cout << "== part 1: gradcheck of my_function with the default options\n";
    const GradcheckReport report = gradcheck(my_function, {random_matrix(3, 4, 1), random_matrix(4, 5, 2)});
    std::cout << report.message() << "\n";
    std::cout << "  shapes_match " << report.shapes_match << ", backward_deterministic " << report.backward_deterministic
              << ", zero_cotangent_gives_zero " << report.zero_cotangent_gives_zero << "\n";
    as_expected = as_expected && report.passed;

    // The exact reference alone, with tolerances near machine precision: no step size involved, so a
    // correct backward agrees to ~1e-12 or better.
    GradcheckOptions exact_only;
    exact_only.finite_differences = false;
    exact_only.exact_rtol = 1e-12;
    exact_only.exact_atol = 1e-14;
    const GradcheckReport exact = gradcheck(my_function, {random_matrix(3, 4, 1), random_matrix(4, 5, 2)}, exact_only);
    std::cout << "exact reference only: " << exact.message() << "\n";
    as_expected = as_expected && exact.passed;

    // ---- Part 2: a kink, and sampling elements of a larger input ---------------------------------
    std::cout << "\n== part 2: relu (kink at 0) on a [20,20] input, 25 sampled elements\n";
    GradcheckOptions kinked;
    kinked.kinks = {0.0};                 // inputs within kink_margin of 0 are moved away first
    kinked.max_elements_per_input = 25;   // check 25 random elements instead of all 400
    const GradcheckReport relu_report =
        gradcheck([](auto&, const auto& x) { return relu(x[0]) * x[0]; }, {random_matrix(20, 20, 3)}, kinked);
    std::cout << relu_report.message() << "\n";
    as_expected = as_expected && relu_report.passed && relu_report.elements_checked == 25;

    // ---- Part 3 ----------------------------------------------------------------------------------
    std::cout << "\n== part 3: a softmax whose backward forgets g in sum_j g_j y_j\n";
    // A check of the gradient of sum(outputs), i.e. a cotangent of ones: the true gradient of
    // sum(softmax(x)) is exactly 0 (every row sums to 1 whatever x is), and the buggy backward gives
    // y (1 - sum_j y_j), which is also 0. The bug is invisible.
    {
        Tape<double> tape;
        auto x = tape.variable(random_matrix(2, 4, 4));
        auto y = softmax_with_a_bug(x);
        tape.backward(y, full<double>({2, 4}, 1.0));
        double largest = 0.0;
        for (double g : x.grad()) largest = std::max(largest, std::abs(g));
        std::cout << "cotangent of ones: largest |gradient| " << largest << " (the true gradient is 0): looks right\n";
        as_expected = as_expected && largest < 1e-15;
    }
    // gradcheck uses a random cotangent u, so it compares (J^T u)_j with <u, J e_j>: wrong.
    const GradcheckReport broken = gradcheck([](auto&, const auto& x) { return softmax_with_a_bug(x[0]); }, {random_matrix(2, 4, 4)});
    std::cout << broken.message() << "\n";
    as_expected = as_expected && !broken.passed;

    // Fix the bug (dot += g[j] * y[j]) and this line turns into "gradcheck passed".

    // ---- Part 4 ----------------------------------------------------------------------------------
    std::cout << "\n== part 4: a backward that assigns (=) instead of adding (+=)\n";
    GradcheckOptions references_only;
    references_only.check_accumulation = false;
    const auto assign = [](auto&, const auto& x) { return double_it_with_a_bug(x[0]); };
    const GradcheckReport blind = gradcheck(assign, {random_matrix(2, 3, 5)}, references_only);
    std::cout << "references only: " << blind.message() << "\n";
    const GradcheckReport caught = gradcheck(assign, {random_matrix(2, 3, 5)});
    std::cout << "with the accumulation property: " << caught.message() << "\n";
    as_expected = as_expected && blind.passed && !caught.passed && !caught.gradients_accumulate;
    std::cout << (as_expected ? "\nevery result as expected\n" : "\nUNEXPECTED result above\n");
    return as_expected ? 0 : 1;
}
