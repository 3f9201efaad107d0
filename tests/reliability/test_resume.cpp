// Resuming: a run interrupted after a checkpoint and resumed from it ends bitwise identical to an
// uninterrupted run (same seed, single-threaded), CRINGE sampling included. The states are saved
// from the loop's on_checkpoint hook and loaded into the caller's model and optimiser
// (support/training_states.hpp, as docs/training.md shows).
#include "../io/temp_dir.hpp"
#include "../support/testing.hpp"
#include "../support/training_states.hpp"

#include <cringe/io/training_state.hpp>
#include <cringe/train/trainer.hpp>

using namespace cringe;

namespace {
struct Crash {};

train::TrainBatch batch_for(std::size_t step) {  // the data order is a function of the step
    Rng rng(100 + step);
    std::vector<train::Example> rows;
    for (int b = 0; b < 4; ++b) {
        Tokens context = {1, static_cast<std::int64_t>(3 + rng.below(10))}, reply;
        for (int t = 0; t < 4; ++t) reply.push_back(static_cast<std::int64_t>(3 + rng.below(10)));
        rows.push_back({context, reply, b % 2 ? loss::kPositive : loss::kNegative});
    }
    return train::make_batch(rows, 2, 0, 8);
}

const nn::GptConfig config{.vocab_size = 13, .n_positions = 8, .n_embd = 16, .n_layer = 1, .n_head = 2};
}  // namespace

TEST_CASE("an interrupted run resumed from its last checkpoint equals the uninterrupted run", "[reliability][resume]") {
    cringe_test::TempDir tmp;
    const train::TrainOptions base{.steps = 30, .lr = 3e-3, .warmup = 5, .seed = 7, .progress = false};

    nn::Gpt<float> straight(config, 1);
    const auto full = train::train(straight, loss::Cringe<float>{}, batch_for, base);

    train::TrainOptions with_checkpoints = base;
    with_checkpoints.checkpoint_every = 6;
    nn::Gpt<float> first(config, 1);
    auto crashing = [](std::size_t step) {
        if (step == 14) throw Crash{};  // dies between checkpoints (the last one was after step 12)
        return batch_for(step);
    };
    CHECK_THROWS_AS(cringe_test::train_with_states(first, loss::Cringe<float>{}, crashing, with_checkpoints, tmp.path() / "run"), Crash);
    CHECK(std::filesystem::exists(tmp.path() / "run" / "LATEST"));

    nn::Gpt<float> resumed(config, 99);  // a different init: everything must come from the checkpoint
    const auto rest = cringe_test::train_with_states(resumed, loss::Cringe<float>{}, batch_for, with_checkpoints, tmp.path() / "run");
    REQUIRE(rest.losses.size() == 30 - 12);
    for (std::size_t i = 0; i < rest.losses.size(); ++i) CHECK(rest.losses[i] == full.losses[12 + i]);
    for (std::size_t i = 0; i < straight.parameters().size(); ++i) {
        const auto& a = straight.parameters()[i].value;
        const auto& b = resumed.parameters()[i].value;
        CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    }
}

TEST_CASE("a damaged training state is an error naming the file", "[reliability][resume][errors]") {
    cringe_test::TempDir tmp;
    train::TrainOptions o{.steps = 4, .lr = 1e-3, .progress = false};
    o.checkpoint_every = 2;
    nn::Gpt<float> model(config, 1);
    cringe_test::train_with_states(model, loss::CrossEntropy<float>{}, batch_for, o, tmp.path() / "run");
    const std::string latest = cringe_test::slurp_text(tmp.path() / "run" / "LATEST");
    std::filesystem::resize_file(tmp.path() / "run" / latest / "optimizer.safetensors", 100);
    nn::Gpt<float> again(config, 1);
    CHECK_THROWS_WITH(cringe_test::train_with_states(again, loss::CrossEntropy<float>{}, batch_for, o, tmp.path() / "run"),
                      Catch::Contains("optimizer.safetensors"));
}

TEST_CASE("load_training_state loads into the model and its optimiser: no object is replaced", "[reliability][resume]") {
    cringe_test::TempDir tmp;
    nn::Gpt<float> trained(config, 6);
    cringe_test::train_with_states(trained, loss::CrossEntropy<float>{}, batch_for, {.steps = 2, .progress = false, .checkpoint_every = 2},
                                   tmp.path() / "run");
    nn::Gpt<float> resumed(config, 7);
    auto adam = train::make_optimizer(resumed, {});
    const Parameter<float>* first = &resumed.parameters()[0];
    const auto point = io::load_training_state(tmp.path() / "run", resumed, adam);
    REQUIRE(point);
    CHECK(point->step == 2);
    CHECK(&resumed.parameters()[0] == first);
    const auto& params = adam.parameters();
    REQUIRE(params.size() == trained.parameters().size());
    for (std::size_t i = 0; i < params.size(); ++i) {
        INFO(params[i]->name);
        CHECK(params[i] == &resumed.parameters()[i]);
        CHECK((params[i]->value == trained.parameters()[i].value));  // through the optimiser's own pointers
    }
    CHECK(adam.steps_taken() == 2);

    // An optimiser of another model is refused before anything is read or changed.
    nn::Gpt<float> other(config, 8);
    auto foreign = train::make_optimizer(other, {});
    CHECK_THROWS_WITH(io::load_training_state(tmp.path() / "run", resumed, foreign),
                      "load_training_state: the optimiser updates 16 parameters that are not the model's 16 (in order); "
                      "expected an optimiser built on this model (train::make_optimizer)");
    CHECK(foreign.steps_taken() == 0);
}
