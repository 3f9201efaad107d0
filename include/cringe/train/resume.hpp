// cringe/train/resume.hpp - where a training run stands between two steps, and where it resumes.
//
// train::train hands a ResumePoint to its on_checkpoint hook after every checkpoint_every steps, and
// continues from TrainOptions::resume_from when that is set. What the loop needs besides it - the
// weights and the optimiser's moments - lives in the model and the optimiser the caller owns. The
// loop knows no files: io/training_state.hpp writes a ResumePoint with the model and the optimiser
// (save_training_state) and reads them back into the same objects (load_training_state).
#pragma once

#include <cstddef>

#include "../rng.hpp"

namespace cringe::train {

/// A point between two steps of a run: the steps done and the run's random state there.
struct ResumePoint {
    /// Steps of the run already done (the next step is this one, counting from 0).
    std::size_t step = 0;
    /// The trainer's random state after those steps (CRINGE sampling, dropout).
    Rng::State rng{};
};

}  // namespace cringe::train
