// The reproduction's paired statistics (examples/repro/stats.hpp): the percentile rule, the point
// estimate, the win count, and bootstrap intervals whose replicate distribution is known by hand.
#include <catch2/catch.hpp>

#include "../../examples/repro/stats.hpp"

namespace {
namespace repro_stats_test {
using Outcomes = std::vector<std::vector<double>>;
}  // namespace repro_stats_test
}  // namespace

TEST_CASE("quantile_sorted interpolates linearly between order statistics", "[repro][stats]") {
    const std::vector<double> v = {1, 2, 3, 4};
    CHECK(repro::quantile_sorted(v, 0.0) == 1.0);
    CHECK(repro::quantile_sorted(v, 0.25) == Approx(1.75));  // position 0.75
    CHECK(repro::quantile_sorted(v, 0.5) == Approx(2.5));    // position 1.5
    CHECK(repro::quantile_sorted(v, 1.0) == 4.0);
    CHECK(repro::quantile_sorted({7.0}, 0.975) == 7.0);
    CHECK_THROWS_AS(repro::quantile_sorted({}, 0.5), cringe::ValueError);
    CHECK_THROWS_AS(repro::quantile_sorted(v, 1.5), cringe::ValueError);
}

TEST_CASE("paired_bootstrap: a constant difference has a zero-width interval", "[repro][stats]") {
    using repro_stats_test::Outcomes;
    const Outcomes a = {{1, 1, 0, 1}, {1, 0}}, b = {{0, 0, -1, 0}, {0, -1}};  // every prompt: a - b = 1
    const auto d = repro::paired_bootstrap(a, b, 500, 1);
    CHECK(d.mean == 1.0);
    CHECK(d.lo == 1.0);
    CHECK(d.hi == 1.0);
    CHECK(d.wins == 2);
    CHECK(d.losses == 0);
    CHECK(d.significant());
}

TEST_CASE("paired_bootstrap: resampling seeds gives the hand-computed interval", "[repro][stats]") {
    using repro_stats_test::Outcomes;
    // seed 0: A hits all three prompts, B none (mean difference 1); seed 1: both the same (difference 0).
    // Estimate (1 + 0) / 2 = 0.5. A replicate draws two seeds with replacement: both seed 0 (p 1/4,
    // value 1), one of each (p 1/2, value 0.5), both seed 1 (p 1/4, value 0). So the 2.5 % and 97.5 %
    // percentiles are 0 and 1: not significant, one win and one tie.
    const Outcomes a = {{1, 1, 1}, {0, 1}}, b = {{0, 0, 0}, {0, 1}};
    const auto d = repro::paired_bootstrap(a, b, 4000, 7);
    CHECK(d.mean == 0.5);
    CHECK(d.lo == 0.0);
    CHECK(d.hi == 1.0);
    CHECK(d.wins == 1);
    CHECK(d.ties == 1);
    CHECK(d.losses == 0);
    CHECK_FALSE(d.significant());
}

TEST_CASE("paired_bootstrap: resampling prompts within a seed", "[repro][stats]") {
    using repro_stats_test::Outcomes;
    // one seed, differences {+1, -1}: replicates -1 (p 1/4), 0 (p 1/2), +1 (p 1/4); estimate 0, a tie
    const auto d = repro::paired_bootstrap(Outcomes{{1, 0}}, Outcomes{{0, 1}}, 4000, 3);
    CHECK(d.mean == 0.0);
    CHECK(d.lo == -1.0);
    CHECK(d.hi == 1.0);
    CHECK(d.ties == 1);
}

TEST_CASE("paired_bootstrap: every seed better gives an interval above 0, reproducibly", "[repro][stats]") {
    using repro_stats_test::Outcomes;
    // per-seed differences 0.2, 0.3, 0.25 (constant within a seed): every replicate lies in [0.2, 0.3]
    const Outcomes a = {{0.2, 0.2}, {0.3, 0.3, 0.3}, {0.25}}, b = {{0, 0}, {0, 0, 0}, {0}};
    const auto d = repro::paired_bootstrap(a, b, 1000, 11);
    CHECK(d.mean == Approx(0.25));
    CHECK(d.lo >= 0.2 - 1e-12);
    CHECK(d.hi <= 0.3 + 1e-12);
    CHECK(d.lo < d.hi);
    CHECK(d.wins == 3);
    CHECK(d.significant());
    const auto again = repro::paired_bootstrap(a, b, 1000, 11);
    CHECK(again.lo == d.lo);
    CHECK(again.hi == d.hi);
    CHECK_THROWS_AS(repro::paired_bootstrap(a, Outcomes{{0, 0}}, 10, 1), cringe::ValueError);
    CHECK_THROWS_AS(repro::paired_bootstrap(Outcomes{{1, 2}}, Outcomes{{1}}, 10, 1), cringe::ValueError);
}
