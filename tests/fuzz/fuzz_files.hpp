// Helpers shared by the libFuzzer harnesses that need files: a scratch directory per process and
// raw byte writes (the harnesses hand the library files, as a user would).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <cringe/nn/gpt_config.hpp>

namespace cringe_fuzz {

/// The tiny model whose files the harnesses corrupt: vocabulary 5, 4 positions, width 4, one layer,
/// two heads (the same numbers as the checkpoint harness's default config.json).
inline cringe::nn::GptConfig tiny_config() {
    cringe::nn::GptConfig config;
    config.vocab_size = 5;
    config.n_positions = 4;
    config.n_embd = 4;
    config.n_layer = 1;
    config.n_head = 2;
    return config;
}

/// A directory of its own for this fuzzing process, under the system's temporary directory.
inline std::filesystem::path scratch_dir(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() / ("cringe-fuzz-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return dir;
}

inline void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace cringe_fuzz
