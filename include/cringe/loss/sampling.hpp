// cringe/loss/sampling.hpp - CRINGE's positive token: one draw from the model's own top-k.
//
// For a negative token y- with logits s (docs/losses.md, "CRINGE"; following the paper's released code):
//   candidates = the k_eff = min(k, V-1) highest FINITE logits, y- excluded, ordered by logit
//                descending with ties broken by lower token id;
//   pick candidate j with probability exp(s_j) / sum_{i in candidates} exp(s_i)
//                (softmax over the candidates' raw logits, temperature 1; not uniform).
// Sampling is not differentiated; the chosen id is recorded and reused by backward.
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../dual.hpp"
#include "../rng.hpp"

namespace cringe::loss {

/// Ids of the top-k candidates of one row of logits, negative excluded (see above).
template <class T>
std::vector<std::size_t> topk_candidates(const T* row, std::size_t V, std::size_t exclude, std::size_t k) {
    std::vector<std::size_t> ids;
    ids.reserve(V);
    for (std::size_t j = 0; j < V; ++j)
        if (j != exclude && std::isfinite(value_of(row[j]))) ids.push_back(j);
    const std::size_t keep = std::min({k, V - 1, ids.size()});
    auto better = [&](std::size_t a, std::size_t b) {
        const double sa = value_of(row[a]), sb = value_of(row[b]);
        return sa > sb || (sa == sb && a < b);
    };
    std::partial_sort(ids.begin(), ids.begin() + static_cast<long>(keep), ids.end(), better);
    ids.resize(keep);
    return ids;
}

/// Softmax of the candidates' logits (the sampling probabilities), in double.
template <class T>
std::vector<double> candidate_probabilities(const T* row, const std::vector<std::size_t>& candidates) {
    std::vector<double> p(candidates.size());
    if (candidates.empty()) return p;
    const double top = value_of(row[candidates[0]]);  // candidates are sorted: the first is the max
    double total = 0.0;
    for (std::size_t i = 0; i < candidates.size(); ++i) total += p[i] = std::exp(value_of(row[candidates[i]]) - top);
    for (double& v : p) v /= total;
    return p;
}

/// Draws one positive for negative token `exclude`, or returns -1 when no finite candidate exists.
/// Inverse-CDF sampling with one uniform draw: the same seed gives the same id on every platform.
template <class T>
long sample_positive(const T* row, std::size_t V, std::size_t exclude, std::size_t k, Rng& rng) {
    const auto candidates = topk_candidates(row, V, exclude, k);
    if (candidates.empty()) return -1;
    const auto p = candidate_probabilities(row, candidates);
    const double u = rng.uniform();
    double cumulative = 0.0;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        cumulative += p[i];
        if (u < cumulative) return static_cast<long>(candidates[i]);
    }
    return static_cast<long>(candidates.back());  // u within rounding of 1
}

}  // namespace cringe::loss
