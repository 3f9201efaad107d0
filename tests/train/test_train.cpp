// The training loop: batch layout, overfitting, determinism, and the loss falling on a small language.
#include "../support/testing.hpp"

#include <cringe/generate/generate.hpp>
#include <cringe/train/trainer.hpp>

using namespace cringe;
using namespace cringe::train;
using cringe::nn::Gpt;
using cringe::nn::GptConfig;

TEST_CASE("make_batch: inputs, reply-only targets, padding", "[train][batch]") {
    // context <bos>=1 7 <sep>=3, reply 8 9, eos 2, pad 0
    const auto tb = make_batch({Example{{1, 7, 3}, {8, 9}, 1}, Example{{1, 3}, {5}, 0}}, 2, 0, 16);
    CHECK(tb.inputs == testing::ids({{1, 7, 3, 8, 9}, {1, 3, 5, 0, 0}}));
    CHECK(tb.batch.targets == testing::ids({{0, 0, 8, 9, 2}, {0, 5, 2, 0, 0}}));
    CHECK(tb.batch.labels == std::vector<int>{1, 0});
    CHECK(tb.tokens == 5);
    CHECK_THROWS_WITH(make_batch({Example{{1, 2, 3}, {4, 5}, 1}}, 2, 0, 4), Catch::Contains("needs 5 positions"));
    CHECK_THROWS_AS(make_batch({}, 2, 0, 4), ValueError);
}

namespace {
GptConfig small() { return GptConfig{.vocab_size = 10, .n_positions = 8, .n_embd = 16, .n_layer = 1, .n_head = 2}; }

std::function<TrainBatch(std::size_t)> fixed(const std::vector<Example>& examples) {
    return [examples](std::size_t) { return make_batch(examples, 2, 0, 8); };
}
}  // namespace

TEST_CASE("overfits a tiny corpus to near-zero loss, then generates it", "[train]") {
    Gpt<double> model(small(), 1);
    const std::vector<Example> corpus = {{{1, 4}, {5, 6, 7}, 1}, {{1, 8}, {9, 5}, 1}};
    const auto log = train::train(model, loss::CrossEntropy<double>{}, fixed(corpus), {.steps = 150, .lr = 1e-2, .warmup = 10, .progress = false});
    CHECK(log.losses.front() > 1.5);
    CHECK(log.losses.back() < 0.02);
    generate::Options o;
    o.eos_id = 2;
    CHECK(generate::generate(model, {{1, 4}, {1, 8}}, o) == std::vector<generate::Tokens>{{5, 6, 7}, {9, 5}});
}

TEST_CASE("the same seed gives bitwise-identical losses and parameters (CRINGE sampling included)", "[train][determinism]") {
    const std::vector<Example> data = {{{1, 4}, {5, 6, 7}, 1}, {{1, 4}, {5, 6, 8}, 0}, {{1, 9}, {3, 3}, -1}};
    auto run = [&] {
        Gpt<float> model(small(), 3);
        loss::Cringe<float> cringe;
        const auto log = train::train(model, cringe, fixed(data), {.steps = 20, .lr = 3e-3, .seed = 9, .progress = false});
        return std::make_pair(log.losses, model.parameters()[4].value);
    };
    const auto [l1, p1] = run();
    const auto [l2, p2] = run();
    CHECK(l1 == l2);
    CHECK(std::memcmp(p1.data(), p2.data(), p1.size() * sizeof(float)) == 0);
}

TEST_CASE("the loss falls on a small synthetic language (counting sequences)", "[train]") {
    // Sentences "a a+1 a+2 ..." over tokens 3..9: the next token is the previous plus one.
    std::vector<Example> data;
    for (std::int64_t start = 3; start <= 6; ++start) data.push_back({{1, start}, {start + 1, start + 2, start + 3}, 1});
    Gpt<float> model(small(), 2);
    const auto log = train::train(model, loss::CrossEntropy<float>{}, fixed(data), {.steps = 80, .lr = 5e-3, .progress = false});
    double early = 0, late = 0;
    for (int i = 0; i < 10; ++i) {
        early += log.losses[static_cast<std::size_t>(i)];
        late += log.losses[log.losses.size() - 1 - static_cast<std::size_t>(i)];
    }
    CHECK(late < 0.3 * early);
}
