// cringe/train/trainer.hpp - the training loop, written once for every model and every loss.
//
//   for step in 0..steps-1:
//       batch  = next_batch(step)                  (the caller owns the data)
//       output = model.forward(tape, batch.inputs) (any train::Model: nn::Gpt, nn::Mlp, your own)
//       loss   = loss(output, batch)               (a callable, or any LossPolicy on token batches:
//                                                   CE, UL, CRINGE, ... with its top-k sampler)
//       tape.backward(loss) (freeing each activation once past it); clip; AdamW step with the
//       warm-up + cosine learning rate
//       on_step(report); every checkpoint_every steps (and at the end): on_checkpoint(resume point)
// The loop writes nothing to the terminal and no file itself: it reports through the hooks of
// TrainOptions, and the default on_step is the progress line of progress.hpp (shown only on a
// terminal). To save and resume a run, the caller owns the optimiser and passes it in
// (train(model, optimizer, loss, next_batch, options)): on_checkpoint then saves the model, the
// optimiser and the resume point (io/training_state.hpp's save_training_state), and a resumed run
// loads them back INTO the same model and optimiser and sets options.resume_from (docs/training.md).
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
#include "../optim/adamw.hpp"
#include "../optim/clip.hpp"
#include "../optim/schedule.hpp"
#include "batch.hpp"
#include "model.hpp"
#include "progress.hpp"
#include "resume.hpp"

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
    /// Call on_checkpoint every N steps and after the last one; 0: never.
    std::size_t checkpoint_every = 0;
    /// Continue a run from this point (what load_training_state returned); the optimiser passed to
    /// train must hold the state of that point. Empty: start at step 0 with Rng(seed).
    std::optional<ResumePoint> resume_from{};
    /// Called after every step; empty: the terminal progress line when `progress` is set.
    std::function<void(const StepReport&)> on_step{};
    /// Called every checkpoint_every steps with where the run stands: the caller saves a training
    /// state here (save_training_state(dir, model, optimizer, point)) or does nothing.
    std::function<void(const ResumePoint&)> on_checkpoint{};
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

/// The optimiser train builds for `model` when the caller passes none: AdamW over the model's
/// parameters with options.lr and options.weight_decay (the schedule sets the learning rate each step).
/// Build it yourself to save and resume a run: train(model, optimizer, ...) then uses it.
template <HasParameters M>
optim::AdamW<typename M::scalar_type> make_optimizer(M& model, const TrainOptions& options) {
    std::vector<Parameter<typename M::scalar_type>*> params;
    for (auto& p : model.parameters()) params.push_back(&p);
    return optim::AdamW<typename M::scalar_type>(std::move(params), {.lr = options.lr, .weight_decay = options.weight_decay});
}

/// Trains any `model` (train/model.hpp) with `optimizer` on the batches next_batch(step) gives,
/// minimising loss(model output, batch); see the file comment. A batch is any type with an `inputs`
/// member that the model's forward takes (and, optionally, `tokens`: supervised tokens, added to
/// TrainLog::tokens). `optimizer` must update exactly the model's parameters, in order, with
/// options.weight_decay (make_optimizer builds it); ValueError otherwise. It keeps its moments after
/// the run, and with options.resume_from it must already hold those of that point.
template <class M, class NextBatch, class Loss,
          class Batch = std::remove_cvref_t<std::invoke_result_t<const NextBatch&, std::size_t>>>
    requires Model<M, decltype(Batch::inputs)> && StepLoss<Loss, typename M::scalar_type, Batch>
TrainLog train(M& model, optim::AdamW<typename M::scalar_type>& optimizer, const Loss& loss, const NextBatch& next_batch,
               const TrainOptions& options) {
    using T = typename M::scalar_type;
    std::vector<Parameter<T>*> params;
    for (auto& p : model.parameters()) params.push_back(&p);
    if (optimizer.parameters() != params)
        throw ValueError(cat("train: the optimiser updates ", optimizer.parameters().size(), " parameters that are not the model's ",
                             params.size(), " (in order); expected an optimiser built on this model (make_optimizer)"));
    if (optimizer.options().weight_decay != options.weight_decay)
        throw ValueError(cat("train: the optimiser's weight_decay is ", optimizer.options().weight_decay, " but options.weight_decay is ",
                             options.weight_decay, "; expected the same (make_optimizer builds the optimiser from the options)"));
    const optim::WarmupCosine schedule{.peak_lr = options.lr, .min_lr = options.min_lr, .warmup_steps = options.warmup, .total_steps = options.steps};
    schedule.validate();
    // The loop reports through hooks; the terminal progress line is only the default one.
    std::function<void(const StepReport&)> on_step = options.on_step;
    if (!on_step && options.progress) {
        auto line = std::make_shared<Progress>(options.label, options.steps);
        line->note(cat("AdamW ", optimizer.decay_split()));
        on_step = [line](const StepReport& r) { line->update(r.step, r.loss, r.tokens); };
    }
    Rng rng(options.seed);
    std::size_t first_step = 0;
    if (options.resume_from) {  // the model and the optimiser already hold that point's state
        first_step = options.resume_from->step;
        rng.set_state(options.resume_from->rng);
    }
    Tape<T> tape;
    TrainLog log;
    for (std::size_t step = first_step; step < options.steps; ++step) {
        const Batch batch = next_batch(step);
        tape.clear();
        optimizer.zero_grad();
        const Var<T> output = training_forward(model, tape, batch.inputs, rng);
        Var<T> objective;
        if constexpr (std::is_invocable_r_v<Var<T>, const Loss&, const Var<T>&, const Batch&, Rng&>)
            objective = loss(output, batch, rng);
        else
            objective = loss(output, batch);
        tape.backward(objective, BackwardOptions{.release_intermediates = true});  // frees activations as it goes
        if (options.clip > 0) optim::clip_grad_norm(params, options.clip);
        optimizer.set_lr(schedule(step));
        optimizer.step();
        log.losses.push_back(static_cast<double>(objective.value()()));
        if constexpr (requires { batch.tokens; }) log.tokens += batch.tokens;
        if (on_step) on_step({.step = step + 1, .steps = options.steps, .loss = log.losses.back(), .tokens = log.tokens, .lr = optimizer.lr()});
        if (options.checkpoint_every > 0 && options.on_checkpoint && ((step + 1) % options.checkpoint_every == 0 || step + 1 == options.steps))
            options.on_checkpoint(ResumePoint{.step = step + 1, .rng = rng.state()});
    }
    return log;
}

/// Trains `model` with the optimiser make_optimizer builds (and drops afterwards): the loop above.
/// A run that resumes needs the optimiser it was loaded into, so options.resume_from is a ValueError here.
template <class M, class NextBatch, class Loss,
          class Batch = std::remove_cvref_t<std::invoke_result_t<const NextBatch&, std::size_t>>>
    requires Model<M, decltype(Batch::inputs)> && StepLoss<Loss, typename M::scalar_type, Batch>
TrainLog train(M& model, const Loss& loss, const NextBatch& next_batch, const TrainOptions& options) {
    if (options.resume_from)
        throw ValueError(cat("train: options.resume_from is step ", options.resume_from->step,
                             " but no optimiser holds that state; expected train(model, optimizer, ...) with the optimiser "
                             "load_training_state filled"));
    auto optimizer = make_optimizer(model, options);
    return train(model, optimizer, loss, next_batch, options);
}

/// The loss of a policy on TrainBatches: policy(logits, batch.batch, sampler drawing from the run's Rng).loss.
template <loss::LossPolicy L>
auto policy_step_loss(const L& policy) {
    policy.validate_options();
    return [&policy](const Var<typename L::scalar_type>& logits, const TrainBatch& batch, Rng& rng) {
        return policy(logits, batch.batch, loss::Sampler{&rng, nullptr}).loss;
    };
}

/// Trains a token model (nn::Gpt) with a loss policy on TrainBatches: the generic loop above with
/// loss = policy_step_loss(policy).
template <class M, loss::LossPolicy L>
    requires Model<M, IdTensor> && std::is_same_v<typename M::scalar_type, typename L::scalar_type>
TrainLog train(M& model, const L& policy, const std::function<TrainBatch(std::size_t)>& next_batch, const TrainOptions& options) {
    return train(model, policy_step_loss(policy), next_batch, options);
}

/// The same with the caller's optimiser (to save and resume the run).
template <class M, loss::LossPolicy L>
    requires Model<M, IdTensor> && std::is_same_v<typename M::scalar_type, typename L::scalar_type>
TrainLog train(M& model, optim::AdamW<typename M::scalar_type>& optimizer, const L& policy,
               const std::function<TrainBatch(std::size_t)>& next_batch, const TrainOptions& options) {
    return train(model, optimizer, policy_step_loss(policy), next_batch, options);
}

}  // namespace cringe::train
