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
    CHECK(generate::generate(model, {{1, 4}, {1, 8}}, o) == std::vector<Tokens>{{5, 6, 7}, {9, 5}});
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

namespace {
// XOR: four points, labels 0 1 1 0; the batch is any struct with `inputs`.
struct XorBatch {
    Tensor<double> inputs = from_values<double>({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1});
    Tensor<double> targets = from_values<double>({4, 1}, {0, 1, 1, 0});
};

Var<double> xor_mse(const Var<double>& prediction, const XorBatch& batch) {
    const Var<double> error = prediction - prediction.tape().constant(batch.targets);
    return mean(error * error);
}
}  // namespace

TEST_CASE("the loop trains any Model: an Mlp learns XOR with AdamW and the schedule, bitwise reproducibly", "[train][model]") {
    auto run = [] {
        Rng rng(3);
        nn::Mlp<double> mlp({2, 8, 1}, rng, nn::Activation::tanh);
        const auto log = train::train(mlp, xor_mse, [](std::size_t) { return XorBatch{}; },
                                      {.steps = 300, .lr = 3e-2, .warmup = 10, .weight_decay = 0.0, .progress = false});
        return std::make_pair(log, mlp.parameters()[0].value);
    };
    const auto [log, w] = run();
    REQUIRE(log.losses.size() == 300);
    CHECK(log.losses.front() > 0.1);   // XOR is not linear: the untrained net is far off
    CHECK(log.losses.back() < 1e-3);   // measured below 1e-10 with this seed
    CHECK(log.tokens == 0);            // XorBatch counts no tokens
    const auto [log2, w2] = run();
    CHECK(log.losses == log2.losses);
    CHECK(std::memcmp(w.data(), w2.data(), w.size() * sizeof(double)) == 0);
}

TEST_CASE("the loop hands the run's Rng to a loss that takes one", "[train][model]") {
    Rng init(3);
    nn::Linear<double> layer(2, 1, init);
    std::vector<double> draws;
    const auto sampling_loss = [&draws](const Var<double>& prediction, const XorBatch& batch, Rng& rng) {
        draws.push_back(rng.uniform());
        return xor_mse(prediction, batch);
    };
    train::train(layer, sampling_loss, [](std::size_t) { return XorBatch{}; }, {.steps = 2, .seed = 5, .progress = false});
    Rng expected(5);
    REQUIRE(draws.size() == 2);
    CHECK(draws[0] == expected.uniform());
    CHECK(draws[1] == expected.uniform());
}

TEST_CASE("the loop with the caller's optimiser: the same run, and a resume from the hook's point is bitwise the same", "[train][model][hooks]") {
    const TrainOptions options{.steps = 40, .lr = 3e-2, .warmup = 5, .weight_decay = 0.0, .seed = 4, .progress = false, .checkpoint_every = 15};
    const auto xor_batch = [](std::size_t) { return XorBatch{}; };
    Rng init(3);
    nn::Mlp<double> own(std::vector<std::size_t>{2, 8, 1}, init, nn::Activation::tanh);
    nn::Mlp<double> given = own;
    nn::Mlp<double> resumed = own;
    const auto log = train::train(own, xor_mse, xor_batch, options);

    // train(model, optimizer, ...): the caller keeps the optimiser, and on_checkpoint says where the run stands.
    auto optimizer = make_optimizer(given, options);
    std::vector<ResumePoint> points;
    TrainOptions hooked = options;
    hooked.on_checkpoint = [&points](const ResumePoint& point) { points.push_back(point); };
    CHECK(train::train(given, optimizer, xor_mse, xor_batch, hooked).losses == log.losses);
    CHECK((given.parameters()[0].value == own.parameters()[0].value));
    REQUIRE(points.size() == 3);  // every 15 steps and at the end
    CHECK(points[0].step == 15);
    CHECK(points[2].step == 40);
    CHECK(optimizer.steps_taken() == 40);

    // Resume from step 15 with the state the run had there (held in memory here; io/training_state.hpp writes it to files).
    auto optimizer15 = make_optimizer(resumed, options);
    TrainOptions run = options;  // the schedule's length is part of the run: stop it early by throwing from a hook
    struct Stop {};
    run.on_checkpoint = [](const ResumePoint& point) { if (point.step == 15) throw Stop{}; };
    REQUIRE_THROWS_AS(train::train(resumed, optimizer15, xor_mse, xor_batch, run), Stop);
    run.on_checkpoint = {};
    run.resume_from = points[0];
    const auto rest = train::train(resumed, optimizer15, xor_mse, xor_batch, run);
    REQUIRE(rest.losses.size() == 25);
    CHECK(rest.losses.back() == log.losses.back());
    for (std::size_t i = 0; i < own.parameters().size(); ++i) {
        const auto& a = own.parameters()[i].value;
        const auto& b = resumed.parameters()[i].value;
        CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
    }
}

TEST_CASE("the loop refuses a resume point without its optimiser, and an optimiser of another model", "[train][model][errors]") {
    nn::Mlp<double> mlp({2, 1});
    const auto xor_batch = [](std::size_t) { return XorBatch{}; };
    TrainOptions options{.steps = 1, .progress = false};
    options.resume_from = ResumePoint{.step = 3};
    REQUIRE_THROWS_WITH(train::train(mlp, xor_mse, xor_batch, options),
                        "train: options.resume_from is step 3 but no optimiser holds that state; expected train(model, optimizer, ...) "
                        "with the optimiser load_training_state filled");
    options.resume_from.reset();
    nn::Mlp<double> other({2, 1});
    auto foreign = make_optimizer(other, options);
    REQUIRE_THROWS_WITH(train::train(mlp, foreign, xor_mse, xor_batch, options),
                        "train: the optimiser updates 2 parameters that are not the model's 2 (in order); "
                        "expected an optimiser built on this model (make_optimizer)");
    TrainOptions decayed = options;
    decayed.weight_decay = 0.5;
    auto optimizer = make_optimizer(mlp, decayed);
    REQUIRE_THROWS_WITH(train::train(mlp, optimizer, xor_mse, xor_batch, options),
                        "train: the optimiser's weight_decay is 0.5 but options.weight_decay is 0.01; expected the same "
                        "(make_optimizer builds the optimiser from the options)");
}

TEST_CASE("the loop reports each step and each checkpoint through its hooks", "[train][hooks]") {
    Gpt<float> model(small(), 5);
    std::vector<StepReport> reports;
    std::vector<std::size_t> saved;
    TrainOptions options{.steps = 4, .lr = 1e-2, .warmup = 2, .progress = true};  // a hook replaces the progress line
    options.checkpoint_every = 3;
    options.on_step = [&reports](const StepReport& r) { reports.push_back(r); };
    options.on_checkpoint = [&saved](const ResumePoint& point) { saved.push_back(point.step); };
    const auto log = train::train(model, loss::CrossEntropy<float>{}, fixed({{{1, 4}, {5, 6}, 1}}), options);
    REQUIRE(reports.size() == 4);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(reports[i].step == i + 1);
        CHECK(reports[i].steps == 4);
        CHECK(reports[i].loss == log.losses[i]);
        CHECK(reports[i].tokens == 3 * (i + 1));  // reply 5 6 and its eos
    }
    CHECK(reports[0].lr == Approx(5e-3));  // warm-up: peak * 1/2
    CHECK(reports[1].lr == Approx(1e-2));
    CHECK(saved == std::vector<std::size_t>{3, 4});  // every 3 steps and at the end
}

