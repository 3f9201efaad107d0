// docs/errors.md, checked row by row: the GPT configuration and forward pass, decoding, batches,
// the training loop, training states and checkpoints. Each case triggers one documented
// precondition violation and checks the exception's type and message, and what was left behind.
// (Tensors, ops, losses and optimisers: test_error_catalogue.cpp.)
#include "../io/temp_dir.hpp"
#include "../support/error_matchers.hpp"
#include "../support/testing.hpp"
#include "../support/training_states.hpp"

#include <cringe/io/training_state.hpp>
#include <cringe/train/trainer.hpp>

using namespace cringe;
using namespace cringe::testing;
using nn::Gpt;
using nn::GptConfig;

namespace {
// n_layer = 1: 4 + 12 = 16 parameter tensors.
GptConfig micro() { return GptConfig{.vocab_size = 7, .n_positions = 5, .n_embd = 4, .n_layer = 1, .n_head = 2}; }
GptConfig small() { return GptConfig{.vocab_size = 11, .n_positions = 8, .n_embd = 8, .n_layer = 1, .n_head = 2}; }

std::vector<Parameter<float>*> pointers(Gpt<float>& model) {
    std::vector<Parameter<float>*> out;
    for (auto& p : model.parameters()) out.push_back(&p);
    return out;
}

bool same_values(const Gpt<float>& a, const Gpt<float>& b) {
    for (std::size_t i = 0; i < a.parameters().size(); ++i) {
        const auto& x = a.parameters()[i].value;
        const auto& y = b.parameters()[i].value;
        if (x.shape() != y.shape() || !std::equal(x.begin(), x.end(), y.begin())) return false;
    }
    return true;
}
}  // namespace

// ---- GptConfig and the forward pass ----------------------------------------------------------------

TEST_CASE("catalogue: GptConfig with n_positions, n_layer, n_head or n_embd 0", "[errors][catalogue][nn]") {
    GptConfig c = micro();
    c.n_positions = 0;
    REQUIRE_THROWS_MATCHES(c.validate(), ValueError, Says("GptConfig: n_positions is 0; expected >= 1"));
    REQUIRE_THROWS_MATCHES(Gpt<float>(c, 1), ValueError, Says("GptConfig: n_positions is 0; expected >= 1"));
    c = micro();
    c.n_layer = 0;
    REQUIRE_THROWS_MATCHES(c.validate(), ValueError, Says("GptConfig: n_layer is 0; expected >= 1"));
    REQUIRE_THROWS_MATCHES(Gpt<float>(c), ValueError, Says("GptConfig: n_layer is 0; expected >= 1"));
    c = micro();
    c.n_head = 0;  // checked before n_embd % n_head, which would divide by zero
    REQUIRE_THROWS_MATCHES(c.validate(), ValueError, Says("GptConfig: n_head is 0; expected >= 1"));
    c = micro();
    c.n_embd = 0;  // 0 % n_head == 0: needs its own check and message
    REQUIRE_THROWS_MATCHES(c.validate(), ValueError, Says("GptConfig: n_embd is 0; expected >= 1"));
    REQUIRE_NOTHROW(micro().validate());
}

TEST_CASE("catalogue: training with dropout and no Rng", "[errors][catalogue][nn]") {
    GptConfig c = micro();
    c.dropout = 0.1;
    Gpt<float> model(c, 1);
    Tape<float> tape;
    const IdTensor tokens = ids({{1, 2, 3}});
    REQUIRE_THROWS_MATCHES(model.forward(tape, tokens, /*training=*/true), ValueError,
                           Says("Gpt::forward: training with dropout needs an Rng"));
    const auto eval = model.forward(tape, tokens).value();  // evaluation needs none
    Rng rng(2);
    const auto trained = model.forward(tape, tokens, true, &rng).value();
    REQUIRE(eval.shape() == trained.shape());
    REQUIRE_FALSE(std::equal(eval.begin(), eval.end(), trained.begin()));  // dropout did act
}

TEST_CASE("catalogue: forward_with the wrong number or shape of weights", "[errors][catalogue][nn]") {
    Gpt<float> model(micro(), 1);
    Tape<float> tape;
    const IdTensor tokens = ids({{1, 2}});
    REQUIRE_THROWS_MATCHES(model.forward_with(tape, tokens, {}), ValueError, Says("Gpt::forward_with: 0 weights given; expected 16"));
    std::vector<Var<float>> weights;
    for (const auto& p : model.parameters()) weights.push_back(tape.variable(p.value));
    weights.pop_back();
    REQUIRE_THROWS_MATCHES(model.forward_with(tape, tokens, weights), ValueError, Says("Gpt::forward_with: 15 weights given; expected 16"));
    weights.push_back(tape.variable(model.parameters().back().value));
    auto good = weights;
    weights[3] = tape.variable(zeros<float>({5}));
    REQUIRE_THROWS_MATCHES(model.forward_with(tape, tokens, weights), ShapeError,
                           Says("Gpt::forward_with: weight 3 (transformer.h.0.ln_1.bias) has shape [5]; expected [4]"));
    const auto with = model.forward_with(tape, tokens, good).value();
    const auto plain = model.forward(tape, tokens).value();
    REQUIRE(std::equal(with.begin(), with.end(), plain.begin()));
}

// ---- decoding --------------------------------------------------------------------------------------

TEST_CASE("catalogue: generate with beam_size 0, eos_id outside the vocabulary, prompt ids out of range", "[errors][catalogue][generate]") {
    Gpt<float> model(micro(), 1);
    generate::Options o;
    o.max_new_tokens = 2;
    o.strategy = generate::Strategy::beam;
    o.beam_size = 0;
    REQUIRE_THROWS_MATCHES(generate::generate(model, {{1}}, o), ValueError, Says("generate: beam_size is 0; expected >= 1"));
    o.strategy = generate::Strategy::greedy;  // beam_size only matters for beam search
    REQUIRE(generate::generate(model, {{1}}, o)[0].size() == 2);
    o.eos_id = 7;
    REQUIRE_THROWS_MATCHES(generate::generate(model, {{1}}, o), ValueError, Says("generate: eos_id 7 is outside the vocabulary of 7"));
    o.eos_id = -2;
    REQUIRE_THROWS_MATCHES(generate::generate(model, {{1}}, o), ValueError, Says("generate: eos_id -2 is outside the vocabulary of 7"));
    o.eos_id = 6;
    REQUIRE_NOTHROW(generate::generate(model, {{1}}, o));
    // A bad id names its prompt, for every strategy (greedy and sampling batch prompts by length, so
    // Gpt::forward would name a row of a batch of prompt 1 alone).
    for (auto strategy : {generate::Strategy::greedy, generate::Strategy::sample, generate::Strategy::beam}) {
        generate::Options s;
        s.strategy = strategy;
        s.max_new_tokens = 2;
        INFO("strategy " << static_cast<int>(strategy));
        REQUIRE_THROWS_MATCHES(generate::generate(model, {{1, 2}, {3, 7, 1}}, s), ValueError,
                               Says("generate: prompt 1 has token id 7 at position 1; expected 0 <= id < vocab_size = 7"));
        REQUIRE_THROWS_MATCHES(generate::generate(model, {{-1}}, s), ValueError,
                               Says("generate: prompt 0 has token id -1 at position 0; expected 0 <= id < vocab_size = 7"));
    }
}

// ---- batches and the training loop -----------------------------------------------------------------

TEST_CASE("catalogue: make_batch with an empty context", "[errors][catalogue][train]") {
    const std::vector<train::Example> rows = {{{1, 3}, {4}, loss::kPositive}, {{}, {4, 5}, loss::kNegative}};
    REQUIRE_THROWS_MATCHES(train::make_batch(rows, 2, 0, 8), ValueError,
                           Says("make_batch: example 1 has an empty context; expected at least <bos>"));
    const auto ok = train::make_batch({rows[0]}, 2, 0, 8);
    REQUIRE(ok.inputs.shape()[1] == 3);
    REQUIRE(ok.batch.targets(0, 1) == 4);
}

namespace {
train::TrainBatch tiny_batch(std::size_t) {
    return train::make_batch({{{1, 3}, {4, 5}, loss::kPositive}, {{1, 6}, {3, 3}, loss::kNegative}}, 2, 0, 8);
}
}  // namespace

TEST_CASE("catalogue: train refuses bad options before any step", "[errors][catalogue][train]") {
    Gpt<float> model(small(), 1);
    const Gpt<float> before(small(), 1);
    std::size_t batches = 0;
    auto counting = [&](std::size_t step) {
        ++batches;
        return tiny_batch(step);
    };
    const train::TrainOptions ok{.steps = 3, .lr = 1e-3, .progress = false};

    loss::Cringe<float> bad_k;
    bad_k.k = 0;
    REQUIRE_THROWS_MATCHES(train::train(model, bad_k, counting, ok), ValueError, Says("cringe: k is 0; expected k >= 1"));
    loss::Unlikelihood<float> bad_clamp;
    bad_clamp.clamp = 2;
    REQUIRE_THROWS_MATCHES(train::train(model, bad_clamp, counting, ok), ValueError, Says("unlikelihood: clamp is 2; expected 0 < clamp < 1"));

    auto o = ok;
    o.steps = 0;
    REQUIRE_THROWS_MATCHES(train::train(model, loss::CrossEntropy<float>{}, counting, o), ValueError,
                           Says("WarmupCosine: warmup_steps 0 and total_steps 0; expected 0 <= warmup_steps <= total_steps and total_steps >= 1"));
    o = ok;
    o.warmup = 5;
    REQUIRE_THROWS_MATCHES(train::train(model, loss::CrossEntropy<float>{}, counting, o), ValueError,
                           Says("WarmupCosine: warmup_steps 5 and total_steps 3; expected 0 <= warmup_steps <= total_steps and total_steps >= 1"));
    o = ok;
    o.min_lr = 0.1;
    REQUIRE_THROWS_MATCHES(train::train(model, loss::CrossEntropy<float>{}, counting, o), ValueError,
                           Says("WarmupCosine: peak_lr 0.001, min_lr 0.1; expected peak_lr >= min_lr >= 0"));
    o = ok;
    o.lr = -1;
    REQUIRE_THROWS_MATCHES(train::train(model, loss::CrossEntropy<float>{}, counting, o), ValueError, Says("AdamW: lr is -1; expected >= 0"));
    o = ok;
    o.weight_decay = -0.5;
    REQUIRE_THROWS_MATCHES(train::train(model, loss::CrossEntropy<float>{}, counting, o), ValueError,
                           Says("AdamW: weight_decay is -0.5; expected >= 0"));

    REQUIRE(batches == 0);                // nothing ran
    REQUIRE(same_values(model, before));  // nothing changed
    REQUIRE(train::train(model, loss::CrossEntropy<float>{}, counting, ok).losses.size() == 3);
    REQUIRE(batches == 3);
    REQUIRE_FALSE(same_values(model, before));
}

TEST_CASE("catalogue: train saving states where it cannot write", "[errors][catalogue][train]") {
    cringe_test::TempDir tmp;
    cringe_test::write_bytes(tmp / "file", "not a directory");
    Gpt<float> model(small(), 1);
    train::TrainOptions o{.steps = 2, .lr = 1e-3, .progress = false};
    o.checkpoint_every = 1;
    // Nothing to resume under a file (the load finds no state), and the first save cannot create the
    // directory: the on_checkpoint hook's error leaves train after step 1.
    const auto dir = tmp / "file" / "run";
    std::vector<std::size_t> steps;
    o.on_step = [&steps](const train::StepReport& r) { steps.push_back(r.step); };
    REQUIRE_THROWS_MATCHES(cringe_test::train_with_states(model, loss::CrossEntropy<float>{}, tiny_batch, o, dir), IoError,
                           SaysAll({"save_training_state: cannot create directory " + dir.string() + ": ", "Not a directory"}));
    REQUIRE(steps == std::vector<std::size_t>{1});
    REQUIRE(cringe_test::slurp_text(tmp / "file") == "not a directory");
}

// ---- training states ---------------------------------------------------------------------------

namespace {
struct SavedState {
    std::filesystem::path dir, state, optimizer;
};

// A real training state of small() after one AdamW step, saved at step 3.
SavedState save_state(const std::filesystem::path& dir) {
    Gpt<float> model(small(), 1);
    optim::AdamW<float> adam(pointers(model), {});
    for (auto& p : model.parameters()) p.grad.fill(0.5f);
    adam.step();
    io::save_training_state(dir, model, adam, {.step = 3, .rng = Rng(5).state()});
    return {dir, dir / "state-3", dir / "state-3" / "optimizer.safetensors"};
}

// Rewrites optimizer.safetensors after `edit` changed its tensors or metadata, and the state's
// manifest to match (so the checks behind the manifest's are reached).
template <class Edit>
void edit_optimizer_file(const std::filesystem::path& file, Edit edit) {
    auto tensors = io::load_safetensors<float>(file);
    auto meta = io::read_safetensors_metadata(file);
    edit(tensors, meta);
    std::vector<std::pair<std::string, Tensor<float>>> list(tensors.begin(), tensors.end());
    io::save_safetensors(file, list, io::dtype_of<float>(), meta);
    io::detail::write_state_manifest(file.parent_path(), *io::detail::state_step(file.parent_path().filename().string()));
}

// Loads into a fresh model and optimiser; on an exception, checks that neither changed.
void require_load_refused(const std::filesystem::path& dir, const std::vector<std::string>& fragments, const GptConfig& config = small()) {
    Gpt<float> model(config, 42);
    const Gpt<float> untouched(config, 42);
    optim::AdamW<float> adam(pointers(model), {});
    REQUIRE_THROWS_MATCHES(io::load_training_state(dir, model, adam), IoError, SaysAll(fragments));
    REQUIRE(same_values(model, untouched));
    REQUIRE(adam.steps_taken() == 0);
    for (const auto& m : adam.first_moments()) REQUIRE(std::all_of(m.begin(), m.end(), [](float x) { return x == 0.0f; }));
}
}  // namespace

TEST_CASE("catalogue: a training state that loads, for reference", "[errors][catalogue][resume]") {
    cringe_test::TempDir tmp;
    const auto saved = save_state(tmp / "run");
    Gpt<float> model(small(), 42);
    optim::AdamW<float> adam(pointers(model), {});
    const auto point = io::load_training_state(saved.dir, model, adam);
    REQUIRE(point.has_value());
    REQUIRE(point->step == 3);
    REQUIRE(adam.steps_taken() == 1);
    REQUIRE(adam.first_moments()[0](0, 0) == Approx(0.05f));  // (1 - beta1) * 0.5
    REQUIRE(Rng(5).next_u64() == [&] { Rng r; r.set_state(point->rng); return r.next_u64(); }());
}

TEST_CASE("catalogue: save_training_state where it cannot write", "[errors][catalogue][resume]") {
    cringe_test::TempDir tmp;
    Gpt<float> model(small(), 1);
    optim::AdamW<float> adam(pointers(model), {});
    cringe_test::write_bytes(tmp / "file", "x");
    REQUIRE_THROWS_MATCHES(io::save_training_state(tmp / "file", model, adam, {.step = 1, .rng = Rng(1).state()}), IoError,
                           SaysAll({"save_training_state: cannot create directory " + (tmp / "file").string() + ": "}));
    // the previous LATEST cannot be read (it is a directory): the new state is written, LATEST is not replaced
    std::filesystem::create_directories(tmp / "run" / "LATEST");
    REQUIRE_THROWS_MATCHES(io::save_training_state(tmp / "run", model, adam, {.step = 1, .rng = Rng(1).state()}), IoError,
                           Says("save_training_state: " + (tmp / "run" / "LATEST").string() + ": is a directory, expected a file"));
    REQUIRE(std::filesystem::is_directory(tmp / "run" / "LATEST"));
}

TEST_CASE("catalogue: load_training_state with LATEST unreadable or naming no checkpoint", "[errors][catalogue][resume]") {
    cringe_test::TempDir tmp;
    const auto saved = save_state(tmp / "run");
    std::filesystem::remove(saved.dir / "LATEST");
    std::filesystem::create_directories(saved.dir / "LATEST");
    require_load_refused(saved.dir, {"load_training_state: " + (saved.dir / "LATEST").string() + ": is a directory, expected a file"});
    std::filesystem::remove(saved.dir / "LATEST");
    cringe_test::write_bytes(saved.dir / "LATEST", "state-9");
    require_load_refused(saved.dir, {"load_training_state: " + (saved.dir / "state-9" / "MANIFEST.json").string() + ": No such file or directory"});
}

TEST_CASE("catalogue: load_training_state into a model of another configuration", "[errors][catalogue][resume]") {
    cringe_test::TempDir tmp;
    const auto saved = save_state(tmp / "run");
    const std::string expected = "load_training_state: " + saved.state.string() + ": the saved model's configuration differs from the model being trained";
    GptConfig heads = small();
    heads.n_head = 4;  // same parameter count and n_layer: only n_head differs
    require_load_refused(saved.dir, {expected}, heads);
    GptConfig wider = small();
    wider.n_embd = 16;
    require_load_refused(saved.dir, {expected}, wider);
}

TEST_CASE("catalogue: optimizer.safetensors without a moment, or with a misshapen one", "[errors][catalogue][resume]") {
    cringe_test::TempDir tmp;
    const auto saved = save_state(tmp / "run");
    edit_optimizer_file(saved.optimizer, [](auto& tensors, auto&) { tensors.erase("m.transformer.wte.weight"); });
    require_load_refused(saved.dir, {"load_training_state: " + saved.state.string() + ": optimizer.safetensors lacks 'm.transformer.wte.weight'"});
    const auto again = save_state(tmp / "run2");
    edit_optimizer_file(again.optimizer, [](auto& tensors, auto&) { tensors["v.transformer.ln_f.bias"] = zeros<float>({3}); });
    require_load_refused(again.dir, {"load_training_state: " + again.state.string() +
                                     ": optimizer.safetensors has 'v.transformer.ln_f.bias' of shape [3]; the parameter has [8]"});
}

TEST_CASE("catalogue: optimizer.safetensors metadata missing or malformed", "[errors][catalogue][resume]") {
    cringe_test::TempDir tmp;
    int n = 0;
    auto state_with = [&](auto edit) {
        const auto saved = save_state(tmp / ("run" + std::to_string(n++)));
        edit_optimizer_file(saved.optimizer, [&](auto&, auto& meta) { edit(meta); });
        return saved;
    };
    auto s = state_with([](auto& meta) { meta.erase("rng"); });
    require_load_refused(s.dir, {"load_training_state: " + s.state.string() + ": optimizer.safetensors metadata lacks 'rng'"});
    s = state_with([](auto& meta) { meta.erase("step"); });
    require_load_refused(s.dir, {"load_training_state: " + s.state.string() + ": optimizer.safetensors metadata lacks 'step'"});
    for (const char* bad : {"x", "", "-"}) {
        INFO("step '" << bad << "'");
        s = state_with([&](auto& meta) { meta["step"] = bad; });
        require_load_refused(s.dir, {"load_training_state: " + s.state.string() + ": metadata 'step' or 'adam_steps' is not a number"});
    }
    s = state_with([](auto& meta) { meta["adam_steps"] = "many"; });
    require_load_refused(s.dir, {"load_training_state: " + s.state.string() + ": metadata 'step' or 'adam_steps' is not a number"});
    for (const char* bad : {"garbage", "1 2 3 4 5", ""}) {
        INFO("rng '" << bad << "'");
        s = state_with([&](auto& meta) { meta["rng"] = bad; });
        require_load_refused(s.dir, {"load_training_state: " + s.state.string() + ": metadata 'rng' is not five integers and a flag"});
    }
}

// ---- checkpoints -------------------------------------------------------------------------------

TEST_CASE("catalogue: save_pretrained where the directory cannot be created", "[errors][catalogue][checkpoint]") {
    cringe_test::TempDir tmp;
    cringe_test::write_bytes(tmp / "file", "x");
    const Gpt<float> model(micro(), 1);
    REQUIRE_THROWS_MATCHES(io::save_pretrained(model, tmp / "file" / "model"), IoError,
                           Says("save_pretrained: cannot create directory " + (tmp / "file" / "model").string() + ": Not a directory"));
    REQUIRE(cringe_test::slurp_text(tmp / "file") == "x");
    io::save_pretrained(model, tmp / "ok" / "model");  // a missing parent is created
    REQUIRE(same_values(io::load_pretrained<float>(tmp / "ok" / "model"), model));
}
