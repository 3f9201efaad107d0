// libFuzzer harness: arbitrary bytes as a checkpoint's model.safetensors (and, from the first
// bytes, a config.json). Loading must either succeed or throw cringe::Error: never crash, never
// read out of bounds (built with -fsanitize=fuzzer,address,undefined).
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <cringe/io/checkpoint.hpp>

namespace {
const std::filesystem::path& workdir() {
    static const std::filesystem::path dir = [] {
        auto d = std::filesystem::temp_directory_path() / ("cringe-fuzz-ckpt-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Input layout: [1 byte n][n bytes config.json][rest: model.safetensors]; if n is 0 a valid tiny
    // config is used, so most inputs exercise the safetensors parser against a real model shape.
    const std::size_t n = size ? std::min<std::size_t>(data[0], size - 1) : 0;
    const std::string config = n ? std::string(reinterpret_cast<const char*>(data + 1), n)
                                 : R"({"vocab_size": 5, "n_positions": 4, "n_embd": 4, "n_layer": 1, "n_head": 2})";
    const char* rest = reinterpret_cast<const char*>(data + (size ? 1 + n : 0));
    const std::size_t rest_size = size ? size - 1 - n : 0;
    { std::ofstream(workdir() / "config.json", std::ios::binary) << config; }
    { std::ofstream(workdir() / "model.safetensors", std::ios::binary).write(rest, static_cast<std::streamsize>(rest_size)); }
    try {
        auto model = cringe::io::load_pretrained<float>(workdir());
        (void)model.parameter_count();
    } catch (const cringe::Error&) {
    }
    try {
        (void)cringe::io::read_safetensors_header(workdir() / "model.safetensors");
    } catch (const cringe::Error&) {
    }
    return 0;
}
