// Fuzz harness `pretrained` (fuzz_parsers.cpp): a Hugging Face checkpoint directory as a PAIR of
// files, both from the input:
//   <config.json bytes> "\n#model.safetensors\n" <model.safetensors bytes>
// Without the separator line the whole input is config.json, beside a valid model.safetensors of
// the tiny config {"vocab_size": 5, "n_positions": 4, "n_embd": 4, "n_layer": 1, "n_head": 2}: so
// configs are checked against real weights (a config describing a far larger model than its
// weights file must be rejected before anything is allocated for it).
// load_pretrained<float> and <double> must return or throw cringe::Error: never crash, read out of
// bounds, overflow the stack or allocate without bound (-rss_limit_mb in tools/fuzz.sh).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <cringe/io/checkpoint.hpp>

#include "fuzz_files.hpp"

namespace cringe_fuzz::pretrained {
inline constexpr std::string_view kSeparator = "\n#model.safetensors\n";

/// model.safetensors of a freshly initialised tiny model, made once.
inline const std::string& tiny_weights() {
    static const std::string bytes = [] {
        const auto dir = scratch_dir("pretrained-template");
        cringe::io::save_pretrained(cringe::nn::Gpt<float>(tiny_config(), 1), dir);
        return read_bytes(dir / "model.safetensors");
    }();
    return bytes;
}
inline int one_input(const std::uint8_t* data, std::size_t size) {
    static const auto dir = scratch_dir("pretrained");
    const std::string_view input = as_text(data, size);
    const std::size_t cut = input.find(kSeparator);
    const std::string_view config = input.substr(0, cut);
    const std::string_view weights = cut == std::string_view::npos ? std::string_view(tiny_weights()) : input.substr(cut + kSeparator.size());
    write_bytes(dir / "config.json", config);
    write_bytes(dir / "model.safetensors", weights);
    try {
        const auto model = cringe::io::load_pretrained<float>(dir);
        (void)model.parameter_count();
    } catch (const cringe::Error&) {
    }
    try {
        const auto model = cringe::io::load_pretrained<double>(dir);
        (void)model.parameter_count();
    } catch (const cringe::Error&) {
    }
    return 0;
}

}  // namespace cringe_fuzz::pretrained
