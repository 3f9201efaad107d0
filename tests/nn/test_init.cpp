// nn/init.hpp: the initialisers' formulas (first draws by hand) and their statistics on a large draw.
#include "../support/error_matchers.hpp"
#include "../support/testing.hpp"

using namespace cringe;

namespace {
// Sample mean and variance of a tensor.
std::pair<double, double> init_moments(const Tensor<double>& t) {
    double mean = 0;
    for (double v : t) mean += v;
    mean /= static_cast<double>(t.size());
    double var = 0;
    for (double v : t) var += (v - mean) * (v - mean);
    return {mean, var / static_cast<double>(t.size())};
}

// For n independent draws of variance s2 the sample mean has standard deviation sqrt(s2 / n) and the
// sample variance about s2 * sqrt(2 / n) (normal; smaller for uniform). Six of those is a tolerance a
// correct initialiser misses with probability below 1e-8, yet a wrong formula (a factor of 2 or a
// swapped fan, tested below) misses it by far. The draws are seeded, so the result is also fixed.
void require_init_moments(const Tensor<double>& t, double expected_variance) {
    const double n = static_cast<double>(t.size());
    const auto [mean, var] = init_moments(t);
    INFO("mean " << mean << ", variance " << var << ", expected variance " << expected_variance);
    REQUIRE(std::abs(mean) < 6 * std::sqrt(expected_variance / n));
    REQUIRE(std::abs(var - expected_variance) < 6 * expected_variance * std::sqrt(2 / n));
}
}  // namespace

TEST_CASE("randn and uniform: shape, first draws from the same Rng, statistics", "[nn][init]") {
    Rng a(11), b(11);
    const auto r = nn::randn<double>({2, 3}, a, 0.5);
    CHECK(to_shape(r.shape()) == Shape{2, 3});
    for (std::size_t i = 0; i < r.size(); ++i) CHECK(r.data()[i] == b.normal(0.0, 0.5));  // storage order
    const auto u = nn::uniform<double>({4}, a, -2.0, 3.0);
    for (std::size_t i = 0; i < u.size(); ++i) CHECK(u.data()[i] == -2.0 + 5.0 * b.uniform());
    Rng big(3);
    require_init_moments(nn::randn<double>({500, 400}, big, 2.0), 4.0);
    require_init_moments(nn::uniform<double>({500, 400}, big, -1.0, 1.0), 1.0 / 3.0);
    REQUIRE_THROWS_MATCHES(nn::uniform<double>({2}, big, 1.0, 0.0), ValueError,
                           testing::Says("nn::uniform: lo 1 and hi 0; expected lo <= hi"));
}

TEST_CASE("Xavier and Kaiming: hand-computed bounds and the variances of their formulas", "[nn][init]") {
    // [fan_in 2, fan_out 4]: Xavier a = sqrt(6 / 6) = 1; Kaiming b = sqrt(2) * sqrt(3 / 2) = sqrt(3).
    Rng a(5), b(5);
    const auto xu = nn::xavier_uniform<double>({2, 4}, a);
    for (std::size_t i = 0; i < xu.size(); ++i) CHECK(xu.data()[i] == -1.0 + 2.0 * b.uniform());
    const auto ku = nn::kaiming_uniform<double>({2, 4}, a);
    for (std::size_t i = 0; i < ku.size(); ++i) CHECK(ku.data()[i] == Approx(-std::sqrt(3.0) + 2 * std::sqrt(3.0) * b.uniform()).epsilon(1e-15));

    // Statistics on 200 000 draws of a [400, 500] weight: fan_in 400, fan_out 500.
    Rng rng(17);
    const Shape w{400, 500};
    require_init_moments(nn::xavier_uniform<double>(w, rng), 2.0 / 900.0);
    require_init_moments(nn::xavier_normal<double>(w, rng), 2.0 / 900.0);
    require_init_moments(nn::kaiming_uniform<double>(w, rng), 2.0 / 400.0);
    require_init_moments(nn::kaiming_normal<double>(w, rng), 2.0 / 400.0);
    require_init_moments(nn::xavier_normal<double>(w, rng, 3.0), 9.0 * 2.0 / 900.0);  // the gain scales the std
    // The fans are not swapped: fan_out would give Kaiming a variance of 2/500, far outside the tolerance.
    const auto [m, v] = init_moments(nn::kaiming_normal<double>(w, rng));
    CHECK(std::abs(v - 2.0 / 500.0) > 0.1 * (2.0 / 500.0));
    // The uniform ones stay inside their bound.
    const auto k = nn::kaiming_uniform<double>(w, rng);
    const double bound = std::sqrt(2.0) * std::sqrt(3.0 / 400.0);
    double largest = 0;
    for (const double x : k) largest = std::max(largest, std::abs(x));
    CHECK(largest <= bound);
    CHECK(largest > 0.99 * bound);  // and fill it
    // initialise() dispatches by name to the same draws.
    Rng c(9), d(9);
    CHECK((nn::initialise<double>(nn::Init::kaiming_normal, {3, 2}, c) == nn::kaiming_normal<double>({3, 2}, d)));
}

TEST_CASE("initialisers: a weight must be [fan_in, fan_out]", "[nn][init][errors]") {
    Rng rng(1);
    REQUIRE_THROWS_MATCHES(nn::xavier_uniform<double>({3}, rng), ShapeError,
                           testing::Says("nn::xavier_uniform: weight shape [3]; expected [fan_in, fan_out], both >= 1"));
    REQUIRE_THROWS_MATCHES(nn::kaiming_normal<double>({0, 2}, rng), ShapeError,
                           testing::Says("nn::kaiming_normal: weight shape [0,2]; expected [fan_in, fan_out], both >= 1"));
}
