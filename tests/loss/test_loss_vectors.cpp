// The spec's test vectors (restated in docs/losses.md, "Cross-implementation fixtures and the spec's test vectors") and the edge-case rules.
#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::loss;
using namespace cringe::testing;

namespace {
// TV2's batch: B = 2, T = 3, V = 5, pad 0; ex0 negative [3, 2, pad], ex1 positive [1, 4, 2].
Tensor<double> tv2_logits() {
    return from_values<double>({2, 3, 5}, {0, 1, 2, 3, 0.5,  0, 2, 1, -1, 0,  0, 0, 0, 0, 0,
                                           0, 1, 0, 0, 0,  0.5, 0.5, 0.5, 0.5, 0.5,  0, 0, 2, 1, 0});
}
Batch tv2_batch() { return Batch{ids({{3, 2, 0}, {1, 4, 2}}), {0, 1}, 0, {}}; }

template <class Policy>
std::pair<double, Tensor<double>> run(const Policy& policy, const Tensor<double>& logits, const Batch& batch, const IdTensor* injected = nullptr, Rng* rng = nullptr) {
    Tape<double> tape;
    auto x = tape.variable(logits);
    auto out = policy(x, batch, Sampler{rng, injected});
    tape.backward(out.loss);
    return {out.loss.value()(), x.grad()};
}
}  // namespace

TEST_CASE("TV1: candidate sets and sampling probabilities", "[loss][sampling][spec]") {
    const std::vector<double> s = {2.0, 1.0, 0.5, 3.0, -1.0, 0.0};
    using Ids = std::vector<std::size_t>;
    CHECK(topk_candidates(s.data(), 6, 3, 1) == Ids{0});
    CHECK(topk_candidates(s.data(), 6, 3, 2) == Ids{0, 1});
    CHECK(topk_candidates(s.data(), 6, 3, 5) == Ids{0, 1, 2, 5, 4});
    CHECK(topk_candidates(s.data(), 6, 5, 2) == Ids{3, 0});
    CHECK(topk_candidates(s.data(), 6, 0, 2) == Ids{3, 1});
    const auto p = candidate_probabilities(s.data(), Ids{0, 1, 2, 5, 4});
    const std::vector<double> expected = {0.563021, 0.207124, 0.125627, 0.076197, 0.028031};
    for (std::size_t i = 0; i < 5; ++i) CHECK(p[i] == Approx(expected[i]).margin(1e-6));
    // E[Cr] for y = 3, k = 5: sum_j p_j softplus(s_3 - s_j) = 1.848836
    double expectation = 0;
    const Ids c = {0, 1, 2, 5, 4};
    for (std::size_t i = 0; i < 5; ++i) expectation += p[i] * softplus(s[3] - s[c[i]]);
    CHECK(expectation == Approx(1.848836).margin(1e-6));
}

TEST_CASE("edge vectors: k >= V and ties broken by lower id", "[loss][sampling][spec]") {
    const std::vector<double> s = {1, 0, 2};
    CHECK(topk_candidates(s.data(), 3, 2, 5) == std::vector<std::size_t>{0, 1});  // k_eff = V - 1 = 2
    const auto p = candidate_probabilities(s.data(), {0, 1});
    CHECK(p[0] == Approx(0.731059).margin(1e-6));
    const std::vector<double> ties = {1, 1, 0, 3};
    CHECK(topk_candidates(ties.data(), 4, 3, 1) == std::vector<std::size_t>{0});
    const double inf = std::numeric_limits<double>::infinity();
    const std::vector<double> banned = {-inf, 1, -inf, 0};
    CHECK(topk_candidates(banned.data(), 4, 3, 5) == std::vector<std::size_t>{1});  // non-finite skipped
    const std::vector<double> none = {-inf, -inf, 5};
    CHECK(topk_candidates(none.data(), 3, 2, 5).empty());
}

TEST_CASE("TV2: CRINGE batch loss, joint normalisation, gradients", "[loss][cringe][spec]") {
    Cringe<double> cringe;
    cringe.k = 1;
    Rng rng(1);  // k = 1 is deterministic: one candidate
    auto [loss, g] = run(cringe, tv2_logits(), tv2_batch(), nullptr, &rng);
    CHECK(loss == Approx(0.942793).margin(1e-6));
    // init-capture: clang 14 cannot capture a structured binding directly
    const auto expect_row = [&grad = g](std::size_t b, std::size_t t, std::vector<double> row) {
        for (std::size_t v = 0; v < 5; ++v) CHECK(grad(b, t, v) == Approx(row[v]).margin(1e-6));
    };
    expect_row(0, 0, {0, 0, -0.146212, 0.146212, 0});
    expect_row(0, 1, {0, -0.053788, 0.053788, 0, 0});
    expect_row(0, 2, {0, 0, 0, 0, 0});
    expect_row(1, 0, {0.0297695, -0.119078, 0.0297695, 0.0297695, 0.0297695});
    expect_row(1, 1, {0.04, 0.04, 0.04, 0.04, -0.16});
    expect_row(1, 2, {0.015259, 0.015259, -0.087253, 0.041477, 0.015259});

    cringe.alpha = 0.5;
    CHECK(run(cringe, tv2_logits(), tv2_batch(), nullptr, &rng).first == Approx(0.780141).margin(1e-6));
    cringe.alpha = 1.0;
    cringe.detach_positive = true;
    auto [dloss, dg] = run(cringe, tv2_logits(), tv2_batch(), nullptr, &rng);
    CHECK(dloss == Approx(0.942793).margin(1e-6));
    CHECK(dg(0, 0, 2) == 0.0);
    CHECK(dg(0, 0, 3) == Approx(0.146212).margin(1e-6));
}

TEST_CASE("TV3: unlikelihood, separate and joint normalisation", "[loss][unlikelihood][spec]") {
    Unlikelihood<double> ul;
    ul.normalization = Normalization::separate;
    auto [sep, g] = run(ul, tv2_logits(), tv2_batch());
    CHECK(sep == Approx(1.624875).margin(1e-6));
    const std::vector<double> row = {-0.023972, -0.065164, -0.177134, 0.305794, -0.039524};
    for (std::size_t v = 0; v < 5; ++v) CHECK(g(0, 0, v) == Approx(row[v]).margin(1e-6));
    ul.normalization = Normalization::joint;
    CHECK(run(ul, tv2_logits(), tv2_batch()).first == Approx(0.855780).margin(1e-6));
}

TEST_CASE("unlikelihood: an active clamp gives the constant -log(clamp) and exactly zero gradient", "[loss][unlikelihood][edge]") {
    Unlikelihood<double> ul;
    ul.clamp = 1e-3;
    const auto logits = from_values<double>({1, 1, 3}, {20, 0, 0});  // p(0) ~ 1 - 4e-9
    auto [loss, g] = run(ul, logits, Batch{ids({{0}}), {0}, -1, {}});
    CHECK(loss == Approx(-std::log(1e-3)).epsilon(1e-12));
    for (double v : g) CHECK(v == 0.0);
}

TEST_CASE("TV5: the pairwise gate", "[loss][pairwise][spec]") {
    auto gate = [](double lw, double ll, double b, double tau) { return loss::sigmoid((b - (lw - ll)) / tau); };
    CHECK(gate(-3, -2, 0, 1) == Approx(0.731059).margin(1e-6));
    CHECK(gate(-3, -2, -5, 1) == Approx(0.017986).margin(1e-6));
    CHECK(gate(-3, -2, 0, 5) == Approx(0.549834).margin(1e-6));
    CHECK(gate(-10, -20, 0, 1) == Approx(0.000045).margin(1e-6));
}

TEST_CASE("all-pad batch: loss 0 and zero gradients for every policy, never NaN", "[loss][edge]") {
    const auto logits = random_tensor({2, 3, 4}, 5);
    const Batch pad_only{ids({{0, 0, 0}, {0, 0, 0}}), {0, 1}, 0, {{1, 0}}};
    Rng rng(3);
    auto check = [&](const auto& policy) {
        auto [loss, g] = run(policy, logits, pad_only, nullptr, &rng);
        CHECK(loss == 0.0);
        for (double v : g) CHECK(v == 0.0);
    };
    check(CrossEntropy<double>{});
    check(Unlikelihood<double>{});
    check(Cringe<double>{});
    check(PairwiseCringe<double>{});
    check(SigmoidOnly<double>{});
}

TEST_CASE("batches with no negatives or no positives", "[loss][edge]") {
    const auto logits = random_tensor({2, 2, 4}, 6);
    Rng rng(4);
    const Batch positives{ids({{1, 2}, {3, 1}}), {1, 1}, 0, {}};
    const Batch negatives{ids({{1, 2}, {3, 1}}), {0, 0}, 0, {}};
    // No negatives: CRINGE and UL reduce to cross-entropy exactly.
    const double ce = run(CrossEntropy<double>{}, logits, positives).first;
    CHECK(run(Cringe<double>{}, logits, positives, nullptr, &rng).first == Approx(ce).epsilon(1e-15));
    CHECK(run(Unlikelihood<double>{}, logits, positives).first == Approx(ce).epsilon(1e-15));
    // No positives: cross-entropy has nothing to do; the others are finite and nonzero.
    CHECK(run(CrossEntropy<double>{}, logits, negatives).first == 0.0);
    CHECK(run(Cringe<double>{}, logits, negatives, nullptr, &rng).first > 0.0);
    CHECK(run(Unlikelihood<double>{}, logits, negatives).first > 0.0);
}

TEST_CASE("the negative token is never its own positive, even when it is the argmax", "[loss][sampling]") {
    auto logits = random_tensor({1, 50, 6}, 7);
    IdTensor targets = IdTensor::from_shape({1, 50});
    for (std::size_t t = 0; t < 50; ++t) {
        targets(0, t) = static_cast<std::int64_t>(t % 6);
        logits(0, t, t % 6) = 10.0;  // the negative is the argmax
    }
    Tape<double> tape;
    Rng rng(11);
    auto out = Cringe<double>{}(tape.variable(logits), Batch{targets, {0}, -1, {}}, Sampler{&rng, nullptr});
    for (std::size_t t = 0; t < 50; ++t) {
        CHECK(out.diagnostics.sampled(0, t) != targets(0, t));
        CHECK(out.diagnostics.sampled(0, t) >= 0);
    }
}

TEST_CASE("non-finite candidates are skipped; a row with none gets no Cr term", "[loss][edge]") {
    const double inf = std::numeric_limits<double>::infinity();
    const auto logits = from_values<double>({1, 2, 3}, {-inf, -inf, 1.0,  -inf, 0.5, 1.0});
    Tape<double> tape;
    Rng rng(2);
    auto x = tape.variable(logits);
    auto out = Cringe<double>{}(x, Batch{ids({{2, 2}}), {0}, -1, {}}, Sampler{&rng, nullptr});
    CHECK(out.diagnostics.sampled(0, 0) == -1);
    CHECK(out.diagnostics.sampled(0, 1) == 1);
    tape.backward(out.loss);
    CHECK(std::isfinite(out.loss.value()()));
    for (double v : x.grad()) CHECK(std::isfinite(v));
}

TEST_CASE("bad input: every policy names the field and the expectation", "[loss][errors]") {
    Tape<double> tape;
    auto logits = tape.variable(zeros<double>({2, 3, 4}));
    const Batch ok{ids({{1, 2, 0}, {1, 1, 1}}), {0, 1}, 0, {}};
    Rng rng(1);
    const Sampler sampler{&rng, nullptr};
    CHECK_THROWS_WITH(Cringe<double>{}(tape.variable(zeros<double>({2, 3})), ok, sampler), Catch::Contains("logits") && Catch::Contains("[B,T,V]"));
    CHECK_THROWS_WITH(Cringe<double>{}(logits, Batch{ids({{1, 2}}), {0}, 0, {}}, sampler), Catch::Contains("targets") && Catch::Contains("[2,3]"));
    CHECK_THROWS_WITH(Cringe<double>{}(logits, Batch{ok.targets, {0}, 0, {}}, sampler), Catch::Contains("labels"));
    CHECK_THROWS_WITH(Cringe<double>{}(logits, Batch{ok.targets, {0, 2}, 0, {}}, sampler), Catch::Contains("labels[1] is 2"));
    CHECK_THROWS_WITH(Cringe<double>{}(logits, Batch{ids({{1, 9, 0}, {1, 1, 1}}), {0, 1}, 0, {}}, sampler), Catch::Contains("targets[0][1] is 9"));
    Cringe<double> bad_k;
    bad_k.k = 0;
    CHECK_THROWS_WITH(bad_k(logits, ok, sampler), Catch::Contains("k is 0"));
    Unlikelihood<double> bad_alpha;
    bad_alpha.alpha = -1;
    CHECK_THROWS_WITH(bad_alpha(logits, ok), Catch::Contains("alpha is -1"));
    CHECK_THROWS_WITH(PairwiseCringe<double>{}(logits, Batch{ok.targets, {0, 1}, 0, {{0, 5}}}, sampler), Catch::Contains("pairs[0]"));
    CHECK_THROWS_WITH(Cringe<double>{}(logits, ok, Sampler{}), Catch::Contains("Rng"));
    const IdTensor wrong = ids({{7, 0, 0}, {0, 0, 0}});
    CHECK_THROWS_WITH(Cringe<double>{}(logits, ok, Sampler{nullptr, &wrong}), Catch::Contains("sampled[0][0] is 7"));
}
