// cringe/train/training_state.hpp - saving and resuming a training run exactly.
//
// A training state is everything the next step depends on: the weights, AdamW's moments and step
// count, the trainer's RNG (CRINGE sampling, dropout) and the step number. It is written as
//   DIR/state-<step>/model.safetensors + config.json   (the Hugging Face checkpoint, in T's precision)
//   DIR/state-<step>/optimizer.safetensors             (m.<name>, v.<name>; metadata: step, rng)
//   DIR/LATEST                                          (the name of the newest complete state)
// Every file is written atomically and LATEST is replaced last, so a crash at any moment leaves the
// previous state intact and LATEST naming a complete directory. Resuming with the same data order
// (batches as a function of the step) gives bitwise the same result as an uninterrupted run.
#pragma once

#include <bit>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>

#include "../io/atomic_file.hpp"
#include "../io/checkpoint.hpp"
#include "../optim/adamw.hpp"

namespace cringe::train {

/// Where a resumed run continues.
struct ResumePoint {
    /// Optimiser steps already taken.
    std::size_t step = 0;
    /// The trainer's random state at that step.
    Rng::State rng{};
};

namespace detail {
inline std::string encode_rng(const Rng::State& s) {
    std::ostringstream os;
    for (auto w : s.words) os << w << " ";
    os << std::bit_cast<std::uint64_t>(s.spare_normal) << " " << (s.has_spare_normal ? 1 : 0);
    return os.str();
}
inline Rng::State decode_rng(const std::string& text, const std::string& where) {
    std::istringstream is(text);
    Rng::State s{};
    std::uint64_t spare = 0;
    int has = 0;
    for (auto& w : s.words) is >> w;
    is >> spare >> has;
    if (!is) throw IoError(cat(where, ": metadata 'rng' is not five integers and a flag"));
    s.spare_normal = std::bit_cast<double>(spare);
    s.has_spare_normal = has != 0;
    return s;
}
}  // namespace detail

/// Writes DIR/`state-<step>`/ and then points DIR/LATEST at it; removes the state before the previous one.
template <class T>
void save_training_state(const std::filesystem::path& dir, const nn::Gpt<T>& model, optim::AdamW<T>& adam, std::size_t step, const Rng& rng) {
    const std::string name = cat("state-", step);
    const auto state_dir = dir / name;
    io::save_pretrained(model, state_dir);
    std::vector<std::pair<std::string, Tensor<T>>> moments;
    for (std::size_t i = 0; i < model.parameters().size(); ++i) {
        moments.emplace_back("m." + model.parameters()[i].name, adam.first_moments()[i]);
        moments.emplace_back("v." + model.parameters()[i].name, adam.second_moments()[i]);
    }
    io::save_safetensors(state_dir / "optimizer.safetensors", moments, io::dtype_of<T>(),
                         {{"step", std::to_string(step)}, {"adam_steps", std::to_string(adam.steps_taken())}, {"rng", detail::encode_rng(rng.state())}});
    std::string previous;
    if (std::filesystem::exists(dir / "LATEST")) previous = io::read_file(dir / "LATEST", "save_training_state");
    io::write_file_atomically(dir / "LATEST", name);
    // keep the state LATEST pointed at before (one step of history); drop older ones
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string n = e.path().filename().string();
        if (n.rfind("state-", 0) == 0 && n != name && n != previous) std::filesystem::remove_all(e.path());
    }
}

/// Loads DIR's latest state into `model` and `adam`; nullopt when DIR holds no state yet. Everything
/// is read and checked before either is changed: when it throws, `model` and `adam` are as they were.
template <class T>
std::optional<ResumePoint> load_training_state(const std::filesystem::path& dir, nn::Gpt<T>& model, optim::AdamW<T>& adam) {
    if (!std::filesystem::exists(dir / "LATEST")) return std::nullopt;
    const std::string name = io::read_file(dir / "LATEST", "load_training_state");
    const auto state_dir = dir / name;
    const std::string where = cat("load_training_state: ", state_dir.string());
    nn::Gpt<T> loaded = io::load_pretrained<T>(state_dir);
    const auto& a = loaded.config();
    const auto& b = model.config();
    if (a.vocab_size != b.vocab_size || a.n_positions != b.n_positions || a.n_embd != b.n_embd || a.n_layer != b.n_layer || a.n_head != b.n_head)
        throw IoError(cat(where, ": the saved model's configuration differs from the model being trained"));
    const auto file = state_dir / "optimizer.safetensors";
    auto moments = io::load_safetensors<T>(file);
    const auto& params = loaded.parameters();
    std::vector<Tensor<T>> m(params.size()), v(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
        for (const char* kind : {"m.", "v."}) {
            auto it = moments.find(kind + params[i].name);
            if (it == moments.end()) throw IoError(cat(where, ": optimizer.safetensors lacks '", kind, params[i].name, "'"));
            if (it->second.shape() != params[i].value.shape())
                throw IoError(cat(where, ": optimizer.safetensors has '", kind, params[i].name, "' of shape ", shape_str(it->second.shape()),
                                  "; the parameter has ", shape_str(params[i].value.shape())));
            (kind[0] == 'm' ? m : v)[i] = std::move(it->second);
        }
    }
    const auto meta = io::read_safetensors_metadata(file);
    auto field = [&](const char* key) {
        auto it = meta.find(key);
        if (it == meta.end()) throw IoError(cat(where, ": optimizer.safetensors metadata lacks '", key, "'"));
        return it->second;
    };
    ResumePoint point;
    std::size_t adam_steps = 0;
    try {
        point.step = std::stoull(field("step"));
        adam_steps = std::stoull(field("adam_steps"));
    } catch (const std::logic_error&) {
        throw IoError(cat(where, ": metadata 'step' or 'adam_steps' is not a number"));
    }
    point.rng = detail::decode_rng(field("rng"), where);
    model = std::move(loaded);
    adam.first_moments() = std::move(m);
    adam.second_moments() = std::move(v);
    adam.set_steps_taken(adam_steps);
    return point;
}

}  // namespace cringe::train
