// Fuzz harness `training_state` (fuzz_parsers.cpp): a training-state directory
// (io/training_state.hpp) with one file corrupted.
// A valid state of a tiny model is saved once; each input then picks one of its files and either
//   replaces it:  [file][even mode byte][new contents...]
//   or patches it: [file][odd mode byte][4-byte little-endian offset][bytes written over it...]
// (the file is the first byte modulo the number of files, in path order; an empty input loads the
// valid state, which must succeed). Patching keeps the rest valid, so the checks behind the parsers
// (moments, step, rng, shapes) are reached. load_training_state must return or throw cringe::Error,
// and when it throws, the model and the optimiser must be exactly as before. After a successful
// load, one optimiser step runs (no crash, no sanitizer report; its values are not judged).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <cringe/io/training_state.hpp>

#include "fuzz_files.hpp"

namespace cringe_fuzz::training_state {
using T = float;

inline std::vector<cringe::Parameter<T>*> pointers(cringe::nn::Gpt<T>& model) {
    std::vector<cringe::Parameter<T>*> out;
    for (auto& p : model.parameters()) out.push_back(&p);
    return out;
}

/// A valid state (after one AdamW step, so the moments are not zero) and its files in path order.
struct Template {
    std::filesystem::path dir = scratch_dir("training-state-template");
    std::vector<std::filesystem::path> files;  // relative to dir
    Template() {
        cringe::nn::Gpt<T> model(tiny_config(), 1);
        cringe::optim::AdamW<T> adam(pointers(model), {});
        for (auto& p : model.parameters())
            for (std::size_t i = 0; i < p.grad.size(); ++i) p.grad.data()[i] = T(0.25) * static_cast<T>(i % 7) - T(0.5);
        adam.step();
        cringe::io::save_training_state(dir, model, adam, {.step = 3, .rng = cringe::Rng(9).state()});
        for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
            if (e.is_regular_file()) files.push_back(std::filesystem::relative(e.path(), dir));
        std::sort(files.begin(), files.end());
    }
};

/// Every value of the model and the optimiser, to check that a failed load changed nothing.
inline std::string snapshot(cringe::nn::Gpt<T>& model, cringe::optim::AdamW<T>& adam) {
    std::string bytes = std::to_string(adam.steps_taken());
    auto add = [&](const cringe::Tensor<T>& t) { bytes.append(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(T)); };
    for (const auto& p : model.parameters()) add(p.value);
    for (const auto& m : adam.first_moments()) add(m);
    for (const auto& v : adam.second_moments()) add(v);
    return bytes;
}
inline int one_input(const std::uint8_t* data, std::size_t size) {
    static const Template valid;
    static const auto dir = scratch_dir("training-state");
    std::filesystem::remove_all(dir);
    std::filesystem::copy(valid.dir, dir, std::filesystem::copy_options::recursive);
    if (size >= 2 && !valid.files.empty()) {
        const auto path = dir / valid.files[data[0] % valid.files.size()];
        if (data[1] % 2 == 0) {
            write_bytes(path, as_text(data + 2, size - 2));
        } else if (size >= 6) {
            std::string bytes = read_bytes(path);
            std::uint32_t offset = 0;
            std::memcpy(&offset, data + 2, 4);
            const std::size_t at = offset % (bytes.size() + 1);
            const std::string_view patch = as_text(data + 6, size - 6);
            if (bytes.size() < at + patch.size()) bytes.resize(at + patch.size());
            bytes.replace(at, patch.size(), patch);
            write_bytes(path, bytes);
        }
    }
    cringe::nn::Gpt<T> model(tiny_config(), 2);
    cringe::optim::AdamW<T> adam(pointers(model), {});
    const std::string before = snapshot(model, adam);
    try {
        const auto point = cringe::io::load_training_state(dir, model, adam);  // into the model and adam
        if (size == 0 && !point) std::abort();  // the valid state must load
        adam.step();
    } catch (const cringe::Error&) {
        if (snapshot(model, adam) != before) std::abort();  // a failed load must change nothing
    }
    return 0;
}

}  // namespace cringe_fuzz::training_state
