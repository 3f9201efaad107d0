// Training states: validated contents, one atomic unit with a checked manifest, resumable without
// LATEST, never deleted unless superseded, and leftovers of killed writers cleaned.
#include "../io/temp_dir.hpp"
#include "../support/testing.hpp"
#include "../support/training_states.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <cringe/io/training_state.hpp>
#include <cringe/train/trainer.hpp>

using namespace cringe;

namespace {
namespace state_integrity {

nn::GptConfig integrity_config() { return nn::GptConfig{.vocab_size = 11, .n_positions = 8, .n_embd = 8, .n_layer = 1, .n_head = 2}; }

std::vector<Parameter<float>*> integrity_pointers(nn::Gpt<float>& model) {
    std::vector<Parameter<float>*> out;
    for (auto& p : model.parameters()) out.push_back(&p);
    return out;
}

/// Saves a state of `step` whose weights and both moments all equal `k`, with `adam_steps` = 1.
void save_uniform_state(const std::filesystem::path& dir, std::size_t step, float k) {
    nn::Gpt<float> model(integrity_config(), 1);
    for (auto& p : model.parameters()) p.value.fill(k);
    optim::AdamW<float> adam(integrity_pointers(model), {});
    std::vector<Tensor<float>> moments;
    for (const auto& p : model.parameters()) moments.push_back(p.value);  // all k
    adam.load_state(moments, moments, 1);
    io::save_training_state(dir, model, adam, {.step = step, .rng = Rng(3).state()});
}

/// Rewrites optimizer.safetensors of `state_dir` after `edit`, and its manifest to match.
template <class Edit>
void tamper_optimizer(const std::filesystem::path& state_dir, Edit edit) {
    const auto file = state_dir / "optimizer.safetensors";
    auto tensors = io::load_safetensors<float>(file);
    auto meta = io::read_safetensors_metadata(file);
    edit(tensors, meta);
    std::vector<std::pair<std::string, Tensor<float>>> list(tensors.begin(), tensors.end());
    io::save_safetensors(file, list, io::dtype_of<float>(), meta);
    io::detail::write_state_manifest(state_dir, *io::detail::state_step(state_dir.filename().string()));
}

std::string load_error(const std::filesystem::path& dir) {
    nn::Gpt<float> model(integrity_config(), 7);
    optim::AdamW<float> adam(integrity_pointers(model), {});
    try {
        io::load_training_state(dir, model, adam);
    } catch (const IoError& e) {
        return e.what();
    }
    return "(loaded)";
}

std::optional<std::size_t> loaded_step(const std::filesystem::path& dir) {
    nn::Gpt<float> model(integrity_config(), 7);
    optim::AdamW<float> adam(integrity_pointers(model), {});
    const auto point = io::load_training_state(dir, model, adam);
    return point ? std::optional<std::size_t>(point->step) : std::nullopt;
}

std::vector<std::string> entries(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace state_integrity
}  // namespace

// Regression (issue: hostile inputs, item 7): finite but impossible optimiser state was accepted and
// every weight became NaN at the first resumed update (sqrt of a negative second moment; a step
// count of -1 read as 2^64 - 1, which wraps AdamW's bias correction to 1 - beta^0 = 0).
TEST_CASE("training state: impossible optimiser moments and step counts are refused", "[reliability][resume][errors]") {
    using namespace state_integrity;
    cringe_test::TempDir tmp;
    int n = 0;
    auto state_with = [&](auto edit) {
        const auto dir = tmp.path() / ("run" + std::to_string(n++));
        save_uniform_state(dir, 3, 0.25f);
        tamper_optimizer(dir / "state-3", edit);
        return dir;
    };
    auto dir = state_with([](auto& tensors, auto&) { tensors.at("v.transformer.ln_f.bias")(2) = -0.5f; });
    CHECK(load_error(dir) == "load_training_state: " + (dir / "state-3").string() +
                                 ": optimizer.safetensors 'v.transformer.ln_f.bias' element 2 is -0.5; expected a second moment >= 0");
    for (const char* bad : {"-1", "18446744073709551615", "3x", " 3", "+3", "9223372036854775808"}) {
        INFO("adam_steps " << bad);
        dir = state_with([&](auto&, auto& meta) { meta["adam_steps"] = bad; });
        CHECK_THAT(load_error(dir), Catch::Contains("metadata 'step' or 'adam_steps' is not a number"));
        dir = state_with([&](auto&, auto& meta) { meta["step"] = bad; });
        CHECK_THAT(load_error(dir), Catch::Contains("metadata 'step' or 'adam_steps' is not a number"));
    }
    dir = state_with([](auto&, auto& meta) { meta["adam_steps"] = "4"; });
    CHECK(load_error(dir) == "load_training_state: " + (dir / "state-3").string() +
                                 ": metadata 'adam_steps' is 4, more optimiser steps than training steps (3)");
    dir = state_with([](auto&, auto& meta) { meta["step"] = "2"; });
    CHECK(load_error(dir) == "load_training_state: " + (dir / "state-3").string() + ": metadata 'step' is 2; the directory name says 3");
    // the state as saved resumes, and one update keeps every weight finite
    dir = tmp.path() / "good";
    save_uniform_state(dir, 3, 0.25f);
    nn::Gpt<float> model(integrity_config(), 7);
    optim::AdamW<float> adam(integrity_pointers(model), {});
    REQUIRE(io::load_training_state(dir, model, adam)->step == 3);  // into the model and the optimiser built on it
    for (auto& p : model.parameters()) p.grad.fill(0.1f);
    adam.step();
    for (const auto& p : model.parameters()) CHECK(std::all_of(p.value.begin(), p.value.end(), [](float w) { return std::isfinite(w); }));
}

TEST_CASE("training state: a state is checked against its manifest before it is read", "[reliability][resume][errors]") {
    using namespace state_integrity;
    cringe_test::TempDir tmp;
    const auto a = tmp.path() / "a", b = tmp.path() / "b";
    save_uniform_state(a, 3, 0.25f);
    save_uniform_state(b, 3, 0.5f);
    // files of two saves mixed: same sizes, different bytes
    std::filesystem::copy_file(b / "state-3" / "optimizer.safetensors", a / "state-3" / "optimizer.safetensors",
                               std::filesystem::copy_options::overwrite_existing);
    const std::string error = load_error(a);
    CHECK_THAT(error, Catch::StartsWith("load_training_state: " + (a / "state-3").string() + ": optimizer.safetensors has checksum "));
    CHECK_THAT(error, Catch::EndsWith("(a damaged training state, or files of different saves)"));
    // a truncated file, a missing manifest, a manifest of another step
    std::filesystem::resize_file(b / "state-3" / "model.safetensors", 100);
    CHECK_THAT(load_error(b), Catch::Contains("model.safetensors is 100 bytes; the manifest says "));
    save_uniform_state(b, 3, 0.5f);
    std::filesystem::rename(b / "state-3" / "MANIFEST.json", b / "state-3" / "manifest.json");
    CHECK_THAT(load_error(b), Catch::Contains("MANIFEST.json: No such file or directory"));
    std::filesystem::rename(b / "state-3" / "manifest.json", b / "state-3" / "MANIFEST.json");
    std::filesystem::rename(b / "state-3", b / "state-4");
    cringe_test::write_bytes(b / "LATEST", "state-4");
    CHECK_THAT(load_error(b), Catch::Contains("MANIFEST.json has step 3; the directory name says 4"));
    cringe_test::write_bytes(b / "LATEST", "../../etc");
    CHECK_THAT(load_error(b), Catch::Contains("LATEST: holds \"../../etc\"; expected the name of a state, state-<step>"));
    // a state directory that is a file; a step AdamW's counter could not take
    cringe_test::write_bytes(tmp.path() / "afile", "x");
    CHECK(load_error(tmp.path() / "afile") == "load_training_state: " + (tmp.path() / "afile").string() + ": is not a directory");
    nn::Gpt<float> model(integrity_config(), 1);
    optim::AdamW<float> adam(integrity_pointers(model), {});
    CHECK_THROWS_WITH(io::save_training_state(tmp.path() / "c", model, adam, {.step = std::size_t{1} << 63, .rng = Rng(1).state()}),
                      "save_training_state: step 9223372036854775808 is too large; expected < 2^63");
    CHECK_FALSE(std::filesystem::exists(tmp.path() / "c"));
}

// Regression (issue: hostile inputs, item 7): with state directories present but LATEST missing,
// training restarted at step 0 and its first save deleted the old states.
TEST_CASE("training state: without LATEST, resume from the newest complete state and delete nothing", "[reliability][resume]") {
    using namespace state_integrity;
    cringe_test::TempDir tmp;
    const auto dir = tmp.path() / "run";
    for (std::size_t step = 1; step <= 3; ++step) save_uniform_state(dir, step, static_cast<float>(step));
    CHECK(entries(dir) == std::vector<std::string>{"LATEST", "state-2", "state-3"});  // one state of history
    std::filesystem::remove(dir / "LATEST");
    CHECK(loaded_step(dir) == 3u);
    std::filesystem::resize_file(dir / "state-3" / "optimizer.safetensors", 10);  // newest incomplete: the one before
    CHECK(loaded_step(dir) == 2u);
    std::filesystem::remove(dir / "state-2" / "MANIFEST.json");
    const std::string error = load_error(dir);
    CHECK_THAT(error, Catch::StartsWith("load_training_state: " + dir.string() +
                                        ": LATEST is missing and none of its 2 state directories is complete, so there is nothing to resume"));
    CHECK_THAT(error, Catch::Contains("optimizer.safetensors is 10 bytes") && Catch::Contains("MANIFEST.json: No such file"));
    CHECK(entries(dir) == std::vector<std::string>{"state-2", "state-3"});  // nothing deleted by loading

    // A save without LATEST (a run started afresh beside old states) deletes none of them.
    save_uniform_state(dir, 1, 9.0f);
    CHECK(entries(dir) == std::vector<std::string>{"LATEST", "state-1", "state-2", "state-3"});
}

TEST_CASE("training state: a run without LATEST resumes from the newest state instead of step 0", "[reliability][resume]") {
    using namespace state_integrity;
    cringe_test::TempDir tmp;
    const auto dir = tmp.path() / "run";
    const auto batch = [](std::size_t step) {
        const std::int64_t t = 3 + static_cast<std::int64_t>(step % 5);
        return train::make_batch({{{1, t}, {t + 1, 4}, loss::kPositive}}, 2, 0, 8);
    };
    train::TrainOptions options{.steps = 3, .lr = 1e-3, .progress = false, .checkpoint_every = 1};
    nn::Gpt<float> first(integrity_config(), 1);
    REQUIRE(cringe_test::train_with_states(first, loss::CrossEntropy<float>{}, batch, options, dir).losses.size() == 3);
    CHECK(entries(dir) == std::vector<std::string>{"LATEST", "state-2", "state-3"});
    std::filesystem::remove(dir / "LATEST");
    options.steps = 5;
    nn::Gpt<float> resumed(integrity_config(), 2);
    CHECK(cringe_test::train_with_states(resumed, loss::CrossEntropy<float>{}, batch, options, dir).losses.size() == 2);  // steps 3 and 4
    // state-4 was saved without a previous LATEST (nothing removed), state-5 supersedes states < 4
    CHECK(entries(dir) == std::vector<std::string>{"LATEST", "state-4", "state-5"});
}

// Regression (issue: hostile inputs, item 7): a state was several files written one by one into
// state-<step>/, so a writer killed between them (re-saving a step) left a state that mixed two
// saves and still loaded. Now each load gives one save whole, and the next load removes the
// temporaries the killed writers left.
TEST_CASE("training state: a writer killed at any moment never leaves a mixed state", "[reliability][resume][checkpoint]") {
    using namespace state_integrity;
    cringe_test::TempDir tmp;
    const auto dir = tmp.path() / "run";
    save_uniform_state(dir, 5, 1.0f);
    for (int round = 0; round < 16; ++round) {
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0)  // re-saves step 5 with values 2, 3, 4, ... forever
            for (int k = 2;; ++k) save_uniform_state(dir, 5, static_cast<float>(k));
        std::this_thread::sleep_for(std::chrono::microseconds(3000 + 2300 * round));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);

        nn::Gpt<float> model(integrity_config(), 7);
        optim::AdamW<float> adam(integrity_pointers(model), {});
        const auto point = io::load_training_state(dir, model, adam);
        REQUIRE(point.has_value());
        REQUIRE(point->step == 5);
        const float k = model.parameters()[0].value(0, 0);
        INFO("round " << round << ", weights of save " << k);
        for (std::size_t i = 0; i < model.parameters().size(); ++i) {
            const auto same = [k](const Tensor<float>& t) { return std::all_of(t.begin(), t.end(), [k](float x) { return x == k; }); };
            REQUIRE(same(model.parameters()[i].value));
            REQUIRE(same(adam.first_moment(i)));
            REQUIRE(same(adam.second_moment(i)));
        }
        // the killed writer's temporaries are gone after the load
        CHECK(entries(dir) == std::vector<std::string>{"LATEST", "state-5"});
    }
}
