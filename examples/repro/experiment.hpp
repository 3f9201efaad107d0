// examples/repro/experiment.hpp - one task of the CRINGE reproduction: pretrain, fine-tune every
// method with the same model, steps and seeds (the loss swapped as a policy type), evaluate.
//
// A task composes three parts: its data (task_data.hpp), fine-tuning (finetuning.hpp) and
// evaluation (evaluation.hpp); the settings they share are in settings.hpp.
// Protocol and choices: docs/reproduction.md.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <cringe/cringe.hpp>
#include "contradiction_world.hpp"
#include "evaluation.hpp"
#include "finetuning.hpp"
#include "fits_world.hpp"
#include "opener_contradiction_world.hpp"
#include "opener_safety_world.hpp"
#include "safety_world.hpp"
#include "settings.hpp"
#include "task_data.hpp"

namespace repro {

using namespace cringe;

/// One result: a method's metrics on one task, seed and round (round 0: no fine-tuning).
struct Record {
    std::string task;
    Method method;
    std::uint64_t seed = 0;
    int round = 1;
    Metrics metrics;
    double seconds = 0;
};

/// Order of methods in every output (the paper's table order).
inline int method_rank(const std::string& name) {
    static const std::vector<std::string> order = {"pretrained", "baseline", "unlikelihood", "cringe_single", "cringe_iterative",
                                                   "pairwise_cringe", "sigmoid_only", "cringe_k1", "cringe_detached", "cringe_separate"};
    const auto it = std::ranges::find(order, name);
    return static_cast<int>(it - order.begin());
}

/// Methods of the default run in the opener world: the paper's main table (alpha 1, k 5, 2 rounds).
inline std::vector<Method> opener_methods() {
    return {{.name = "pretrained", .loss = "none", .main = true},
            {.name = "baseline", .loss = "cross_entropy", .main = true},
            {.name = "unlikelihood", .loss = "unlikelihood", .alpha = 1.0, .main = true},
            {.name = "cringe_single", .loss = "cringe", .alpha = 1.0, .main = true, .rounds = 2}};
}

/// Every method and sweep point (the classic worlds' default run, and --full). The alpha grids of the
/// unlikelihood and single-round CRINGE sweeps default to the paper's; --alphas replaces both. Only
/// CRINGE at alpha = 1 runs the iterative second round.
inline std::vector<Method> all_methods(const std::vector<double>& ul_alphas = {0.1, 0.5, 1.0, 5.0},
                                       const std::vector<double>& cringe_alphas = {0.5, 1.0, 2.0, 5.0}) {
    std::vector<Method> m;
    m.push_back({.name = "pretrained", .loss = "none", .main = true});
    m.push_back({.name = "baseline", .loss = "cross_entropy", .main = true});
    for (double a : ul_alphas) m.push_back({.name = "unlikelihood", .loss = "unlikelihood", .alpha = a, .main = a == 1.0});
    for (double a : cringe_alphas)
        m.push_back({.name = "cringe_single", .loss = "cringe", .alpha = a, .main = a == 1.0, .rounds = a == 1.0 ? 2 : 1});
    m.push_back({.name = "pairwise_cringe", .loss = "pairwise_cringe", .main = true});
    m.push_back({.name = "sigmoid_only", .loss = "sigmoid_only", .main = true});
    m.push_back({.name = "cringe_k1", .loss = "cringe", .k = 1, .main = true});
    m.push_back({.name = "cringe_detached", .loss = "cringe", .detach_positive = true, .main = true});
    m.push_back({.name = "cringe_separate", .loss = "cringe", .separate = true, .main = true});
    return m;
}

/// One task for one seed: its data, and the fine-tuning and evaluation that read it.
template <class World>
class Task {
public:
    using Masks = typename TaskData<World>::Masks;

    Task(std::string name, std::uint64_t seed, const Settings& settings)
        : name_(std::move(name)), seed_(seed), settings_(settings), data_(seed, settings), tuning_(data_, name_, settings),
          evaluation_(data_, settings) {}
    Task(const Task&) = delete;  // the parts refer to data_
    Task& operator=(const Task&) = delete;

    const std::string& name() const { return name_; }
    std::size_t vocab_size() const { return data_.tokenizer.size(); }
    nn::GptConfig model_config() const { return data_.model_config(settings_); }

    /// The "pretrained BB1" analog: MLE on the full corpus, bad replies included.
    nn::Gpt<float> pretrain() const { return tuning_.pretrain(); }

    /// Worlds whose D0 is feedback on the bot's OWN replies (the FITS world): sample replies of the
    /// pretrained model to D0's prompts, label them with the noisy training labeler and add them all to
    /// D0 (unbalanced, as human feedback is kept: most are negatives), next to the world's gold replies,
    /// before any method fine-tunes. The step of an iterative round (iterate) without its balancing,
    /// applied to the pretrained model, so every method sees the same D0.
    void collect_feedback(const nn::Gpt<float>& base) {
        for (auto& [e, mask] : tuning_.feedback(base)) {
            if (mask) data_.bad_words[data_.labeled.size()] = *mask;
            data_.labeled.push_back(std::move(e));
        }
        const std::string line = cat("[", name_, " seed ", seed_, "] D0: ", data_.labeled.size(), " labelled replies (gold and the pretrained bot's own)");
        if (settings_.log) settings_.log(line);
        else std::fprintf(stderr, "%s\n", line.c_str());
    }

    /// Fine-tunes a copy of `base` with `method`; returns one record per round.
    std::vector<Record> run(const nn::Gpt<float>& base, const Method& method) const {
        const auto start = std::chrono::steady_clock::now();
        const ActivityScope scope(cat(name_, " seed ", seed_, ": ", method.name, " a=", method.alpha));
        std::vector<Record> records;
        nn::Gpt<float> model = base;
        if (method.loss == "none") {
            records.push_back(record(method, 0, evaluation_.evaluate(model), start));
            return records;
        }
        std::vector<train::Example> labeled = data_.labeled;
        Masks bad_words = data_.bad_words;  // token-level labels, grown by the iterative rounds
        // The method's own stream: its name, alpha (by its bits) and k, so every configuration of a
        // sweep draws different batches and no two seeds share one.
        Rng rng(derive_seed(seed_, "fine-tuning " + method.name, std::bit_cast<std::uint64_t>(method.alpha), method.k));
        for (int round = 1; round <= method.rounds; ++round) {
            tuning_.finetune(model, method, labeled, bad_words, rng, round);
            records.push_back(record(method, round, evaluation_.evaluate(model), start));
            if (round < method.rounds) {
                const auto added = tuning_.iterate(model, rng);
                for (const auto& [example, mask] : added) {
                    if (mask) bad_words[labeled.size()] = *mask;
                    labeled.push_back(example);
                }
            }
        }
        return records;
    }

    /// The world's options after the settings' overrides (summary.json records them).
    const world::WorldOptions& world_options() const { return data_.options; }

private:
    Record record(const Method& method, int round, const Metrics& metrics, std::chrono::steady_clock::time_point start) const {
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        Method m = method;
        if (round >= 2) m.name = "cringe_iterative";  // round 1 of the same run is cringe_single
        return Record{name_, m, seed_, round, metrics, seconds};
    }

    std::string name_;
    std::uint64_t seed_;
    Settings settings_;
    TaskData<World> data_;
    FineTuning<World> tuning_;
    Evaluation<World> evaluation_;
};

/// Runs every method of one task and seed; methods run on `settings.threads` threads. on_record gets
/// every record (a method may give several: rounds, the pretrained model); on_job_done is called once
/// after pretraining and once after each method (the progress count).
template <class World>
std::vector<Record> run_task(const std::string& name, std::uint64_t seed, const std::vector<Method>& methods, const Settings& settings,
                             const std::function<void(const Record&)>& on_record, const std::function<void()>& on_job_done = {}) {
    Task<World> task(name, seed, settings);
    const auto started = std::chrono::steady_clock::now();
    const nn::Gpt<float> base = task.pretrain();
    if constexpr (requires { World::kFeedbackOnOwnReplies; }) task.collect_feedback(base);
    const std::string line = cat("[", name, " seed ", seed, "] pretrained (", base.parameter_count(), " parameters) in ",
                                 std::round(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() * 10) / 10, " s");
    if (settings.log) settings.log(line);
    else std::fprintf(stderr, "%s\n", line.c_str());
    if (on_job_done) on_job_done();
    std::vector<Record> records;
    std::mutex lock;
    std::atomic<std::size_t> next{0};
    std::exception_ptr failure;
    auto worker = [&] {
        for (std::size_t i = next++; i < methods.size(); i = next++) {
            try {
                const auto out = task.run(base, methods[i]);
                std::lock_guard<std::mutex> guard(lock);
                for (const auto& r : out) {
                    records.push_back(r);
                    on_record(r);
                }
                if (on_job_done) on_job_done();
            } catch (...) {
                std::lock_guard<std::mutex> guard(lock);
                if (!failure) failure = std::current_exception();
            }
        }
    };
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < std::max<std::size_t>(settings.threads, 1); ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (failure) std::rethrow_exception(failure);
    return records;
}

}  // namespace repro
