// graph_to_dot - draw a tape: a small expression's nodes and edges as a Graphviz DOT file.
//
// The expression is one tanh layer and a squared-sum loss:
//     h = tanh(x W + b)          x [2,3] (data, a constant), W [3,2] and b [2] (trainable)
//     y = sum(h * h)
// After backward, every node of the tape is one box: index in creation order, op name, shape,
// a summary of its value and (for nodes that need a gradient) of its gradient. Edges go from an op's
// inputs to the op. Constants are grey, trainable leaves blue, ops white. A second text form of
// the same tape, cringe::trace, goes to standard error.
//
// Build and run (from the repository root):
//   g++ -std=c++20 -Iinclude -isystem /usr/include/eigen3 examples/graph_to_dot.cpp -o /tmp/graph_to_dot
//   /tmp/graph_to_dot                      # DOT on standard output
//   /tmp/graph_to_dot tape.dot             # DOT into tape.dot
//   /tmp/graph_to_dot | dot -Tpng -o tape.png    # a picture, if Graphviz is installed
// or through CMake: the target `graph_to_dot`.
#include <cringe/check/graph.hpp>  // cringe::to_dot, cringe::trace
#include <cringe/ops/ops.hpp>

#include <fstream>
#include <iostream>

int main(int argc, char** argv) {
    using namespace cringe;
    if (argc > 2) {
        std::cerr << "usage: graph_to_dot [OUTPUT.dot]   (without a file name the DOT goes to standard output)\n";
        return 2;
    }

    Tape<double> tape;
    auto x = tape.constant(from_values<double>({2, 3}, {1.0, -0.5, 2.0, 0.0, 1.5, -1.0}));  // #0, no gradient
    auto W = tape.variable(from_values<double>({3, 2}, {0.2, -0.1, 0.4, 0.3, -0.3, 0.1}));  // #1
    auto b = tape.variable(from_values<double>({2}, {0.05, -0.05}));                          // #2
    auto h = tanh(matmul(x, W) + b);  // #3 matmul [2,2], #4 add [2,2] (b broadcast over rows), #5 tanh
    auto y = sum(h * h);              // #6 mul (h used twice: two edges from #5), #7 sum []
    tape.backward(y);

    const std::string dot = to_dot(tape);
    std::cerr << trace(tape);  // the same tape as text: one line per node
    if (argc == 1) {
        std::cout << dot;
        return 0;
    }
    std::ofstream out(argv[1]);
    out << dot;
    out.close();
    if (!out) {
        std::cerr << "graph_to_dot: cannot write " << argv[1] << "\n";
        return 1;
    }
    std::cerr << "graph_to_dot: wrote " << argv[1] << "\n";
    return 0;
}
