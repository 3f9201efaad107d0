// cringe/io/checkpoint.hpp - save and load a Gpt in the Hugging Face GPT-2 layout.
//
//   DIR/config.json         GPT-2 config (model_type gpt2, activation gelu_new, tied embeddings)
//   DIR/model.safetensors   the parameters under GPT-2's names, F32 or F64, metadata {"format": "pt"}
// transformers.GPT2LMHeadModel.from_pretrained(DIR) loads it (docs/transformer.md shows how).
//
// Loading is strict about what a model needs and lenient about what PyTorch adds: every parameter
// must be present with the right shape; the tied `lm_head.weight` (if saved) must equal wte;
// GPT-2's causal-mask buffers `*.attn.bias` / `*.attn.masked_bias` are ignored; names may lack the
// `transformer.` prefix (a bare GPT2Model). Any other tensor is an error, as is a NaN weight.
// Both files are written atomically (temporary + fsync + rename): a crash leaves the old checkpoint.
//
// Validate before allocating: load_pretrained reads config.json (whose sizes are capped, see
// GptConfigLimits) and then ONLY the safetensors header, and checks every name, shape and byte
// range against the config and the file size before it reads a weight or builds the model. So a
// small config.json that describes a huge model beside a small weights file is an error naming
// the first tensor that disagrees, never an allocation the file cannot back.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../nn/gpt.hpp"
#include "hf_config.hpp"
#include "safetensors.hpp"

namespace cringe::io {

/// Writes `model` to DIR/model.safetensors and DIR/config.json (the Hugging Face GPT-2 layout), each atomically.
template <class T>
void save_pretrained(const nn::Gpt<T>& model, const std::filesystem::path& dir, DType dtype = dtype_of<T>(),
                     std::optional<std::int64_t> bos_token_id = std::nullopt, std::optional<std::int64_t> eos_token_id = std::nullopt) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw IoError(cat("save_pretrained: cannot create directory ", dir.string(), ": ", ec.message()));
    std::vector<std::pair<std::string, Tensor<T>>> tensors;
    for (const auto& p : model.parameters()) tensors.emplace_back(p.name, p.value);
    // Weights first, config last: a directory with a config.json always has its weights.
    save_safetensors(dir / "model.safetensors", tensors, dtype, {{"format", "pt"}});
    save_gpt_config(dir / "config.json", model.config(), dtype, bos_token_id, eos_token_id);
}

namespace detail {

/// Name and shape of every parameter nn::Gpt(config) creates, in its order, from the config alone
/// (nothing is allocated). tests/nn/test_checkpoint.cpp checks it against a built Gpt.
inline std::vector<std::pair<std::string, Shape>> gpt2_parameter_shapes(const nn::GptConfig& config) {
    const std::size_t C = config.n_embd;
    std::vector<std::pair<std::string, Shape>> shapes = {{"transformer.wte.weight", {config.vocab_size, C}},
                                                         {"transformer.wpe.weight", {config.n_positions, C}}};
    for (std::size_t l = 0; l < config.n_layer; ++l) {
        const std::string h = cat("transformer.h.", l, ".");
        for (auto& [suffix, shape] : std::vector<std::pair<const char*, Shape>>{
                 {"ln_1.weight", {C}}, {"ln_1.bias", {C}}, {"attn.c_attn.weight", {C, 3 * C}}, {"attn.c_attn.bias", {3 * C}},
                 {"attn.c_proj.weight", {C, C}}, {"attn.c_proj.bias", {C}}, {"ln_2.weight", {C}}, {"ln_2.bias", {C}},
                 {"mlp.c_fc.weight", {C, 4 * C}}, {"mlp.c_fc.bias", {4 * C}}, {"mlp.c_proj.weight", {4 * C, C}},
                 {"mlp.c_proj.bias", {C}}})
            shapes.emplace_back(h + suffix, std::move(shape));
    }
    shapes.emplace_back("transformer.ln_f.weight", Shape{C});
    shapes.emplace_back("transformer.ln_f.bias", Shape{C});
    return shapes;
}

/// The name load_pretrained files a tensor under: bare GPT2Model names ("h.0.ln_1.weight") get the
/// "transformer." prefix; the LM head keeps its name.
inline std::string gpt2_canonical_name(const std::string& name) {
    return name == "lm_head.weight" || name.rfind("transformer.", 0) == 0 ? name : "transformer." + name;
}

/// GPT-2's causal-mask buffers, which PyTorch saves and cringe does not need.
inline bool gpt2_mask_buffer(const std::string& name) {
    return name.size() > 10 && (name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias"));
}

/// Checks a safetensors header (already checked against the file size) against the config: every
/// parameter present once with the config's shape; besides them only the tied head (shape of wte)
/// and mask buffers. Reads no tensor data and allocates nothing in proportion to the config.
inline void check_gpt2_header(const std::vector<TensorInfo>& header, const nn::GptConfig& config, const std::string& where) {
    std::map<std::string, const TensorInfo*> named;  // canonical name -> header entry
    for (const TensorInfo& t : header) {
        const auto [it, inserted] = named.emplace(gpt2_canonical_name(t.name), &t);
        if (!inserted)
            throw IoError(cat(where, ": tensors '", it->second->name, "' and '", t.name, "' both name parameter '", it->first,
                              "'"));
    }
    const auto expected = gpt2_parameter_shapes(config);
    for (const auto& [name, shape] : expected) {
        const auto it = named.find(name);
        if (it == named.end()) throw IoError(cat(where, ": tensor '", name, "' is missing"));
        if (it->second->shape != shape)
            throw IoError(cat(where, ": tensor '", name, "' has shape ", shape_str(it->second->shape), "; the config needs ",
                              shape_str(shape)));
        named.erase(it);
    }
    for (const auto& [name, info] : named) {
        if (name == "lm_head.weight") {
            if (info->shape != expected.front().second)
                throw IoError(cat(where, ": lm_head.weight has shape ", shape_str(info->shape), "; it is tied to transformer.wte.weight ",
                                  shape_str(expected.front().second)));
            continue;
        }
        if (!gpt2_mask_buffer(name))
            throw IoError(cat(where, ": unexpected tensor '", name, "' (not a GPT-2 parameter of this config)"));
    }
}

}  // namespace detail

template <class T>
nn::Gpt<T> load_pretrained(const std::filesystem::path& dir) {
    const auto config = load_gpt_config(dir / "config.json");  // sizes capped by GptConfigLimits
    const auto file = dir / "model.safetensors";
    const std::string where = cat("load_pretrained: ", file.string());
    // 1. Names, shapes and byte ranges against the config and the file size, from the header alone.
    detail::check_gpt2_header(detail::read_safetensors_header_only(file, "load_pretrained").tensors, config, where);
    // 2. Only now read the weights (exactly the bytes the header promised) and build the model.
    auto tensors = load_safetensors<T>(file);
    nn::Gpt<T> model(config);
    std::map<std::string, Tensor<T>> named;
    for (auto& [name, t] : tensors) named.emplace(detail::gpt2_canonical_name(name), std::move(t));
    for (auto& p : model.parameters()) {
        auto it = named.find(p.name);
        // The header check makes these impossible unless the file changed between the two reads.
        if (it == named.end() || to_shape(it->second.shape()) != to_shape(p.value.shape()))
            throw IoError(cat(where, ": tensor '", p.name, "' changed while the file was being read"));
        p.value = std::move(it->second);
        named.erase(it);
    }
    if (const auto head = named.find("lm_head.weight"); head != named.end()) {
        const auto& wte = model.parameter("transformer.wte.weight").value;
        if (head->second.shape() != wte.shape() || !std::equal(head->second.begin(), head->second.end(), wte.begin()))
            throw IoError(cat(where, ": lm_head.weight differs from transformer.wte.weight; cringe's GPT ties them"));
    }
    return model;
}

}  // namespace cringe::io
