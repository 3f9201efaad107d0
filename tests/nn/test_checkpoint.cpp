// Checkpoints: round trips in F32 and F64, and every corrupt variant a clear error.
#include "../io/temp_dir.hpp"
#include "../support/testing.hpp"

#include <fstream>

#include <cringe/io/checkpoint.hpp>

using namespace cringe;
using cringe::nn::Gpt;
using cringe::nn::GptConfig;

namespace {
GptConfig tiny() { return GptConfig{.vocab_size = 9, .n_positions = 6, .n_embd = 8, .n_layer = 2, .n_head = 2}; }
}  // namespace

TEST_CASE("save_pretrained / load_pretrained round trip, F64 exact and F32 rounded", "[io][checkpoint]") {
    cringe_test::TempDir tmp;
    Gpt<double> model(tiny(), 4);
    io::save_pretrained(model, tmp.path() / "f64");
    auto back = io::load_pretrained<double>(tmp.path() / "f64");
    for (std::size_t i = 0; i < model.parameters().size(); ++i)
        CHECK(bool(model.parameters()[i].value == back.parameters()[i].value));
    io::save_pretrained(model, tmp.path() / "f32", io::DType::F32);
    auto f32 = io::load_pretrained<float>(tmp.path() / "f32");
    CHECK(f32.parameters()[0].value(3, 2) == static_cast<float>(model.parameters()[0].value(3, 2)));
    const auto config = io::load_gpt_config(tmp.path() / "f32" / "config.json");
    CHECK(config.n_embd == 8);
    // logits agree between the saved and the loaded model
    Tape<double> t1, t2;
    const IdTensor tokens = cringe::testing::ids({{1, 2, 3}});
    cringe::testing::require_close(model.forward(t1, tokens).value(), back.forward(t2, tokens).value(), 0.0);
}

TEST_CASE("load_pretrained: missing, extra, misshapen tensors and a missing directory", "[io][checkpoint][errors]") {
    cringe_test::TempDir tmp;
    Gpt<double> model(tiny(), 4);
    const auto dir = tmp.path() / "m";
    io::save_pretrained(model, dir);
    auto rewrite = [&](auto edit) {
        std::vector<std::pair<std::string, Tensor<double>>> tensors;
        for (const auto& p : model.parameters()) tensors.emplace_back(p.name, p.value);
        edit(tensors);
        io::save_safetensors(dir / "model.safetensors", tensors, io::DType::F64);
    };
    rewrite([](auto& t) { t.erase(t.begin() + 3); });
    CHECK_THROWS_WITH(io::load_pretrained<double>(dir), Catch::Contains("model.safetensors") && Catch::Contains("is missing"));
    rewrite([](auto& t) { t.emplace_back("transformer.h.9.ln_1.weight", zeros<double>({8})); });
    CHECK_THROWS_WITH(io::load_pretrained<double>(dir), Catch::Contains("unexpected tensor 'transformer.h.9.ln_1.weight'"));
    rewrite([](auto& t) { t[0].second = zeros<double>({9, 7}); });
    CHECK_THROWS_WITH(io::load_pretrained<double>(dir), Catch::Contains("transformer.wte.weight") && Catch::Contains("[9,7]"));
    rewrite([](auto& t) { t[2].second(0) = std::numeric_limits<double>::quiet_NaN(); });
    CHECK_THROWS_AS(io::load_pretrained<double>(dir), IoError);
    // what PyTorch adds is accepted: the tied head (equal to wte) and the causal-mask buffers
    rewrite([&](auto& t) {
        t.emplace_back("lm_head.weight", model.parameters()[0].value);
        t.emplace_back("transformer.h.0.attn.bias", zeros<double>({1, 1, 6, 6}));
    });
    CHECK(io::load_pretrained<double>(dir).parameter_count() == model.parameter_count());
    rewrite([&](auto& t) { t.emplace_back("lm_head.weight", zeros<double>({9, 8})); });
    CHECK_THROWS_WITH(io::load_pretrained<double>(dir), Catch::Contains("lm_head.weight differs"));
    CHECK_THROWS_AS(io::load_pretrained<double>(tmp.path() / "nowhere"), IoError);
}

TEST_CASE("a truncated checkpoint is an error naming the file, never a crash", "[io][checkpoint][errors]") {
    cringe_test::TempDir tmp;
    Gpt<float> model(tiny(), 4);
    const auto dir = tmp.path() / "m";
    io::save_pretrained(model, dir);
    const auto file = dir / "model.safetensors";
    const auto size = std::filesystem::file_size(file);
    for (std::uintmax_t cut : {std::uintmax_t{3}, std::uintmax_t{20}, size / 2, size - 1}) {
        io::save_pretrained(model, dir);
        std::filesystem::resize_file(file, cut);
        CHECK_THROWS_WITH(io::load_pretrained<float>(dir), Catch::Contains("model.safetensors"));
    }
}
