// The policy concept in use: one templated training function, five interchangeable losses; and
// the statistics of CRINGE's positive sampling.
#include "../support/testing.hpp"

using namespace cringe;
using namespace cringe::loss;
using namespace cringe::testing;

namespace {
// A bigram model: logits[b,t] = W[input[b,t]] (W is [V,V]). Written once for every policy.
template <LossPolicy L>
std::pair<double, double> train_bigram(const L& policy, const IdTensor& inputs, const Batch& batch, int steps) {
    using T = typename L::scalar_type;
    Parameter<T> W("W", zeros<T>({6, 6}));
    Tape<T> tape;
    Rng rng(7);
    double first = 0, last = 0;
    for (int step = 0; step < steps; ++step) {
        tape.clear();
        W.zero_grad();
        auto out = policy(embedding(tape.parameter(W), inputs), batch, Sampler{&rng, nullptr});
        tape.backward(out.loss);
        flat(W.value) -= T(0.5) * flat(W.grad);  // plain SGD
        (step == 0 ? first : last) = static_cast<double>(out.loss.value()());
    }
    return {first, last};
}

double probability(const Tensor<double>& logits_row_owner, std::size_t row, std::size_t token) {
    const std::size_t V = logits_row_owner.shape()[1];
    double total = 0;
    for (std::size_t j = 0; j < V; ++j) total += std::exp(logits_row_owner(row, j));
    return std::exp(logits_row_owner(row, token)) / total;
}
}  // namespace

TEST_CASE("one templated training function serves every LossPolicy", "[loss][policy]") {
    // Sequence 0 (positive): 1 -> 2 -> 3. Sequence 1 (negative): 1 -> 4 -> 5.
    const IdTensor inputs = ids({{1, 2, 3}, {1, 4, 5}});
    const Batch batch{ids({{2, 3, 0}, {4, 5, 0}}), {1, 0}, 0, {{0, 1}}};
    const auto ce = train_bigram(CrossEntropy<double>{}, inputs, batch, 40);
    const auto ul = train_bigram(Unlikelihood<double>{}, inputs, batch, 40);
    const auto cr = train_bigram(Cringe<double>{}, inputs, batch, 40);
    const auto pw = train_bigram(PairwiseCringe<double>{}, inputs, batch, 40);
    const auto sg = train_bigram(SigmoidOnly<double>{}, inputs, batch, 40);
    const auto crf = train_bigram(Cringe<float>{}, inputs, batch, 40);  // float works the same way
    for (auto [first, last] : {ce, ul, cr, pw, sg, crf}) {
        CHECK(std::isfinite(last));
        CHECK(last < first);
    }
}

TEST_CASE("CRINGE and UL lower the probability of the negative continuation; CE alone does not", "[loss][policy]") {
    // after 1, 2 is good (positive sequence); after 3, 4 is bad (negative sequence)
    const IdTensor inputs = ids({{1, 2}, {3, 4}});
    const Batch batch{ids({{2, 0}, {4, 0}}), {1, 0}, 0, {}};
    auto p_bad_after = [&](const auto& policy) {
        using T = typename std::decay_t<decltype(policy)>::scalar_type;
        Parameter<T> W("W", zeros<T>({6, 6}));
        W.value(3, 4) = 2.0;  // the model starts out liking the bad continuation
        Tape<T> tape;
        Rng rng(3);
        for (int step = 0; step < 50; ++step) {
            tape.clear();
            W.zero_grad();
            tape.backward(policy(embedding(tape.parameter(W), inputs), batch, Sampler{&rng, nullptr}).loss);
            flat(W.value) -= T(0.5) * flat(W.grad);
        }
        return probability(W.value, 3, 4);
    };
    const double initial = std::exp(2.0) / (std::exp(2.0) + 5.0);
    const double ce = p_bad_after(CrossEntropy<double>{});
    const double ul = p_bad_after(Unlikelihood<double>{});
    const double cr = p_bad_after(Cringe<double>{});
    CHECK(ce == Approx(initial).epsilon(1e-12));  // CE ignores negative sequences entirely
    CHECK(ul < 0.5 * initial);
    CHECK(cr < 0.5 * initial);
}

TEST_CASE("sampled positives follow softmax over the top-k (chi-square, false-alarm rate 0.1%)", "[loss][sampling][statistics]") {
    // Two rows: the negative is the argmax (id 3), and the negative is outside the top-k (id 5).
    const std::vector<double> row = {2.0, 1.0, 0.5, 3.0, -1.0, 0.0, 0.2};
    for (std::size_t negative : {std::size_t{3}, std::size_t{4}}) {
        INFO("negative " << negative);
        const auto candidates = topk_candidates(row.data(), 7, negative, 5);
        const auto p = candidate_probabilities(row.data(), candidates);
        Rng rng(2024);
        const int draws = 20000;
        std::vector<int> counts(7, 0);
        for (int i = 0; i < draws; ++i) ++counts[static_cast<std::size_t>(sample_positive(row.data(), 7, negative, 5, rng))];
        CHECK(counts[negative] == 0);
        double chi2 = 0;
        int seen = 0;
        for (std::size_t i = 0; i < candidates.size(); ++i) {
            const double expected = draws * p[i];
            chi2 += std::pow(counts[candidates[i]] - expected, 2) / expected;
            seen += counts[candidates[i]];
        }
        CHECK(seen == draws);  // nothing outside the candidate set
        // 4 degrees of freedom: P(chi2 > 18.467) = 0.001 under the null hypothesis.
        CHECK(chi2 < 18.467);
    }
}

TEST_CASE("the same seed gives the same sampled ids", "[loss][sampling]") {
    const auto logits = random_tensor({2, 8, 10}, 9);
    IdTensor targets = IdTensor::from_shape({2, 8});
    for (std::size_t i = 0; i < targets.size(); ++i) targets.data()[i] = static_cast<std::int64_t>(i % 10);
    auto run = [&](std::uint64_t seed) {
        Tape<double> tape;
        Rng rng(seed);
        return Cringe<double>{}(tape.variable(logits), Batch{targets, {0, 0}, -1, {}}, Sampler{&rng, nullptr}).diagnostics.sampled;
    };
    const IdTensor a = run(5), b = run(5), c = run(6);
    CHECK(a == b);
    CHECK(a != c);
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a.data()[i] != targets.data()[i]);
}
