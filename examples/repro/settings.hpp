// examples/repro/settings.hpp - what the three parts of a reproduction task share: the method (one
// row of the results table), the run's settings, the world's options after the settings' overrides,
// and the "what is running now" registry the heartbeat line reads.
//
// A task is split into data (task_data.hpp: the world's corpora as token ids), fine-tuning
// (finetuning.hpp: pretraining, each method's training, the iterative step) and evaluation
// (evaluation.hpp: the metrics); experiment.hpp composes them. Protocol: docs/reproduction.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "world.hpp"

namespace repro {

/// One fine-tuning configuration (a row of the results table).
struct Method {
    std::string name;           // the method names of docs/reproduction.md: baseline, unlikelihood, cringe_single, ...
    std::string loss;           // cross_entropy | unlikelihood | cringe | pairwise_cringe | sigmoid_only | none
    double alpha = 1.0;
    long k = 5;
    bool detach_positive = false;
    bool separate = false;
    bool main = false;          // the configuration shown in the main table
    int rounds = 1;             // 2 for cringe_iterative
};

/// The run's settings: model size, steps, learning rates, world overrides and the levers of
/// docs/reproduction.md (the command line's options; cringe-repro --help lists them).
struct Settings {
    std::size_t n_embd = 64, n_layer = 2, n_head = 4, n_positions = 32;
    std::size_t pretrain_steps = 1500, finetune_steps = 400, batch = 32;
    double pretrain_lr = 1e-3, finetune_lr = 3e-4;
    struct WorldSizes {
        // 0: the world's default (WorldOptions; the opener world evaluates 1000 test and 500 validation insults)
        std::size_t pretrain = 0, labeled = 0, unlabeled = 0, eval_target = 0, eval_valid_target = 0, eval_ordinary = 0, eval_unseen = 0;
        double replay_bad_rate = -1;         // opener world lever; < 0: the world's default
        double replay_share = -1;            // opener world lever; < 0: the world's default
        double pretrain_bad_rate = -1;       // bad-reply rate of pretraining's target dialogues; < 0: the world's default
        bool heldout_in_pretrain = true;     // held-out target templates appear in pretraining (with bad replies)
        double negative_shared_frame = -1;   // < 0: the world's default
    } world;                                 // the task's default bad-reply rate is applied on top
    std::size_t beam_prompts = 100;
    std::size_t samples_per_prompt = 2;  // iterative step: sampled replies per prompt of the round
    // Levers of the iterative round (docs/reproduction.md, "Levers"):
    std::string iterate_prompts = "d0";  // whose prompts round 2 generates for: d0 (D0's distinct negative prompts,
                                         // the training groups), replay (the distinct target prompts of the unlabeled
                                         // pool: every group, held-out ones included) or none (nothing is added: round 2
                                         // continues on D0 alone, the same-step control)
    std::size_t positive_repeats = 2;    // iterative step: each positive reply text kept at most this often before the 50/50 balance
    std::size_t round2_steps = 0;        // fine-tuning steps of round 2 and later (0: finetune_steps)
    double positive_target_share = 1.0;  // share of D0's positives that answer a target prompt (lever)
    bool token_level = false;            // D0 negatives labelled per token (only the bad words are negative)
    bool token_level_ce_rest = false;    // ... and the rest of such a reply trained with CE (else ignored)
    bool negative_eos = true;            // the EOS of a negative reply is a negative target (as in the released ParlAI code)
    std::string negative_tokens = "all";  // which tokens of a negative reply are negative targets: all (the paper's sequence
                                          // labels) or first (only the first reply token, where the opener worlds put the bad
                                          // decision; the rest of the reply is ignored). Every negative row, every loss but
                                          // pairwise CRINGE (which compares whole replies): the same for UL and CRINGE
    double label_noise = 0.05;           // the training labeler's flip rate
    std::size_t threads = 1;
    bool progress = true;
    std::function<void(const std::string&)> log;  // progress lines (stderr and progress.log); empty: stderr
};

/// What is running now (for the heartbeat line): labels of the jobs in flight.
class Activity {
public:
    void begin(const std::string& label) {
        std::lock_guard<std::mutex> guard(lock_);
        running_.insert(label);
    }
    void end(const std::string& label) {
        std::lock_guard<std::mutex> guard(lock_);
        running_.erase(label);
    }
    std::string describe() const {
        std::lock_guard<std::mutex> guard(lock_);
        std::string out;
        for (const auto& r : running_) out += (out.empty() ? "" : "; ") + r;
        return out.empty() ? "between jobs" : out;
    }

private:
    mutable std::mutex lock_;
    std::multiset<std::string> running_;
};

inline Activity& activity() {
    static Activity a;
    return a;
}

/// Marks a job as running for its lifetime.
struct ActivityScope {
    explicit ActivityScope(std::string label) : label_(std::move(label)) { activity().begin(label_); }
    ~ActivityScope() { activity().end(label_); }
    ActivityScope(const ActivityScope&) = delete;
    ActivityScope& operator=(const ActivityScope&) = delete;
    std::string label_;
};

/// The world's options after the settings' overrides (0 / negative settings keep the world's default).
template <class World>
world::WorldOptions resolve_options(const Settings& settings) {
    world::WorldOptions options = World::default_options();
    const auto& s = settings.world;
    auto set = [](std::size_t& field, std::size_t value) {
        if (value > 0) field = value;
    };
    set(options.pretrain, s.pretrain);
    set(options.labeled, s.labeled);
    set(options.unlabeled, s.unlabeled);
    set(options.eval_target, s.eval_target);
    set(options.eval_valid_target, s.eval_valid_target);
    set(options.eval_ordinary, s.eval_ordinary);
    set(options.eval_unseen, s.eval_unseen);
    if (s.replay_bad_rate >= 0) options.replay_bad_rate = s.replay_bad_rate;
    if (s.replay_share >= 0) options.replay_share = s.replay_share;
    if (s.pretrain_bad_rate >= 0) options.pretrain_bad_rate = s.pretrain_bad_rate;
    options.heldout_in_pretrain = s.heldout_in_pretrain;
    if (s.negative_shared_frame >= 0) options.negative_shared_frame = s.negative_shared_frame;
    return options;
}

}  // namespace repro
