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
#pragma once

#include <filesystem>
#include <map>
#include <string>

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

template <class T>
nn::Gpt<T> load_pretrained(const std::filesystem::path& dir) {
    const auto config = load_gpt_config(dir / "config.json");
    const auto file = dir / "model.safetensors";
    const std::string where = cat("load_pretrained: ", file.string());
    auto tensors = load_safetensors<T>(file);
    nn::Gpt<T> model(config);
    // Accept bare GPT2Model names ("h.0.ln_1.weight") by adding the prefix.
    std::map<std::string, Tensor<T>> named;
    for (auto& [name, t] : tensors) {
        const bool is_head = name == "lm_head.weight";
        named[is_head || name.rfind("transformer.", 0) == 0 ? name : "transformer." + name] = std::move(t);
    }
    for (auto& p : model.parameters()) {
        auto it = named.find(p.name);
        if (it == named.end()) throw IoError(cat(where, ": tensor '", p.name, "' is missing"));
        if (to_shape(it->second.shape()) != to_shape(p.value.shape()))
            throw IoError(cat(where, ": tensor '", p.name, "' has shape ", shape_str(it->second.shape()), "; the config needs ",
                              shape_str(p.value.shape())));
        p.value = std::move(it->second);
        named.erase(it);
    }
    for (const auto& [name, t] : named) {
        if (name == "lm_head.weight") {
            const auto& wte = model.parameter("transformer.wte.weight").value;
            if (t.shape() != wte.shape() || !std::equal(t.begin(), t.end(), wte.begin()))
                throw IoError(cat(where, ": lm_head.weight differs from transformer.wte.weight; cringe's GPT ties them"));
            continue;
        }
        const bool mask_buffer = name.size() > 10 && (name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias"));
        if (!mask_buffer) throw IoError(cat(where, ": unexpected tensor '", name, "' (not a GPT-2 parameter of this config)"));
    }
    return model;
}

}  // namespace cringe::io
