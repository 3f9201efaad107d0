// Numerical robustness: extreme logits, degenerate shapes, full-length sequences, long float32 runs.
#include "../support/testing.hpp"

#include <cstdlib>

#include <cringe/nn/gpt.hpp>
#include <cringe/train/trainer.hpp>

using namespace cringe;
using namespace cringe::testing;

namespace {
/// Loss value and logits gradient of `policy` on `logits`; both must be finite.
template <class Policy>
void require_finite(const Policy& policy, const Tensor<double>& logits, const loss::Batch& batch) {
    Tape<double> tape;
    auto guard = tape.detect_anomaly();  // any NaN/Inf in forward or backward throws, naming the op
    auto x = tape.variable(logits);
    IdTensor sampled = IdTensor::from_shape({logits.shape()[0], logits.shape()[1]});
    sampled.fill(-1);
    Rng rng(1);
    auto out = policy(x, batch, loss::Sampler{&rng, nullptr});
    tape.backward(out.loss);
    REQUIRE(std::isfinite(out.loss.value()()));
    for (double g : x.grad()) REQUIRE(std::isfinite(g));
}

template <class F>
void for_every_policy(F f) {
    f(loss::CrossEntropy<double>{});
    f(loss::Unlikelihood<double>{});
    f(loss::Cringe<double>{});
    f(loss::PairwiseCringe<double>{});
    f(loss::SigmoidOnly<double>{});
}
}  // namespace

TEST_CASE("losses stay finite at logits of +-1e4, all-equal logits, V = 2, T = 1, B = 1", "[reliability][numerics]") {
    const loss::Batch batch{ids({{1, 2, 0}, {3, 1, 2}}), {0, 1}, 0, {{1, 0}}};
    Tensor<double> extreme = random_tensor({2, 3, 4}, 1);
    for (std::size_t i = 0; i < extreme.size(); ++i) extreme.data()[i] = (i % 3 == 0 ? 1e4 : (i % 3 == 1 ? -1e4 : 0.0));
    for_every_policy([&](const auto& p) { require_finite(p, extreme, batch); });
    for_every_policy([&](const auto& p) { require_finite(p, full<double>({2, 3, 4}, 7.0), batch); });
    const loss::Batch v2{ids({{1}, {0}}), {0, 1}, -1, {{1, 0}}};
    for_every_policy([&](const auto& p) { require_finite(p, random_tensor({2, 1, 2}, 2, 5.0), v2); });
    const loss::Batch single{ids({{1}}), {0}, -1, {{0, 0}}};
    for_every_policy([&](const auto& p) { require_finite(p, random_tensor({1, 1, 3}, 3), single); });
    // CE at +-1e4: the exact value, not inf: logsumexp(1e4, -1e4, 0, 1e4) - s_y
    Tape<double> tape;
    const auto out = loss::CrossEntropy<double>{}(tape.variable(from_values<double>({1, 1, 4}, {1e4, -1e4, 0, 1e4})), loss::Batch{ids({{1}}), {1}, -1, {}});
    CHECK(out.loss.value()() == Approx(2e4 + std::log(2.0)).epsilon(1e-15));
}

TEST_CASE("a full-length sequence (T = n_positions) runs forward and backward, finite", "[reliability][numerics]") {
    const nn::GptConfig c{.vocab_size = 20, .n_positions = 64, .n_embd = 16, .n_layer = 2, .n_head = 2};
    nn::Gpt<float> model(c, 1);
    IdTensor tokens = IdTensor::from_shape({2, 64});
    for (std::size_t i = 0; i < tokens.size(); ++i) tokens.data()[i] = static_cast<std::int64_t>(i % 20);
    Tape<float> tape;
    auto guard = tape.detect_anomaly();
    auto logits = model.forward(tape, tokens);
    IdTensor targets = tokens;
    auto out = loss::CrossEntropy<float>{}(logits, loss::Batch{targets, {1, 1}, -1, {}});
    tape.backward(out.loss);
    for (const auto& p : model.parameters())
        for (float g : p.grad) REQUIRE(std::isfinite(g));
}

TEST_CASE("float32 training on the tiny config stays finite for 10k steps", "[reliability][numerics][long]") {
    // The benchmarks' "tiny" config (docs/performance.md: vocab 64, d 64, 2 layers, 4 heads, seq 32,
    // batch 16), CRINGE loss with half the rows negative, a high learning rate. Under the sanitizers a
    // step is about 20x slower (Eigen's own GEMM, instrumented): there it runs 40 steps, 10 of them
    // warm-up, which walk every code path of a step the sanitizers can check; the long-run numerics
    // are the g++ pass's job (docs/testing.md).
    const bool sanitized = std::getenv("CRINGE_SANITIZED") != nullptr;
    const std::size_t steps = sanitized ? 40 : 10000;
    const std::size_t warmup = sanitized ? 10 : 100;
    const nn::GptConfig c{.vocab_size = 64, .n_positions = 32, .n_embd = 64, .n_layer = 2, .n_head = 4};
    nn::Gpt<float> model(c, 3);
    auto next = [](std::size_t step) {
        Rng rng(step);
        std::vector<train::Example> rows;
        for (std::size_t b = 0; b < 16; ++b) {
            Tokens context = {1}, reply;
            for (int t = 0; t < 8; ++t) context.push_back(static_cast<std::int64_t>(3 + rng.below(61)));
            for (int t = 0; t < 22; ++t) reply.push_back(static_cast<std::int64_t>(3 + (context[1] + t * static_cast<std::int64_t>(b % 3 + 1)) % 61));
            rows.push_back({context, reply, b % 2 == 0 ? loss::kNegative : loss::kPositive});
        }
        return train::make_batch(rows, 2, 0, 32);
    };
    const auto log = train::train(model, loss::Cringe<float>{}, next, {.steps = steps, .lr = 3e-3, .warmup = warmup, .clip = 1.0, .progress = false});
    for (double l : log.losses) REQUIRE(std::isfinite(l));
    for (const auto& p : model.parameters())
        for (float v : p.value) REQUIRE(std::isfinite(v));
}
