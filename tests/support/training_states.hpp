// Training with saved states, as docs/training.md shows a caller doing it: the caller owns the
// optimiser, resumes from DIR's latest state (loaded INTO the model and the optimiser) and saves a
// state from the loop's on_checkpoint hook. The loop itself writes no file.
#pragma once

#include <filesystem>

#include <cringe/cringe.hpp>
#include <cringe/io/training_state.hpp>

namespace cringe_test {

/// train::train(model, loss, next_batch, options) that resumes from `dir` when it holds a state and
/// saves one there every options.checkpoint_every steps (and after the last).
template <class M, class Loss, class NextBatch>
cringe::train::TrainLog train_with_states(M& model, const Loss& loss, const NextBatch& next_batch, cringe::train::TrainOptions options,
                                          const std::filesystem::path& dir) {
    auto optimizer = cringe::train::make_optimizer(model, options);
    options.resume_from = cringe::io::load_training_state(dir, model, optimizer);
    options.on_checkpoint = [&](const cringe::train::ResumePoint& point) { cringe::io::save_training_state(dir, model, optimizer, point); };
    return cringe::train::train(model, optimizer, loss, next_batch, options);
}

}  // namespace cringe_test
