// cringe/error.hpp - the library's exception types and the helpers that build their messages.
//
// Every precondition violation in cringe throws a cringe::Error (or a subclass). The message always
// names the operation, the offending shapes or values, and what was expected, e.g.
//   "matmul: inner dimensions differ: a is [2,3], b is [4,5]; expected a.shape[-1] == b.shape[-2]"
#pragma once

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace cringe {

/// Base class of every exception the library throws on bad input.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Shapes that do not fit together (broadcasting, matmul, concat, ...).
class ShapeError : public Error {
public:
    using Error::Error;
};

/// A value outside its allowed range (token id >= V, k < 1, alpha < 0, ...).
class ValueError : public Error {
public:
    using Error::Error;
};

/// Misuse of the tape (a Var from a cleared tape, backward twice without retain_graph, ...).
class TapeError : public Error {
public:
    using Error::Error;
};

/// A file that cannot be read or written, or whose contents are malformed.
class IoError : public Error {
public:
    using Error::Error;
};

/// A NaN or infinity found by anomaly mode.
class NumericalError : public Error {
public:
    using Error::Error;
};

/// "[2,3,4]" - how every message in the library prints a shape.
template <class Shape>
std::string shape_str(const Shape& shape) {
    std::string out = "[";
    bool first = true;
    for (auto d : shape) {
        if (!first) out += ",";
        out += std::to_string(d);
        first = false;
    }
    return out + "]";
}

/// Concatenates its arguments with operator<< into one string (message building).
template <class... Parts>
std::string cat(const Parts&... parts) {
    std::ostringstream os;
    (os << ... << parts);
    return os.str();
}

}  // namespace cringe
