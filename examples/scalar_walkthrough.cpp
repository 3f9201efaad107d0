// scalar_walkthrough - reverse-mode autodiff on one tiny expression, micrograd style.
//
// The expression is micrograd's "neuron": two inputs, two weights, a bias and a tanh,
//     n = x1*w1 + x2*w2 + b          o = tanh(n)
// with the numbers micrograd uses, chosen so that n = 0.8814 and o = 0.7071 (tanh'(n) = 0.5).
// The program
//   1. records the forward pass on a tape and prints every node with its value,
//   2. runs backward from o and prints every node again, now with its gradient d o / d node,
//   3. compares the gradients of the five leaves with derivatives worked out by hand.
// Read it next to docs/autodiff.md, which walks through the reverse loop step by step.
//
// Build and run (from the repository root):
//   g++ -std=c++20 -Iinclude -isystem /usr/include/eigen3 examples/scalar_walkthrough.cpp -o /tmp/scalar_walkthrough
//   /tmp/scalar_walkthrough
// or through CMake: the target `scalar_walkthrough`.
#include <cringe/check/graph.hpp>  // cringe::trace, the one-line-per-node listing
#include <cringe/ops/ops.hpp>      // every differentiable op (+, *, tanh, ...)

#include <cmath>
#include <cstdio>
#include <iostream>

int main() {
    using cringe::Tape;
    using cringe::scalar_tensor;

    // A tape records every operation in the order it happens. All values are tensors; a scalar is a
    // rank-0 tensor (shape []), made with scalar_tensor().
    Tape<double> tape;

    // Leaves. variable() makes a leaf that receives a gradient (like requires_grad=True in PyTorch).
    auto x1 = tape.variable(scalar_tensor(2.0));
    auto x2 = tape.variable(scalar_tensor(0.0));
    auto w1 = tape.variable(scalar_tensor(-3.0));
    auto w2 = tape.variable(scalar_tensor(1.0));
    auto b = tape.variable(scalar_tensor(6.8813735870195432));

    // The forward pass. Each operator appends one node to the tape; every Var is a handle (tape,
    // node index). Nothing is lazy: each node stores its evaluated value.
    auto x1w1 = x1 * w1;              // node #5  mul
    auto x2w2 = x2 * w2;              // node #6  mul
    auto sum12 = x1w1 + x2w2;         // node #7  add
    auto n = sum12 + b;               // node #8  add
    auto o = cringe::tanh(n);         // node #9  tanh

    std::cout << "== forward: the tape in creation order (grad is 0 before backward)\n" << cringe::trace(tape);

    // backward(o) seeds d o / d o = 1 and walks the tape ONCE from node #9 down to node #0. Each op
    // node's closure adds "local derivative x incoming gradient" into its inputs' gradients.
    tape.backward(o);

    std::cout << "\n== after backward: grad is d o / d node\n" << cringe::trace(tape);

    // The same derivatives by hand, with the chain rule:
    //   d o / d n   = 1 - tanh(n)^2 = 1 - o^2                 (tanh' written with the output)
    //   d o / d b   = d o / d n * 1                           (n = ... + b)
    //   d o / d x1  = d o / d n * w1,   d o / d w1 = d o / d n * x1
    //   d o / d x2  = d o / d n * w2,   d o / d w2 = d o / d n * x2
    const double o_value = o.value()();  // () reads the single element of a rank-0 tensor
    const double do_dn = 1.0 - o_value * o_value;
    struct Check {
        const char* name;
        double tape_grad;
        double by_hand;
    };
    const Check checks[] = {
        {"x1", x1.grad()(), do_dn * w1.value()()},
        {"w1", w1.grad()(), do_dn * x1.value()()},
        {"x2", x2.grad()(), do_dn * w2.value()()},
        {"w2", w2.grad()(), do_dn * x2.value()()},
        {"b", b.grad()(), do_dn},
        {"n", n.grad()(), do_dn},  // intermediate nodes keep the adjoint of the last backward too
    };

    std::cout << "\n== tape gradients against hand derivatives\n";
    bool all_equal = true;
    for (const Check& c : checks) {
        const bool ok = std::abs(c.tape_grad - c.by_hand) <= 1e-15;
        all_equal = all_equal && ok;
        std::printf("  d o / d %-2s  tape % .17g   by hand % .17g   %s\n", c.name, c.tape_grad, c.by_hand, ok ? "ok" : "DIFFERENT");
    }
    std::cout << (all_equal ? "all gradients agree\n" : "some gradients differ\n");
    return all_equal ? 0 : 1;
}
