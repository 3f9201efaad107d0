// Fuzz harness `checkpoint` (fuzz_parsers.cpp): arbitrary bytes as a checkpoint's model.safetensors
// (and, from the first bytes, a config.json). Loading must either succeed or throw cringe::Error:
// never crash, never read out of bounds (built with -fsanitize=fuzzer,address,undefined).
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <cringe/io/checkpoint.hpp>

#include "fuzz_files.hpp"

namespace cringe_fuzz::checkpoint {

inline int one_input(const std::uint8_t* data, std::size_t size) {
    static const auto dir = scratch_dir("checkpoint");
    // Input layout: [1 byte n][n bytes config.json][rest: model.safetensors]; if n is 0 a valid tiny
    // config is used, so most inputs exercise the safetensors parser against a real model shape.
    const std::size_t n = size ? std::min<std::size_t>(data[0], size - 1) : 0;
    const std::string config = n ? std::string(reinterpret_cast<const char*>(data + 1), n)
                                 : R"({"vocab_size": 5, "n_positions": 4, "n_embd": 4, "n_layer": 1, "n_head": 2})";
    const char* rest = reinterpret_cast<const char*>(data + (size ? 1 + n : 0));
    const std::size_t rest_size = size ? size - 1 - n : 0;
    write_bytes(dir / "config.json", config);
    write_bytes(dir / "model.safetensors", std::string_view(rest, rest_size));
    try {
        auto model = cringe::io::load_pretrained<float>(dir);
        (void)model.parameter_count();
    } catch (const cringe::Error&) {
    }
    try {
        (void)cringe::io::read_safetensors_header(dir / "model.safetensors");
    } catch (const cringe::Error&) {
    }
    return 0;
}

}  // namespace cringe_fuzz::checkpoint
