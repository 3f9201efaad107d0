// examples/repro/stats.hpp - paired comparisons of two methods over seeds and prompts.
//
// Every method of a seed is evaluated on the SAME test prompts, so two methods are compared prompt by
// prompt: d[s][i] = a[s][i] - b[s][i] (1/0 strict hits, or first-token margins). The estimate is the
// mean over seeds of the per-seed mean difference. Its 95 % interval comes from a two-level bootstrap
// that mirrors both sources of noise (docs/reproduction.md, "Protocol", Statistics): draw the seeds with
// replacement (training noise, the larger one here), then within each drawn seed draw its prompts with
// replacement (finite test set); the 2.5 % and 97.5 % percentiles of the replicated estimates bound the
// interval. A difference is called significant when its interval excludes 0. The bootstrap draws from
// cringe::Rng with a fixed seed, so the same inputs always give the same interval.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <cringe/error.hpp>
#include <cringe/rng.hpp>

namespace repro {

/// The q-quantile (0 <= q <= 1) of sorted values, linearly interpolated between order statistics
/// (position q * (n - 1), "type 7"): {1, 2, 3, 4} gives 1.75 at q = 0.25 and 2.5 at q = 0.5.
inline double quantile_sorted(const std::vector<double>& sorted, double q) {
    if (sorted.empty()) throw cringe::ValueError("quantile_sorted: no values; expected at least one");
    if (!(q >= 0.0 && q <= 1.0)) throw cringe::ValueError(cringe::cat("quantile_sorted: q is ", q, "; expected 0 <= q <= 1"));
    const double pos = q * static_cast<double>(sorted.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
    const double frac = pos - static_cast<double>(lo);
    return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

struct PairedDifference {
    double mean = 0;                 // mean over seeds of the per-seed mean difference a - b
    double lo = 0, hi = 0;           // 95 % bootstrap interval (seeds, then prompts, resampled)
    std::size_t wins = 0, ties = 0, losses = 0;  // seeds whose mean difference is > 0, == 0, < 0
    bool significant() const { return lo > 0.0 || hi < 0.0; }
};

/// a[s][i] and b[s][i]: the outcome of methods A and B on prompt i of seed s (same prompts for both).
/// Seeds may have different prompt counts, but each must have at least one prompt.
inline PairedDifference paired_bootstrap(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b,
                                         std::size_t replicates = 4000, std::uint64_t seed = 20221110) {
    if (a.empty() || a.size() != b.size())
        throw cringe::ValueError(cringe::cat("paired_bootstrap: ", a.size(), " and ", b.size(), " seeds; expected the same number, at least one"));
    if (replicates < 1) throw cringe::ValueError("paired_bootstrap: replicates is 0; expected >= 1");
    std::vector<std::vector<double>> d(a.size());
    PairedDifference out;
    for (std::size_t s = 0; s < a.size(); ++s) {
        if (a[s].empty() || a[s].size() != b[s].size())
            throw cringe::ValueError(cringe::cat("paired_bootstrap: seed ", s, " has ", a[s].size(), " and ", b[s].size(),
                                                 " prompts; expected the same number, at least one"));
        double total = 0;
        for (std::size_t i = 0; i < a[s].size(); ++i) {
            d[s].push_back(a[s][i] - b[s][i]);
            total += d[s].back();
        }
        const double m = total / static_cast<double>(d[s].size());
        out.mean += m;
        (m > 0 ? out.wins : m < 0 ? out.losses : out.ties) += 1;
    }
    out.mean /= static_cast<double>(d.size());
    cringe::Rng rng(seed);
    std::vector<double> estimates(replicates);
    for (auto& estimate : estimates) {
        double total = 0;
        for (std::size_t s = 0; s < d.size(); ++s) {
            const auto& ds = d[rng.below(d.size())];
            double sum = 0;
            for (std::size_t i = 0; i < ds.size(); ++i) sum += ds[rng.below(ds.size())];
            total += sum / static_cast<double>(ds.size());
        }
        estimate = total / static_cast<double>(d.size());
    }
    std::sort(estimates.begin(), estimates.end());
    out.lo = quantile_sorted(estimates, 0.025);
    out.hi = quantile_sorted(estimates, 0.975);
    return out;
}

}  // namespace repro
