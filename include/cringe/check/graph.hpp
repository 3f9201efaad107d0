// cringe/check/graph.hpp - look inside a tape: Graphviz DOT and a plain-text trace.
//
//   std::cout << cringe::to_dot(tape);      // pipe into `dot -Tpng` to see the graph
//   std::cout << cringe::trace(tape);       // one line per node, in creation (= tape) order
#pragma once

#include <cmath>
#include <sstream>
#include <string>

#include "../tape.hpp"

namespace cringe {

namespace detail {
/// "mean 0.25 min -1 max 2" of a tensor's real values (or "empty").
template <class T>
std::string summary(const Tensor<T>& t) {
    if (t.size() == 0) return "empty";
    double lo = value_of(t.data()[0]), hi = lo, total = 0.0;
    for (const T& v : t) {
        const double x = value_of(v);
        lo = std::min(lo, x);
        hi = std::max(hi, x);
        total += x;
    }
    std::ostringstream os;
    os.precision(4);
    if (t.size() == 1) os << lo;
    else os << "mean " << total / static_cast<double>(t.size()) << " min " << lo << " max " << hi;
    return os.str();
}
}  // namespace detail

/// Graphviz DOT: one box per node (index, op, shape, value summary, grad summary), edges input -> op.
template <class T>
std::string to_dot(Tape<T>& tape) {
    std::ostringstream os;
    os << "digraph tape {\n  rankdir=LR;\n  node [shape=record, fontname=\"monospace\"];\n";
    for (std::size_t i = 0; i < tape.size(); ++i) {
        const Node<T>& n = tape.node(i);
        const char* fill = n.kind == NodeKind::op ? "white" : n.kind == NodeKind::constant ? "lightgrey" : "lightblue";
        os << "  n" << i << " [style=filled, fillcolor=" << fill << ", label=\"{#" << i << " " << n.op << " "
           << shape_str(n.val().shape()) << "|value " << detail::summary(n.val());
        if (n.requires_grad) os << "|grad " << detail::summary(tape.grad(i));
        os << "}\"];\n";
        for (std::size_t in : n.inputs) os << "  n" << in << " -> n" << i << ";\n";
    }
    os << "}\n";
    return os.str();
}

/// One line per node: "#3 mul [2,3] <- #1 #2   value ...   grad ...".
template <class T>
std::string trace(Tape<T>& tape) {
    std::ostringstream os;
    for (std::size_t i = 0; i < tape.size(); ++i) {
        const Node<T>& n = tape.node(i);
        os << "#" << i << " " << n.op << " " << shape_str(n.val().shape());
        if (!n.inputs.empty()) {
            os << " <-";
            for (std::size_t in : n.inputs) os << " #" << in;
        }
        os << "   value " << detail::summary(n.val());
        if (n.requires_grad) os << "   grad " << detail::summary(tape.grad(i));
        os << "\n";
    }
    return os.str();
}

}  // namespace cringe
