// load_pretrained validates config.json against the safetensors header (names, shapes, byte
// ranges, the file size) before it reads a weight or allocates the model; config sizes are capped.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cringe/io/checkpoint.hpp"
#include "../support/child_process.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using cringe::IoError;
using cringe::nn::Gpt;
using cringe::nn::GptConfig;
using cringe_test::TempDir;
using cringe_test::write_bytes;

namespace {
namespace pretrained_validation {

GptConfig tiny_config() { return GptConfig{.vocab_size = 9, .n_positions = 6, .n_embd = 8, .n_layer = 2, .n_head = 2}; }

/// Runs `body` in a child process whose address space may grow by at most `extra` bytes and returns
/// its exit status (`body`'s return value; 100 + n for a signal).
template <class Body>
int run_with_address_space_limit(std::size_t extra, Body body) {
    return cringe_test::run_in_child(0, extra, body);
}

void write_config(const std::filesystem::path& dir, const std::string& sizes) {
    write_bytes(dir / "config.json", "{" + sizes + R"(, "model_type": "gpt2"})");
}

}  // namespace pretrained_validation
}  // namespace

// Regression (issue: hostile inputs, item 3): load_pretrained built Gpt(config) from config.json
// before comparing it with the weights, so a few hundred bytes of config beside a 5 KB weights file
// asked for ~50 GB and the process was OOM-killed without a message.
TEST_CASE("a small config describing a huge model beside small weights is refused before allocating", "[io][checkpoint][limits]") {
    using namespace pretrained_validation;
    if (cringe_test::under_address_sanitizer()) {
        WARN("skipped: AddressSanitizer reserves terabytes of address space, so RLIMIT_AS cannot bound it");
        return;
    }
    TempDir tmp;
    const auto dir = tmp.path() / "m";
    cringe::io::save_pretrained(Gpt<double>(tiny_config(), 4), dir);
    // 1 layer of width 16384: 3.2e9 parameters, under the parameter cap, 26 GB as double (52 with grads).
    write_config(dir, R"("vocab_size": 9, "n_positions": 6, "n_embd": 16384, "n_layer": 1, "n_head": 2)");
    const std::string file = (dir / "model.safetensors").string();
    const int status = run_with_address_space_limit(std::size_t{1} << 30, [&] {
        try {
            cringe::io::load_pretrained<double>(dir);
            return 1;  // loaded?!
        } catch (const IoError& e) {
            const std::string expected = "load_pretrained: " + file + ": tensor 'transformer.wte.weight' has shape [9,8]; the config needs [9,16384]";
            return std::string(e.what()) == expected ? 0 : 2;
        } catch (const std::bad_alloc&) {
            return 3;  // allocated before validating
        } catch (...) {
            return 4;
        }
    });
    CHECK(status == 0);
}

TEST_CASE("load_pretrained checks names and shapes from the header alone", "[io][checkpoint][limits]") {
    using namespace pretrained_validation;
    TempDir tmp;
    const auto dir = tmp.path() / "m";
    const Gpt<double> model(tiny_config(), 4);
    cringe::io::save_pretrained(model, dir);
    const std::string where = "load_pretrained: " + (dir / "model.safetensors").string() + ": ";
    auto rewrite = [&](auto edit) {
        std::vector<std::pair<std::string, cringe::Tensor<double>>> tensors;
        for (const auto& p : model.parameters()) tensors.emplace_back(p.name, p.value);
        edit(tensors);
        cringe::io::save_safetensors(dir / "model.safetensors", tensors, cringe::io::DType::F64);
    };
    // more layers in the config than in the file: the first missing tensor is named
    write_config(dir, R"("vocab_size": 9, "n_positions": 6, "n_embd": 8, "n_layer": 1000, "n_head": 2)");
    CHECK_THROWS_WITH(cringe::io::load_pretrained<double>(dir), where + "tensor 'transformer.h.2.ln_1.weight' is missing");
    cringe::io::save_pretrained(model, dir);
    // the same parameter under its bare and its prefixed name
    rewrite([](auto& t) { t.emplace_back("h.0.ln_1.weight", t[2].second); });
    CHECK_THROWS_WITH(cringe::io::load_pretrained<double>(dir),
                      where + "tensors 'transformer.h.0.ln_1.weight' and 'h.0.ln_1.weight' both name parameter 'transformer.h.0.ln_1.weight'");
    // a tied head of another shape is refused before its values are read
    rewrite([](auto& t) { t.emplace_back("lm_head.weight", cringe::zeros<double>({8, 9})); });
    CHECK_THROWS_WITH(cringe::io::load_pretrained<double>(dir),
                      where + "lm_head.weight has shape [8,9]; it is tied to transformer.wte.weight [9,8]");
    rewrite([](auto&) {});
    CHECK(cringe::io::load_pretrained<double>(dir).parameter_count() == model.parameter_count());
}

TEST_CASE("the parameter list computed from a config matches the model it builds", "[io][checkpoint]") {
    for (const GptConfig& config : {pretrained_validation::tiny_config(),
                                    GptConfig{.vocab_size = 5, .n_positions = 3, .n_embd = 4, .n_layer = 3, .n_head = 1}}) {
        const Gpt<float> model(config, 1);
        const auto shapes = cringe::io::detail::gpt2_parameter_shapes(config);
        REQUIRE(shapes.size() == model.parameters().size());
        for (std::size_t i = 0; i < shapes.size(); ++i) {
            CHECK(shapes[i].first == model.parameters()[i].name);
            CHECK(shapes[i].second == cringe::to_shape(model.parameters()[i].value.shape()));
        }
    }
}

TEST_CASE("config sizes at the limits are accepted", "[io][hf_config][limits]") {
    const cringe::io::GptConfigLimits limits;
    GptConfig at_caps{.vocab_size = limits.max_vocab_size, .n_positions = 16, .n_embd = 16, .n_layer = 16, .n_head = 16};
    CHECK_NOTHROW(cringe::io::check_gpt_config_limits(at_caps, "test"));
    at_caps = GptConfig{.vocab_size = 2, .n_positions = limits.max_n_positions, .n_embd = 4, .n_layer = limits.max_n_layer, .n_head = 1};
    CHECK_NOTHROW(cringe::io::check_gpt_config_limits(at_caps, "test"));
    // a caller may pass tighter limits
    CHECK_THROWS_WITH(cringe::io::check_gpt_config_limits(at_caps, "here", {.max_n_layer = 8}),
                      "here: key 'n_layer' is 1024; the limit is 8 (GptConfigLimits::max_n_layer)");
}
