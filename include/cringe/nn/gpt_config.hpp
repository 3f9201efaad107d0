// cringe/nn/gpt_config.hpp - the hyper-parameters of a GPT-2-style model, validated.
#pragma once

#include <cstddef>

#include "../error.hpp"

namespace cringe::nn {

/// Hugging Face GPT-2 names in brackets (config.json keys).
struct GptConfig {
    std::size_t vocab_size = 64;    ///< [vocab_size]
    std::size_t n_positions = 32;   ///< [n_positions] longest sequence the model accepts
    std::size_t n_embd = 32;        ///< [n_embd] model width C
    std::size_t n_layer = 2;        ///< [n_layer]
    std::size_t n_head = 4;         ///< [n_head]; n_embd must be divisible by it
    double dropout = 0.0;           ///< [resid_pdrop = embd_pdrop = attn_pdrop]
    double layer_norm_epsilon = 1e-5;  ///< [layer_norm_epsilon]

    /// Throws cringe::ValueError naming the field when the configuration cannot describe a model.
    void validate() const {
        if (vocab_size < 2) throw ValueError(cat("GptConfig: vocab_size is ", vocab_size, "; expected >= 2"));
        if (n_positions < 1) throw ValueError("GptConfig: n_positions is 0; expected >= 1");
        if (n_layer < 1) throw ValueError("GptConfig: n_layer is 0; expected >= 1");
        if (n_head < 1) throw ValueError("GptConfig: n_head is 0; expected >= 1");
        if (n_embd < 1) throw ValueError("GptConfig: n_embd is 0; expected >= 1");
        if (n_embd % n_head != 0)
            throw ValueError(cat("GptConfig: n_embd ", n_embd, " is not divisible by n_head ", n_head,
                                 "; expected n_embd % n_head == 0"));
        if (!(dropout >= 0.0 && dropout < 1.0))
            throw ValueError(cat("GptConfig: dropout is ", dropout, "; expected 0 <= dropout < 1"));
        if (!(layer_norm_epsilon > 0.0))
            throw ValueError(cat("GptConfig: layer_norm_epsilon is ", layer_norm_epsilon, "; expected > 0"));
    }

    /// n_embd / n_head.
    std::size_t head_dim() const { return n_embd / n_head; }

    /// Number of trainable scalars (the LM head is tied to wte, so it adds nothing):
    /// wte V*C + wpe P*C + per layer (2 LN: 4C, c_attn C*3C+3C, attn c_proj C*C+C,
    /// c_fc C*4C+4C, mlp c_proj 4C*C+C) + ln_f 2C.
    std::size_t parameter_count() const {
        const std::size_t C = n_embd;
        const std::size_t per_layer = 4 * C + (3 * C * C + 3 * C) + (C * C + C) + (4 * C * C + 4 * C) +
                                      (4 * C * C + C);
        return vocab_size * C + n_positions * C + n_layer * per_layer + 2 * C;
    }
};

}  // namespace cringe::nn
