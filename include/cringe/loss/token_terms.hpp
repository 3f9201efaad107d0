// cringe/loss/token_terms.hpp - the per-token terms of every loss, with their closed-form gradients.
//
// Each function takes one row of logits s [V] and a weight w (the term's share of the batch loss),
// returns the term's value and ADDS w * d(term)/ds into grad [V]. Derivations (docs/losses.md, "How the gradient is computed"):
//
//   CE(s, y)      = logsumexp(s) - s_y                 d/ds_j = p_j - [j = y]
//   UL(s, y)      = -log(1 - p_y)                      d/ds_j = q ([j = y] - p_j) / (1 - q),  q = p_y
//                   (0 gradient, value -log(clamp), when 1 - q < clamp)
//   Cr(s, y-, y+) = softplus(s_y- - s_y+)              d/ds_y- = sigmoid(z), d/ds_y+ = -sigmoid(z)
//   SigPos(s, y)  = softplus(-s_y) + a_pm sum_{x != y} softplus(s_x)
//                                                      d/ds_y = sigmoid(s_y) - 1, d/ds_x = a_pm sigmoid(s_x)
//   SigNeg(s, y)  = softplus(s_y)                      d/ds_y = sigmoid(s_y)
// Every formula is written in T, so running it with Dual<double> differentiates the forward value
// exactly: the gradient checker compares these hand-written gradients against that.
#pragma once

#include <cmath>

#include "../dual.hpp"

namespace cringe::loss {

/// log(1 + e^z), stable for any z.
template <class T>
T softplus(const T& z) {  // log(1 + e^z) without overflow: max(z,0) + log1p(e^-|z|)
    using std::abs;
    using std::exp;
    using std::log1p;
    return (z > T(0) ? z : T(0)) + log1p(exp(-abs(z)));
}

/// 1 / (1 + e^-z), stable for any z.
template <class T>
T sigmoid(const T& z) {  // 1/(1+e^-z) without overflow
    using std::exp;
    if (z >= T(0)) return T(1) / (T(1) + exp(-z));
    const T e = exp(z);
    return e / (T(1) + e);
}

/// log sum_j e^(s_j) over one row of V logits, computed stably.
template <class T>
T row_logsumexp(const T* s, std::size_t V) {
    using std::exp;
    using std::log;
    T m = s[0];
    for (std::size_t j = 1; j < V; ++j)
        if (s[j] > m) m = s[j];
    if (!is_finite(m)) m = T(0);
    T total(0);
    for (std::size_t j = 0; j < V; ++j) total += exp(s[j] - m);
    return m + log(total);
}

/// Adds w * CE(y) to the loss and its gradient into `grad`; returns the term.
template <class T>
T cross_entropy_term(const T* s, std::size_t V, std::size_t y, T w, T* grad) {
    using std::exp;
    const T lse = row_logsumexp(s, V);
    for (std::size_t j = 0; j < V; ++j) grad[j] += w * exp(s[j] - lse);
    grad[y] -= w;
    return lse - s[y];
}

/// Adds w * UL(y) = -w log(max(1 - p_y, clamp)) and its gradient; returns the term.
template <class T>
T unlikelihood_term(const T* s, std::size_t V, std::size_t y, double clamp, T w, T* grad) {
    using std::exp;
    using std::expm1;
    using std::log;
    const T lse = row_logsumexp(s, V);
    const T log_q = s[y] - lse;
    const T one_minus_q = -expm1(log_q);  // 1 - q, accurate when q is tiny
    if (one_minus_q < T(clamp)) return -log(T(clamp));  // clamp active: constant, zero gradient
    const T q = exp(log_q);
    for (std::size_t j = 0; j < V; ++j) grad[j] -= w * q * exp(s[j] - lse) / one_minus_q;
    grad[y] += w * q / one_minus_q;  // together: d/ds_y = q
    return -log(one_minus_q);
}

/// Cr with `bad` the token pushed down and `good` the token pulled up; a detached side gets no gradient.
template <class T>
T contrastive_term(const T* s, std::size_t bad, std::size_t good, bool detach_bad, bool detach_good, T w, T* grad) {
    const T z = (detach_bad ? detach(s[bad]) : s[bad]) - (detach_good ? detach(s[good]) : s[good]);
    const T sz = sigmoid(z);
    if (!detach_bad) grad[bad] += w * sz;
    if (!detach_good) grad[good] -= w * sz;
    return softplus(z);
}

/// Sigmoid-only's positive-token term and its gradient; returns the term.
template <class T>
T sigmoid_positive_term(const T* s, std::size_t V, std::size_t y, double a_pm, T w, T* grad) {
    T value = softplus(-s[y]);
    grad[y] += w * (sigmoid(s[y]) - T(1));
    for (std::size_t x = 0; x < V; ++x) {
        if (x == y) continue;
        value += T(a_pm) * softplus(s[x]);
        grad[x] += w * T(a_pm) * sigmoid(s[x]);
    }
    return value;
}

/// Sigmoid-only's negative-token term and its gradient; returns the term.
template <class T>
T sigmoid_negative_term(const T* s, std::size_t y, T w, T* grad) {
    grad[y] += w * sigmoid(s[y]);
    return softplus(s[y]);
}

}  // namespace cringe::loss
