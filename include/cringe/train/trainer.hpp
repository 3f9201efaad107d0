// cringe/train/trainer.hpp - the training loop, written once for every loss policy.
//
//   for step in 0..steps-1:
//       batch  = next_batch(step)                  (the caller owns the data)
//       logits = model.forward(tape, batch.inputs)
//       loss   = policy(logits, batch, sampler)    (any LossPolicy: CE, UL, CRINGE, ...)
//       tape.backward(loss); clip; AdamW step with the warm-up + cosine learning rate
// The tape is cleared each step and reused (no growth). With the same seed and single-threaded
// Eigen, two runs give bitwise-identical parameters.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "../loss/policy.hpp"
#include "../nn/gpt.hpp"
#include "../optim/adamw.hpp"
#include "../optim/clip.hpp"
#include "../optim/schedule.hpp"
#include "batch.hpp"
#include "progress.hpp"
#include "training_state.hpp"

namespace cringe::train {

/// Settings of train::train.
struct TrainOptions {
    /// Optimiser steps.
    std::size_t steps = 100;
    /// Peak learning rate.
    double lr = 1e-3;
    /// Learning rate at the end of the cosine decay.
    double min_lr = 0.0;
    /// Steps of linear warmup.
    std::size_t warmup = 0;
    /// AdamW's decoupled weight decay.
    double weight_decay = 0.01;
    double clip = 1.0;          ///< global gradient norm; 0 = off
    std::uint64_t seed = 0;     ///< CRINGE sampling and dropout
    /// Prefix of the progress line.
    std::string label = "train";
    bool progress = true;       ///< progress line (only on a terminal)
    std::filesystem::path checkpoint_dir{};  ///< empty: no training checkpoints
    std::size_t checkpoint_every = 0;      ///< save the training state every N steps (and at the end)
    bool resume = false;                   ///< continue from checkpoint_dir's latest state, if any
};

/// What a training run recorded.
struct TrainLog {
    std::vector<double> losses;   ///< per step
    /// Supervised tokens seen.
    std::size_t tokens = 0;
};

/// Trains `model` with `policy` on the batches next_batch(step) gives; see the file comment.
template <class T, loss::LossPolicy L>
    requires std::is_same_v<T, typename L::scalar_type>
TrainLog train(nn::Gpt<T>& model, const L& policy, const std::function<TrainBatch(std::size_t)>& next_batch, const TrainOptions& options) {
    policy.validate_options();
    std::vector<Parameter<T>*> params;
    for (auto& p : model.parameters()) params.push_back(&p);
    optim::AdamW<T> adam(params, {.lr = options.lr, .weight_decay = options.weight_decay});
    const optim::WarmupCosine schedule{.peak_lr = options.lr, .min_lr = options.min_lr, .warmup_steps = options.warmup, .total_steps = options.steps};
    schedule.validate();
    const bool on_terminal = options.progress && ::isatty(STDERR_FILENO) != 0;
    Progress progress(options.label, options.steps, on_terminal);
    if (on_terminal) std::fprintf(stderr, "%s: AdamW %s\n", options.label.c_str(), adam.decay_split().c_str());
    Rng rng(options.seed);
    Tape<T> tape;
    TrainLog log;
    std::size_t first_step = 0;
    if (options.resume && !options.checkpoint_dir.empty())
        if (const auto point = load_training_state(options.checkpoint_dir, model, adam)) {
            first_step = point->step;
            rng.set_state(point->rng);
            params.clear();  // load_training_state replaced the model's parameters: point at the new ones
            for (auto& p : model.parameters()) params.push_back(&p);
            adam.rebind(params);
        }
    for (std::size_t step = first_step; step < options.steps; ++step) {
        const TrainBatch batch = next_batch(step);
        tape.clear();
        adam.zero_grad();
        auto logits = model.forward(tape, batch.inputs, /*training=*/true, &rng);
        auto out = policy(logits, batch.batch, loss::Sampler{&rng, nullptr});
        tape.backward(out.loss);
        if (options.clip > 0) optim::clip_grad_norm(params, options.clip);
        adam.set_lr(schedule(step));
        adam.step();
        log.losses.push_back(static_cast<double>(out.loss.value()()));
        log.tokens += batch.tokens;
        progress.update(step + 1, log.losses.back(), log.tokens);
        if (options.checkpoint_every > 0 && !options.checkpoint_dir.empty() &&
            ((step + 1) % options.checkpoint_every == 0 || step + 1 == options.steps))
            save_training_state(options.checkpoint_dir, model, adam, step + 1, rng);
    }
    return log;
}

}  // namespace cringe::train
