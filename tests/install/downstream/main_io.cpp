// Built against the installed package's cringe::io: a safetensors file written to the directory given
// as argv[1] and read back (the file formats are what cringe::io adds to cringe::cringe). Kept small
// on purpose: this checks the package's targets, and the test command compiles it twice.
#include <cringe/cringe.hpp>
#include <cringe/io/io.hpp>

#include <filesystem>
#include <iostream>

int main(int argc, char** argv) {
    using namespace cringe;
    if (argc != 2) {
        std::cerr << "usage: downstream_io DIR\n";
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const Tensor<float> w = from_values<float>({2, 3}, {1.0f, -2.0f, 0.5f, 4.0f, 0.0f, 3.25f});
    io::save_safetensors<float>(dir / "w.safetensors", {{"w", w}}, io::DType::F32);
    const auto loaded = io::load_safetensors<float>(dir / "w.safetensors");
    const bool ok = loaded.size() == 1 && loaded.count("w") == 1 && loaded.at("w") == w;
    std::cout << (ok ? "downstream_io ok" : "downstream_io WRONG") << ", " << loaded.size() << " tensor(s) read back\n";
    return ok ? 0 : 1;
}
