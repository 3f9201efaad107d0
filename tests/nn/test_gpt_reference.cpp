// Cross-implementation test: a GPT-2 checkpoint written by the independent PyTorch reference
// (tests/reference/gpt2_ref.py) loads here and gives the same logits, losses and every parameter
// gradient to 1e-10 (relative to each tensor's largest entry: some entries are exactly zero in exact
// arithmetic, e.g. the key bias, and hold only rounding noise in either implementation).
#include "../support/testing.hpp"

#include <fstream>

#include <cringe/io/checkpoint.hpp>
#include <cringe/loss/losses.hpp>

using namespace cringe;

namespace {
const std::string reference_dir = std::string(CRINGE_SOURCE_DIR) + "/tests/reference/";

IdTensor id_matrix(const nlohmann::json& j) {
    IdTensor out = IdTensor::from_shape({j.size(), j[0].size()});
    for (std::size_t b = 0; b < j.size(); ++b)
        for (std::size_t t = 0; t < j[b].size(); ++t) out(b, t) = j[b][t].get<std::int64_t>();
    return out;
}

void flatten(const nlohmann::json& j, std::vector<double>& out) {
    if (j.is_array())
        for (const auto& e : j) flatten(e, out);
    else out.push_back(j.get<double>());
}

/// max |a - b| / max(1e-300, max |b|) over a tensor.
double relative_to_largest(const Tensor<double>& actual, const nlohmann::json& expected_json) {
    std::vector<double> expected;
    flatten(expected_json, expected);
    REQUIRE(expected.size() == actual.size());
    double largest = 0, worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        largest = std::max(largest, std::abs(expected[i]));
        worst = std::max(worst, std::abs(actual.data()[i] - expected[i]));
    }
    return largest > 0 ? worst / largest : worst;
}
}  // namespace

TEST_CASE("a checkpoint saved by the PyTorch reference loads and matches logits, losses and gradients", "[nn][reference]") {
    std::ifstream in(reference_dir + "gpt2_fixture.json");
    REQUIRE(in.good());
    const auto fixture = nlohmann::json::parse(in);
    auto model = io::load_pretrained<double>(reference_dir + "gpt2_tiny");
    CHECK(model.config().vocab_size == 11);
    const IdTensor tokens = id_matrix(fixture.at("tokens"));
    const IdTensor targets = id_matrix(fixture.at("targets"));
    {
        Tape<double> tape;
        const auto logits = model.forward(tape, tokens).value();
        CHECK(relative_to_largest(logits, fixture.at("logits")) < 1e-12);
    }
    for (const auto& c : fixture.at("cases")) {
        INFO("case " << c.at("name"));
        model.zero_grad();
        Tape<double> tape;
        auto logits = model.forward(tape, tokens);
        std::vector<int> labels = c.at("labels").get<std::vector<int>>();
        const loss::Batch batch{targets, labels, fixture.at("pad_id").get<std::int64_t>(), {}};
        std::optional<IdTensor> sampled;
        if (!c.at("sampled").is_null()) sampled = id_matrix(c.at("sampled"));
        const loss::Sampler sampler{nullptr, sampled ? &*sampled : nullptr};
        const std::string name = c.at("loss").get<std::string>();
        loss::Output<double> out = name == "cringe" ? loss::Cringe<double>{}(logits, batch, sampler) : loss::CrossEntropy<double>{}(logits, batch, sampler);
        CHECK(out.loss.value()() == Approx(c.at("loss_value").get<double>()).epsilon(1e-12));
        tape.backward(out.loss);
        for (const auto& p : model.parameters()) {
            INFO("parameter " << p.name);
            CHECK(relative_to_largest(p.grad, c.at("grads").at(p.name)) < 1e-10);
        }
    }
}

// A checkpoint written by Hugging Face transformers' own GPT2LMHeadModel.save_pretrained
// (tests/reference/gen_hf_checkpoint.py, run once with transformers 5.17 / torch 2.11) loads here
// and gives transformers' logits. The reverse direction (our checkpoint loaded by transformers) is
// checked by tests/reference/check_hf_load.py; see docs/transformer.md.
TEST_CASE("a checkpoint saved by Hugging Face transformers loads and gives the same logits", "[nn][reference][hf]") {
    std::ifstream in(reference_dir + "hf_gpt2_tiny/expected_logits.json");
    REQUIRE(in.good());
    const auto expected = nlohmann::json::parse(in);
    auto model = io::load_pretrained<double>(reference_dir + "hf_gpt2_tiny");
    CHECK(model.config().vocab_size == 13);
    Tape<double> tape;
    const auto logits = model.forward(tape, id_matrix(expected.at("tokens"))).value();
    CHECK(relative_to_largest(logits, expected.at("logits")) < 1e-12);
}
