// Tests of cringe/io/hf_config.hpp: config.json round trips, the Hugging Face keys written, and an
// IoError naming the file and the key for every config cringe cannot build.
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cringe/io/hf_config.hpp"
#include "temp_dir.hpp"

using Catch::Matchers::Contains;
using cringe::IoError;
using cringe::ValueError;
using cringe::io::DType;
using cringe::io::gpt_config_from_json;
using cringe::io::load_gpt_config;
using cringe::io::save_gpt_config;
using cringe::nn::GptConfig;
using cringe_test::TempDir;
using cringe_test::write_bytes;
using nlohmann::json;

namespace {

bool same(const GptConfig& a, const GptConfig& b) {
    return a.vocab_size == b.vocab_size && a.n_positions == b.n_positions && a.n_embd == b.n_embd && a.n_layer == b.n_layer &&
           a.n_head == b.n_head && a.dropout == b.dropout && a.layer_norm_epsilon == b.layer_norm_epsilon;
}

/// The short form `cringe-ref init --config` takes.
json short_form() { return json::parse(R"({"vocab_size":64,"n_positions":32,"n_embd":32,"n_layer":2,"n_head":4})"); }

}  // namespace

TEST_CASE("save_gpt_config and load_gpt_config round trip", "[io][hf_config]") {
    TempDir dir;
    GptConfig config;
    config.vocab_size = 1000;
    config.n_positions = 128;
    config.n_embd = 48;
    config.n_layer = 3;
    config.n_head = 6;
    config.dropout = 0.1;
    config.layer_norm_epsilon = 1e-6;
    save_gpt_config(dir / "config.json", config);
    CHECK(same(load_gpt_config(dir / "config.json"), config));
    CHECK(dir.entries() == std::vector<std::string>{"config.json"});
}

TEST_CASE("save_gpt_config writes a Hugging Face GPT-2 config", "[io][hf_config]") {
    TempDir dir;
    GptConfig config;  // defaults: V 64, P 32, C 32, L 2, H 4
    config.dropout = 0.25;

    SECTION("with token ids and float64") {
        save_gpt_config(dir / "config.json", config, DType::F64, 1, 2);
        const json j = json::parse(cringe::io::read_file(dir / "config.json"));
        CHECK(j.at("architectures") == json::array({"GPT2LMHeadModel"}));
        CHECK(j.at("model_type") == "gpt2");
        CHECK(j.at("vocab_size") == 64);
        CHECK(j.at("n_positions") == 32);
        CHECK(j.at("n_ctx") == 32);
        CHECK(j.at("n_embd") == 32);
        CHECK(j.at("n_layer") == 2);
        CHECK(j.at("n_head") == 4);
        CHECK(j.at("n_inner").is_null());
        CHECK(j.at("activation_function") == "gelu_new");
        CHECK(j.at("resid_pdrop") == 0.25);
        CHECK(j.at("embd_pdrop") == 0.25);
        CHECK(j.at("attn_pdrop") == 0.25);
        CHECK(j.at("layer_norm_epsilon") == 1e-5);
        CHECK(j.at("initializer_range") == 0.02);
        CHECK(j.at("scale_attn_weights") == true);
        CHECK(j.at("tie_word_embeddings") == true);
        CHECK(j.at("bos_token_id") == 1);
        CHECK(j.at("eos_token_id") == 2);
        CHECK(j.at("torch_dtype") == "float64");
    }
    SECTION("without token ids, float32") {
        save_gpt_config(dir / "config.json", config);
        const json j = json::parse(cringe::io::read_file(dir / "config.json"));
        CHECK(j.at("bos_token_id").is_null());
        CHECK(j.at("eos_token_id").is_null());
        CHECK(j.at("torch_dtype") == "float32");
    }
    SECTION("bad arguments are ValueErrors and write nothing") {
        CHECK_THROWS_AS(save_gpt_config(dir / "config.json", config, DType::F32, 64), ValueError);
        CHECK_THROWS_WITH(save_gpt_config(dir / "config.json", config, DType::F32, 1, -1),
                          Contains("config.json") && Contains("eos_token_id is -1; expected 0 <= id < vocab_size = 64"));
        GptConfig bad = config;
        bad.n_head = 5;
        CHECK_THROWS_AS(save_gpt_config(dir / "config.json", bad), ValueError);
        CHECK_THROWS_WITH(save_gpt_config(dir / "config.json", bad), Contains("config.json") && Contains("not divisible by n_head 5"));
        CHECK(dir.entries().empty());
    }
}

TEST_CASE("gpt_config_from_json reads the short form with defaults", "[io][hf_config]") {
    const GptConfig c = gpt_config_from_json(short_form(), "test");
    CHECK((c.vocab_size == 64 && c.n_positions == 32 && c.n_embd == 32 && c.n_layer == 2 && c.n_head == 4));
    CHECK(c.dropout == 0.0);
    CHECK(c.layer_norm_epsilon == 1e-5);
}

TEST_CASE("gpt_config_from_json reads the original GPT-2 config.json", "[io][hf_config]") {
    // openai-community/gpt2 config.json, as published.
    const json j = json::parse(R"({
      "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
      "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
      "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12,
      "n_layer": 12, "n_positions": 1024, "resid_pdrop": 0.1, "summary_activation": null,
      "summary_first_dropout": 0.1, "summary_proj_to_labels": true, "summary_type": "cls_index",
      "summary_use_proj": true, "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
      "vocab_size": 50257})");
    const GptConfig c = gpt_config_from_json(j, "gpt2");
    CHECK((c.vocab_size == 50257 && c.n_positions == 1024 && c.n_embd == 768 && c.n_layer == 12 && c.n_head == 12));
    CHECK(c.dropout == 0.1);
    CHECK(c.layer_norm_epsilon == 1e-5);
    CHECK(c.parameter_count() == 124439808);  // GPT-2 small
}

TEST_CASE("every config cringe cannot build raises IoError naming the file and the key", "[io][hf_config]") {
    struct Case {
        const char* what;
        std::string text;
        std::string phrase;
    };
    const auto with = [](const char* key, const json& value) {
        json j = short_form();
        if (value.is_discarded())
            j.erase(key);
        else
            j[key] = value;
        return j.dump();
    };
    const json removed(json::value_t::discarded);
    const std::vector<Case> cases = {
        {"not JSON", "{\"vocab_size\": 64,", "not valid JSON"},
        {"not an object", "[64, 32]", "expected a JSON object, got array"},
        {"duplicate key", R"({"vocab_size":64,"vocab_size":65})", "key 'vocab_size' appears twice"},
        {"missing vocab_size", with("vocab_size", removed), "missing key 'vocab_size'; expected an integer >= 1"},
        {"missing n_head", with("n_head", removed), "missing key 'n_head'"},
        {"zero n_layer", with("n_layer", 0), "key 'n_layer' is 0; expected an integer >= 1"},
        {"negative n_embd", with("n_embd", -32), "key 'n_embd' is -32; expected an integer >= 1"},
        {"float n_head", with("n_head", 4.0), "key 'n_head' is 4.0; expected an integer >= 1"},
        {"string n_positions", with("n_positions", "32"), "key 'n_positions' is \"32\"; expected an integer >= 1"},
        {"vocab of one", with("vocab_size", 1), "vocab_size is 1; expected >= 2"},
        {"heads do not divide", with("n_head", 5), "n_embd 32 is not divisible by n_head 5"},
        {"other model", with("model_type", "bert"), "key 'model_type' is \"bert\"; cringe implements only \"gpt2\""},
        {"relu", with("activation_function", "relu"), "key 'activation_function' is \"relu\"; cringe implements only \"gelu_new\" or \"gelu_pytorch_tanh\""},
        {"exact gelu", with("activation_function", "gelu"), "key 'activation_function' is \"gelu\""},
        {"unscaled attention", with("scale_attn_weights", false), "key 'scale_attn_weights' is false"},
        {"untied head", with("tie_word_embeddings", false), "key 'tie_word_embeddings' is false"},
        {"layer-scaled attention", with("scale_attn_by_inverse_layer_idx", true), "key 'scale_attn_by_inverse_layer_idx' is true"},
        {"cross attention", with("add_cross_attention", true), "key 'add_cross_attention' is true"},
        {"other MLP width", with("n_inner", 100), "key 'n_inner' is 100; cringe implements only null or 4 * n_embd = 128"},
        {"n_ctx differs", with("n_ctx", 64), "key 'n_ctx' is 64 but n_positions is 32"},
        {"dropouts differ", json::parse(R"({"vocab_size":64,"n_positions":32,"n_embd":32,"n_layer":2,"n_head":4,"resid_pdrop":0.1,"attn_pdrop":0.2})").dump(),
         "key 'attn_pdrop' is 0.2 but resid_pdrop is 0.1"},
        {"dropout not a number", with("resid_pdrop", "0.1"), "key 'resid_pdrop' is \"0.1\"; expected a number"},
        {"dropout of 1", json::parse(R"({"vocab_size":64,"n_positions":32,"n_embd":32,"n_layer":2,"n_head":4,"resid_pdrop":1,"attn_pdrop":1,"embd_pdrop":1})").dump(),
         "dropout is 1; expected 0 <= dropout < 1"},
        {"negative epsilon", with("layer_norm_epsilon", -1e-5), "layer_norm_epsilon is -1e-05; expected > 0"},
        {"epsilon null", with("layer_norm_epsilon", nullptr), "key 'layer_norm_epsilon' is null; expected a number"},
        {"absurd width", with("n_embd", 1u << 30), "key 'n_embd' is 1073741824; the limit is 65536 (GptConfigLimits::max_n_embd)"},
        {"absurd everything", R"({"vocab_size":18446744073709551615,"n_positions":18446744073709551615,"n_embd":18446744073709551615,"n_layer":18446744073709551615,"n_head":1})",
         "key 'vocab_size' is 18446744073709551615; the limit is 2097152"},
        // Resource limits: each size is capped, then the parameter count (exact in 64 bits below the caps).
        {"vocab over the cap", with("vocab_size", 2097153), "key 'vocab_size' is 2097153; the limit is 2097152 (GptConfigLimits::max_vocab_size)"},
        {"positions over the cap", with("n_positions", 65537), "key 'n_positions' is 65537; the limit is 65536 (GptConfigLimits::max_n_positions)"},
        {"layers over the cap", with("n_layer", 1025), "key 'n_layer' is 1025; the limit is 1024 (GptConfigLimits::max_n_layer)"},
        {"heads over the cap", with("n_head", 65537), "key 'n_head' is 65537; the limit is 65536 (GptConfigLimits::max_n_head)"},
        {"too many parameters", json::parse(R"({"vocab_size":64,"n_positions":32,"n_embd":20480,"n_layer":1,"n_head":4})").dump(),
         "the sizes describe a model of 5035438080 parameters; the limit is 4294967296 (GptConfigLimits::max_parameters)"},
    };

    TempDir dir;
    const auto path = dir / "config.json";
    for (const Case& c : cases) {
        INFO(c.what << ": " << c.text);
        write_bytes(path, c.text);
        CHECK_THROWS_AS(load_gpt_config(path), IoError);
        CHECK_THROWS_WITH(load_gpt_config(path), Contains("load_gpt_config: " + path.string() + ": ") && Contains(c.phrase));
    }
    CHECK_THROWS_WITH(load_gpt_config(dir / "missing.json"), Contains((dir / "missing.json").string()) && Contains("No such file"));
}

TEST_CASE("load_gpt_config accepts gelu_pytorch_tanh and explicit n_inner = 4 * n_embd", "[io][hf_config]") {
    json j = short_form();
    j["activation_function"] = "gelu_pytorch_tanh";
    j["n_inner"] = 128;
    j["resid_pdrop"] = 0.1;
    j["embd_pdrop"] = 0.1;
    CHECK(gpt_config_from_json(j, "t").dropout == 0.1);
}
