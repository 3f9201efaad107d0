// Every policy's fused closed-form backward against finite differences AND dual numbers, with the
// sampled positives held fixed (injected), on several shapes and option settings.
#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::loss;
using namespace cringe::testing;

namespace {
struct Case {
    Shape shape;  // B, T, V
    IdTensor targets;
    std::vector<int> labels;
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
};

std::vector<Case> cases() {
    return {
        {{1, 1, 2}, ids({{1}}), {0}, {}},
        {{2, 3, 5}, ids({{3, 2, 0}, {1, 4, 2}}), {0, 1}, {{1, 0}}},
        {{3, 4, 6}, ids({{1, 2, 3, 0}, {5, 5, 1, 2}, {4, 0, 0, 0}}), {-1, 0, 1}, {{0, 1}, {2, 1}}},
    };
}

/// Valid injected positives: the top-1 candidate of each row (any valid id works for a gradient check).
IdTensor positives(const Tensor<double>& logits, const IdTensor& targets) {
    const std::size_t B = logits.shape()[0], T = logits.shape()[1], V = logits.shape()[2];
    IdTensor out = IdTensor::from_shape({B, T});
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t t = 0; t < T; ++t) {
            const auto c = topk_candidates(logits.data() + (b * T + t) * V, V, static_cast<std::size_t>(targets(b, t)), 3);
            out(b, t) = static_cast<std::int64_t>(c.back());
        }
    return out;
}

/// Gradchecks policy P<S> (built by make<S>()) on every case. A policy with a detached quantity
/// is checked against the exact reference only: finite differences see through a stop-gradient
/// (they differentiate the function, not the training rule), dual numbers honour it (detach()).
template <template <class> class P, class Make>
void check_policy(Make make, bool detached = false) {
    GradcheckOptions options;
    options.finite_differences = !detached;
    std::uint64_t seed = 100;
    for (const Case& c : cases()) {
        INFO("shape " << shape_str(c.shape));
        const auto logits = random_tensor(c.shape, seed++, 2.0);
        const IdTensor sampled = positives(logits, c.targets);
        const Batch batch{c.targets, c.labels, 0, c.pairs};
        require_gradcheck([&](auto&, const auto& x) {
            using S = typename std::decay_t<decltype(x[0])>::value_type;
            const P<S> policy = make.template operator()<S>();
            return policy(x[0], batch, Sampler{nullptr, &sampled}).loss;
        }, {logits}, options);
    }
}
}  // namespace

TEST_CASE("cross-entropy: gradcheck", "[loss][gradcheck]") {
    check_policy<CrossEntropy>([]<class S>() { return CrossEntropy<S>{}; });
}

TEST_CASE("unlikelihood: gradcheck, joint and separate", "[loss][gradcheck]") {
    check_policy<Unlikelihood>([]<class S>() { return Unlikelihood<S>{}; });
    check_policy<Unlikelihood>([]<class S>() { Unlikelihood<S> p; p.alpha = 2.5; p.normalization = Normalization::separate; return p; });
}

TEST_CASE("CRINGE: gradcheck over its options", "[loss][gradcheck]") {
    check_policy<Cringe>([]<class S>() { return Cringe<S>{}; });
    check_policy<Cringe>([]<class S>() { Cringe<S> p; p.alpha = 0.5; p.detach_positive = true; return p; }, true);
    check_policy<Cringe>([]<class S>() { Cringe<S> p; p.normalization = Normalization::separate; p.ct_on_positives = true; return p; });
    check_policy<Cringe>([]<class S>() { Cringe<S> p; p.ce_on_positives = false; p.ct_on_positives = true; p.detach_positive = true; return p; }, true);
}

TEST_CASE("pairwise CRINGE: gradcheck with the gate detached and not", "[loss][gradcheck]") {
    check_policy<PairwiseCringe>([]<class S>() { return PairwiseCringe<S>{}; }, true);  // gate detached by default
    check_policy<PairwiseCringe>([]<class S>() {
        PairwiseCringe<S> p;
        p.detach_gate = false;  // the gate's gradient flows: reference-free DPO-like term
        p.margin = 0.5;
        p.tau = 2.0;
        return p;
    });
    check_policy<PairwiseCringe>([]<class S>() { PairwiseCringe<S> p; p.detach_gate = false; p.loglik = LogLikelihood::mean; return p; });
}

TEST_CASE("sigmoid-only: gradcheck", "[loss][gradcheck]") {
    check_policy<SigmoidOnly>([]<class S>() { return SigmoidOnly<S>{}; });
    check_policy<SigmoidOnly>([]<class S>() { SigmoidOnly<S> p; p.a_pm = 0.3; p.a_m = 2.0; return p; });
}

TEST_CASE("losses compose with ops upstream: logits = x W, gradient reaches W", "[loss][gradcheck]") {
    const Batch batch{ids({{1, 2}, {0, 3}}), {0, 1}, -1, {}};
    const IdTensor sampled = ids({{0, 3}, {-1, -1}});
    require_gradcheck([&](auto&, const auto& v) {
        using S = typename std::decay_t<decltype(v[0])>::value_type;
        return Cringe<S>{}(matmul(v[0], v[1]), batch, Sampler{nullptr, &sampled}).loss;
    }, {random_tensor({2, 2, 3}, 1), random_tensor({3, 4}, 2)});
}

// Second order through the fused closed-form backwards: forward over reverse (the tape in dual
// numbers) against nested dual numbers and finite differences of the gradient (docs/gradcheck.md,
// "Second order"). Policies with a detached quantity (CRINGE's detach_positive, pairwise CRINGE's
// default detached gate) are a training rule, not the gradient of a function, and are not checked here.
namespace {
namespace loss_second_order {
template <template <class> class P, class Make>
void require_policy_gradgradcheck(Make make) {
    const Batch batch{ids({{3, 2, 0}, {1, 4, 2}}), {0, 1}, 0, {{1, 0}}};
    const IdTensor sampled = ids({{0, 1, 2}, {3, 0, 1}});
    const GradcheckReport report = gradgradcheck([&](auto&, const auto& x) {
        using S = typename std::decay_t<decltype(x[0])>::value_type;
        const P<S> policy = make.template operator()<S>();
        return policy(x[0], batch, Sampler{nullptr, &sampled}).loss;
    }, {random_tensor({2, 3, 5}, 7, 2.0)});
    INFO(report.message());
    REQUIRE(report.passed);
    REQUIRE_FALSE(report.vacuous);
}
}  // namespace loss_second_order
}  // namespace

TEST_CASE("every policy: second order (gradgradcheck) through the fused backward", "[loss][gradcheck][second-order]") {
    using loss_second_order::require_policy_gradgradcheck;
    require_policy_gradgradcheck<CrossEntropy>([]<class S>() { return CrossEntropy<S>{}; });
    require_policy_gradgradcheck<Unlikelihood>([]<class S>() { return Unlikelihood<S>{}; });
    require_policy_gradgradcheck<Cringe>([]<class S>() { return Cringe<S>{}; });
    require_policy_gradgradcheck<SigmoidOnly>([]<class S>() { return SigmoidOnly<S>{}; });
    require_policy_gradgradcheck<PairwiseCringe>([]<class S>() { PairwiseCringe<S> p; p.detach_gate = false; return p; });
}
