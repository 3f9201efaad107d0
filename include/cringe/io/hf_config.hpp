// cringe/io/hf_config.hpp - nn::GptConfig <-> a Hugging Face GPT-2 config.json.
//
// The file save_gpt_config writes is what transformers' GPT2Config.from_pretrained reads, with the
// architecture choices cringe hard-wires spelled out (tanh GELU, 4C MLP, tied LM head, attention
// scaled by 1/sqrt(head_dim)). The reader accepts the full Hugging Face file and the short form
// `cringe-ref init --config` takes:
//   {"vocab_size": 64, "n_positions": 32, "n_embd": 32, "n_layer": 2, "n_head": 4}
// and refuses any key whose value describes a model cringe does not implement, because loading
// weights into the wrong architecture would run without error and give wrong logits.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "../nn/gpt_config.hpp"
#include "dtype.hpp"
#include "json_file.hpp"

namespace cringe::io {
namespace detail {

/// A required size: a JSON integer >= 1.
inline std::size_t config_size(const nlohmann::json& j, const char* key, const std::string& where) {
    if (!j.contains(key)) throw IoError(cat(where, ": missing key '", key, "'; expected an integer >= 1"));
    const nlohmann::json& v = j.at(key);
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() < 1)
        throw IoError(cat(where, ": key '", key, "' is ", v.dump(), "; expected an integer >= 1"));
    return v.get<std::size_t>();
}

/// An optional number, or `fallback` when the key is absent.
inline double config_number(const nlohmann::json& j, const char* key, double fallback, const std::string& where) {
    if (!j.contains(key)) return fallback;
    const nlohmann::json& v = j.at(key);
    if (!v.is_number()) throw IoError(cat(where, ": key '", key, "' is ", v.dump(), "; expected a number"));
    return v.get<double>();
}

/// Throws unless the key is absent or holds one of `allowed` (what cringe implements).
inline void config_require(const nlohmann::json& j, const char* key, std::initializer_list<nlohmann::json> allowed,
                           const std::string& where) {
    if (!j.contains(key)) return;
    for (const nlohmann::json& a : allowed)
        if (j.at(key) == a) return;
    std::string expected;
    for (const nlohmann::json& a : allowed) expected += (expected.empty() ? "" : " or ") + a.dump();
    throw IoError(cat(where, ": key '", key, "' is ", j.at(key).dump(), "; cringe implements only ", expected));
}

}  // namespace detail

/// Upper bounds on the sizes a config.json may ask for, so that a typo or a hostile file is refused
/// with a message instead of an out-of-memory kill when the model is built (docs/errors.md,
/// "Resource limits"). They are far above GPT-2 XL (vocab 50,257, n_positions 1,024, n_embd 1,600,
/// n_layer 48, 1.56e9 parameters). The per-field caps also keep parameter_count() below 2^47, so it
/// is computed exactly in 64 bits.
struct GptConfigLimits {
    std::size_t max_vocab_size = std::size_t{1} << 21;   ///< Largest vocab_size: 2,097,152 tokens.
    std::size_t max_n_positions = std::size_t{1} << 16;  ///< Largest n_positions: 65,536 positions.
    std::size_t max_n_embd = std::size_t{1} << 16;       ///< Largest n_embd: 65,536 channels.
    std::size_t max_n_layer = 1024;                      ///< Largest n_layer.
    std::size_t max_n_head = std::size_t{1} << 16;       ///< Largest n_head (a valid config has n_head <= n_embd).
    std::uint64_t max_parameters = std::uint64_t{1} << 32;  ///< Largest parameter_count(): 2^32 (16 GiB as float32, 32 GiB as double).
};

/// Throws IoError "<where>: key '<field>' is N; the limit is L" or "<where>: the sizes describe a
/// model of N parameters; the limit is L" when `config` is larger than `limits` allows.
inline void check_gpt_config_limits(const nn::GptConfig& config, const std::string& where, const GptConfigLimits& limits = {}) {
    const auto cap = [&](const char* key, std::size_t value, std::size_t limit) {
        if (value > limit)
            throw IoError(cat(where, ": key '", key, "' is ", value, "; the limit is ", limit, " (GptConfigLimits::max_", key, ")"));
    };
    cap("vocab_size", config.vocab_size, limits.max_vocab_size);
    cap("n_positions", config.n_positions, limits.max_n_positions);
    cap("n_embd", config.n_embd, limits.max_n_embd);
    cap("n_layer", config.n_layer, limits.max_n_layer);
    cap("n_head", config.n_head, limits.max_n_head);
    const std::uint64_t parameters = config.parameter_count();  // exact: the caps above bound it by 2^47
    if (parameters > limits.max_parameters)
        throw IoError(cat(where, ": the sizes describe a model of ", parameters, " parameters; the limit is ",
                          limits.max_parameters, " (GptConfigLimits::max_parameters)"));
}

/// The model hyper-parameters in a config.json object. `where` starts every error message
/// (e.g. "load_gpt_config: /runs/a/config.json"). Unknown keys are ignored: Hugging Face files
/// carry many (task_specific_params, summary_*) that do not change the network.
inline nn::GptConfig gpt_config_from_json(const nlohmann::json& j, const std::string& where, const GptConfigLimits& limits = {}) {
    if (!j.is_object()) throw IoError(cat(where, ": expected a JSON object, got ", j.type_name()));

    // Architecture switches: a different value would be a different network.
    detail::config_require(j, "model_type", {"gpt2"}, where);
    detail::config_require(j, "activation_function", {"gelu_new", "gelu_pytorch_tanh"}, where);  // both tanh GELU
    detail::config_require(j, "scale_attn_weights", {true}, where);
    detail::config_require(j, "scale_attn_by_inverse_layer_idx", {false}, where);
    detail::config_require(j, "tie_word_embeddings", {true}, where);
    detail::config_require(j, "add_cross_attention", {false}, where);

    nn::GptConfig config;
    config.vocab_size = detail::config_size(j, "vocab_size", where);
    config.n_positions = detail::config_size(j, "n_positions", where);
    config.n_embd = detail::config_size(j, "n_embd", where);
    config.n_layer = detail::config_size(j, "n_layer", where);
    config.n_head = detail::config_size(j, "n_head", where);
    // Before anything else uses the sizes: a typo such as n_embd 76800000 would otherwise surface
    // as an out-of-memory kill when the model is built.
    check_gpt_config_limits(config, where, limits);

    // n_ctx is the old name of n_positions; n_inner = null means 4 * n_embd, the only MLP width we build.
    if (j.contains("n_ctx") && j.at("n_ctx") != config.n_positions)
        throw IoError(cat(where, ": key 'n_ctx' is ", j.at("n_ctx").dump(), " but n_positions is ", config.n_positions,
                          "; expected them equal"));
    if (j.contains("n_inner") && !j.at("n_inner").is_null() && j.at("n_inner") != 4 * config.n_embd)
        throw IoError(cat(where, ": key 'n_inner' is ", j.at("n_inner").dump(), "; cringe implements only null or 4 * n_embd = ",
                          4 * config.n_embd));

    // cringe has one dropout rate; Hugging Face has three, which must then agree.
    config.dropout = detail::config_number(j, "resid_pdrop", 0.0, where);
    for (const char* key : {"embd_pdrop", "attn_pdrop"})
        if (detail::config_number(j, key, config.dropout, where) != config.dropout)
            throw IoError(cat(where, ": key '", key, "' is ", j.at(key).dump(), " but resid_pdrop is ", config.dropout,
                              "; cringe uses one dropout rate for all three"));
    config.layer_norm_epsilon = detail::config_number(j, "layer_norm_epsilon", 1e-5, where);

    try {
        config.validate();
    } catch (const ValueError& e) {
        throw IoError(cat(where, ": ", e.what()));
    }
    return config;
}

/// The largest config.json load_gpt_config reads (checked before reading): Hugging Face configs are
/// a few kilobytes; this leaves room for large label maps.
inline constexpr std::uint64_t kMaxConfigJsonBytes = std::uint64_t{16} << 20;  // 16 MiB

/// Reads a config.json; every error is an IoError naming the file and the key.
inline nn::GptConfig load_gpt_config(const std::filesystem::path& config_json) {
    const std::string where = cat("load_gpt_config: ", config_json.string());
    return gpt_config_from_json(parse_json(read_file(config_json, "load_gpt_config", kMaxConfigJsonBytes), where), where);
}

/// Writes a Hugging Face GPT-2 config.json for `config`, atomically. `dtype` becomes torch_dtype;
/// token ids absent are written as null. Throws ValueError for an invalid config or a token id
/// outside [0, vocab_size), IoError if the file cannot be written.
inline void save_gpt_config(const std::filesystem::path& config_json, const nn::GptConfig& config, DType dtype = DType::F32,
                            std::optional<std::int64_t> bos_token_id = std::nullopt,
                            std::optional<std::int64_t> eos_token_id = std::nullopt) {
    const std::string where = cat("save_gpt_config: ", config_json.string());
    try {
        config.validate();
    } catch (const ValueError& e) {
        throw ValueError(cat(where, ": ", e.what()));
    }
    const auto token = [&](const char* key, std::optional<std::int64_t> id) -> nlohmann::ordered_json {
        if (!id) return nullptr;
        if (*id < 0 || static_cast<std::uint64_t>(*id) >= config.vocab_size)
            throw ValueError(cat(where, ": ", key, " is ", *id, "; expected 0 <= id < vocab_size = ", config.vocab_size));
        return *id;
    };

    nlohmann::ordered_json j;
    j["architectures"] = nlohmann::ordered_json::array({"GPT2LMHeadModel"});
    j["model_type"] = "gpt2";
    j["vocab_size"] = config.vocab_size;
    j["n_positions"] = config.n_positions;
    j["n_ctx"] = config.n_positions;
    j["n_embd"] = config.n_embd;
    j["n_layer"] = config.n_layer;
    j["n_head"] = config.n_head;
    j["n_inner"] = nullptr;  // = 4 * n_embd
    j["activation_function"] = "gelu_new";
    j["resid_pdrop"] = config.dropout;
    j["embd_pdrop"] = config.dropout;
    j["attn_pdrop"] = config.dropout;
    j["layer_norm_epsilon"] = config.layer_norm_epsilon;
    j["initializer_range"] = 0.02;
    j["scale_attn_weights"] = true;
    j["tie_word_embeddings"] = true;
    j["bos_token_id"] = token("bos_token_id", bos_token_id);
    j["eos_token_id"] = token("eos_token_id", eos_token_id);
    j["torch_dtype"] = dtype == DType::F32 ? "float32" : "float64";
    write_json_file(config_json, j, "save_gpt_config");
}

}  // namespace cringe::io
