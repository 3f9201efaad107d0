// cringe/train/trainer.hpp - the training loop, written once for every model and every loss.
//
//   for step in 0..steps-1:
//       batch  = next_batch(step)                  (the caller owns the data)
//       output = model.forward(tape, batch.inputs) (any train::Model: nn::Gpt, nn::Mlp, your own)
//       loss   = loss(output, batch)               (a callable, or any LossPolicy on token batches:
//                                                   CE, UL, CRINGE, ... with its top-k sampler)
//       tape.backward(loss); clip; AdamW step with the warm-up + cosine learning rate
//       on_step(report); every checkpoint_every steps: save the training state, on_checkpoint(step)
// The loop writes nothing to the terminal itself: it reports through the hooks of TrainOptions, and
// the default on_step is the progress line of progress.hpp (shown only on a terminal).
// The tape is cleared each step and reused (no growth). With the same seed and single-threaded
// Eigen, two runs give bitwise-identical parameters.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <string>
#include <vector>

#include "../loss/policy.hpp"
#include "../nn/gpt.hpp"
#include "../optim/adamw.hpp"
#include "../optim/clip.hpp"
#include "../optim/schedule.hpp"
#include "batch.hpp"
#include "model.hpp"
#include "progress.hpp"
#include "training_state.hpp"

namespace cringe::train {

/// What the loop reports after each step, to TrainOptions::on_step.
struct StepReport {
    /// Steps done, from 1.
    std::size_t step = 0;
    /// Steps of the run.
    std::size_t steps = 0;
    /// This step's loss.
    double loss = 0.0;
    /// Supervised tokens so far.
    std::size_t tokens = 0;
    /// The learning rate of this step.
    double lr = 0.0;
};

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
    /// Called after every step; empty: the terminal progress line when `progress` is set.
    std::function<void(const StepReport&)> on_step{};
    /// Called with the step number after each training state is saved (checkpoint_every).
    std::function<void(std::size_t)> on_checkpoint{};
};

/// What a training run recorded.
struct TrainLog {
    std::vector<double> losses;   ///< per step
    /// Supervised tokens seen.
    std::size_t tokens = 0;
};

/// The loss of one step: loss(output, batch) or, for a loss that samples, loss(output, batch, rng),
/// returning the scalar tape variable to minimise.
template <class F, class T, class Batch>
concept StepLoss = std::is_invocable_r_v<Var<T>, const F&, const Var<T>&, const Batch&> ||
                   std::is_invocable_r_v<Var<T>, const F&, const Var<T>&, const Batch&, Rng&>;

/// A model whose training state save_training_state and load_training_state can write and read
/// (today nn::Gpt: the state holds a Hugging Face checkpoint).
template <class M>
concept Checkpointable = requires(const std::filesystem::path& dir, M& model, optim::AdamW<typename M::scalar_type>& adam, const Rng& rng) {
    save_training_state(dir, model, adam, std::size_t{0}, rng);
    { load_training_state(dir, model, adam) } -> std::same_as<std::optional<ResumePoint>>;
};

/// Trains any `model` (train/model.hpp) on the batches next_batch(step) gives, minimising
/// loss(model output, batch); see the file comment. A batch is any type with an `inputs` member that
/// the model's forward takes (and, optionally, `tokens`: supervised tokens, added to TrainLog::tokens).
/// Checkpoints (options.checkpoint_dir) need a Checkpointable model; ValueError otherwise.
template <class M, class NextBatch, class Loss,
          class Batch = std::remove_cvref_t<std::invoke_result_t<const NextBatch&, std::size_t>>>
    requires Model<M, decltype(Batch::inputs)> && StepLoss<Loss, typename M::scalar_type, Batch>
TrainLog train(M& model, const Loss& loss, const NextBatch& next_batch, const TrainOptions& options) {
    using T = typename M::scalar_type;
    if constexpr (!Checkpointable<M>)
        if (!options.checkpoint_dir.empty())
            throw ValueError(cat("train: checkpoint_dir is '", options.checkpoint_dir.string(),
                                 "' but this model has no training-state format (save_training_state writes nn::Gpt); "
                                 "expected an empty checkpoint_dir"));
    std::vector<Parameter<T>*> params;
    for (auto& p : model.parameters()) params.push_back(&p);
    optim::AdamW<T> adam(params, {.lr = options.lr, .weight_decay = options.weight_decay});
    const optim::WarmupCosine schedule{.peak_lr = options.lr, .min_lr = options.min_lr, .warmup_steps = options.warmup, .total_steps = options.steps};
    schedule.validate();
    // The loop reports through hooks; the terminal progress line is only the default one.
    std::function<void(const StepReport&)> on_step = options.on_step;
    if (!on_step && options.progress) {
        auto line = std::make_shared<Progress>(options.label, options.steps);
        line->note(cat("AdamW ", adam.decay_split()));
        on_step = [line](const StepReport& r) { line->update(r.step, r.loss, r.tokens); };
    }
    Rng rng(options.seed);
    Tape<T> tape;
    TrainLog log;
    std::size_t first_step = 0;
    if constexpr (Checkpointable<M>)
        if (options.resume && !options.checkpoint_dir.empty())
            if (const auto point = load_training_state(options.checkpoint_dir, model, adam)) {  // into model's Parameters
                first_step = point->step;
                rng.set_state(point->rng);
            }
    for (std::size_t step = first_step; step < options.steps; ++step) {
        const Batch batch = next_batch(step);
        tape.clear();
        adam.zero_grad();
        const Var<T> output = training_forward(model, tape, batch.inputs, rng);
        Var<T> objective;
        if constexpr (std::is_invocable_r_v<Var<T>, const Loss&, const Var<T>&, const Batch&, Rng&>)
            objective = loss(output, batch, rng);
        else
            objective = loss(output, batch);
        tape.backward(objective);
        if (options.clip > 0) optim::clip_grad_norm(params, options.clip);
        adam.set_lr(schedule(step));
        adam.step();
        log.losses.push_back(static_cast<double>(objective.value()()));
        if constexpr (requires { batch.tokens; }) log.tokens += batch.tokens;
        if (on_step) on_step({.step = step + 1, .steps = options.steps, .loss = log.losses.back(), .tokens = log.tokens, .lr = adam.lr()});
        if constexpr (Checkpointable<M>)
            if (options.checkpoint_every > 0 && !options.checkpoint_dir.empty() &&
                ((step + 1) % options.checkpoint_every == 0 || step + 1 == options.steps)) {
                save_training_state(options.checkpoint_dir, model, adam, step + 1, rng);
                if (options.on_checkpoint) options.on_checkpoint(step + 1);
            }
    }
    return log;
}

/// Trains a token model (nn::Gpt) with a loss policy on TrainBatches: the generic loop above with
/// loss = policy(logits, batch.batch, sampler drawing from the run's Rng).loss.
template <class M, loss::LossPolicy L>
    requires Model<M, IdTensor> && std::is_same_v<typename M::scalar_type, typename L::scalar_type>
TrainLog train(M& model, const L& policy, const std::function<TrainBatch(std::size_t)>& next_batch, const TrainOptions& options) {
    using T = typename M::scalar_type;
    policy.validate_options();
    const auto policy_loss = [&policy](const Var<T>& logits, const TrainBatch& batch, Rng& rng) {
        return policy(logits, batch.batch, loss::Sampler{&rng, nullptr}).loss;
    };
    return train(model, policy_loss, next_batch, options);
}

}  // namespace cringe::train
