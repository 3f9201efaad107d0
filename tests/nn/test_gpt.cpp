// The GPT model: configuration, parameters, whole-model gradient checks, the tied embedding.
#include "../support/testing.hpp"

#include <cringe/nn/gpt.hpp>

using namespace cringe;
using namespace cringe::testing;
using cringe::nn::Gpt;
using cringe::nn::GptConfig;

namespace {
GptConfig micro() { return GptConfig{.vocab_size = 7, .n_positions = 5, .n_embd = 4, .n_layer = 2, .n_head = 2}; }
}  // namespace

TEST_CASE("config validation names the field", "[nn][config][errors]") {
    GptConfig c = micro();
    c.n_head = 3;
    REQUIRE_THROWS_WITH(c.validate(), Catch::Contains("n_embd 4 is not divisible by n_head 3"));
    c = micro();
    c.vocab_size = 1;
    REQUIRE_THROWS_WITH(c.validate(), Catch::Contains("vocab_size"));
    c = micro();
    c.dropout = 1.0;
    REQUIRE_THROWS_WITH(Gpt<double>(c, 1), Catch::Contains("dropout"));
}

TEST_CASE("parameters: Hugging Face names, shapes, and the count formula", "[nn][parameters]") {
    for (const GptConfig& c : {micro(), GptConfig{.vocab_size = 64, .n_positions = 32, .n_embd = 64, .n_layer = 2, .n_head = 4},
                               GptConfig{.vocab_size = 50257, .n_positions = 1024, .n_embd = 768, .n_layer = 1, .n_head = 12}}) {
        Gpt<float> model(c);
        CHECK(model.parameter_count() == c.parameter_count());
        CHECK(model.parameters().size() == 4 + 12 * c.n_layer);
    }
    // GPT-2 small (12 layers, 768 wide, 50257 tokens, 1024 positions) has 124,439,808 parameters.
    CHECK(GptConfig{.vocab_size = 50257, .n_positions = 1024, .n_embd = 768, .n_layer = 12, .n_head = 12}.parameter_count() == 124439808);
    Gpt<double> model(micro(), 1);
    CHECK(model.parameters()[0].name == "transformer.wte.weight");
    CHECK(model.parameter("transformer.h.1.attn.c_attn.weight").value.shape() == Tensor<double>::shape_type{4, 12});
    CHECK(model.parameter("transformer.h.0.mlp.c_proj.weight").value.shape() == Tensor<double>::shape_type{16, 4});
    CHECK(model.parameters().back().name == "transformer.ln_f.bias");
    REQUIRE_THROWS_WITH(model.parameter("lm_head.weight"), Catch::Contains("no parameter named"));
}

TEST_CASE("initialisation is GPT-2's and seeded", "[nn][init]") {
    const GptConfig c{.vocab_size = 64, .n_positions = 32, .n_embd = 64, .n_layer = 4, .n_head = 4};
    Gpt<double> a(c, 7), b(c, 7), other(c, 8);
    CHECK(bool(a.parameters()[0].value == b.parameters()[0].value));
    CHECK(bool(a.parameters()[0].value != other.parameters()[0].value));
    auto stddev = [](const Tensor<double>& t) { return std::sqrt(flat(t).square().mean()); };
    CHECK(stddev(a.parameter("transformer.wte.weight").value) == Approx(0.02).epsilon(0.05));
    CHECK(stddev(a.parameter("transformer.h.0.mlp.c_proj.weight").value) == Approx(0.02 / std::sqrt(8.0)).epsilon(0.05));
    CHECK(flat(a.parameter("transformer.h.2.ln_1.weight").value).minCoeff() == 1.0);
    CHECK(flat(a.parameter("transformer.h.2.attn.c_attn.bias").value).abs().maxCoeff() == 0.0);
}

TEST_CASE("bad tokens: too long, out of range, wrong rank", "[nn][errors]") {
    Gpt<double> model(micro(), 1);
    Tape<double> tape;
    REQUIRE_THROWS_WITH(model.forward(tape, IdTensor::from_shape({1, 6})), Catch::Contains("sequence length 6 exceeds n_positions = 5"));
    REQUIRE_THROWS_WITH(model.forward(tape, ids({{1, 7}})), Catch::Contains("token id 7") && Catch::Contains("vocab_size = 7"));
    REQUIRE_THROWS_AS(model.forward(tape, IdTensor{1, 2}), ShapeError);
}

TEST_CASE("causal: a token's logits do not depend on later tokens", "[nn][attention]") {
    Gpt<double> model(micro(), 3);
    Tape<double> tape;
    const auto a = model.forward(tape, ids({{1, 2, 3, 4}})).value();
    const auto b = model.forward(tape, ids({{1, 2, 6, 0}})).value();
    for (std::size_t v = 0; v < 7; ++v)
        for (std::size_t t = 0; t < 2; ++t) CHECK(a(0, t, v) == b(0, t, v));
    CHECK(a(0, 2, 0) != b(0, 2, 0));
}

namespace {
/// Whole-model gradient check: every parameter tensor is an input of gradcheck.
void check_whole_model(const GptConfig& c, const IdTensor& tokens, std::size_t max_elements) {
    Gpt<double> model(c, 11);
    std::vector<Tensor<double>> weights;
    Rng noise(5);
    for (auto& p : model.parameters()) {  // move biases and LayerNorm off their trivial init
        Tensor<double> w = p.value;
        for (auto& v : w) v += 0.1 * noise.normal();
        weights.push_back(w);
    }
    const IdTensor targets = ids({{2, 3, 1, 0}, {5, 0, 0, 0}});
    const loss::Batch batch{targets, {1, 0}, 0, {}};
    const IdTensor sampled = ids({{-1, -1, -1, -1}, {2, -1, -1, -1}});
    GradcheckOptions options;
    options.max_elements_per_input = max_elements;
    require_gradcheck([&](auto& tape, const auto& w) {
        using S = typename std::decay_t<decltype(w[0])>::value_type;
        Gpt<S> m(c);
        return loss::Cringe<S>{}(m.forward_with(tape, tokens, w), batch, loss::Sampler{nullptr, &sampled}).loss;
    }, weights, options);
}
}  // namespace

TEST_CASE("whole model: every parameter, finite differences and dual numbers", "[nn][gradcheck]") {
    check_whole_model(micro(), ids({{1, 2, 3, 4}, {4, 3, 2, 1}}), 0);  // every element of every tensor
}

TEST_CASE("whole model, tiny config (d 64, 2 layers): sampled elements of every tensor", "[nn][gradcheck]") {
    check_whole_model(GptConfig{.vocab_size = 64, .n_positions = 32, .n_embd = 64, .n_layer = 2, .n_head = 4},
                      ids({{1, 2, 3, 40}, {40, 3, 2, 1}}), 6);
}

TEST_CASE("the tied embedding receives gradient from the lookup AND the LM head", "[nn][tied]") {
    Gpt<double> model(micro(), 2);
    const IdTensor tokens = ids({{1, 2}});
    Rng rng(1);
    Tape<double> tape;
    auto logits = model.forward(tape, tokens);
    const Tensor<double> cot = random_tensor({1, 2, 7}, 9);
    tape.backward(logits, cot);
    const Tensor<double> total = model.parameter("transformer.wte.weight").grad;
    // Rows never looked up (0, 3..6) only get the head's contribution; rows 1 and 2 get both.
    // Recompute the head-only part: dL/dwte_head = cot^T x_final, with x_final = logits' input.
    Tape<double> t2;
    model.zero_grad();
    auto logits2 = model.forward(t2, tokens);
    const std::size_t head_input = t2.node(logits2.index()).inputs[0];
    const Tensor<double>& x = t2.value(head_input);  // [1,2,C]
    for (std::size_t v : {0u, 3u, 6u})
        for (std::size_t c = 0; c < 4; ++c) {
            const double head = cot(0, 0, v) * x(0, 0, c) + cot(0, 1, v) * x(0, 1, c);
            CHECK(total(v, c) == Approx(head).epsilon(1e-12).margin(1e-14));
        }
    for (std::size_t c = 0; c < 4; ++c) {
        const double head = cot(0, 0, 1) * x(0, 0, c) + cot(0, 1, 1) * x(0, 1, c);
        CHECK(std::abs(total(1, c) - head) > 1e-9);  // the lookup contribution is there too
    }
}
