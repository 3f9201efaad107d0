// cringe/io/training_state.hpp - saving and resuming a training run exactly, never losing a state.
//
// The training loop knows no files: it calls its on_checkpoint hook with a train::ResumePoint, and
// the caller saves here; a resumed run loads back INTO the caller's model and optimiser (their
// objects stay where they are) and hands the returned ResumePoint to TrainOptions::resume_from:
//   optim::AdamW<float> adam = train::make_optimizer(model, options);
//   options.resume_from = io::load_training_state(dir, model, adam);       // nullopt: a fresh run
//   options.on_checkpoint = [&](const train::ResumePoint& point) { io::save_training_state(dir, model, adam, point); };
//   train::train(model, adam, loss, next_batch, options);
// A training state is everything the next step depends on: the weights, AdamW's moments and step
// count, the trainer's RNG (CRINGE sampling, dropout) and the step number. It is written as
//   DIR/state-<step>/model.safetensors + config.json   (the Hugging Face checkpoint, in T's precision)
//   DIR/state-<step>/optimizer.safetensors             (m.<name>, v.<name>; metadata: step, adam_steps, rng)
//   DIR/state-<step>/MANIFEST.json                     (each file's size and FNV-1a 64 checksum)
//   DIR/LATEST                                          (the name of the newest complete state)
// A state is ONE atomic unit:
//   1. its files are written into a fresh DIR/.state-<step>.tmp.<pid>.<n>/, the manifest last;
//   2. that directory is renamed to state-<step> (when state-<step> already exists, the two are
//      exchanged atomically with renameat2(RENAME_EXCHANGE) and the old one is then removed);
//   3. LATEST is replaced atomically (atomic_file.hpp);
//   4. only then are older states removed: those with a smaller step than both the new state and
//      the one LATEST named before (which is kept: one state of history). A state is never deleted
//      unless complete, newer states that LATEST named supersede it; without a previous LATEST,
//      nothing is deleted.
// A crash at any moment therefore leaves LATEST naming a complete state, and never a state that
// mixes the files of two saves. Loading checks the manifest (sizes and checksums) before reading
// anything else, then the contents (finite moments, second moments >= 0, consistent step counts).
// Leftover temporary directories and files of this library (named as above, or ".LATEST.tmp.<pid>.<n>")
// whose process is gone are removed by the next save or load.
//
// LATEST missing: if DIR holds no state-<step> directory, there is nothing to resume (nullopt,
// training starts at step 0). If it holds some, the run resumes from the newest one whose manifest
// verifies; if none does, load_training_state refuses with an IoError rather than start over.
// Resuming with the same data order (batches as a function of the step) gives bitwise the same
// result as an uninterrupted run.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>  // renameat2
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "../optim/adamw.hpp"
#include "../train/resume.hpp"
#include "atomic_file.hpp"
#include "checkpoint.hpp"
#include "json_file.hpp"

namespace cringe::io {

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

/// The files of a state besides the manifest, in the order the manifest lists them.
inline constexpr std::string_view kStateFiles[] = {"config.json", "model.safetensors", "optimizer.safetensors"};
inline constexpr std::string_view kStateManifest = "MANIFEST.json";
inline constexpr std::string_view kStateManifestFormat = "cringe-training-state-1";
/// LATEST holds a directory name; the manifest a few hundred bytes. Anything larger is not ours.
inline constexpr std::uint64_t kMaxLatestBytes = 4096;
inline constexpr std::uint64_t kMaxManifestBytes = 1 << 20;
/// Step counts are refused at 2^63 and above (AdamW's counter must not wrap to 0 when incremented).
inline constexpr std::uint64_t kMaxStep = std::uint64_t{1} << 63;

/// A plain decimal number: digits only (no sign, space or suffix), below kMaxStep.
inline std::optional<std::uint64_t> parse_step(std::string_view text) {
    if (text.empty() || text.size() > 19) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (n >= kMaxStep) return std::nullopt;
    return n;
}

/// "state-<step>" -> step; anything else (including "state-01") -> nullopt.
inline std::optional<std::uint64_t> state_step(std::string_view name) {
    if (!name.starts_with("state-")) return std::nullopt;
    const std::string_view digits = name.substr(6);
    if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
    return parse_step(digits);
}

/// FNV-1a, 64 bits: a small checksum that catches torn, truncated and mixed files (not an attacker).
inline std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash = 0xcbf29ce484222325ULL) {
    for (const char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

/// Size and checksum of a regular file, read in 1 MiB pieces.
struct FileDigest {
    std::uint64_t bytes = 0;
    std::uint64_t fnv1a64 = 0;
};
inline FileDigest digest_file(const std::filesystem::path& path, std::string_view who) {
    const RegularFileReader file(path, who);
    FileDigest digest{file.size(), 0xcbf29ce484222325ULL};
    for (std::uint64_t offset = 0; offset < file.size();) {
        const std::string piece = file.read_exactly(offset, std::min<std::uint64_t>(1 << 20, file.size() - offset));
        digest.fnv1a64 = fnv1a64(piece, digest.fnv1a64);
        offset += piece.size();
    }
    return digest;
}

inline std::string hex64(std::uint64_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = digits[v & 15];
    return s;
}

/// Writes state_dir/MANIFEST.json (atomically) describing the state's files as they are now.
inline void write_state_manifest(const std::filesystem::path& state_dir, std::uint64_t step) {
    nlohmann::ordered_json manifest;
    manifest["format"] = kStateManifestFormat;
    manifest["step"] = step;
    nlohmann::ordered_json files = nlohmann::ordered_json::object();
    for (const std::string_view name : kStateFiles) {
        const FileDigest d = digest_file(state_dir / name, "save_training_state");
        files[std::string(name)] = {{"bytes", d.bytes}, {"fnv1a64", hex64(d.fnv1a64)}};
    }
    manifest["files"] = std::move(files);
    write_json_file(state_dir / kStateManifest, manifest, "save_training_state");
}

/// Checks that state_dir is a complete state of `step`: its manifest is ours, names exactly the
/// state's files, and each file has the size and checksum it lists. Throws IoError "<where>: ...".
inline void verify_state_manifest(const std::filesystem::path& state_dir, std::uint64_t step, const std::string& where) {
    const auto manifest_path = state_dir / kStateManifest;
    const nlohmann::json manifest = parse_json(read_file(manifest_path, "load_training_state", kMaxManifestBytes),
                                                   cat("load_training_state: ", manifest_path.string()));
    const auto bad = [&](const std::string& what) {
        return IoError(cat(where, ": ", kStateManifest, " ", what, " (an incomplete or damaged training state)"));
    };
    if (!manifest.is_object() || manifest.size() != 3 || manifest.value("format", nlohmann::json()) != kStateManifestFormat)
        throw bad(cat("is not a manifest of format \"", kStateManifestFormat, "\" with keys format, step, files"));
    if (!manifest.contains("step") || manifest.at("step") != step)
        throw bad(cat("has step ", manifest.value("step", nlohmann::json()).dump(), "; the directory name says ", step));
    const nlohmann::json& files = manifest.value("files", nlohmann::json());
    if (!files.is_object() || files.size() != std::size(kStateFiles))
        throw bad("does not list exactly config.json, model.safetensors and optimizer.safetensors");
    for (const std::string_view name : kStateFiles) {
        const std::string key(name);
        if (!files.contains(key) || !files.at(key).is_object() || !files.at(key).contains("bytes") || !files.at(key).contains("fnv1a64"))
            throw bad(cat("does not list ", key, " with bytes and fnv1a64"));
        const nlohmann::json& entry = files.at(key);
        const FileDigest d = digest_file(state_dir / name, "load_training_state");
        if (entry.at("bytes") != d.bytes)
            throw IoError(cat(where, ": ", key, " is ", d.bytes, " bytes; the manifest says ", entry.at("bytes").dump(),
                              " (an incomplete or damaged training state)"));
        if (entry.at("fnv1a64") != hex64(d.fnv1a64))
            throw IoError(cat(where, ": ", key, " has checksum ", hex64(d.fnv1a64), "; the manifest says ", entry.at("fnv1a64").dump(),
                              " (a damaged training state, or files of different saves)"));
    }
}

/// The process id in a temporary name this library makes in a state directory:
/// ".state-<step>.tmp.<pid>.<n>" (a state being written), ".state-<step>.old.<pid>.<n>" (a replaced
/// state being removed) and ".LATEST.tmp.<pid>.<n>" (write_file_atomically's temporary for LATEST).
inline std::optional<long> leftover_pid(std::string_view name) {
    std::string_view rest;
    if (name.starts_with(".LATEST.tmp.")) {
        rest = name.substr(12);
    } else if (name.starts_with(".state-")) {
        const std::size_t dot = name.find('.', 1);
        if (dot == std::string_view::npos || !state_step(name.substr(1, dot - 1))) return std::nullopt;
        rest = name.substr(dot + 1);
        if (!rest.starts_with("tmp.") && !rest.starts_with("old.")) return std::nullopt;
        rest = rest.substr(4);
    } else {
        return std::nullopt;
    }
    const std::size_t dot = rest.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const auto pid = parse_step(rest.substr(0, dot));
    const auto counter = parse_step(rest.substr(dot + 1));
    if (!pid || !counter || *pid == 0 || *pid > 0x7fffffff) return std::nullopt;
    return static_cast<long>(*pid);
}

/// Removes this library's temporaries in `dir` left by a process that no longer exists (or by this
/// one: it is not writing a state while it calls this). Others' files, and temporaries of a live
/// process (another trainer may be saving), are left alone. Failures are ignored: a leftover that
/// cannot be removed is harmless, since no state and no LATEST ever refers to it.
inline void remove_leftover_temporaries(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec), end;
    std::vector<std::filesystem::path> leftovers;
    for (; !ec && it != end; it.increment(ec)) {
        const auto pid = leftover_pid(it->path().filename().string());
        if (!pid) continue;
        const bool ours = *pid == static_cast<long>(::getpid());
        const bool gone = ::kill(static_cast<pid_t>(*pid), 0) != 0 && errno == ESRCH;
        if (ours || gone) leftovers.push_back(it->path());
    }
    for (const auto& path : leftovers) std::filesystem::remove_all(path, ec);
}

/// The steps of DIR's state-<step> directories, newest first.
inline std::vector<std::uint64_t> state_steps(const std::filesystem::path& dir) {
    std::vector<std::uint64_t> steps;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec))
        if (const auto step = state_step(it->path().filename().string()); step && it->is_directory(ec)) steps.push_back(*step);
    std::sort(steps.rbegin(), steps.rend());
    return steps;
}

/// fsync of a directory, so that renames in it survive a power cut (EINVAL: not supported there).
inline void fsync_directory(const std::filesystem::path& dir, const std::string& who) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw IoError(cat(who, ": ", dir.string(), ": cannot open to fsync: ", detail::errno_message(errno)));
    detail::FileDescriptor directory(fd);
    if (::fsync(directory.get()) != 0 && errno != EINVAL)
        throw IoError(cat(who, ": ", dir.string(), ": cannot fsync: ", detail::errno_message(errno)));
}

/// Removes a temporary state directory unless release() was called.
class TemporaryDirectoryGuard {
public:
    explicit TemporaryDirectoryGuard(std::filesystem::path p) : path_(std::move(p)) {}
    TemporaryDirectoryGuard(const TemporaryDirectoryGuard&) = delete;
    TemporaryDirectoryGuard& operator=(const TemporaryDirectoryGuard&) = delete;
    ~TemporaryDirectoryGuard() {
        std::error_code ignored;
        if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
    }
    void release() { path_.clear(); }

private:
    std::filesystem::path path_;
};

inline std::filesystem::path temporary_state_path(const std::filesystem::path& dir, const std::string& name, const char* kind) {
    static std::atomic<unsigned long> counter{0};
    return dir / cat(".", name, ".", kind, ".", ::getpid(), ".", counter.fetch_add(1));
}

/// LATEST's state name, or nullopt when there is no LATEST. Throws IoError when LATEST exists but
/// cannot be read or does not hold a state name (one trailing newline is tolerated).
inline std::optional<std::string> read_latest(const std::filesystem::path& dir, const char* who) {
    const auto latest = dir / "LATEST";
    std::error_code ec;
    const auto status = std::filesystem::symlink_status(latest, ec);
    if (ec || status.type() == std::filesystem::file_type::not_found) return std::nullopt;
    std::string name = read_file(latest, who, kMaxLatestBytes);
    if (name.ends_with('\n')) name.pop_back();
    if (!state_step(name))
        throw IoError(cat(who, ": ", latest.string(), ": holds \"", name.substr(0, 64), "\"; expected the name of a state, state-<step>"));
    return name;
}

}  // namespace detail

/// Writes `DIR/state-<point.step>/` (the model's weights, the optimiser's moments and step count,
/// the point's step and random state) as one atomic unit, points `DIR/LATEST` at it, then removes
/// the states it supersedes (see the top of this file). Throws IoError when anything cannot be
/// written; the states already in DIR are then untouched. TrainOptions::on_checkpoint calls it.
template <class T>
void save_training_state(const std::filesystem::path& dir, const nn::Gpt<T>& model, const optim::AdamW<T>& adam,
                         const train::ResumePoint& point) {
    const char* who = "save_training_state";
    const std::size_t step = point.step;
    if (step >= detail::kMaxStep) throw ValueError(cat(who, ": step ", step, " is too large; expected < 2^63"));
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw IoError(cat(who, ": cannot create directory ", dir.string(), ": ", ec.message()));
    detail::remove_leftover_temporaries(dir);
    const std::optional<std::string> previous = detail::read_latest(dir, who);  // before writing: fail early

    // 1. Every file into a fresh temporary directory, the manifest last.
    const std::string name = cat("state-", step);
    const auto tmp = detail::temporary_state_path(dir, name, "tmp");
    detail::TemporaryDirectoryGuard guard(tmp);
    if (!std::filesystem::create_directory(tmp, ec) || ec)
        throw IoError(cat(who, ": cannot create directory ", tmp.string(), ": ", ec ? ec.message() : "it already exists"));
    save_pretrained(model, tmp);
    std::vector<std::pair<std::string, Tensor<T>>> moments;
    for (std::size_t i = 0; i < model.parameters().size(); ++i) {
        moments.emplace_back("m." + model.parameters()[i].name, adam.first_moment(i));
        moments.emplace_back("v." + model.parameters()[i].name, adam.second_moment(i));
    }
    save_safetensors(tmp / "optimizer.safetensors", moments, dtype_of<T>(),
                         {{"step", std::to_string(step)}, {"adam_steps", std::to_string(adam.steps_taken())}, {"rng", detail::encode_rng(point.rng)}});
    detail::write_state_manifest(tmp, step);

    // 2. Publish it under its name: a rename, or an atomic exchange with an existing state-<step>.
    const auto state_dir = dir / name;
    if (::rename(tmp.c_str(), state_dir.c_str()) == 0) {
        guard.release();
    } else {
        const int err = errno;
        if (err != ENOTEMPTY && err != EEXIST)
            throw IoError(cat(who, ": cannot rename ", tmp.string(), " to ", state_dir.string(), ": ", detail::errno_message(err)));
        if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, state_dir.c_str(), RENAME_EXCHANGE) != 0) {
            const int exchange_err = errno;
            throw IoError(cat(who, ": cannot replace ", state_dir.string(), " (atomic exchange): ", detail::errno_message(exchange_err)));
        }
        // tmp now holds the replaced state of the same step: superseded, removed (by the guard).
    }
    detail::fsync_directory(dir, who);

    // 3. Point LATEST at it.
    write_file_atomically(dir / "LATEST", name);

    // 4. Remove what is now superseded twice over: states older than both the new one and the one
    //    LATEST named before (which is kept: one state of history). Without a previous LATEST
    //    nothing is removed, as nothing says the states there belong to this run.
    if (const std::optional<std::uint64_t> kept = previous ? detail::state_step(*previous) : std::nullopt)
        for (const std::uint64_t old : detail::state_steps(dir))
            if (old < step && old < *kept) std::filesystem::remove_all(dir / cat("state-", old), ec);
}

/// Loads DIR's latest state INTO `model` and `adam` and returns where the run continues (for
/// TrainOptions::resume_from); nullopt when DIR holds no state yet. `adam` must be built on `model`'s
/// parameters (train::make_optimizer). Everything is read and checked before either is changed:
/// when it throws, `model` and `adam` are as they were. The weights are copied into the model's
/// existing Parameters and the moments into the optimiser (AdamW::load_state): no object is
/// replaced, so the optimiser keeps updating the model's parameters.
template <class T>
std::optional<train::ResumePoint> load_training_state(const std::filesystem::path& dir, nn::Gpt<T>& model, optim::AdamW<T>& adam) {
    const char* who = "load_training_state";
    // The state is loaded INTO the optimiser, so it must be the one that updates this model.
    const auto& model_params = model.parameters();
    bool same_parameters = adam.parameters().size() == model_params.size();
    for (std::size_t i = 0; same_parameters && i < model_params.size(); ++i) same_parameters = adam.parameters()[i] == &model_params[i];
    if (!same_parameters)
        throw ValueError(cat(who, ": the optimiser updates ", adam.parameters().size(), " parameters that are not the model's ",
                             model_params.size(), " (in order); expected an optimiser built on this model (train::make_optimizer)"));
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        if (std::filesystem::exists(dir, ec)) throw IoError(cat(who, ": ", dir.string(), ": is not a directory"));
        return std::nullopt;
    }
    detail::remove_leftover_temporaries(dir);

    // Which state: LATEST's; without LATEST, the newest complete one (or none at all).
    std::string name;
    if (const auto latest = detail::read_latest(dir, who)) {
        name = *latest;
        detail::verify_state_manifest(dir / name, *detail::state_step(name), cat(who, ": ", (dir / name).string()));
    } else {
        const auto steps = detail::state_steps(dir);
        if (steps.empty()) return std::nullopt;
        std::string reasons;
        for (const std::uint64_t step : steps) {
            const std::string candidate = cat("state-", step);
            try {
                detail::verify_state_manifest(dir / candidate, step, cat(who, ": ", (dir / candidate).string()));
                name = candidate;
                break;
            } catch (const IoError& e) {
                reasons += cat(reasons.empty() ? "" : "; ", e.what());
            }
        }
        if (name.empty())
            throw IoError(cat(who, ": ", dir.string(), ": LATEST is missing and none of its ", steps.size(),
                              " state directories is complete, so there is nothing to resume; refusing to start over beside them (",
                              reasons, ")"));
    }
    const std::uint64_t dir_step = *detail::state_step(name);
    const auto state_dir = dir / name;
    const std::string where = cat(who, ": ", state_dir.string());

    nn::Gpt<T> loaded = load_pretrained<T>(state_dir);
    const auto& a = loaded.config();
    const auto& b = model.config();
    if (a.vocab_size != b.vocab_size || a.n_positions != b.n_positions || a.n_embd != b.n_embd || a.n_layer != b.n_layer || a.n_head != b.n_head)
        throw IoError(cat(where, ": the saved model's configuration differs from the model being trained"));
    const auto file = state_dir / "optimizer.safetensors";
    auto moments = load_safetensors<T>(file);  // finite values only
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
        // A second moment is a running mean of squares: a negative one makes sqrt(v) NaN at the first step.
        const Tensor<T>& second = v[i];
        for (std::size_t k = 0; k < second.size(); ++k)
            if (!(second.data()[k] >= T(0)))
                throw IoError(cat(where, ": optimizer.safetensors 'v.", params[i].name, "' element ", k, " is ", second.data()[k],
                                  "; expected a second moment >= 0"));
    }
    const auto meta = read_safetensors_metadata(file);
    auto field = [&](const char* key) {
        auto it = meta.find(key);
        if (it == meta.end()) throw IoError(cat(where, ": optimizer.safetensors metadata lacks '", key, "'"));
        return it->second;
    };
    const auto step = detail::parse_step(field("step"));
    const auto adam_steps = detail::parse_step(field("adam_steps"));
    if (!step || !adam_steps)
        throw IoError(cat(where, ": metadata 'step' or 'adam_steps' is not a number (expected decimal digits only, below 2^63; step \"",
                          field("step").substr(0, 32), "\", adam_steps \"", field("adam_steps").substr(0, 32), "\")"));
    if (*step != dir_step) throw IoError(cat(where, ": metadata 'step' is ", *step, "; the directory name says ", dir_step));
    if (*adam_steps > *step)
        throw IoError(cat(where, ": metadata 'adam_steps' is ", *adam_steps, ", more optimiser steps than training steps (", *step, ")"));
    auto& targets = model.parameters();
    for (std::size_t i = 0; i < params.size(); ++i)  // same configuration, so this holds unless the model was edited
        if (targets[i].name != params[i].name || targets[i].value.shape() != params[i].value.shape())
            throw IoError(cat(where, ": saved parameter ", i, " is '", params[i].name, "' ", shape_str(params[i].value.shape()),
                              "; the model being trained has '", targets[i].name, "' ", shape_str(targets[i].value.shape())));
    train::ResumePoint point;
    point.step = static_cast<std::size_t>(*step);
    point.rng = detail::decode_rng(field("rng"), where);
    // Load INTO the model: its Parameter objects stay where they are, so the optimiser (and anything
    // else holding them) keeps pointing at the resumed weights; only the values are replaced.
    for (std::size_t i = 0; i < params.size(); ++i) targets[i].value = std::move(loaded.parameters()[i].value);
    adam.load_state(std::move(m), std::move(v), static_cast<std::size_t>(*adam_steps));  // checked above: cannot throw
    return point;
}


}  // namespace cringe::io
