// cringe/ops/portable_exp.hpp - exp whose result does not depend on the SIMD width.
//
// Eigen's vectorised exp clamps its argument to [-709.78, 709.78] (float: [-88.72, 88.72]), so on
// the lanes of a SIMD packet exp(-inf) is 5.6e-309 (float 2.9e-39), while the scalar std::exp that
// Eigen uses for the elements before and after the packets gives exactly 0 (or a subnormal number).
// Which elements take which path depends on the packet width (SSE2: 2 doubles, AVX: 4) and the
// alignment, so without care a masked softmax entry is 0 in one build and 5.6e-309 in another, and
// logsumexp of an all -inf row is -inf or -709.
//
// The fix: flush every exp result below the smallest NORMAL number to exactly 0. Both paths agree
// there (exp(x) < DBL_MIN exactly when x < log(DBL_MIN) = -708.40, below both the scalar's normal range
// and the packet clamp), and nothing is lost that a sum, a product with a gradient or a probability
// could use: such a value is below every other number's rounding error.
#pragma once

#include <limits>

#include "../dual.hpp"

namespace cringe::detail {

/// Sets every element of `e` (the output of an exp, so >= 0 or NaN) that is below the smallest
/// normal number of its real type to exactly 0. `e` is any indexable array (an Eigen array or map).
template <class A>
void flush_exp_underflow(A&& e) {
    using Scalar = std::decay_t<decltype(e[0])>;
    using Real = decltype(value_of(Scalar{}));
    const Real tiny = std::numeric_limits<Real>::min();
    for (Eigen::Index i = 0, n = static_cast<Eigen::Index>(e.size()); i < n; ++i)
        if (value_of(e[i]) < tiny) e[i] = Scalar(0);
}

}  // namespace cringe::detail
